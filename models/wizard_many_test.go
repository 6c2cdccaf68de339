package models_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"switchboard/models"
	"switchboard/models/modelstest"
	"switchboard/views"
)

// manyFixture is an Admin's store with a company for the people to share.
func manyFixture(t *testing.T, dialect string, opts ...models.Option) (*models.Store, *models.Viewer, models.Company) {
	t.Helper()
	store := modelstest.OpenDialect(t, dialect, opts...)
	store.UseMail(views.Mailer{BaseURL: mustURL("https://switchboard.example")})
	v := adminViewer(t, store)
	var co models.Company
	if err := store.DB().Where("account_id = ?", v.Account.ID).Take(&co).Error; err != nil {
		t.Fatal(err)
	}
	return store, v, co
}

func countWhere(t *testing.T, store *models.Store, model any, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := store.DB().Model(model).Where(query, args...).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func invitedEmails(res *models.InviteesResult) []string {
	var out []string
	for _, o := range res.Invited {
		out = append(out, o.Member.Email)
	}
	return out
}

// Everyone valid gets what the one-person wizard gives; a person whose
// address someone else took meanwhile is skipped with the reason; a second
// submit of the same invitation invites nobody twice.
func TestCreateInvitees_PartialFailureThenIdempotentResubmit(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			store, v, co := manyFixture(t, dialect)
			ctx := context.Background()
			d := models.Draft{Key: models.NewDraftKey(), Type: models.Reporting, CompanyIDs: []uint{co.ID}, Message: "Welcome aboard"}
			people := []models.Invitee{
				{FirstName: "Ann", LastName: "Lee", Email: "Ann@Example.com"},
				{FirstName: "Bob", LastName: "Ray", Email: "bob@example.com"},
				{FirstName: "Cy", LastName: "Dee", Email: "cy@example.com"},
			}
			check, err := store.CheckInvitees(ctx, v, d, people, d.LastStep())
			if err != nil || !check.OK() {
				t.Fatalf("check: %+v %v", check, err)
			}
			// Between the check and the finish, another draft takes Bob.
			if _, _, err := store.CreateMember(ctx, v, models.Draft{Key: models.NewDraftKey(), Type: models.Reporting, FirstName: "Bob", LastName: "Other",
				Email: "bob@example.com", CompanyIDs: []uint{co.ID}}, ""); err != nil {
				t.Fatal(err)
			}
			res, err := store.CreateInvitees(ctx, v, d, people, "192.0.2.1")
			if err != nil {
				t.Fatal(err)
			}
			if got := invitedEmails(res); !reflect.DeepEqual(got, []string{"ann@example.com", "cy@example.com"}) {
				t.Fatalf("invited %v", got)
			}
			if len(res.Skipped) != 1 || res.Skipped[0].Invitee.Email != "bob@example.com" || !strings.Contains(res.Skipped[0].Skipped, "already a user of this account") {
				t.Fatalf("skipped %+v", res.Skipped)
			}
			for _, addr := range []string{"ann@example.com", "cy@example.com"} {
				var m models.Membership
				if err := store.DB().Where("email = ?", addr).Take(&m).Error; err != nil {
					t.Fatal(err)
				}
				if m.Type != models.Reporting || m.Status != models.MemberInvited || m.CreationKey == nil || *m.CreationKey != models.InviteeKey(d.Key, addr) {
					t.Errorf("%s: %+v", addr, m)
				}
				if n := countWhere(t, store, &models.Assignment{}, "membership_id = ? AND company_id = ?", m.ID, co.ID); n != 1 {
					t.Errorf("%s has %d assignments to the company", addr, n)
				}
				if n := countWhere(t, store, &models.Token{}, "membership_id = ? AND purpose = ?", m.ID, models.PurposeInvitation); n != 1 {
					t.Errorf("%s has %d invitation links", addr, n)
				}
				var mail models.OutboxMessage
				if err := store.DB().Where("membership_id = ? AND kind = ?", m.ID, "invitation").Take(&mail).Error; err != nil || !strings.Contains(mail.TextBody, "Welcome aboard") {
					t.Errorf("%s: invitation email %v %q", addr, err, mail.TextBody)
				}
				for _, action := range []string{"member.created", "invitation.sent"} {
					if n := countWhere(t, store, &models.AuditEvent{}, "target_id = ? AND action = ?", m.ID, action); n != 1 {
						t.Errorf("%s: %d %s events", addr, n, action)
					}
				}
			}

			// The same invitation sent again (a double click, a reload):
			// the same people, nobody twice, no new email.
			mailsBefore := countWhere(t, store, &models.OutboxMessage{}, "kind = ?", "invitation")
			again, err := store.CreateInvitees(ctx, v, d, []models.Invitee{people[2], people[0], people[1]}, "")
			if err != nil {
				t.Fatal(err)
			}
			if got := invitedEmails(again); !reflect.DeepEqual(got, []string{"cy@example.com", "ann@example.com"}) || again.Invited[1].Member.ID != res.Invited[0].Member.ID {
				t.Fatalf("again invited %v", got)
			}
			if n := countWhere(t, store, &models.OutboxMessage{}, "kind = ?", "invitation"); n != mailsBefore {
				t.Errorf("%d invitation emails after the resubmit, want %d", n, mailsBefore)
			}
			if n := countWhere(t, store, &models.Membership{}, "account_id = ?", v.Account.ID); n != 4 {
				t.Errorf("%d people in the account, want 4", n)
			}
		})
	}
}

