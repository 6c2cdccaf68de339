package models_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/modelstest"
	"switchboard/views"
)

// TestCreateMembersBatch_SameRowsAsTheWizard creates people of every kind
// twice, once each through the wizard (CreateMember) and all together
// through the import's batch, at the same instant, and compares every row
// of every table that refers to each person: the batch must write exactly
// what the wizard writes, but for IDs, secrets and the creation key.
func TestCreateMembersBatch_SameRowsAsTheWizard(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			now := time.Date(2026, 11, 30, 21, 0, 0, 0, time.UTC)
			store := modelstest.OpenDialect(t, dialect, models.WithClock(func() time.Time { return now }))
			store.UseMail(views.Mailer{BaseURL: mustURL("https://switchboard.example")})
			v := adminViewer(t, store)
			ctx := context.Background()
			beta, err := store.CreateCompany(ctx, v, models.CompanyInput{Name: "Beta Dental", TimeZone: "UTC"}, "")
			must(t, err)
			var acme models.Company
			must(t, store.DB().Where("account_id = ? AND name = ?", v.Account.ID, "Acme").Take(&acme).Error)
			// Two addresses with a login in another account.
			for _, email := range []string{"login1@example.com", "login2@example.com"} {
				secret, err := store.Bootstrap(ctx, models.AccountInput{AccountName: "Other " + email, Email: email, FirstName: "Lo", LastName: "Gin"})
				must(t, err)
				_, err = store.AcceptInvitation(ctx, secret, "correct-staple-lamp-orbit", "correct-staple-lamp-orbit", "")
				must(t, err)
			}
			drafts := func(n int) []models.Draft {
				return []models.Draft{
					{Type: models.Manager, FirstName: "Mia", LastName: "Manager", Email: fmt.Sprintf("mia%d@example.com", n),
						CompanyIDs: []uint{beta.ID, acme.ID}, Message: "Welcome aboard", InvoiceEmails: true},
					{Type: models.Notification, FirstName: "Nia", LastName: "Notify", Email: fmt.Sprintf("nia%d@example.com", n),
						CompanyIDs: []uint{acme.ID}},
					{Type: models.Admin, FirstName: "Ada", LastName: "Second", Email: fmt.Sprintf("ada%d@Example.COM", n),
						InvoiceEmails: true},
					{Type: models.Reporting, FirstName: "Lo", LastName: "Gin", Email: fmt.Sprintf("login%d@example.com", n),
						CompanyIDs: []uint{beta.ID}, Message: "You know the way", InviteExistingLogin: true},
				}
			}
			counts := func() map[string]int64 {
				var rows []struct {
					Type, Status string
					N            int64
				}
				must(t, store.DB().Raw("SELECT type, status, n FROM member_counts WHERE account_id = ?", v.Account.ID).Scan(&rows).Error)
				out := map[string]int64{}
				for _, r := range rows {
					out[r.Type+"/"+r.Status] = r.N
				}
				return out
			}
			accountHits := func(bucket string) int64 {
				var hits int64
				store.DB().Raw("SELECT hits FROM throttle_counters WHERE bucket = ?", bucket).Scan(&hits)
				return hits
			}
			bucket := fmt.Sprintf("invite.account:%d", v.Account.ID)

			before := counts()
			var wizard []models.Membership
			for _, d := range drafts(1) {
				d.Key = models.NewDraftKey()
				m, created, err := store.CreateMember(ctx, v, d, "")
				if err != nil || !created {
					t.Fatalf("wizard %s: created %v, %v", d.Email, created, err)
				}
				wizard = append(wizard, *m)
			}
			afterWizard, hitsWizard := counts(), accountHits(bucket)
			batchDrafts := drafts(2)
			for i := range batchDrafts {
				batchDrafts[i].Key = fmt.Sprintf("import-9-%d", i)
			}
			batch, err := store.CreateMembersBatch(ctx, v, batchDrafts, "", store.ThrottlePolicy().InviteAccount)
			must(t, err)
			afterBatch, hitsBatch := counts(), accountHits(bucket)

			for k := range afterBatch {
				if afterBatch[k]-afterWizard[k] != afterWizard[k]-before[k] {
					t.Errorf("member_counts %s: the wizard added %d, the batch %d", k, afterWizard[k]-before[k], afterBatch[k]-afterWizard[k])
				}
			}
			if hitsWizard != 3 || hitsBatch != 6 {
				t.Errorf("the account's invitation counter: %d after the wizard, %d after the batch; want 3 and 6", hitsWizard, hitsBatch)
			}
			if len(batch) != len(wizard) {
				t.Fatalf("the batch created %d people, want %d", len(batch), len(wizard))
			}
			for i := range wizard {
				w := personRows(t, store, wizard[i].ID, "1@")
				b := personRows(t, store, batch[i].ID, "2@")
				if len(w) < 4 {
					t.Fatalf("%s: only %d rows found: %v", wizard[i].Email, len(w), w)
				}
				if !slices.Equal(w, b) {
					t.Errorf("%s and %s differ:\nonly the wizard's: %s\nonly the batch's:  %s", wizard[i].Email, batch[i].Email,
						strings.Join(missing(w, b), "\n        "), strings.Join(missing(b, w), "\n        "))
				}
			}
		})
	}
}

