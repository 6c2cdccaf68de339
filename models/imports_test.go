package models_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/modelstest"
	"switchboard/views"
)

func TestDefaultRoleType_PhoneWagonRoles(t *testing.T) {
	for _, tc := range []struct {
		role  string
		want  models.UserType
		known bool
	}{
		// Seed 003: every PhoneWagon role.
		{"Administrator", models.Admin, true},
		{"Company Manager", models.Manager, true},
		{"Call Manager", models.Reporting, true},
		{"Global Call Manager", models.Reporting, true},
		{"Campaign Monitor", models.Reporting, true},
		// Spelling as exports vary.
		{"  global   CALL manager ", models.Reporting, true},
		// Our own type names, as the users list exports them.
		{"Admin", models.Admin, true},
		{"Manager", models.Manager, true},
		{"reporting", models.Reporting, true},
		{"Notification", models.Notification, true},
		// Unknown roles are never guessed.
		{"Owner", "", false},
		{"SuperAdmin", "", false},
		{"", "", false},
	} {
		got, known := models.DefaultRoleType(tc.role)
		if got != tc.want || known != tc.known {
			t.Errorf("DefaultRoleType(%q) = %q, %v; want %q, %v", tc.role, got, known, tc.want, tc.known)
		}
	}
}

func TestRecognizeColumns_HeaderVariants(t *testing.T) {
	for _, tc := range []struct {
		headers []string
		want    map[models.ImportField]int
	}{
		{models.MemberCSVHeader, map[models.ImportField]int{models.FieldFirstName: 0, models.FieldLastName: 1,
			models.FieldEmail: 2, models.FieldRole: 3, models.FieldCompanies: 4}},
		{[]string{"FIRST_NAME", " last-name ", "E-mail Address", "User Role", "Company"}, map[models.ImportField]int{
			models.FieldFirstName: 0, models.FieldLastName: 1, models.FieldEmail: 2, models.FieldRole: 3, models.FieldCompanies: 4}},
		{[]string{"Name", "Email", "Role"}, map[models.ImportField]int{models.FieldFullName: 0, models.FieldEmail: 1, models.FieldRole: 2}},
		{[]string{"Given name", "Surname", "mail", "Permission level", "Phone"}, map[models.ImportField]int{
			models.FieldFirstName: 0, models.FieldLastName: 1, models.FieldEmail: 2, models.FieldRole: 3}},
		{[]string{"Vorname", "Telefon"}, map[models.ImportField]int{}},
		// A field named twice takes its first column.
		{[]string{"Email", "E-mail"}, map[models.ImportField]int{models.FieldEmail: 0}},
	} {
		got := models.RecognizeColumns(tc.headers)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("RecognizeColumns(%q) = %v; want %v", tc.headers, got, tc.want)
		}
	}
}

