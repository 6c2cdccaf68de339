package notify_test

import (
	"context"
	"strings"
	"testing"

	"switchboard/models"
	"switchboard/models/modelstest"
	"switchboard/models/notify"
)

// TestSaveRow_FollowsThePolicy: what SaveRow lets each viewer do, with
// the policy's answers on real people and companies (404 outside scope,
// 403 in it, 422 for a company the person does not see), and nothing
// written when refused.
func TestSaveRow_FollowsThePolicy(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			f := newFixture(t, dialect).seed()
			max := f.person(f.account, models.Manager, "Max", f.acme)
			rita := f.person(f.account, models.Reporting, "Rita", f.acme)
			bob := f.person(f.account, models.Reporting, "Bob", f.bolt)
			nora := f.person(f.account, models.Notification, "Nora", f.acme, f.bolt)
			otherAdmin := f.person(f.other, models.Admin, "Olga")
			daily := notify.Choice{Daily: true}
			for _, c := range []struct {
				name string
				by   *models.Viewer
				who  *models.Viewer
				co   *models.Company
				want models.Code // "" = allowed
			}{
				{"Admin, anyone, a company", f.admin, rita, &f.acme, ""},
				{"Admin, anyone, all companies", f.admin, bob, nil, ""},
				{"Admin, a company the person does not see", f.admin, rita, &f.bolt, models.Invalid},
				{"Admin of another account", otherAdmin, rita, &f.acme, models.NotFound},
				{"Manager, own", max, max, nil, ""},
				{"Manager, a Reporting user of their company", max, rita, &f.acme, ""},
				{"Manager, a Notification user, their company", max, nora, &f.acme, ""},
				{"Manager, all of someone's companies", max, nora, nil, models.Forbidden},
				{"Manager, a company they do not manage", max, nora, &f.bolt, models.NotFound},
				{"Manager, an Admin", max, f.admin, &f.acme, models.Forbidden},
				{"Manager, someone outside their companies", max, bob, &f.acme, models.NotFound},
				{"Reporting, own", rita, rita, &f.acme, ""},
				{"Reporting, own, all companies", rita, rita, nil, ""},
				{"Reporting, someone they see", rita, nora, &f.acme, models.Forbidden},
				{"Reporting, a company not theirs", rita, rita, &f.bolt, models.NotFound},
			} {
				before := countSubs(t, f)
				in := notify.RowInput{All: c.co == nil, Choice: daily}
				if c.co != nil {
					in.CompanyID = c.co.ID
				}
				_, err := f.notify.SaveRow(ctx, c.by, c.who.Membership.ID, in, "")
				switch {
				case c.want == "" && err != nil:
					t.Errorf("%s: %v", c.name, err)
				case c.want != "" && models.ErrorCode(err) != c.want:
					t.Errorf("%s: %v, want %s", c.name, err, c.want)
				case c.want != "" && countSubs(t, f) != before:
					t.Errorf("%s: refused, but something was written", c.name)
				}
			}
			// Seeing: a Reporting user may not open someone else's.
			if _, err := f.notify.SettingsOf(ctx, rita, nora.Membership.ID); models.ErrorCode(err) != models.Forbidden {
				t.Errorf("Reporting opening another's: %v", err)
			}
			if _, err := f.notify.SettingsOf(ctx, max, bob.Membership.ID); models.ErrorCode(err) != models.NotFound {
				t.Errorf("Manager opening someone outside scope: %v", err)
			}
			// A Manager sees Nora's Acme row (editable, saying why), not her
			// Bolt company, and her all-companies row read-only.
			f.set(f.admin, nora, nil, notify.Choice{Weekly: true})
			f.set(f.admin, nora, &f.bolt, notify.Choice{Monthly: true})
			s, err := f.notify.SettingsOf(ctx, max, nora.Membership.ID)
			must(t, err)
			var rows []string
			for _, r := range s.Rows {
				label := "all"
				if r.Company != nil {
					label = r.Company.Name
				}
				rows = append(rows, label+":"+map[bool]string{true: "edit", false: "read"}[r.Decision.Allowed])
			}
			if strings.Join(rows, ",") != "all:read,Acme Plumbing:edit" {
				t.Errorf("Max sees Nora's rows %v", rows)
			}
			for _, r := range s.Rows {
				if r.Company == nil && !strings.Contains(r.Decision.Err.Message, "reaches companies you may not manage") {
					t.Errorf("read-only reason: %q", r.Decision.Err.Message)
				}
				if r.Company != nil && !strings.Contains(r.Decision.Because, "You manage Acme Plumbing") {
					t.Errorf("editable reason: %q", r.Decision.Because)
				}
			}
		})
	}
}

func countSubs(t *testing.T, f *fixture) int64 {
	var n int64
	must(t, f.store.DB().Model(&notify.Subscription{}).Where("active = ?", true).Count(&n).Error)
	return n
}

// TestWizard_NotificationUserReceivesWhatItChose: the wizard's choice is
// set up for each chosen company in the creating transaction, by the
// Admin who created the person.
func TestWizard_NotificationUserReceivesWhatItChose(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "sqlite").seed()
	d := models.Draft{Key: models.NewDraftKey(), Type: models.Notification, FirstName: "Nora", LastName: "Notes",
		Email: "nora@example.com", CompanyIDs: []uint{f.acme.ID, f.bolt.ID},
		Receives: notify.Choice{Daily: true, Calls: notify.MissedCalls}.Values()}
	m, created, err := f.store.CreateMember(ctx, f.admin, d, "")
	must(t, err)
	if !created {
		t.Fatal("not created")
	}
	s, err := f.notify.SettingsOf(ctx, f.admin, m.ID)
	must(t, err)
	if len(s.Rows) != 2 {
		t.Fatalf("rows %+v", s.Rows)
	}
	for _, r := range s.Rows {
		if r.Choice != (notify.Choice{Daily: true, Calls: notify.MissedCalls}) || strings.Join(r.SetBy(), ",") != "Ada Tester" {
			t.Errorf("%s: %+v set by %v", r.Company.Name, r.Choice, r.SetBy())
		}
	}
	// A choice no form sends rolls the creation back.
	d2 := models.Draft{Key: models.NewDraftKey(), Type: models.Notification, FirstName: "Eve", LastName: "Evil",
		Email: "eve@example.com", CompanyIDs: []uint{f.acme.ID}, Receives: []string{"daily", "everything"}}
	if _, _, err := f.store.CreateMember(ctx, f.admin, d2, ""); models.ErrorCode(err) != models.BadRequest {
		t.Errorf("bad choice: %v", err)
	}
	var n int64
	must(t, f.store.DB().Model(&models.Membership{}).Where("email = ?", "eve@example.com").Count(&n).Error)
	if n != 0 {
		t.Error("a refused creation left the person behind")
	}
}
