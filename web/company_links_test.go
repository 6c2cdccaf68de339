package web

import (
	"net/http"
	"strings"
	"testing"
)

// TestCompanyNames_LinkToTheCompanyPage: where a page names a company
// someone is on, the name is a link to the company page (issue 14 item
// 15), so the company's people, numbers and calls are one click away.
func TestCompanyNames_LinkToTheCompanyPage(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	zephyr := ts.addCompany("Zephyr Plumbing")
	wantStatus(t, admin.createUser(wizardInput{typ: "reporting", first: "Rita", last: "Reports", email: "rita@example.com", companies: []string{zephyr}}), http.StatusSeeOther)
	rita := itoa(ts.memberByEmail("rita@example.com").ID)

	for _, path := range []string{"/users/" + rita, "/users/" + rita + "/created", "/switch-company"} {
		p := admin.get(path)
		wantStatus(t, p, http.StatusOK)
		link := p.doc.Find(`main a[href="/companies/` + zephyr + `"]`)
		if link.Length() == 0 || !strings.Contains(link.Text(), "Zephyr Plumbing") {
			t.Errorf("%s: no link to the company page named Zephyr Plumbing", path)
		}
	}
}