func TestParseImportFile_EncodingsAndLimits(t *testing.T) {
	many := &strings.Builder{}
	many.WriteString("First name,Last name,Email,Type\n")
	for i := range models.MaxImportRows + 1 {
		fmt.Fprintf(many, "A,B,p%d@example.com,Reporting\n", i)
	}
	for _, tc := range []struct {
		name      string
		data      []byte
		wantFirst string
		wantErr   models.Code
	}{
		{"utf8", []byte("First name,Email\nZoë,z@example.com\n"), "Zoë", ""},
		{"utf8 with Excel's BOM", []byte("\xef\xbb\xbfFirst name,Email\nZoë,z@example.com\n"), "Zoë", ""},
		{"windows-1252", []byte("First name,Email\nZo\xeb \x93Z\x94,z@example.com\r\n"), "Zoë “Z”", ""},
		{"blank lines skipped", []byte("First name,Email\n\n,\nAl,a@example.com\n"), "Al", ""},
		{"empty", []byte(""), "", models.Invalid},
		{"header only", []byte("First name,Email\n"), "", models.Invalid},
		{"broken quotes", []byte("First name,Email\n\"Al,a@example.com\n"), "", models.Invalid},
		{"too many rows", []byte(many.String()), "", models.TooLarge},
		{"too many bytes", bytes.Repeat([]byte("a"), models.MaxImportBytes+1), "", models.TooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			headers, rows, err := models.ParseImportFile(tc.data)
			if tc.wantErr != "" {
				var e *models.Error
				if !errors.As(err, &e) || e.Code != tc.wantErr {
					t.Fatalf("err = %v; want code %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if headers[0] != "First name" || rows[0][0] != tc.wantFirst {
				t.Fatalf("headers %q, first cell %q; want First name, %q", headers, rows[0][0], tc.wantFirst)
			}
		})
	}
}

// importFixture is an account (Acme, company Acme) with an Admin, a
// person already in it, and another account whose Admin has a login.
type importFixture struct {
	store *models.Store
	v     *models.Viewer
}

func newImportFixture(t *testing.T, store *models.Store) *importFixture {
	t.Helper()
	store.UseMail(views.Mailer{BaseURL: mustURL("https://switchboard.example")})
	v := adminViewer(t, store)
	ctx := context.Background()
	if _, _, err := store.CreateMember(ctx, v, models.Draft{Key: models.NewDraftKey(), Type: models.Admin,
		FirstName: "In", LastName: "Account", Email: "in@example.com"}, ""); err != nil {
		t.Fatal(err)
	}
	secret, err := store.Bootstrap(ctx, models.AccountInput{AccountName: "Other", Email: "elsewhere@example.com",
		FirstName: "Else", LastName: "Where"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.AcceptInvitation(ctx, secret, "correct-staple-lamp-orbit", "correct-staple-lamp-orbit", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateCompany(ctx, v, models.CompanyInput{Name: "Beta Dental", TimeZone: "UTC"}, ""); err != nil {
		t.Fatal(err)
	}
	return &importFixture{store: store, v: v}
}

func TestPreviewImport_EveryOutcome(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			f := newImportFixture(t, modelstest.OpenDialect(t, dialect))
			ctx := context.Background()
			file := strings.Join([]string{
				"First Name,Last Name,E-mail,Role,Companies",
				"Ann,Invite,ann@example.com,Company Manager,acme; BETA DENTAL",
				"Nora,Notify,nora@example.com,notification,Acme",
				"Ina,Again,IN@example.com,Call Manager,Acme",
				"Eli,Else,elsewhere@example.com,Call Manager,Acme",
				"Bad,Email,not-an-address,Call Manager,Acme",
				",Nofirst,nofirst@example.com,Call Manager,Acme",
				"Dup,Licate,ANN@example.com,Call Manager,Acme",
				"Rob,Role,rob@example.com,Owner,Acme",
				"Una,Known,una@example.com,Call Manager,Gamma Clinic",
				"Ned,None,ned@example.com,Call Manager,",
				"Ctl,\x01Char,ctl@example.com,Call Manager,Acme",
				"Cam,Monitor,cam@example.com,Campaign Monitor,",
				"Adi,Min,adi@example.com,Administrator,",
			}, "\n")
			imp, err := f.store.CreateImport(ctx, f.v, "team.csv", []byte(file))
			if err != nil {
				t.Fatal(err)
			}
			p, err := f.store.PreviewImport(ctx, f.v, imp)
			if err != nil {
				t.Fatal(err)
			}
			want := []struct {
				kind    models.RowKind
				problem string
			}{
				{models.RowInvite, ""},
				{models.RowNotification, "no invitation"},
				{models.RowInAccount, "Already a user"},
				{models.RowLoginElsewhere, "another Switchboard account"},
				{models.RowInvalid, "Email:"},
				{models.RowInvalid, "Enter the first name"},
				{models.RowInvalid, "line 2 of the file"},
				{models.RowInvalid, `"Owner" is not mapped`},
				{models.RowInvalid, `"Gamma Clinic" is not a company`},
				{models.RowInvalid, "none given"},
				{models.RowInvalid, "control characters"},
				{models.RowInvalid, "none given"},
				{models.RowInvite, ""},
			}
			check := func(p *models.ImportPreview) {
				t.Helper()
				for i, w := range want {
					r := p.Rows[i]
					if r.Kind != w.kind || !strings.Contains(r.Problem, w.problem) {
						t.Errorf("line %d: %s %q; want %s containing %q", r.Line, r.Kind, r.Problem, w.kind, w.problem)
					}
				}
			}
			check(p)
			if p.Ready() || p.Unmapped() != 1 || fmt.Sprint(p.UnknownCompanies) != "[Gamma Clinic]" || p.CampaignMonitors != 1 {
				t.Fatalf("ready %v unmapped %d unknown %v monitors %d; want not ready, 1, [Gamma Clinic], 1",
					p.Ready(), p.Unmapped(), p.UnknownCompanies, p.CampaignMonitors)
			}
			if got := fmt.Sprint(p.Rows[0].Companies); got != "[acme BETA DENTAL]" {
				t.Errorf("companies of line 2 = %s", got)
			}
			if err := f.store.StartImport(ctx, f.v, imp, ""); err == nil {
				t.Fatal("an import with an unmapped role started")
			}

			// Map the unknown role, create the unknown company, accept
			// the Campaign Monitor's own company.
			st := imp.Choices()
			st.Roles["owner"] = models.Manager
			st.CreateCompanies = true
			if err := f.store.SaveImportChoice(ctx, f.v, imp, models.ImportChoice{Settings: st, OwnCompany: []uint{p.Rows[11].ID}}); err != nil {
				t.Fatal(err)
			}
			p, err = f.store.PreviewImport(ctx, f.v, imp)
			if err != nil {
				t.Fatal(err)
			}
			want[7] = struct {
				kind    models.RowKind
				problem string
			}{models.RowInvite, ""}
			want[8] = want[7]
			want[11] = want[7]
			check(p)
			if got := fmt.Sprint(p.Rows[11].Companies); got != "[Cam Monitor's numbers]" {
				t.Errorf("Campaign Monitor's companies = %s", got)
			}
			if !p.Ready() || p.Totals[models.RowInvite] != 5 || p.Totals[models.RowInvalid] != 5 {
				t.Fatalf("ready %v totals %v", p.Ready(), p.Totals)
			}

			// One company for everyone replaces the column.
			st.OneCompanyID = f.companyID(t, "Beta Dental")
			if err := f.store.SaveImportChoice(ctx, f.v, imp, models.ImportChoice{Settings: st}); err != nil {
				t.Fatal(err)
			}
			p, _ = f.store.PreviewImport(ctx, f.v, imp)
			if got := fmt.Sprint(p.Rows[9].Kind, p.Rows[9].Companies); got != "invite[Beta Dental]" {
				t.Errorf("line 11 with one company for all: %s", got)
			}
		})
	}
}

func (f *importFixture) companyID(t *testing.T, name string) uint {
	t.Helper()
	var c models.Company
	if err := f.store.DB().Where("account_id = ? AND name = ?", f.v.Account.ID, name).Take(&c).Error; err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// teamFile is a PhoneWagon-like export of n people in company Acme.
func teamFile(n int) []byte {
	var b bytes.Buffer
	b.WriteString("First Name,Last Name,Email,Role,Company\r\n")
	roles := []string{"Administrator", "Company Manager", "Call Manager", "Global Call Manager", "Campaign Monitor"}
	for i := range n {
		fmt.Fprintf(&b, "First%d,Last%d,person%d@example.com,%s,Acme\r\n", i, i, i, roles[i%len(roles)])
	}
	return b.Bytes()
}

// TestRunImport_InterruptedThenResumed imports 10,000 people, stops the
// run part-way as a killed process would (its transaction never commits),
// then runs the job on another server of the same database: each person
// is invited exactly once, and the same file uploaded again invites
// nobody.
func TestRunImport_InterruptedThenResumed(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			stores := modelstest.OpenServers(t, dialect, 2)
			f := newImportFixture(t, stores[0])
			stores[1].UseMail(views.Mailer{BaseURL: mustURL("https://switchboard.example")})
			ctx := context.Background()
			const n = models.MaxImportRows
			imp, err := f.store.CreateImport(ctx, f.v, "team.csv", teamFile(n))
			if err != nil {
				t.Fatal(err)
			}
			st := imp.Choices()
			st.Message = "Welcome aboard"
			if err := f.store.SaveImportChoice(ctx, f.v, imp, models.ImportChoice{Settings: st}); err != nil {
				t.Fatal(err)
			}
			if err := f.store.StartImport(ctx, f.v, imp, ""); err != nil {
				t.Fatal(err)
			}
			stop, cancel := context.WithCancel(ctx)
			err = f.store.RunImport(stop, imp.ID, func(done, total int) error {
				if done >= n/3 {
					cancel()
				}
				return nil
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted run: %v", err)
			}
			var half int64
			f.store.DB().Model(&models.ImportRow{}).Where("import_id = ? AND outcome <> ''", imp.ID).Count(&half)
			if half == 0 || half == n {
				t.Fatalf("%d rows done after the interruption; want some but not all", half)
			}
			if err := stores[1].RunImport(ctx, imp.ID, nil); err != nil {
				t.Fatal(err)
			}
			assertInvitedOnce(t, f, n)

			again, err := f.store.CreateImport(ctx, f.v, "team.csv", teamFile(n))
			if err != nil {
				t.Fatal(err)
			}
			p, err := f.store.PreviewImport(ctx, f.v, again)
			if err != nil {
				t.Fatal(err)
			}
			if p.Totals[models.RowInAccount] != n || p.Ready() {
				t.Fatalf("the same file again: %v, ready %v; want everyone already in the account", p.Totals, p.Ready())
			}
			if err := f.store.StartImport(ctx, f.v, again, ""); err == nil {
				t.Fatal("an import with nobody to invite started")
			}
			assertInvitedOnce(t, f, n)
		})
	}
}

