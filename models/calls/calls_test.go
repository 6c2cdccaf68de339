package calls_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/calls"
	"switchboard/models/modelstest"
)

func TestParsePhone_AcceptsWhatPeopleTypeAndRefusesTheRest(t *testing.T) {
	for in, want := range map[string]string{
		"(415) 555-0134":   "+14155550134",
		"+1 415 555 0134":  "+14155550134",
		"415.555.0134":     "+14155550134",
		"+44 20 7183 8750": "+442071838750",
		" +14155550134 ":   "+14155550134",
	} {
		got, err := calls.ParsePhone(in, "a number")
		if err != nil || got != want {
			t.Errorf("ParsePhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "555-0134", "12", "+1 555 555 0100", "call me", "415-555-0134; DROP", "<script>", strings.Repeat("1", 41)} {
		if _, err := calls.ParsePhone(bad, "a number"); models.ErrorCode(err) != models.Invalid {
			t.Errorf("ParsePhone(%q): err = %v, want Invalid", bad, err)
		}
	}
}

func TestNumbers_CreateEditDisableAndUniqueAcrossTheSystem(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			f := newFixture(t, dialect)
			admin := f.person(f.account, models.Admin)
			manager := f.person(f.account, models.Manager, f.acme)
			reporting := f.person(f.account, models.Reporting, f.acme)
			otherAdmin := f.person(f.other, models.Admin)

			n, err := f.calls.CreateNumber(ctx, manager, f.acme.ID, calls.NumberInput{Number: "(415) 555-0134", Name: " Main   line ", Source: "Google Ads"}, "10.0.0.1")
			must(t, err)
			if n.Number != "+14155550134" || n.Name != "Main line" || n.Flow.Destination != calls.ToVoicemail || n.Status != calls.NumberActive {
				t.Errorf("created %+v", n)
			}
			for name, try := range map[string]func() error{
				"same account": func() error {
					_, err := f.calls.CreateNumber(ctx, admin, f.bolt.ID, calls.NumberInput{Number: "+14155550134", Name: "Again"}, "")
					return err
				},
				"other account": func() error {
					_, err := f.calls.CreateNumber(ctx, otherAdmin, f.otherCo.ID, calls.NumberInput{Number: "415 555 0134", Name: "Theirs"}, "")
					return err
				},
			} {
				err := try()
				if models.ErrorCode(err) != models.Invalid || !strings.Contains(models.ErrorFields(err)["number"], "already a tracking number") {
					t.Errorf("%s: duplicate number: %v", name, err)
				}
			}
			// Bad input says what is wrong, field by field.
			_, err = f.calls.CreateNumber(ctx, admin, f.acme.ID, calls.NumberInput{Number: "12", Name: "", Source: strings.Repeat("x", 61)}, "")
			if fields := models.ErrorFields(err); fields["number"] == "" || fields["name"] == "" || fields["source"] == "" {
				t.Errorf("bad input: %v", err)
			}
			// Managers of other companies and other accounts: 404 (not
			// theirs to know of); Reporting users of the company: 403 (they
			// see it, but their type may not; policy.go).
			bolt := f.person(f.account, models.Manager, f.bolt)
			for who, c := range map[string]struct {
				v    *models.Viewer
				want models.Code
			}{"reporting": {reporting, models.Forbidden}, "manager of another company": {bolt, models.NotFound}, "other account": {otherAdmin, models.NotFound}} {
				if _, err := f.calls.CreateNumber(ctx, c.v, f.acme.ID, calls.NumberInput{Number: "+14155550199", Name: "X"}, ""); models.ErrorCode(err) != c.want {
					t.Errorf("%s creates a number: %v, want %s", who, err, c.want)
				}
				if _, _, err := f.calls.Numbers(ctx, c.v, f.acme.ID); models.ErrorCode(err) != c.want {
					t.Errorf("%s lists numbers: %v, want %s", who, err, c.want)
				}
				if _, err := f.calls.SetNumberStatus(ctx, c.v, f.acme.ID, n.ID, calls.NumberDisabled, ""); models.ErrorCode(err) != c.want {
					t.Errorf("%s disables a number: %v, want %s", who, err, c.want)
				}
			}
			// Edit and disable.
			_, err = f.calls.UpdateNumber(ctx, manager, f.acme.ID, n.ID, calls.NumberInput{Number: "+14155550135", Name: "Main line", Source: "Website"}, "")
			must(t, err)
			_, err = f.calls.SetNumberStatus(ctx, manager, f.acme.ID, n.ID, calls.NumberDisabled, "")
			must(t, err)
			_, rows, err := f.calls.Numbers(ctx, manager, f.acme.ID)
			must(t, err)
			if len(rows) != 1 || rows[0].Number != "+14155550135" || rows[0].Source != "Website" || rows[0].Status != calls.NumberDisabled {
				t.Errorf("numbers = %+v", rows)
			}
			// The old digits are free again.
			if _, err := f.calls.CreateNumber(ctx, admin, f.bolt.ID, calls.NumberInput{Number: "+14155550134", Name: "Bolt main"}, ""); err != nil {
				t.Errorf("reuse freed number: %v", err)
			}
			var actions []string
			f.store.DB().Model(&models.AuditEvent{}).Where("account_id = ? AND action LIKE 'number.%'", f.account.ID).Order("id").Pluck("action", &actions)
			if strings.Join(actions, ",") != "number.created,number.updated,number.disabled,number.created" {
				t.Errorf("audit = %v", actions)
			}
		})
	}
}

