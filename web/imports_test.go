package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"switchboard/models"
)

// upload posts a file to /users/import as the upload form does.
func (b *browser) upload(name string, data []byte) *page {
	b.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	b.mu.Lock()
	_ = w.WriteField("_csrf", b.csrf)
	b.mu.Unlock()
	fw, _ := w.CreateFormFile("file", name)
	fw.Write(data)
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, b.ts.srv.URL+"/users/import", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return b.do(req)
}

// importForm is the preview form as the page shows it: every field with
// its current value, as a browser would submit it.
func importForm(p *page) url.Values {
	f := url.Values{}
	p.doc.Find(`form[data-testid="import-form"] select`).Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		v, _ := s.Find("option[selected]").Attr("value")
		if s.Find("option[selected]").Length() == 0 {
			v, _ = s.Find("option").First().Attr("value")
		}
		f.Add(name, v)
	})
	p.doc.Find(`form[data-testid="import-form"] input`).Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		typ, _ := s.Attr("type")
		v, _ := s.Attr("value")
		_, checked := s.Attr("checked")
		if name == "" || name == "_csrf" || ((typ == "checkbox" || typ == "radio") && !checked) {
			return
		}
		f.Add(name, v)
	})
	f.Set("message", p.doc.Find(`textarea[name="message"]`).Text())
	return f
}

const phoneWagonExport = "\xef\xbb\xbfFirst Name,Last Name,Email Address,Role,Company\r\n" +
	"Cara,Manager,cara@example.com,Company Manager,Acme Plumbing\r\n" +
	"Gil,Global,gil@example.com,Global Call Manager,Acme Plumbing\r\n" +
	"Cam,Monitor,cam@example.com,Campaign Monitor,Acme Plumbing\r\n" +
	"=HYPERLINK(1),Formula,formula@example.com,Call Manager,Acme Plumbing\r\n" +
	"Ola,Owner,ola@example.com,Owner,Acme Plumbing\r\n"

func TestImport_UploadPreviewAndImport(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	wantStatus(t, admin.get("/users/import"), http.StatusOK)

	p := admin.upload("team.csv", []byte(phoneWagonExport))
	wantStatus(t, p, http.StatusSeeOther)
	p = admin.follow(p)
	wantStatus(t, p, http.StatusOK)
	if got := p.text(`[data-testid="unmapped"]`); !strings.Contains(got, "1 not mapped") {
		t.Errorf("unmapped roles: %q", got)
	}
	if p.doc.Find(`[data-testid="start-import"]`).Length() != 0 {
		t.Fatal("an import with an unmapped role offers to start")
	}
	if got, _ := p.doc.Find(`select[data-testid="role-global call manager"] option[selected]`).Attr("value"); got != "reporting" {
		t.Errorf("Global Call Manager maps to %q by default", got)
	}
	// Starting anyway is refused, with nothing written.
	f := importForm(p)
	f.Set("action", "import")
	action, _ := p.doc.Find(`form[data-testid="import-form"]`).Attr("action")
	wantStatus(t, admin.post(action, f), http.StatusUnprocessableEntity)
	if n := ts.outboxTo("cara@example.com", "invitation"); n != 0 {
		t.Fatalf("%d invitations before the import was confirmed", n)
	}

	// Map Owner to Manager, accept Cam's company, add a message.
	f = importForm(p)
	for i, k := range f["role_key"] {
		if k == "owner" {
			f["role_type"][i] = "manager"
		}
	}
	camRow := p.doc.Find(`input[name="own_company"]`)
	own, _ := camRow.Attr("value")
	f.Add("own_company", own)
	f.Set("message", "See you on Monday")
	f.Set("action", "preview")
	wantStatus(t, admin.post(action, f), http.StatusSeeOther)
	p = admin.get(action)
	if got := p.text(`[data-testid="total-invite"]`); !strings.Contains(got, ": 5") {
		t.Fatalf("totals: %q", p.text(`[data-testid="totals"]`))
	}
	if !strings.Contains(p.text(`[data-testid="rows"]`), "Cam Monitor's numbers") {
		t.Errorf("Cam's own company is not in the preview")
	}
	f = importForm(p)
	f.Set("action", "import")
	wantStatus(t, admin.post(action, f), http.StatusSeeOther)
	p = admin.get(action)
	if p.doc.Find(`[data-testid="import-progress"] progress`).Length() != 1 {
		t.Fatalf("no progress bar: %.800s", p.body)
	}
	// A second click of Import (the form resubmitted) changes nothing.
	wantStatus(t, admin.post(action, f), http.StatusSeeOther)

	if ran, err := ts.app.Jobs.RunOne(context.Background()); !ran || err != nil {
		t.Fatalf("run the import job: %v %v", ran, err)
	}
	p = admin.get(action)
	if got := p.text(`[data-testid="outcome-invited"]`); got != "Invited: 5" {
		t.Fatalf("results: %q", p.text(`[data-testid="import-results"]`))
	}
	for _, email := range []string{"cara@example.com", "gil@example.com", "cam@example.com", "formula@example.com", "ola@example.com"} {
		if n := ts.outboxTo(email, "invitation"); n != 1 {
			t.Errorf("%s: %d invitations; want 1", email, n)
		}
	}
	cam := ts.memberByEmail("cam@example.com")
	var names []string
	ts.store.DB().Table("companies").Joins("JOIN assignments a ON a.company_id = companies.id").
		Where("a.membership_id = ?", cam.ID).Pluck("companies.name", &names)
	if fmt.Sprint(names) != "[Cam Monitor's numbers]" {
		t.Errorf("Cam's companies: %v", names)
	}
	if ola := ts.memberByEmail("ola@example.com"); ola.Type != models.Manager {
		t.Errorf("Ola is %s; want Manager", ola.Type)
	}

	// The outcomes, with the formula in a name neutralised.
	csvPage := admin.get(action + "/outcomes.csv")
	wantStatus(t, csvPage, http.StatusOK)
	recs, err := csv.NewReader(strings.NewReader(csvPage.body)).ReadAll()
	if err != nil || len(recs) != 6 {
		t.Fatalf("outcomes CSV: %v, %d records", err, len(recs))
	}
	if recs[4][1] != "'=HYPERLINK(1)" || recs[4][6] != "invited" {
		t.Errorf("outcome of the formula row: %q", recs[4])
	}

	// The same file again invites nobody.
	p = admin.follow(admin.upload("team.csv", []byte(phoneWagonExport)))
	if got := p.text(`[data-testid="total-in_account"]`) + p.text(`[data-testid="total-invite"]`); !strings.Contains(got, ": 4") || !strings.Contains(got, "invited: 0") {
		t.Errorf("the same file again: %q", p.text(`[data-testid="totals"]`))
	}
	if p.doc.Find(`[data-testid="start-import"]`).Length() != 0 {
		t.Error("the same file again offers to import")
	}
}