// The account's daily cap refuses the people past it; those before it are
// invited, and the refused ones say when to try again.
func TestCreateInvitees_RateLimitSkipsThePeoplePastTheCap(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			store, v, _ := manyFixture(t, dialect, models.WithInvitationsPerDay(2))
			ctx := context.Background()
			d := models.Draft{Key: models.NewDraftKey(), Type: models.Admin}
			people := []models.Invitee{
				{FirstName: "Ann", LastName: "Lee", Email: "ann@example.com"},
				{FirstName: "Bob", LastName: "Ray", Email: "bob@example.com"},
				{FirstName: "Cy", LastName: "Dee", Email: "cy@example.com"},
			}
			res, err := store.CreateInvitees(ctx, v, d, people, "")
			if err != nil {
				t.Fatal(err)
			}
			if got := invitedEmails(res); !reflect.DeepEqual(got, []string{"ann@example.com", "bob@example.com"}) {
				t.Fatalf("invited %v", got)
			}
			if len(res.Skipped) != 1 || res.Skipped[0].RetryAt.IsZero() || !strings.Contains(res.Skipped[0].Skipped, "2 invitations in the last 24 hours") {
				t.Fatalf("skipped %+v", res.Skipped)
			}
			if n := countWhere(t, store, &models.Membership{}, "email = ?", "cy@example.com"); n != 0 {
				t.Errorf("the refused person was written (%d)", n)
			}
		})
	}
}

// Each row is checked with its own errors: names, addresses, an address
// twice in the invitation, an address already in the account; the shared
// choices are checked once.
func TestCheckInvitees_EachRowItsOwnErrors(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			store, v, co := manyFixture(t, dialect)
			ctx := context.Background()
			d := models.Draft{Key: models.NewDraftKey(), Type: models.Manager, CompanyIDs: []uint{co.ID}}
			people := []models.Invitee{
				{FirstName: "Ann", LastName: "Lee", Email: "ann@example.com"},
				{FirstName: "", LastName: "Ray", Email: "bob@"},
				{FirstName: "Ann", LastName: "Again", Email: "ANN@example.com"},
				{FirstName: "Ada", LastName: "Admin", Email: "ada@example.com"},
				{FirstName: "Tab\there", LastName: "Ok", Email: "tab@example.com"},
				{FirstName: "Fine", LastName: "Person", Email: "fine@example.com"},
			}
			check, err := store.CheckInvitees(ctx, v, d, people, models.StepCompanies)
			if err != nil {
				t.Fatal(err)
			}
			if check.OK() || check.Shared.Invalid != models.StepInfo || len(check.Shared.Fields) != 0 || len(check.Shared.Companies) != 1 {
				t.Fatalf("shared: %+v", check.Shared)
			}
			want := []map[string]string{
				{},
				{"first_name": "Enter the first name.", "email": "Enter an email address like name@example.com."},
				{"email": "ann@example.com is person 1's address too: invite each person once."},
				{"email": "Ada Admin is already a user of this account."},
				{"first_name": "First name cannot contain line breaks or control characters."},
				{},
			}
			for i, w := range want {
				if !reflect.DeepEqual(check.Rows[i].Fields, w) {
					t.Errorf("person %d: %v, want %v", i+1, check.Rows[i].Fields, w)
				}
				if (len(w) == 0) != check.Rows[i].OK() {
					t.Errorf("person %d: OK() = %v", i+1, check.Rows[i].OK())
				}
			}
			// A shared choice wrong: said once, on the shared check.
			d.CompanyIDs = nil
			check, err = store.CheckInvitees(ctx, v, d, people[:1], models.StepCompanies)
			if err != nil || check.Shared.Fields["companies"] == "" || check.Shared.Invalid != models.StepCompanies || len(check.Rows[0].Fields) != 0 {
				t.Fatalf("companies: %+v %v", check.Shared, err)
			}
			// Finishing with a shared choice wrong writes nothing.
			res, err := store.CreateInvitees(ctx, v, d, people[5:], "")
			if err != nil || res.Check == nil || len(res.Invited) != 0 {
				t.Fatalf("finish without companies: %+v %v", res, err)
			}
			if n := countWhere(t, store, &models.Membership{}, "email = ?", "fine@example.com"); n != 0 {
				t.Error("written although the companies were missing")
			}
			// Too many people is refused before anything is read.
			if _, err := store.CheckInvitees(ctx, v, d, make([]models.Invitee, models.MaxInvitees+1), models.StepInfo); models.ErrorCode(err) != models.BadRequest {
				t.Errorf("51 people: %v", err)
			}
		})
	}
}