func TestFlow_RingGroupTakesOnlyPeopleWhoMayTakeTheCompanysCalls(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			f := newFixture(t, dialect)
			admin := f.withPhone(f.person(f.account, models.Admin), "+14155550101")
			manager := f.withPhone(f.person(f.account, models.Manager, f.acme), "+14155550102")
			rita := f.withPhone(f.person(f.account, models.Reporting, f.acme), "+14155550103")
			noPhone := f.person(f.account, models.Reporting, f.acme)
			nora := f.withPhone(f.person(f.account, models.Notification, f.acme), "+14155550104")
			boltOnly := f.withPhone(f.person(f.account, models.Reporting, f.bolt), "+14155550105")
			stranger := f.withPhone(f.person(f.other, models.Admin), "+14155550106")
			n := f.number(manager, f.acme, "+14155550134", "Main line", "Google Ads")

			cands, err := f.calls.RingGroupCandidates(ctx, manager, &f.acme)
			must(t, err)
			var names []uint
			for _, c := range cands {
				names = append(names, c.Member.ID)
			}
			if fmt.Sprint(names) != fmt.Sprint([]uint{admin.Membership.ID, manager.Membership.ID, rita.Membership.ID}) {
				t.Errorf("candidates = %v, want the Admin, the Manager and Rita", names)
			}
			flow := calls.FlowInput{Greeting: "Thanks for calling Acme", Whisper: "Call from Google Ads", Record: true,
				Destination: calls.ToRingGroup, RingMode: calls.RingInOrder, Timeout: 15, Voicemail: true}
			for who, id := range map[string]uint{"no phone": noPhone.Membership.ID, "Notification": nora.Membership.ID,
				"another company": boltOnly.Membership.ID, "another account": stranger.Membership.ID} {
				flow.RingGroup = []uint{rita.Membership.ID, id}
				if _, err := f.calls.UpdateFlow(ctx, manager, f.acme.ID, n.ID, flow, ""); models.ErrorFields(err)["ring_group"] == "" {
					t.Errorf("%s in a ring group: %v", who, err)
				}
			}
			for _, bad := range []calls.FlowInput{
				{Destination: calls.ToRingGroup, Timeout: 20},
				{Destination: calls.ToNumber, ForwardTo: "nope", Timeout: 20},
				{Destination: calls.ToNumber, ForwardTo: "+14155550134", Timeout: 20},
				{Destination: calls.ToVoicemail, Timeout: 2},
				{Destination: calls.ToVoicemail, Timeout: 20, Greeting: strings.Repeat("g", 501)},
			} {
				if _, err := f.calls.UpdateFlow(ctx, manager, f.acme.ID, n.ID, bad, ""); models.ErrorCode(err) != models.Invalid {
					t.Errorf("flow %+v: %v", bad, err)
				}
			}
			if _, err := f.calls.UpdateFlow(ctx, manager, f.acme.ID, n.ID, calls.FlowInput{Destination: "elsewhere", Timeout: 20}, ""); models.ErrorCode(err) != models.BadRequest {
				t.Errorf("unknown destination: %v", err)
			}
			flow.RingGroup = []uint{rita.Membership.ID, admin.Membership.ID}
			_, err = f.calls.UpdateFlow(ctx, manager, f.acme.ID, n.ID, flow, "")
			must(t, err)
			r, err := f.calls.IncomingCall(ctx, calls.CallParams{Sid: f.sid("CA"), From: "+12025550123", To: "+14155550134"})
			must(t, err)
			if fmt.Sprint(r.Dial) != "[+14155550103 +14155550101]" || r.Number.Flow.RingMode != calls.RingInOrder || !r.Number.Flow.Record {
				t.Errorf("routing = %+v", r)
			}
			// Reporting users may not change a flow.
			if _, err := f.calls.UpdateFlow(ctx, rita, f.acme.ID, n.ID, flow, ""); models.ErrorCode(err) != models.Forbidden {
				t.Errorf("Reporting changes a flow: %v", err)
			}
		})
	}
}

