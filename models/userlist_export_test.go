package models_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// allPages reads every page of a view through the list itself.
func allPages(t *testing.T, store *models.Store, v *models.Viewer, f models.UserFilter) []models.UserRow {
	t.Helper()
	f.Size = 25
	var rows []models.UserRow
	for {
		p, err := store.FindUsers(context.Background(), v, f)
		must(t, err)
		rows = append(rows, p.Rows...)
		if p.NextCursor == "" {
			return rows
		}
		f.After = p.NextCursor
	}
}

// readExport parses an export, checking its byte-order mark and header.
func readExport(t *testing.T, b []byte) [][]string {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")) {
		t.Fatalf("the export does not start with a UTF-8 byte-order mark: %q", b[:min(len(b), 10)])
	}
	records, err := csv.NewReader(bytes.NewReader(b[3:])).ReadAll()
	must(t, err)
	if strings.Join(records[0], ",") != strings.Join(models.MemberCSVHeader, ",") {
		t.Fatalf("header %q", records[0])
	}
	return records[1:]
}

func TestExportUsers_HoldsEveryPersonOfTheViewInItsOrder(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			store := modelstest.OpenDialect(t, dialect)
			f := newUsersFixture(t, store, 130)
			store.SetExportBatch(7) // cross many batches
			db := store.DB()
			manager := f.members[1]
			must(t, db.Where("membership_id = ?", manager.ID).Delete(&models.Assignment{}).Error)
			must(t, db.Create(&models.Assignment{MembershipID: manager.ID, CompanyID: f.companies[1].ID}).Error)
			must(t, db.Model(&models.Membership{}).Where("id = ?", manager.ID).Updates(map[string]any{"type": models.Manager, "status": models.MemberActive}).Error)
			must(t, db.Take(&manager, manager.ID).Error)
			viewers := map[string]*models.Viewer{"admin": f.admin, "manager": {Membership: manager, Account: f.account}}
			filters := []models.UserFilter{
				{},
				{Query: "example.com", Sort: models.SortByEmail, Dir: models.Descending},
				{Query: "ada"},
				{Status: models.ListExpired},
				{Status: models.ListInvited, Sort: models.SortByInvited},
				{Type: models.Reporting, Sort: models.SortByLastActive},
				{CompanyID: f.companies[1].ID, Sort: models.SortByType},
				{Query: "%"},
			}
			for vname, v := range viewers {
				for _, fl := range filters {
					var out bytes.Buffer
					must(t, store.ExportUsers(context.Background(), v, fl, time.UTC, &out))
					records := readExport(t, out.Bytes())
					want := allPages(t, store, v, fl)
					if len(records) != len(want) {
						t.Fatalf("%s %+v: %d rows exported, the list has %d", vname, fl, len(records), len(want))
					}
					for i, r := range want {
						rec := records[i]
						if rec[2] != r.Email || rec[0] != r.FirstName || rec[1] != r.LastName || rec[3] != r.Type.Label() {
							t.Fatalf("%s %+v: row %d is %q, the list has %s", vname, fl, i, rec, r.Email)
						}
						wantStatus := map[bool]string{true: "Invitation expired", false: "Invited"}[r.Invitation != nil && r.Invitation.Expired]
						if r.Status != models.MemberInvited {
							wantStatus = strings.ToUpper(string(r.Status[0])) + string(r.Status[1:])
						}
						if rec[5] != wantStatus {
							t.Errorf("%s: status %q, want %q", r.Email, rec[5], wantStatus)
						}
						companies := strings.Join(r.Companies, "; ")
						if r.AllCompanies {
							companies = "All companies"
						}
						// The list names three companies; the export all of them.
						if r.CompanyCount <= 3 && rec[4] != companies {
							t.Errorf("%s %s: companies %q, the list shows %q", vname, r.Email, rec[4], companies)
						}
						if r.Invitation != nil && rec[8] != r.Invitation.ExpiresAt.UTC().Format("2006-01-02 15:04") {
							t.Errorf("%s: invitation expires %q, want %s", r.Email, rec[8], r.Invitation.ExpiresAt)
						}
					}
					if vname == "manager" {
						for _, rec := range records {
							if strings.Contains(rec[4], f.companies[0].Name) || strings.Contains(rec[4], f.companies[2].Name) {
								t.Fatalf("the Manager's export names a company outside his scope: %q", rec)
							}
						}
					}
				}
			}
		})
	}
}

func TestExportUsers_NeutralisesFormulasAndKeepsUTF8(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			store := modelstest.OpenDialect(t, dialect)
			f := newUsersFixture(t, store, 4)
			db := store.DB()
			hostile := []struct{ first, last, email string }{
				{"=HYPERLINK(\"http://evil.example\")", "Müller", "a1@example.com"},
				{"+1+2", "@SUM(A1)", "a2@example.com"},
				{"-2-3", "Ørsted", "-dash@example.com"},
				{"\tTab", "Zoë, \"quoted\"", "a3@example.com"},
			}
			for i, h := range hostile {
				m := models.Membership{AccountID: f.account.ID, FirstName: h.first, LastName: h.last, Email: h.email,
					SortName: strings.ToLower(fmt.Sprintf("zz%d %s %s", i, h.first, h.last)), Type: models.Reporting, Status: models.MemberActive}
				must(t, db.Create(&m).Error)
			}
			must(t, db.Model(&models.Company{}).Where("id = ?", f.companies[0].ID).Update("name", "=cmd|' /C calc'!A0").Error)
			var out bytes.Buffer
			must(t, store.ExportUsers(context.Background(), f.admin, models.UserFilter{Query: "zz"}, time.UTC, &out))
			records := readExport(t, out.Bytes())
			got := map[string][]string{}
			for _, r := range records {
				got[r[2]] = r
			}
			want := map[string][2]string{
				"a1@example.com":     {`'=HYPERLINK("http://evil.example")`, "Müller"},
				"a2@example.com":     {"'+1+2", "'@SUM(A1)"},
				"'-dash@example.com": {"'-2-3", "Ørsted"},
				"a3@example.com":     {"'\tTab", `Zoë, "quoted"`},
			}
			for email, w := range want {
				r, ok := got[email]
				if !ok {
					t.Fatalf("%s not exported: %q", email, records)
				}
				if r[0] != w[0] || r[1] != w[1] {
					t.Errorf("%s: names %q %q, want %q %q", email, r[0], r[1], w[0], w[1])
				}
			}
			if !bytes.Contains(out.Bytes(), []byte("Müller")) {
				t.Error("Müller is not written as UTF-8")
			}
			var all bytes.Buffer
			must(t, store.ExportUsers(context.Background(), f.admin, models.UserFilter{}, time.UTC, &all))
			if strings.Contains(all.String(), ",=cmd") || strings.Contains(all.String(), "; =cmd") {
				t.Errorf("a company name starting a formula is written as it is: %s", all.String())
			}
		})
	}
}

func TestNeutraliseCSVCell_Prefixes(t *testing.T) {
	for in, want := range map[string]string{"": "", "Ada": "Ada", "=1": "'=1", "+1": "'+1", "-1": "'-1", "@x": "'@x",
		"\tx": "'\tx", "\rx": "'\rx", "a=b": "a=b", "Müller": "Müller"} {
		if got := models.NeutraliseCSVCell(in); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}