func TestParsePastedPeople_LinesAndErrors(t *testing.T) {
	text := "Email\n" +
		"ann@example.com\r\n" +
		"Bob Ray <Bob@Example.com>\n" +
		"\n" +
		"cy@example.com, dee@example.com; eve@example.com\n" +
		"Fay\tFlynn\tfay@example.com\n" +
		"Gus Greene, gus@example.com\n" +
		"not an address\n" +
		"hal@, ivy@example.com\n" +
		"\"Jo Jones\" <jo@example.com>\n" +
		"Kim, kim@example.com, lee@example.com\n"
	people, bad := models.ParsePastedPeople(text)
	want := []models.Invitee{
		{Email: "ann@example.com"},
		{FirstName: "Bob", LastName: "Ray", Email: "bob@example.com"},
		{Email: "cy@example.com"}, {Email: "dee@example.com"}, {Email: "eve@example.com"},
		{FirstName: "Fay", LastName: "Flynn", Email: "fay@example.com"},
		{FirstName: "Gus", LastName: "Greene", Email: "gus@example.com"},
		{FirstName: "Jo", LastName: "Jones", Email: "jo@example.com"},
	}
	if !reflect.DeepEqual(people, want) {
		t.Errorf("people:\n%+v\nwant\n%+v", people, want)
	}
	wantBad := []models.PastedLine{
		{Line: 8, Text: "not an address", Message: "has no email address"},
		{Line: 9, Text: "hal@, ivy@example.com", Message: `"hal@" is not an email address (Enter an email address like name@example.com)`},
		{Line: 11, Text: "Kim, kim@example.com, lee@example.com", Message: "mixes names with several addresses: put one person on a line"},
	}
	if !reflect.DeepEqual(bad, wantBad) {
		t.Errorf("bad:\n%+v\nwant\n%+v", bad, wantBad)
	}
}

func TestInviteeKey_SameDraftAndAddressSameKey(t *testing.T) {
	k := models.NewDraftKey()
	a := models.InviteeKey(k, "Ann@Example.com")
	if a != models.InviteeKey(k, " ann@example.com ") || !models.ValidDraftKey(a) {
		t.Errorf("key %q not stable or not shaped like a draft key", a)
	}
	if a == models.InviteeKey(k, "bob@example.com") || a == models.InviteeKey(models.NewDraftKey(), "ann@example.com") || a == k {
		t.Error("keys collide")
	}
}

// BenchmarkInvite10 compares ten people invited one wizard run each
// (CreateMember) with the same ten in one invitation (CreateInvitees):
// per op, ten Reporting users with two companies, their links, emails and
// audit events, on SQLite. It shows the cost of inviting several at once
// against one by one; it fails on nothing but errors.
func BenchmarkInvite10(b *testing.B) {
	for _, how := range []string{"one-by-one", "at-once"} {
		b.Run(how, func(b *testing.B) {
			store := modelstest.Open(b, models.WithInvitationsPerDay(1<<30))
			store.UseMail(views.Mailer{BaseURL: mustURL("https://switchboard.example")})
			v := adminViewer(b, store)
			ctx := context.Background()
			var cos []models.Company
			store.DB().Where("account_id = ?", v.Account.ID).Find(&cos)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU()
			for i := range b.N {
				d := models.Draft{Key: models.NewDraftKey(), Type: models.Reporting, CompanyIDs: []uint{cos[0].ID}, Message: "Welcome"}
				people := make([]models.Invitee, 10)
				for j := range people {
					people[j] = models.Invitee{FirstName: "Bench", LastName: fmt.Sprint(j), Email: fmt.Sprintf("p%d.%d@bench.example.com", i, j)}
				}
				if how == "at-once" {
					res, err := store.CreateInvitees(ctx, v, d, people, "")
					if err != nil || len(res.Invited) != 10 {
						b.Fatalf("invite: %+v %v", res, err)
					}
					continue
				}
				for _, p := range people {
					one := d
					one.Key, one.FirstName, one.LastName, one.Email = models.NewDraftKey(), p.FirstName, p.LastName, p.Email
					if _, _, err := store.CreateMember(ctx, v, one, ""); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