var secretPattern = regexp.MustCompile(`[A-Za-z0-9_-]{43}`)

// personRows are the rows of every table that refer to the person (by
// their ID in memberships, a membership_id, target_id or member_id
// column, or a throttle bucket), as sorted strings without IDs, secrets
// or the creation key, and with mark (the address's distinguishing
// "1@"/"2@") replaced.
func personRows(t *testing.T, store *models.Store, id uint, mark string) []string {
	t.Helper()
	db := store.DB()
	tables, err := db.Migrator().GetTables()
	must(t, err)
	skip := map[string]bool{"id": true, "creation_key": true, "hash": true}
	var out []string
	for _, table := range tables {
		cols, err := db.Migrator().ColumnTypes(table)
		must(t, err)
		var where []string
		names := map[string]bool{}
		for _, c := range cols {
			names[c.Name()] = true
			switch c.Name() {
			case "membership_id", "target_id", "member_id":
				where = append(where, c.Name()+" = "+fmt.Sprint(id))
			}
		}
		switch {
		case table == "memberships":
			where = append(where, "id = "+fmt.Sprint(id))
		case table == "throttle_counters":
			where = append(where, fmt.Sprintf("bucket LIKE '%%:%d'", id))
		}
		if len(where) == 0 {
			continue
		}
		var rows []map[string]any
		must(t, db.Table(table).Where(strings.Join(where, " OR ")).Find(&rows).Error)
		for _, r := range rows {
			var parts []string
			for k, val := range r {
				if skip[k] || k == "membership_id" || k == "target_id" || k == "member_id" {
					continue
				}
				if b, ok := val.([]byte); ok {
					val = string(b)
				}
				if tm, ok := val.(time.Time); ok {
					val = tm.UTC().Format(time.RFC3339Nano)
				}
				s := fmt.Sprint(val)
				s = strings.ReplaceAll(s, mark, "#@")
				if k == "bucket" {
					s = strings.TrimSuffix(s, ":"+fmt.Sprint(id)) + ":ID"
				}
				s = secretPattern.ReplaceAllString(s, "SECRET")
				parts = append(parts, k+"="+s)
			}
			slices.Sort(parts)
			out = append(out, table+"{"+strings.Join(parts, " ")+"}")
		}
	}
	slices.Sort(out)
	return out
}

// missing lists the lines of a that b lacks.
func missing(a, b []string) []string {
	var out []string
	for _, l := range a {
		if !slices.Contains(b, l) {
			// Show where it differs from its closest line in b.
			best, at := "", 0
			for _, o := range b {
				n := 0
				for n < len(l) && n < len(o) && l[n] == o[n] {
					n++
				}
				if n >= at {
					best, at = o, n
				}
			}
			_ = best
			from := max(at-40, 0)
			out = append(out, fmt.Sprintf("…%s… (differs at %d)", l[from:min(at+80, len(l))], at))
		}
	}
	return out
}

