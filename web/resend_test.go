package web

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
)

// TestResendFromList_ComesBackToTheRow: resending from the users list
// comes back to the same page of the list (filters kept), scrolled to the
// row (#u-ID), instead of the top of the unfiltered list.
func TestResendFromList_ComesBackToTheRow(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	wantStatus(t, admin.createUser(wizardInput{typ: "admin", first: "Ivy", last: "Invitee", email: "ivy@example.com"}), http.StatusSeeOther)
	ivy := ts.memberByEmail("ivy@example.com")

	list := "/users?status=invited"
	p := admin.get(list)
	wantStatus(t, p, http.StatusOK)
	row := p.doc.Find(`tr#u-` + itoa(ivy.ID))
	if row.Length() != 1 {
		t.Fatalf("no row with id u-%d", ivy.ID)
	}
	// The row's button posts the list's one resend form to this person,
	// with where to come back to as its own value.
	button := row.Find(`button[data-testid="resend"]`)
	if button.AttrOr("formaction", "") != "/users/"+itoa(ivy.ID)+"/resend" || button.AttrOr("form", "") == "" {
		t.Fatalf("the row's resend button posts to %q with form %q", button.AttrOr("formaction", ""), button.AttrOr("form", ""))
	}
	values := url.Values{}
	p.doc.Find(`form#` + button.AttrOr("form", "") + ` input`).Each(func(_ int, in *goquery.Selection) {
		values.Set(in.AttrOr("name", ""), in.AttrOr("value", ""))
	})
	values.Set(button.AttrOr("name", ""), button.AttrOr("value", ""))
	want := list + "#u-" + itoa(ivy.ID)
	if got := values.Get("return"); got != want {
		t.Fatalf("the row's resend form returns to %q, want %q", got, want)
	}
	ts.clock.Advance(13 * time.Minute) // past the pause between two sends
	p = admin.post("/users/"+itoa(ivy.ID)+"/resend", values)
	if got := p.header.Get("Location"); p.status != http.StatusSeeOther || got != want {
		t.Errorf("resend: %d, Location %q, want %q", p.status, got, want)
	}
}
