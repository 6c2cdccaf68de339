package views_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"switchboard/models"
	"switchboard/views"
)

// TestUserRows_EscapesAndStructure renders rows full of markup and quotes
// and reads them back as a browser would: every value must come back as
// the same text, in its cell or attribute, and nothing may turn into an
// element; the session's token is written once, in the form every Resend
// button submits.
func TestUserRows_EscapesAndStructure(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	hostile := `<script>alert("x")</script> & 'friends'`
	rows := []models.UserRow{
		{Membership: models.Membership{ID: 7, FirstName: hostile, LastName: `O"Brien`, Email: `a"b<c>@example.com`,
			Type: models.Manager, Status: models.MemberActive, LastActiveAt: now.Add(-3 * time.Hour)},
			Companies: []string{hostile, "Cedar & Dental"}, CompanyCount: 4, DeliveryProblem: `550 "no" <user>`},
		{Membership: models.Membership{ID: 8, FirstName: "Ivy", LastName: "Invited", Email: "ivy@example.com",
			Type: models.Reporting, Status: models.MemberInvited},
			Invitation: &models.InvitationState{SentAt: now.Add(-24 * time.Hour), ExpiresAt: now.Add(6 * 24 * time.Hour)}},
		{Membership: models.Membership{ID: 9, FirstName: "Al", LastName: "Admin", Email: "al@example.com",
			Type: models.Admin, Status: models.MemberInvited}, AllCompanies: true,
			Invitation: &models.InvitationState{Expired: true, ExpiresAt: now.Add(-48 * time.Hour)}},
		{Membership: models.Membership{ID: 10, FirstName: "Nia", LastName: "Notified", Email: "nia@example.com",
			Type: models.Notification, Status: models.MemberInvited}},
	}
	for _, viewerType := range []models.UserType{models.Admin, models.Manager} {
		t.Run(string(viewerType), func(t *testing.T) {
			csrf := `tok"<en>`
			v := &models.Viewer{Membership: models.Membership{ID: 1, FirstName: "V", LastName: "W", Type: viewerType, Status: models.MemberActive}}
			ctx := views.WithChrome(context.Background(), views.Chrome{CSRF: csrf, Section: "users", Viewer: v})
			props := views.UsersProps{Page: &models.UserPage{Rows: rows, Total: int64(len(rows))}, Now: now,
				Filter: models.UserFilter{Sort: models.SortByName, Size: models.DefaultPageSize}}
			var err error
			if props.Rows, err = views.UserRowsHTML(v, props); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := views.UsersPage(props).Render(ctx, &buf); err != nil {
				t.Fatal(err)
			}
			doc, err := goquery.NewDocumentFromReader(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if n := doc.Find("tbody script").Length(); n != 0 {
				t.Fatalf("%d script elements in the rows", n)
			}
			admin := viewerType == models.Admin
			forms := doc.Find(`form#resend-form`)
			if got, _ := forms.Find(`input[name="_csrf"]`).Attr("value"); (forms.Length() == 1) != admin || (admin && got != csrf) {
				t.Fatalf("%d resend forms with token %q, want one with %q for an Admin", forms.Length(), got, csrf)
			}
			if n := doc.Find(`tbody input[name="_csrf"]`).Length(); n != 0 {
				t.Errorf("the token is written in %d rows, want none", n)
			}
			trs := doc.Find(`tr[data-testid="user-row"]`)
			if trs.Length() != len(rows) {
				t.Fatalf("%d rows, want %d", trs.Length(), len(rows))
			}
			trs.Each(func(i int, tr *goquery.Selection) {
				r := rows[i]
				cells := 7 // a Manager may add and remove people in bulk: a checkbox
				if admin {
					cells = 8
				}
				if box := tr.Find(`td.select input[type="checkbox"][form="bulk-form"][name="id"]`); box.AttrOr("value", "") != fmt.Sprint(r.ID) {
					t.Errorf("row %d: bulk checkbox value %q", i, box.AttrOr("value", ""))
				}
				if n := tr.Children().Length(); n != cells {
					t.Errorf("row %d: %d cells, want %d", i, n, cells)
				}
				if got, _ := tr.Attr("data-email"); got != r.Email {
					t.Errorf("row %d: data-email %q, want %q", i, got, r.Email)
				}
				if got := tr.Find(`td[data-label="Name"] strong`).Text(); got != r.FullName() {
					t.Errorf("row %d: name %q, want %q", i, got, r.FullName())
				}
				if got := tr.Find(`td[data-label="Name"] .email`).Text(); got != r.Email {
					t.Errorf("row %d: email %q", i, got)
				}
				if got, _ := tr.Find(".badge").Attr("data-type"); got != string(r.Type) {
					t.Errorf("row %d: badge type %q", i, got)
				}
				resend := tr.Find(`button[data-testid="resend"]`)
				wantResend := admin && r.Status == models.MemberInvited && r.Type.CanLogIn()
				if (resend.Length() == 1) != wantResend {
					t.Errorf("row %d: resend button present %v, want %v", i, resend.Length() == 1, wantResend)
				}
				if wantResend {
					form, _ := resend.Attr("form")
					action, _ := resend.Attr("formaction")
					if form != "resend-form" || action != fmt.Sprintf("/users/%d/resend", r.ID) {
						t.Errorf("row %d: resend submits form %q to %q", i, form, action)
					}
				}
				edit := tr.Find(`a[data-testid="edit-user"]`)
				if (edit.Length() == 1) != admin {
					t.Errorf("row %d: edit link present %v, want %v", i, edit.Length() == 1, admin)
				}
				if admin {
					if got, _ := edit.Attr("aria-label"); got != "Edit "+r.FullName() {
						t.Errorf("row %d: aria-label %q", i, got)
					}
				}
			})
			first := trs.First()
			if got := strings.Join(strings.Fields(first.Find(`td[data-label="Companies"]`).Text()), " "); got != strings.Join(strings.Fields("4 "+hostile+", Cedar & Dental +2 more"), " ") {
				t.Errorf("companies cell %q", got)
			}
			if got := first.Find(`[data-testid="delivery-problem"]`).Text(); !strings.Contains(got, rows[0].DeliveryProblem) {
				t.Errorf("delivery problem %q", got)
			}
			if got := strings.TrimSpace(trs.Eq(1).Find(`[data-testid="invitation"]`).Text()); got != "Sent Nov 22, 2026 · expires Nov 29, 2026" {
				t.Errorf("invitation state %q", got)
			}
			if got := trs.Eq(2).Find(`td[data-label="Status"] [data-status="expired"]`).Text(); got != "Invitation expired" {
				t.Errorf("expired invitation shows %q", got)
			}
			if got := trs.Eq(3).Find(`td[data-label="Status"] .status`).Text(); got != "Invited" {
				t.Errorf("an invitee without a link shows %q", got)
			}
		})
	}
}