// People leave ring groups by every path that takes the company's calls
// away from them, in the same transaction; a group left empty falls back to
// voicemail and is flagged. The table is the IDOR/last-Admin style: each
// path × who is in the group.
func TestHook_PeopleLeaveRingGroupsWhenTheyLoseTheCompanysCalls(t *testing.T) {
	ctx := context.Background()
	type path struct {
		name   string
		run    func(f *fixture, admin *models.Viewer, m *models.Viewer) error
		leaves bool
	}
	paths := []path{
		{"deleted", func(f *fixture, a, m *models.Viewer) error {
			_, err := f.store.DeleteMember(ctx, a, m.Membership.ID, "")
			return err
		}, true},
		{"disabled", func(f *fixture, a, m *models.Viewer) error {
			_, err := f.store.DisableMember(ctx, a, m.Membership.ID, "")
			return err
		}, true},
		{"changed to Notification", func(f *fixture, a, m *models.Viewer) error {
			_, err := f.store.ChangeType(ctx, a, m.Membership.ID, models.TypeChangeInput{To: models.Notification}, "")
			return err
		}, true},
		{"promoted to Manager", func(f *fixture, a, m *models.Viewer) error {
			_, err := f.store.ChangeType(ctx, a, m.Membership.ID, models.TypeChangeInput{To: models.Manager}, "")
			return err
		}, false},
		{"removed from the company", func(f *fixture, a, m *models.Viewer) error {
			_, _, err := f.store.UnassignCompany(ctx, a, m.Membership.ID, f.acme.ID, "")
			return err
		}, true},
		{"removed from another company", func(f *fixture, a, m *models.Viewer) error {
			_, _, err := f.store.UnassignCompany(ctx, a, m.Membership.ID, f.bolt.ID, "")
			return err
		}, false},
		{"left the account", func(f *fixture, _ *models.Viewer, m *models.Viewer) error {
			var login models.Login
			must(f.t, f.store.DB().Where("id = ?", *m.Membership.LoginID).Take(&login).Error)
			m.Login = login
			_, err := f.store.LeaveAccount(ctx, m, "")
			return err
		}, true},
	}
	for _, dialect := range modelstest.Dialects(t) {
		for _, p := range paths {
			t.Run(dialect+"/"+p.name, func(t *testing.T) {
				f := newFixture(t, dialect)
				admin := f.person(f.account, models.Admin)
				rita := f.withPhone(f.person(f.account, models.Reporting, f.acme, f.bolt), "+14155550103")
				main := f.number(admin, f.acme, "+14155550134", "Main line", "Google Ads")
				night := f.number(admin, f.acme, "+14155550135", "Night line", "Website")
				boltLine := f.number(admin, f.bolt, "+14155550136", "Bolt line", "")
				max := f.withPhone(f.person(f.account, models.Manager, f.acme), "+14155550102")
				for _, n := range []*calls.TrackingNumber{main, night} {
					group := []uint{rita.Membership.ID}
					if n == night {
						group = append(group, max.Membership.ID)
					}
					_, err := f.calls.UpdateFlow(ctx, admin, f.acme.ID, n.ID, calls.FlowInput{Destination: calls.ToRingGroup, RingGroup: group, Timeout: 20, Voicemail: true}, "")
					must(t, err)
				}
				_, err := f.calls.UpdateFlow(ctx, admin, f.bolt.ID, boltLine.ID, calls.FlowInput{Destination: calls.ToRingGroup, RingGroup: []uint{rita.Membership.ID}, Timeout: 20}, "")
				must(t, err)

				// The confirmation knows first.
				var losses []string
				switch p.name {
				case "deleted":
					losses, err = f.store.DeleteLosses(ctx, &rita.Membership)
				case "changed to Notification", "promoted to Manager":
					to := models.Notification
					if p.name == "promoted to Manager" {
						to = models.Manager
					}
					losses, err = f.store.TypeChangeLosses(ctx, &rita.Membership, to)
				case "removed from the company":
					var m map[uint][]string
					m, err = f.store.UnassignLosses(ctx, &f.acme, []models.Membership{rita.Membership})
					losses = m[rita.Membership.ID]
				}
				must(t, err)
				if p.name == "deleted" || p.name == "changed to Notification" {
					if len(losses) != 1 || losses[0] != "Stops answering calls to Main line (Acme Plumbing), Night line (Acme Plumbing), Bolt line (Bolt Roofing)" {
						t.Errorf("losses = %q", losses)
					}
				}
				if p.name == "removed from the company" && (len(losses) != 1 || strings.Contains(losses[0], "Bolt")) {
					t.Errorf("losses of removal from Acme = %q", losses)
				}
				if p.name == "promoted to Manager" && len(losses) != 0 {
					t.Errorf("a promotion loses %q", losses)
				}

				must(t, p.run(f, admin, rita))
				_, rows, err := f.calls.Numbers(ctx, admin, f.acme.ID)
				must(t, err)
				byName := map[string]calls.NumberRow{}
				for _, r := range rows {
					byName[r.Name] = r
				}
				if p.leaves {
					if !byName["Main line"].FallsBackToVoicemail || len(byName["Main line"].RingGroup) != 0 {
						t.Errorf("Main line after %s: %+v", p.name, byName["Main line"])
					}
					if byName["Night line"].FallsBackToVoicemail || len(byName["Night line"].RingGroup) != 1 {
						t.Errorf("Night line (Max stays) after %s: %+v", p.name, byName["Night line"])
					}
					r, err := f.calls.IncomingCall(ctx, calls.CallParams{Sid: f.sid("CA"), From: "+12025550123", To: "+14155550134"})
					must(t, err)
					if len(r.Dial) != 0 {
						t.Errorf("an emptied ring group still dials %v", r.Dial)
					}
					var n int64
					f.store.DB().Model(&models.AuditEvent{}).Where("action = ?", "ring_group.left").Count(&n)
					if n < 2 {
						t.Errorf("%d ring_group.left audit events", n)
					}
				} else if len(byName["Main line"].RingGroup) != 1 {
					t.Errorf("Rita left Main line after %s", p.name)
				}
			})
		}
	}
}

