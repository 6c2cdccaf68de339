package views_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/views"
)

// BenchmarkUsersPage renders the users list as the server sends it to an
// Admin: the page chrome, the filters with 1,000 companies to choose from,
// and 50 people of every type and status. It reports the bytes of one
// page, so a change that fattens every row shows up in review. Nothing here
// fails on time.
func BenchmarkUsersPage(b *testing.B) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	admin := models.Membership{ID: 1, FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com",
		Type: models.Admin, Status: models.MemberActive}
	account := models.Account{ID: 1, Name: "Acme Calls"}
	companies := make([]models.Company, 1000)
	for i := range companies {
		companies[i] = models.Company{ID: uint(i + 1), AccountID: 1, Name: fmt.Sprintf("Northside Plumbing %d", i), Status: models.CompanyActive}
	}
	page := &models.UserPage{Total: 100000, NextCursor: "MTIzNDU6YWRhIGxvdmVsYWNl", PrevCursor: "MTIzNDU6YWRhIGxvdmVsYWNl"}
	statuses := []models.MemberStatus{models.MemberActive, models.MemberActive, models.MemberInvited, models.MemberDisabled}
	for i := range 50 {
		r := models.UserRow{Membership: models.Membership{ID: uint(1000 + i), AccountID: 1, FirstName: "Grace",
			LastName: fmt.Sprintf("Hopper %d", i), Email: fmt.Sprintf("grace.hopper%d@example.com", i),
			Type: models.UserTypes[i%4], Status: statuses[i%4], LastActiveAt: now.Add(-time.Duration(i) * time.Hour)}}
		r.AllCompanies = r.Type == models.Admin
		if !r.AllCompanies {
			r.Companies = []string{"Bayside Auto", "Cedar Dental", "Harbor Legal"}
			r.CompanyCount = 3 + i%3
		}
		if r.Status == models.MemberInvited {
			r.Invitation = &models.InvitationState{SentAt: now.Add(-48 * time.Hour), ExpiresAt: now.Add(120 * time.Hour)}
		}
		page.Rows = append(page.Rows, r)
	}
	props := views.UsersProps{Page: page, Companies: companies, Now: now,
		Filter: models.UserFilter{Sort: models.SortByName, Size: models.DefaultPageSize}}
	ctx := views.WithChrome(context.Background(), views.Chrome{CSRF: "1YIYeBsq5n6luxQd8Uocnsw4bq-gdi_67vFo6xx_krg",
		Viewer: &models.Viewer{Membership: admin, Account: account}, Section: "users", Company: &companies[0], SeveralCompanies: true})
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		// The whole page, rows included, as on a miss of the list's cache.
		rows, err := views.UserRowsHTML(&models.Viewer{Membership: admin, Account: account}, props)
		if err != nil {
			b.Fatal(err)
		}
		props.Rows = rows
		if err := views.UsersPage(props).Render(ctx, &buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/page")
}