func TestImport_BadFiles(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	admin.get("/users/import")
	for _, tc := range []struct {
		name   string
		data   []byte
		status int
		says   string
	}{
		{"empty", nil, http.StatusUnprocessableEntity, "The file is empty"},
		{"no people", []byte("Email\n"), http.StatusUnprocessableEntity, "nobody in it"},
		{"not CSV", []byte("a,\"b\nc"), http.StatusUnprocessableEntity, "not valid CSV"},
		{"too large", bytes.Repeat([]byte("x"), models.MaxImportBytes+10), http.StatusRequestEntityTooLarge, "larger than 5 MB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := admin.upload("x.csv", tc.data)
			wantStatus(t, p, tc.status)
			if got := p.text(`[data-testid="import-error"]`); !strings.Contains(got, tc.says) {
				t.Errorf("error %q; want %q", got, tc.says)
			}
		})
	}
	var n int64
	ts.store.DB().Model(&models.Import{}).Count(&n)
	if n != 0 {
		t.Errorf("%d imports stored from bad files", n)
	}
	// Windows-1252, as older Excel saves it.
	p := admin.follow(admin.upload("win.csv", []byte("First name,Last name,Email,Type,Companies\r\nZo\xeb,M\xfcller,zoe@example.com,Admin,\r\n")))
	if got := p.text(`[data-testid="rows"] tbody`); !strings.Contains(got, "Zoë Müller") {
		t.Errorf("Windows-1252 row reads %q", got)
	}
	wantStatus(t, admin.get("/users/import/template.csv"), http.StatusOK)
}

// TestImport_OnlyAdmins: everyone else gets 404, for the pages and for an
// import of their account; another account's Admin too.
func TestImport_OnlyAdmins(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	plumbing := ts.companyID("Acme Plumbing")
	ts.addPerson(person{typ: models.Manager, email: "max@example.com", companies: []string{plumbing}})
	ts.addPerson(person{typ: models.Reporting, email: "rex@example.com", companies: []string{plumbing}})
	p := admin.follow(admin.upload("team.csv", []byte(phoneWagonExport)))
	action, _ := p.doc.Find(`form[data-testid="import-form"]`).Attr("action")
	form := importForm(p)

	otherAcct := models.Account{Name: "Other", Status: models.AccountActive}
	ts.store.DB().Create(&otherAcct)
	ts.addPerson(person{typ: models.Admin, email: "oz@example.com", account: otherAcct.ID})

	for _, email := range []string{"max@example.com", "rex@example.com", "oz@example.com"} {
		b := ts.login(email, strongPassword)
		paths := []string{action, action + "/outcomes.csv"}
		if email != "oz@example.com" { // an Admin of their own account may import there
			paths = append(paths, "/users/import", "/users/import/template.csv")
			if got := b.upload("team.csv", []byte(phoneWagonExport)).status; got != http.StatusNotFound {
				t.Errorf("%s upload: %d; want 404", email, got)
			}
		}
		for _, path := range paths {
			if got := b.get(path).status; got != http.StatusNotFound {
				t.Errorf("%s GET %s: %d; want 404", email, path, got)
			}
		}
		if got := b.post(action, form).status; got != http.StatusNotFound {
			t.Errorf("%s POST %s: %d; want 404", email, action, got)
		}
	}
	if got := ts.browser().get("/users/import").status; got != http.StatusSeeOther {
		t.Errorf("anonymous: %d; want the login redirect", got)
	}
}