// Webhooks repeat and arrive out of order; every order ends in the same
// call.
func TestTelephony_WebhooksAreIdempotentAndOrderFree(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			f := newFixture(t, dialect)
			admin := f.person(f.account, models.Admin)
			f.number(admin, f.acme, "+14155550134", "Main line", "Google Ads")
			recSid := f.sid("RE")
			steps := map[string]func(sid string){
				"voice": func(sid string) {
					_, err := f.calls.IncomingCall(ctx, calls.CallParams{Sid: sid, From: "+12025550123", To: "+14155550134", CallerName: "SMITH JOHN"})
					must(t, err)
				},
				"ringing": func(sid string) {
					must(t, f.calls.CallStatus(ctx, calls.StatusParams{Sid: sid, Status: "ringing", From: "+12025550123", To: "+14155550134"}))
				},
				"dial": func(sid string) {
					_, _, _, err := f.calls.DialResult(ctx, calls.DialParams{Sid: sid, From: "+12025550123", To: "+14155550134", DialStatus: "no-answer"})
					must(t, err)
				},
				"voicemail": func(sid string) {
					must(t, f.calls.Recording(ctx, calls.RecordingParams{CallSid: sid, RecordingSid: recSid, Status: "completed", Duration: "17", Voicemail: true}))
				},
				"completed": func(sid string) {
					must(t, f.calls.CallStatus(ctx, calls.StatusParams{Sid: sid, Status: "completed", Duration: "48", From: "+12025550123", To: "+14155550134"}))
				},
			}
			orders := [][]string{
				{"voice", "ringing", "dial", "voicemail", "completed"},
				{"voicemail", "voice", "dial", "completed"},
				{"completed", "voicemail", "dial", "ringing", "voice"},
				{"voicemail", "completed", "voice", "voice", "ringing", "dial", "completed", "voicemail"},
				{"dial", "completed", "ringing", "voice", "voicemail"},
			}
			for i, order := range orders {
				sid := f.sid("CA")
				for _, step := range order {
					steps[step](sid)
				}
				c := f.callBySid(sid)
				if c.Outcome != calls.OutcomeVoicemail || c.Status != "completed" || c.Duration != 48 || c.RecordingSid != recSid ||
					c.RecordingSeconds != 17 || !c.RecordingVoicemail || c.CallerNumber != "+12025550123" || c.Source != "Google Ads" {
					t.Errorf("order %v: call = %+v", order, c)
				}
				if (i == 0) != c.FirstTime {
					t.Errorf("order %v: first time = %v", order, c.FirstTime)
				}
				var calls_, events int64
				f.store.DB().Model(&calls.Call{}).Where("sid = ?", sid).Count(&calls_)
				f.store.DB().Model(&calls.CallEvent{}).Where("call_id = ?", c.ID).Count(&events)
				if calls_ != 1 || events != 4 {
					t.Errorf("order %v: %d rows, %d events (want 1 and 4: arrived, not answered, voicemail, ended)", order, calls_, events)
				}
			}
			// An answered call stays answered whatever comes late.
			sid := f.sid("CA")
			must(t, f.calls.CallStatus(ctx, calls.StatusParams{Sid: sid, Status: "completed", Duration: "90", From: "+12025550123", To: "+14155550134"}))
			_, _, _, err := f.calls.DialResult(ctx, calls.DialParams{Sid: sid, From: "+12025550123", To: "+14155550134", DialStatus: "completed", DialDuration: "80"})
			must(t, err)
			must(t, f.calls.CallStatus(ctx, calls.StatusParams{Sid: sid, Status: "in-progress", From: "+12025550123", To: "+14155550134"}))
			if c := f.callBySid(sid); c.Outcome != calls.OutcomeAnswered || c.Status != "completed" || c.TalkSeconds != 80 {
				t.Errorf("late dial result: %+v", c)
			}
			// A replayed voice webhook of a finished call hangs up and
			// changes nothing.
			r, err := f.calls.IncomingCall(ctx, calls.CallParams{Sid: sid, From: "+12025550123", To: "+14155550134"})
			must(t, err)
			if !r.Done {
				t.Error("replay of a completed call was routed again")
			}
			// Unknown and disabled numbers are unavailable and leave nothing.
			r, err = f.calls.IncomingCall(ctx, calls.CallParams{Sid: f.sid("CA"), From: "+12025550123", To: "+14155550199"})
			must(t, err)
			if !r.Unavailable {
				t.Error("an unknown number was routed")
			}
			_, err = f.store.SetCompanyStatus(ctx, admin, f.acme.ID, models.CompanyDisabled, "")
			must(t, err)
			ghost := f.sid("CA")
			r, err = f.calls.IncomingCall(ctx, calls.CallParams{Sid: ghost, From: "+12025550123", To: "+14155550134"})
			must(t, err)
			must(t, f.calls.CallStatus(ctx, calls.StatusParams{Sid: ghost, Status: "completed", From: "+12025550123", To: "+14155550134"}))
			var n int64
			f.store.DB().Model(&calls.Call{}).Where("sid = ?", ghost).Count(&n)
			if !r.Unavailable || n != 0 {
				t.Errorf("a disabled company's number: unavailable %v, %d rows", r.Unavailable, n)
			}
			// A text is logged once.
			text := calls.TextParams{Sid: f.sid("SM"), From: "+12025550123", To: "+14155550135", Body: "Are you open?"}
			_, err = f.calls.CreateNumber(ctx, admin, f.bolt.ID, calls.NumberInput{Number: "+14155550135", Name: "Bolt"}, "")
			must(t, err)
			for range 2 {
				ok, err := f.calls.IncomingText(ctx, text)
				must(t, err)
				if !ok {
					t.Error("the text was not taken")
				}
			}
			f.store.DB().Model(&calls.Call{}).Where("sid = ? AND kind = ? AND body = ?", text.Sid, calls.KindText, "Are you open?").Count(&n)
			if n != 1 {
				t.Errorf("%d text rows", n)
			}
		})
	}
}