func assertInvitedOnce(t *testing.T, f *importFixture, n int) {
	t.Helper()
	var members, invitations, twice, audits int64
	db := f.store.DB()
	db.Model(&models.Membership{}).Where("account_id = ? AND email LIKE ?", f.v.Account.ID, "person%").Count(&members)
	db.Model(&models.OutboxMessage{}).Where("kind = ? AND to_address LIKE ?", "invitation", "person%").Count(&invitations)
	db.Raw(`SELECT COUNT(*) FROM (SELECT to_address FROM outbox_messages WHERE kind = 'invitation'
		GROUP BY to_address HAVING COUNT(*) > 1) x`).Scan(&twice)
	db.Model(&models.AuditEvent{}).Where("action = ?", "member.created").Count(&audits)
	if members != int64(n) || invitations != int64(n) || twice != 0 || audits < int64(n) {
		t.Fatalf("%d members, %d invitations, %d addresses invited twice, %d audit events; want %d, %d, 0, ≥%d",
			members, invitations, twice, audits, n, n, n)
	}
	var body models.OutboxMessage
	db.Where("kind = ? AND to_address = ?", "invitation", "person7@example.com").Take(&body)
	if !strings.Contains(body.TextBody, "Welcome aboard") {
		t.Errorf("the personal message is not in the invitation: %q", body.TextBody)
	}
}