// TestImport_UpdateExistingThroughTheForm: people already in the account
// are skipped unless the Admin chooses to update them on the preview
// form; the results page and the outcomes CSV then say what changed. A
// choice no form of ours sends is 400.
func TestImport_UpdateExistingThroughTheForm(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	plumbing := ts.companyID("Acme Plumbing")
	ts.addPerson(person{typ: models.Reporting, email: "rex@example.com", companies: []string{plumbing}})
	file := "First name,Last name,Email,Type,Companies\r\nRex,Ray,rex@example.com,Manager,Acme Plumbing\r\n"
	p := admin.follow(admin.upload("team.csv", []byte(file)))
	action, _ := p.doc.Find(`form[data-testid="import-form"]`).Attr("action")
	if p.doc.Find(`[data-testid="existing-choice"] input[value="skip"][checked]`).Length() != 1 {
		t.Fatalf("no choice for people already in the account, skip chosen: %.600s", p.text(`form`))
	}
	if p.doc.Find(`[data-testid="start-import"]`).Length() != 0 {
		t.Error("an import that would skip everyone offers to start")
	}
	f := importForm(p)
	f.Set("existing", "bogus")
	wantStatus(t, admin.post(action, f), http.StatusBadRequest)
	f.Set("existing", "update")
	f.Set("action", "preview")
	wantStatus(t, admin.post(action, f), http.StatusSeeOther)
	p = admin.get(action)
	if got := p.text(`[data-testid="total-update"]`); !strings.Contains(got, ": 1") {
		t.Fatalf("totals: %q", p.text(`[data-testid="totals"]`))
	}
	if got := p.text(`[data-testid="rows"]`); !strings.Contains(got, "Type Reporting → Manager") {
		t.Errorf("the preview does not say what changes: %q", got)
	}
	f = importForm(p)
	f.Set("action", "import")
	wantStatus(t, admin.post(action, f), http.StatusSeeOther)
	if ran, err := ts.app.Jobs.RunOne(context.Background()); !ran || err != nil {
		t.Fatalf("run the import job: %v %v", ran, err)
	}
	p = admin.get(action)
	if got := p.text(`[data-testid="outcome-updated"]`); got != "Updated: 1" {
		t.Fatalf("results: %q", p.text(`[data-testid="import-results"]`))
	}
	if rex := ts.memberByEmail("rex@example.com"); rex.Type != models.Manager {
		t.Errorf("Rex is %s; want Manager", rex.Type)
	}
	if got := admin.get(action + "/outcomes.csv").body; !strings.Contains(got, "updated,Type Reporting → Manager.") {
		t.Errorf("outcomes CSV:\n%s", got)
	}
}

// TestImport_PrunedRows: once an import's rows are pruned, its page keeps
// the totals and says so, and the outcomes CSV is gone (410).
func TestImport_PrunedRows(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	file := "First name,Last name,Email,Type,Companies\r\nRex,Ray,rex@example.com,Manager,Acme Plumbing\r\n"
	p := admin.follow(admin.upload("team.csv", []byte(file)))
	action, _ := p.doc.Find(`form[data-testid="import-form"]`).Attr("action")
	f := importForm(p)
	f.Set("action", "import")
	wantStatus(t, admin.post(action, f), http.StatusSeeOther)
	if ran, err := ts.app.Jobs.RunOne(context.Background()); !ran || err != nil {
		t.Fatalf("run the import job: %v %v", ran, err)
	}
	var imp models.Import
	ts.store.DB().Order("id DESC").Take(&imp)
	var ip string
	ts.store.DB().Model(&models.AuditEvent{}).Where("action = ?", "import.started").Pluck("ip", &ip)
	if ip == "" {
		t.Error("import.started has no client address")
	}
	ts.store.DB().Model(&imp).Updates(map[string]any{"finished_at": ts.store.Now().Add(-models.ImportRowRetention - time.Hour)})
	if n, err := ts.store.PruneImportRows(context.Background()); err != nil || n != 1 {
		t.Fatalf("pruned %d rows: %v", n, err)
	}
	p = admin.get(action)
	wantStatus(t, p, http.StatusOK)
	if got := p.text(`[data-testid="outcome-invited"]`); got != "Invited: 1" || p.doc.Find(`[data-testid="rows-pruned"]`).Length() != 1 {
		t.Errorf("results after pruning: %q", p.text(`[data-testid="import-results"]`))
	}
	wantStatus(t, admin.get(action+"/outcomes.csv"), http.StatusGone)
}