func TestCall_TagsNotesQualifiedAndWhoMay(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			f := newFixture(t, dialect)
			admin := f.person(f.account, models.Admin)
			rita := f.person(f.account, models.Reporting, f.acme)
			max := f.person(f.account, models.Manager, f.acme)
			bolt := f.person(f.account, models.Reporting, f.bolt)
			stranger := f.person(f.other, models.Admin)
			f.number(admin, f.acme, "+14155550134", "Main line", "Google Ads")
			sid := f.call("+14155550134", "+12025550123", calls.OutcomeAnswered)
			id := f.callBySid(sid).ID

			tag, err := f.calls.AddTag(ctx, rita, id, " Booked ", "")
			must(t, err)
			again, err := f.calls.AddTag(ctx, max, id, "booked", "")
			must(t, err)
			if tag.ID != again.ID || tag.Name != "Booked" {
				t.Errorf("tags %+v %+v: one tag, as first typed", tag, again)
			}
			note, err := f.calls.AddNote(ctx, rita, id, "Wants a quote for Tuesday", "")
			must(t, err)
			if _, err := f.calls.EditNote(ctx, max, id, note.ID, "Not mine", ""); models.ErrorCode(err) != models.Forbidden {
				t.Errorf("someone else edits the note: %v", err)
			}
			_, err = f.calls.EditNote(ctx, rita, id, note.ID, "Wants a quote for Wednesday", "")
			must(t, err)
			must(t, f.calls.SetQualified(ctx, rita, id, true, ""))
			d, err := f.calls.FindCall(ctx, rita, id)
			must(t, err)
			if !d.Call.Qualified || len(d.Tags) != 1 || len(d.Notes) != 1 || d.Notes[0].Body != "Wants a quote for Wednesday" || d.Notes[0].AuthorName != rita.Membership.FullName() {
				t.Errorf("call page: %+v", d)
			}
			for who, v := range map[string]*models.Viewer{"another company's": bolt, "another account's": stranger} {
				if _, err := f.calls.FindCall(ctx, v, id); models.ErrorCode(err) != models.NotFound {
					t.Errorf("%s user reads the call: %v", who, err)
				}
				if _, err := f.calls.AddTag(ctx, v, id, "Spam", ""); models.ErrorCode(err) != models.NotFound {
					t.Errorf("%s user tags the call: %v", who, err)
				}
				if err := f.calls.SetQualified(ctx, v, id, false, ""); models.ErrorCode(err) != models.NotFound {
					t.Errorf("%s user qualifies the call: %v", who, err)
				}
			}
			for _, bad := range []string{"", strings.Repeat("x", 41), "nul\x00here"} {
				if _, err := f.calls.AddTag(ctx, rita, id, bad, ""); models.ErrorCode(err) != models.Invalid {
					t.Errorf("tag %q: %v", bad, err)
				}
			}
			var actions []string
			f.store.DB().Model(&models.AuditEvent{}).Where("action LIKE 'call.%'").Order("id").Pluck("action", &actions)
			if strings.Join(actions, ",") != "call.tagged,call.noted,call.note_edited,call.qualified" {
				t.Errorf("audit = %v", actions)
			}
		})
	}
}