// BenchmarkImport_Preview10k is the dry run of a 10,000-row file (target
// ≤ 3 s, issue 18).
func BenchmarkImport_Preview10k(b *testing.B) {
	for _, dialect := range modelstest.Dialects(b) {
		b.Run(dialect, func(b *testing.B) {
			store := modelstest.OpenDialect(b, dialect)
			store.UseMail(views.Mailer{BaseURL: mustURL("https://switchboard.example")})
			v := benchAdmin(b, store)
			ctx := context.Background()
			imp, err := store.CreateImport(ctx, v, "team.csv", teamFile(models.MaxImportRows))
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				p, err := store.PreviewImport(ctx, v, imp)
				if err != nil || p.Totals[models.RowInvite] != models.MaxImportRows {
					b.Fatal(err, p.Totals)
				}
			}
		})
	}
}

// BenchmarkImport_Run10k uploads, previews and imports a 10,000-row file
// (target ≤ 20 s, issue 18); each iteration imports into a new account.
func BenchmarkImport_Run10k(b *testing.B) {
	for _, dialect := range modelstest.Dialects(b) {
		b.Run(dialect, func(b *testing.B) {
			store := modelstest.OpenDialect(b, dialect)
			store.UseMail(views.Mailer{BaseURL: mustURL("https://switchboard.example")})
			ctx := context.Background()
			for range b.N {
				b.StopTimer()
				v := benchAdmin(b, store)
				b.StartTimer()
				imp, err := store.CreateImport(ctx, v, "team.csv", teamFile(models.MaxImportRows))
				if err != nil {
					b.Fatal(err)
				}
				if err := store.StartImport(ctx, v, imp, ""); err != nil {
					b.Fatal(err)
				}
				if err := store.RunImport(ctx, imp.ID, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchAdmin is the Admin of a new account with a company Acme.
func benchAdmin(b *testing.B, store *models.Store) *models.Viewer {
	b.Helper()
	ctx := context.Background()
	r, err := store.BootstrapAccount(ctx, models.AccountInput{AccountName: "Acme", CompanyName: "Acme",
		Email: fmt.Sprintf("admin%d@bench.example", b.N+int(store.Now().UnixNano()%1e9)), FirstName: "Ada", LastName: "Admin"})
	if err != nil {
		b.Fatal(err)
	}
	m, err := store.AcceptInvitation(ctx, r.Secret, "correct-staple-lamp-orbit", "correct-staple-lamp-orbit", "")
	if err != nil {
		b.Fatal(err)
	}
	acct, err := store.FindAccount(ctx, m.AccountID)
	if err != nil {
		b.Fatal(err)
	}
	return &models.Viewer{Membership: *m, Account: *acct}
}

// TestImport_AnExportImportsIntoAnotherAccount exports one account's users
// list and previews it as an import into another: the export's marks (an
// Admin's "All companies", the apostrophe before a cell a spreadsheet
// would run) are read back as what they stand for, and no row is invalid.
func TestImport_AnExportImportsIntoAnotherAccount(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			f := newImportFixture(t, modelstest.OpenDialect(t, dialect))
			ctx := context.Background()
			var beta models.Company
			must(t, f.store.DB().Where("account_id = ? AND name = ?", f.v.Account.ID, "Beta Dental").Take(&beta).Error)
			if _, _, err := f.store.CreateMember(ctx, f.v, models.Draft{Key: models.NewDraftKey(), Type: models.Reporting,
				FirstName: "Dash", LastName: "Ing", Email: "-dash@example.com", CompanyIDs: []uint{beta.ID}}, ""); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			must(t, f.store.ExportUsers(ctx, f.v, models.UserFilter{}, time.UTC, &out))
			if !strings.Contains(out.String(), "'-dash@example.com") || !strings.Contains(out.String(), "All companies") {
				t.Fatalf("the export lacks the marks this test reads back:\n%s", out.String())
			}

			// The other account's Admin, with a company of the same name.
			var m models.Membership
			must(t, f.store.DB().Where("email = ?", "elsewhere@example.com").Take(&m).Error)
			other := &models.Viewer{Membership: m}
			must(t, f.store.DB().Take(&other.Account, m.AccountID).Error)
			must(t, f.store.DB().Take(&other.Login, *m.LoginID).Error)
			if _, err := f.store.CreateCompany(ctx, other, models.CompanyInput{Name: "beta dental", TimeZone: "UTC"}, ""); err != nil {
				t.Fatal(err)
			}
			imp, err := f.store.CreateImport(ctx, other, "export.csv", out.Bytes())
			must(t, err)
			p, err := f.store.PreviewImport(ctx, other, imp)
			must(t, err)
			var dash *models.PreviewRow
			for i, r := range p.Rows {
				if r.Kind == models.RowInvalid {
					t.Errorf("line %d is invalid: %s", r.Line, r.Problem)
				}
				if r.Email == "-dash@example.com" {
					dash = &p.Rows[i]
				}
			}
			if dash == nil || dash.Kind != models.RowInvite || fmt.Sprint(dash.Companies) != "[Beta Dental]" || dash.Type != models.Reporting {
				t.Fatalf("the exported Reporting user reads back as %+v", dash)
			}
		})
	}
}

// TestRunImport_UpdateExistingAndJoinWithLogin: people already in the
// account are skipped, or, when the Admin chooses, get the file's type and
// companies through the core's own changes (audited, nothing taken away,
// the importing Admin never changed); an address with a login in another
// account is invited to join with that login.
func TestRunImport_UpdateExistingAndJoinWithLogin(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			f := newImportFixture(t, modelstest.OpenDialect(t, dialect))
			ctx := context.Background()
			acme := f.companyID(t, "Acme")
			for _, d := range []models.Draft{
				{Type: models.Reporting, FirstName: "Rep", LastName: "Orter", Email: "rep@example.com", CompanyIDs: []uint{acme}},
				{Type: models.Manager, FirstName: "Man", LastName: "Ager", Email: "mgr@example.com", CompanyIDs: []uint{acme}},
			} {
				d.Key = models.NewDraftKey()
				_, _, err := f.store.CreateMember(ctx, f.v, d, "")
				must(t, err)
			}
			file := strings.Join([]string{
				"First name,Last name,Email,Role,Companies",
				"Rep,Orter,REP@example.com,Company Manager,Acme; Beta Dental",
				"Man,Ager,mgr@example.com,Company Manager,Acme",
				"Else,Where,elsewhere@example.com,Call Manager,Beta Dental",
				"Me,Myself," + f.v.Membership.Email + ",Call Manager,Acme",
			}, "\n")
			imp, err := f.store.CreateImport(ctx, f.v, "team.csv", []byte(file))
			must(t, err)
			kinds := func(want ...string) {
				t.Helper()
				p, err := f.store.PreviewImport(ctx, f.v, imp)
				must(t, err)
				for i, r := range p.Rows {
					if got := string(r.Kind) + ": " + r.Problem; !strings.HasPrefix(got, want[i]) {
						t.Errorf("line %d: %q, want %q…", r.Line, got, want[i])
					}
				}
			}
			kinds("in_account: Already a user", "in_account: Already a user", "login_elsewhere: Has a login in another Switchboard account: invited to join",
				"in_account: This is you")

			st := imp.Choices()
			st.UpdateExisting = true
			must(t, f.store.SaveImportChoice(ctx, f.v, imp, models.ImportChoice{Settings: st}))
			kinds("update: Type Reporting → Manager; added to Beta Dental.", "in_account: Already a user of this account with this type and these companies: nothing to change.",
				"login_elsewhere:", "in_account: This is you")
			must(t, f.store.StartImport(ctx, f.v, imp, ""))
			must(t, f.store.RunImport(ctx, imp.ID, nil))

			p, err := f.store.PreviewImport(ctx, f.v, imp)
			must(t, err)
			var got []string
			for _, r := range p.Rows {
				got = append(got, string(r.Outcome)+": "+r.Detail)
			}
			want := []string{"updated: Type Reporting → Manager; added to Beta Dental.",
				"skipped: Already a user of this account with this type and these companies: nothing to change.",
				"invited: Invited to join with the login they have in another account.",
				"skipped: This is you: an import does not change your own type or companies."}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("outcomes\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			var out bytes.Buffer
			must(t, models.WriteImportOutcomes(&out, p))
			for _, w := range []string{"updated,Type Reporting → Manager; added to Beta Dental.", "invited,Invited to join with the login"} {
				if !strings.Contains(out.String(), w) {
					t.Errorf("the outcomes CSV lacks %q:\n%s", w, out.String())
				}
			}

			var rep models.Membership
			must(t, f.store.DB().Where("account_id = ? AND email = ?", f.v.Account.ID, "rep@example.com").Take(&rep).Error)
			companies, err := f.store.CompaniesOf(ctx, &rep)
			must(t, err)
			if rep.Type != models.Manager || len(companies) != 2 {
				t.Errorf("rep is %s with %d companies; want Manager with 2", rep.Type, len(companies))
			}
			var actions []string
			must(t, f.store.DB().Model(&models.AuditEvent{}).Where("target_id = ?", rep.ID).Order("id").Pluck("action", &actions).Error)
			if got := fmt.Sprint(actions); got != "[member.created invitation.sent member.promoted company.user_added]" {
				t.Errorf("rep's audit events: %s", got)
			}
			if f.store.DB().Where("email = ? AND type = ?", f.v.Membership.Email, models.Admin).Take(&models.Membership{}).Error != nil {
				t.Error("the importing Admin's own type changed")
			}
			var join models.OutboxMessage
			must(t, f.store.DB().Where("account_id = ? AND to_address = ? AND kind = ?", f.v.Account.ID, "elsewhere@example.com", "invitation").Take(&join).Error)
			if !strings.Contains(join.TextBody, "log in with the password you already use") {
				t.Errorf("the invitation of a login from elsewhere does not ask to join with it:\n%s", join.TextBody)
			}
		})
	}
}

// TestPruneImportRows_KeepsTotals: within ImportRowRetention nothing goes;
// after it, a finished import's rows go but its totals stay, an upload
// never started goes whole, and one still importing is untouched. The
// Admin's address is on import.started.
func TestPruneImportRows_KeepsTotals(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			clock := modelstest.NewClock()
			f := newImportFixture(t, modelstest.OpenDialect(t, dialect, models.WithClock(clock.Now)))
			ctx := context.Background()
			upload := func(n int) *models.Import {
				imp, err := f.store.CreateImport(ctx, f.v, "team.csv", teamFile(n))
				must(t, err)
				return imp
			}
			done, draft, running := upload(3), upload(2), upload(4)
			must(t, f.store.StartImport(ctx, f.v, done, "203.0.113.9"))
			must(t, f.store.RunImport(ctx, done.ID, nil))
			must(t, f.store.StartImport(ctx, f.v, running, "203.0.113.9"))
			var ip string
			must(t, f.store.DB().Model(&models.AuditEvent{}).Where("action = ?", "import.started").Limit(1).Pluck("ip", &ip).Error)
			if ip != "203.0.113.9" {
				t.Errorf("import.started records IP %q", ip)
			}
			rows := func(imp *models.Import) int64 {
				var n int64
				f.store.DB().Model(&models.ImportRow{}).Where("import_id = ?", imp.ID).Count(&n)
				return n
			}

			clock.Advance(models.ImportRowRetention - time.Hour)
			if n, err := f.store.PruneImportRows(ctx); err != nil || n != 0 {
				t.Fatalf("pruned %d rows within the retention (%v)", n, err)
			}
			clock.Advance(2 * time.Hour)
			if n, err := f.store.PruneImportRows(ctx); err != nil || n != 5 {
				t.Fatalf("pruned %d rows (%v), want the finished import's 3 and the draft's 2", n, err)
			}
			if rows(done) != 0 || rows(running) != 4 {
				t.Errorf("rows left: %d of the finished import, %d of the running one; want 0 and 4", rows(done), rows(running))
			}
			if _, err := f.store.FindImport(ctx, f.v, draft.ID); err == nil {
				t.Error("the upload never started is still there")
			}
			kept, err := f.store.FindImport(ctx, f.v, done.ID)
			must(t, err)
			p, err := f.store.PreviewImport(ctx, f.v, kept)
			must(t, err)
			if kept.RowsPrunedAt == nil || p.Outcomes[models.OutcomeInvited] != 3 || p.Done != 3 {
				t.Errorf("after pruning: pruned at %v, outcomes %v, done %d; want the totals kept", kept.RowsPrunedAt, p.Outcomes, p.Done)
			}
			if n, err := f.store.PruneImportRows(ctx); err != nil || n != 0 {
				t.Errorf("a second run pruned %d rows (%v)", n, err)
			}
		})
	}
}