// TestCheckDrafts_SameVerdictsAsCheckDraft checks drafts of every kind
// together and each on its own with the wizard's CheckDraft: the verdicts
// must be the same.
func TestCheckDrafts_SameVerdictsAsCheckDraft(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			f := newImportFixture(t, modelstest.OpenDialect(t, dialect))
			ctx := context.Background()
			acme, beta := f.companyID(t, "Acme"), f.companyID(t, "Beta Dental")
			gone, err := f.store.CreateCompany(ctx, f.v, models.CompanyInput{Name: "Gone", TimeZone: "UTC"}, "")
			must(t, err)
			must(t, f.store.DB().Model(&models.Company{}).Where("id = ?", gone.ID).Update("status", models.CompanyDisabled).Error)
			made := models.NewDraftKey()
			if _, _, err := f.store.CreateMember(ctx, f.v, models.Draft{Key: made, Type: models.Reporting, FirstName: "Made",
				LastName: "Before", Email: "made@example.com", CompanyIDs: []uint{acme}}, ""); err != nil {
				t.Fatal(err)
			}
			long := strings.Repeat("x", models.MaxMessageLength+1)
			drafts := []models.Draft{
				{Type: models.Manager, FirstName: "Ok", LastName: "Fine", Email: "OK@Example.com", CompanyIDs: []uint{beta, acme, beta}},
				{Type: "owner", FirstName: "Bad", LastName: "Type", Email: "type@example.com", CompanyIDs: []uint{acme}},
				{Type: models.Reporting, FirstName: " ", LastName: "Blank", Email: "blank@example.com", CompanyIDs: []uint{acme}},
				{Type: models.Reporting, FirstName: "Bad", LastName: "Email", Email: "not-an-address", CompanyIDs: []uint{acme}},
				{Type: models.Reporting, FirstName: "In", LastName: "Account", Email: "in@example.com", CompanyIDs: []uint{acme}},
				{Key: made, Type: models.Reporting, FirstName: "Made", LastName: "Before", Email: "made@example.com", CompanyIDs: []uint{acme}},
				{Type: models.Reporting, FirstName: "Else", LastName: "Where", Email: "elsewhere@example.com", CompanyIDs: []uint{acme}},
				{Type: models.Reporting, FirstName: "Else", LastName: "Where", Email: "elsewhere@example.com", CompanyIDs: []uint{acme}, InviteExistingLogin: true},
				{Type: models.Manager, FirstName: "No", LastName: "Companies", Email: "none@example.com"},
				{Type: models.Manager, FirstName: "Gone", LastName: "Company", Email: "gone@example.com", CompanyIDs: []uint{acme, gone.ID}},
				{Type: models.Manager, FirstName: "Long", LastName: "Message", Email: "long@example.com", CompanyIDs: []uint{acme}, Message: long},
				{Type: models.Notification, FirstName: "Note", LastName: "Message", Email: "note@example.com", CompanyIDs: []uint{acme}, Message: long},
				{Type: models.Admin, FirstName: "Ad", LastName: "Min", Email: "admin2@example.com", CompanyIDs: []uint{gone.ID}},
			}
			for i := range drafts {
				if drafts[i].Key == "" {
					drafts[i].Key = fmt.Sprintf("import-1-%d", i)
				}
			}
			together, err := f.store.CheckDrafts(ctx, f.v, drafts)
			must(t, err)
			verdict := func(c *models.DraftCheck) string {
				var ids []uint
				for _, co := range c.Companies {
					ids = append(ids, co.ID)
				}
				var existing, created uint
				if c.ExistingMember != nil {
					existing = c.ExistingMember.ID
				}
				if c.Created != nil {
					created = c.Created.ID
				}
				return fmt.Sprintf("invalid %d %v existing %d created %d elsewhere %v companies %v email %q",
					c.Invalid, c.Fields, existing, created, c.LoginElsewhere, ids, c.Email)
			}
			kinds := map[string]bool{}
			for i, d := range drafts {
				alone, err := f.store.CheckDraft(ctx, f.v, d, d.LastStep())
				must(t, err)
				if got, want := verdict(together[i]), verdict(alone); got != want {
					t.Errorf("%s: together %s\n  alone %s", d.Email, got, want)
				}
				kinds[fmt.Sprint(alone.OK(), alone.Invalid, alone.Created != nil, alone.ExistingMember != nil, alone.LoginElsewhere)] = true
			}
			if len(kinds) < 7 {
				t.Errorf("the drafts cover only %d kinds of verdict: %v", len(kinds), kinds)
			}
		})
	}
}

// TestRunImport_LimitReachedMidChunk: when the account's import limit is
// reached part-way through a chunk, the chunk is not written together;
// each row is then done on its own as the wizard would, so the rows
// before the limit are invited and the rest say why not.
func TestRunImport_LimitReachedMidChunk(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			p := models.DefaultThrottlePolicy()
			p.InviteImport.Max = 5
			f := newImportFixture(t, modelstest.OpenDialect(t, dialect, models.WithThrottlePolicy(p)))
			ctx := context.Background()
			file := "First name,Last name,Email,Type,Companies\n"
			for i := range 8 {
				file += fmt.Sprintf("P%d,Person,p%d@example.com,Reporting,Acme\n", i, i)
			}
			imp, err := f.store.CreateImport(ctx, f.v, "team.csv", []byte(file))
			must(t, err)
			must(t, f.store.StartImport(ctx, f.v, imp, ""))
			must(t, f.store.RunImport(ctx, imp.ID, nil))
			var rows []models.ImportRow
			must(t, f.store.DB().Where("import_id = ?", imp.ID).Order("line").Find(&rows).Error)
			var got []string
			for _, r := range rows {
				got = append(got, string(r.Outcome))
				if r.Outcome == models.OutcomeFailed && !strings.Contains(r.Detail, "invitations in the last 24 hours") {
					t.Errorf("line %d failed with %q", r.Line, r.Detail)
				}
			}
			if want := "[invited invited invited invited invited failed failed failed]"; fmt.Sprint(got) != want {
				t.Errorf("outcomes %v, want %s", got, want)
			}
			var invitations int64
			f.store.DB().Model(&models.OutboxMessage{}).Where("kind = ? AND to_address LIKE ?", "invitation", "p%@example.com").Count(&invitations)
			if invitations != 5 {
				t.Errorf("%d invitations in the outbox, want 5", invitations)
			}
		})
	}
}