func TestReport_CountsDaysInTheCompanysTimeZoneAndExportsSafeCSV(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "sqlite")
	admin := f.person(f.account, models.Admin)
	n := f.number(admin, f.acme, "+14155550134", "Main line", "=HYPERLINK(\"http://evil\")")
	_ = n
	// 09:00 UTC is 03:00 in Chicago: 23 Nov. At 03:00 UTC on the 24th it
	// is still the 23rd in Chicago.
	f.call("+14155550134", "+12025550123", calls.OutcomeAnswered)
	f.advance(18 * time.Hour)
	f.call("+14155550134", "+12025550124", calls.OutcomeMissed)
	f.advance(12 * time.Hour)
	f.call("+14155550134", "+12025550123", calls.OutcomeVoicemail)
	_, err := f.calls.IncomingCall(ctx, calls.CallParams{Sid: f.sid("CA"), From: "+12025550125", To: "+14155550134", CallerName: "@SUM(1+1)"})
	must(t, err)
	r, err := f.calls.CompanyReport(ctx, admin, f.acme.ID, 30)
	must(t, err)
	if len(r.PerDay) != 30 || r.Calls != 4 || r.Answered != 1 || r.Missed != 2 || r.Voicemail != 1 || r.FirstTime != 3 {
		t.Errorf("report = %+v", r)
	}
	last2 := r.PerDay[28:]
	if last2[0].Date.Format("2006-01-02") != "2026-11-23" || last2[0].Total() != 2 || last2[1].Total() != 2 {
		t.Errorf("last days = %+v", last2)
	}
	if _, err := f.calls.CompanyReport(ctx, admin, f.acme.ID, 7); models.ErrorCode(err) != models.BadRequest {
		t.Errorf("7 days: %v", err)
	}
	var buf bytes.Buffer
	must(t, f.calls.ExportCSV(ctx, admin, f.acme.ID, 90, &buf))
	records, err := csv.NewReader(&buf).ReadAll()
	must(t, err)
	if len(records) != 5 {
		t.Fatalf("%d CSV records", len(records))
	}
	for _, rec := range records[1:] {
		for _, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("unsafe cell %q in %q", cell, rec)
			}
		}
	}
	if records[1][4] != "'@SUM(1+1)" || !strings.HasPrefix(records[1][7], "'=HYPERLINK") || records[1][3] != "'+12025550125" {
		t.Errorf("newest row = %q", records[1])
	}
	rita := f.person(f.account, models.Reporting, f.bolt)
	if err := f.calls.ExportCSV(ctx, rita, f.acme.ID, 30, &buf); models.ErrorCode(err) != models.NotFound {
		t.Errorf("another company's Reporting user exports: %v", err)
	}
}
