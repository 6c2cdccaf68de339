package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// TestWizard_AdminSkipsCompanies: an Admin's wizard has no Companies step;
// the Info step says why, and goes straight to Message and back.
func TestWizard_AdminSkipsCompanies(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	key := admin.startWizard()
	in := wizardInput{typ: "admin", first: "Al", last: "Second", email: "al@example.com"}
	info := admin.post("/users/new/type", in.form(key))
	wantStatus(t, info, http.StatusOK)
	if got := info.text(`[data-testid="admin-companies"]`); !strings.Contains(got, "Admins see every company") {
		t.Errorf("Info step for an Admin: %q", got)
	}
	if got := info.text(".stepper"); strings.Contains(got, "Companies") {
		t.Errorf("an Admin's stepper lists %q", got)
	}
	if got := info.text(".wizard-actions .button-primary"); got != "Next: Message" {
		t.Errorf("Info's button reads %q", got)
	}
	msg := admin.post("/users/new/info", in.form(key))
	wantStatus(t, msg, http.StatusOK)
	if msg.doc.Find("#f-message").Length() != 1 {
		t.Fatalf("after Info an Admin reaches %q, want the Message step", msg.text("main"))
	}
	back := cloneValues(in.form(key))
	back.Set("go", "back")
	if p := admin.post("/users/new/message", back); p.doc.Find("#f-first_name").Length() != 1 {
		t.Errorf("Back from an Admin's Message step opens %q, want Info", p.text("main"))
	}
	wantStatus(t, admin.post("/users/new/message", in.form(key)), http.StatusSeeOther)
}

// TestWizard_DoneStepsAreClickableAndKeepWhatWasTyped: the stepper's done
// steps are buttons that reopen them with everything kept; a step not yet
// reached cannot be opened that way.
func TestWizard_DoneStepsAreClickableAndKeepWhatWasTyped(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	plumbing := ts.companyID("Acme Plumbing")
	key := admin.startWizard()
	in := wizardInput{typ: "reporting", first: "Rita", last: "Reports", email: "rita@example.com", companies: []string{plumbing}, message: "Hello"}
	msg := admin.post("/users/new/companies", in.form(key))
	wantStatus(t, msg, http.StatusOK)
	for _, slug := range []string{"type", "info", "companies"} {
		b := msg.doc.Find(`.stepper button[data-testid="step-` + slug + `"]`)
		if v, _ := b.Attr("value"); v != "to:"+slug {
			t.Errorf("done step %s is not a button of the form (value %q)", slug, v)
		}
	}
	if msg.doc.Find(`.stepper button[data-testid="step-message"]`).Length() != 0 {
		t.Error("the current step is a button")
	}
	jump := cloneValues(in.form(key))
	jump.Set("go", "to:info")
	p := admin.post("/users/new/message", jump)
	wantStatus(t, p, http.StatusOK)
	if v, _ := p.doc.Find("#f-email").Attr("value"); v != "rita@example.com" {
		t.Errorf("Info reopened with email %q", v)
	}
	if v, _ := p.doc.Find(`input[name="message"]`).Attr("value"); v != "Hello" {
		t.Errorf("the message was not kept: %q", v)
	}
	jump.Set("go", "to:message")
	wantStatus(t, admin.post("/users/new/info", jump), http.StatusBadRequest)
}

// TestWizard_ErrorSummaryLinksEachErrorToItsField: a step that does not
// validate opens with a focused summary listing every error as a link to
// its field; the companies error marks the checkbox group, not the filter.
func TestWizard_ErrorSummaryLinksEachErrorToItsField(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	for _, n := range []string{"B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9"} {
		ts.addCompany("Branch " + n)
	}
	key := admin.startWizard()
	p := admin.post("/users/new/info", wizardInput{typ: "manager", first: "", last: "", email: "not-an-address"}.form(key))
	wantStatus(t, p, http.StatusUnprocessableEntity)
	summary := p.doc.Find(`[data-testid="error-summary"]`)
	if _, ok := summary.Attr("autofocus"); !ok || summary.AttrOr("tabindex", "") != "-1" {
		t.Error("the error summary does not take the focus")
	}
	var targets []string
	summary.Find("a").Each(func(_ int, a *goquery.Selection) { targets = append(targets, a.AttrOr("href", "")) })
	if strings.Join(targets, " ") != "#f-first_name #f-last_name #f-email" {
		t.Errorf("summary links %v", targets)
	}
	for _, id := range []string{"f-first_name", "f-last_name", "f-email"} {
		if p.doc.Find("#"+id).Length() != 1 {
			t.Errorf("no field #%s for the summary's link", id)
		}
	}
	if p.doc.Find("[autofocus]").Length() != 1 {
		t.Errorf("%d elements have autofocus, want only the summary", p.doc.Find("[autofocus]").Length())
	}

	p = admin.post("/users/new/companies", wizardInput{typ: "manager", first: "Max", last: "Manager", email: "max@example.com"}.form(key))
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if href := p.doc.Find(`[data-testid="error-summary"] a`).AttrOr("href", ""); href != "#f-companies" || p.doc.Find(`input#f-companies[type="checkbox"]`).Length() != 1 {
		t.Errorf("companies error links to %q", href)
	}
	if p.doc.Find(`.company-options.field-invalid`).Length() != 1 || p.doc.Find(`.company-filter.field-invalid, fieldset.field-invalid`).Length() != 0 {
		t.Error("the companies error marks the filter box instead of the checkbox group")
	}
	if p.doc.Find(`#f-company-filter[aria-invalid]`).Length() != 0 {
		t.Error("the filter box is marked invalid")
	}
}

// TestWizard_WorkingInCompanyIsTheDefault: the company the Admin works in
// is ticked on a new draft's companies step and on the grant form.
func TestWizard_WorkingInCompanyIsTheDefault(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	roofing := ts.addCompany("Roofing")

	// Before any choice: the company the header shows.
	key := admin.startWizard()
	p := admin.post("/users/new/info", wizardInput{typ: "reporting", first: "Rita", last: "Reports", email: "rita@example.com"}.form(key))
	wantStatus(t, p, http.StatusOK)
	header := p.doc.Find(`[data-testid="current-company"]`).Text()
	ticked := p.doc.Find(`input[name="company"][checked]`)
	name, _, _ := strings.Cut(ticked.Parent().Text(), "(")
	if name = strings.TrimSpace(name); ticked.Length() != 1 || name == "" || !strings.Contains(header, name) {
		t.Errorf("without a choice, %d ticked (%q), want the header's company (%q)", ticked.Length(), name, header)
	}

	wantStatus(t, admin.post("/switch-company", url.Values{"company": {roofing}}), http.StatusSeeOther)
	key = admin.startWizard()
	p = admin.post("/users/new/info", wizardInput{typ: "reporting", first: "Rita", last: "Reports", email: "rita@example.com"}.form(key))
	wantStatus(t, p, http.StatusOK)
	var checked []string
	p.doc.Find(`input[name="company"][checked]`).Each(func(_ int, s *goquery.Selection) { checked = append(checked, s.AttrOr("value", "")) })
	if strings.Join(checked, ",") != roofing {
		t.Errorf("ticked by default: %v, want the company worked in (%s)", checked, roofing)
	}
}
