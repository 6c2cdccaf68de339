package models

// Importing people from a CSV file (issue 18): an Admin moving a team in
// (PhoneWagon's user export, or our own template, which is also what the
// users list exports) uploads a file, maps its columns and roles, reads a
// dry run of every row, and confirms; a background job then invites each
// person exactly as the wizard would (createMember: membership, companies,
// hashed link, outbox email, audit event), under the wizard's checks
// (CheckDraft).
//
// The uploaded rows are kept in the database, not in memory or the
// session, so the upload, the preview, the confirmation and the job may
// each be served by a different instance. Each row records its outcome in
// the transaction that acts on it, so a job that dies half-way is resumed
// by the next worker where it stopped, and nobody is invited twice; a file
// uploaded again finds the people it invited already in the account.

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"gorm.io/gorm"
)

// Limits of one import.
const (
	MaxImportRows  = 10000
	MaxImportBytes = 5 << 20
	// ImportJobKind names import jobs in the jobs table.
	ImportJobKind = "import"
	// importChunk is how many rows one transaction of the job writes.
	importChunk = 100
)

// MemberCSVHeader is the template people download to fill in and the
// columns the users list exports (ExportUsers), so an export from one
// account imports into another. An import reads the first five and
// ignores the rest.
var MemberCSVHeader = []string{"First name", "Last name", "Email", "Type", "Companies", "Status",
	"Last active", "Invited at", "Invitation expires"}

// allCompanies is what an export writes in an Admin's Companies cell.
const allCompanies = "All companies"

// CompanySeparator separates the companies in one cell of the Companies
// column (names may contain commas).
const CompanySeparator = ";"

// ImportField is a piece of a person a column may hold.
type ImportField string

const (
	FieldFirstName ImportField = "first_name"
	FieldLastName  ImportField = "last_name"
	FieldFullName  ImportField = "full_name"
	FieldEmail     ImportField = "email"
	FieldRole      ImportField = "role"
	FieldCompanies ImportField = "companies"
)

// ImportFields lists the fields in the order the mapping step shows them.
var ImportFields = []ImportField{FieldFirstName, FieldLastName, FieldFullName, FieldEmail, FieldRole, FieldCompanies}

// Label is the field's name on screen.
func (f ImportField) Label() string {
	switch f {
	case FieldFirstName:
		return "First name"
	case FieldLastName:
		return "Last name"
	case FieldFullName:
		return "Full name (first and last in one column)"
	case FieldEmail:
		return "Email"
	case FieldRole:
		return "Role or type"
	case FieldCompanies:
		return "Companies"
	}
	return string(f)
}

// headerAliases are the headers each field is recognised by, compared
// after normalizeHeader (lower case, letters and digits only).
var headerAliases = map[string]ImportField{
	"firstname": FieldFirstName, "first": FieldFirstName, "givenname": FieldFirstName, "forename": FieldFirstName,
	"lastname": FieldLastName, "last": FieldLastName, "surname": FieldLastName, "familyname": FieldLastName,
	"name": FieldFullName, "fullname": FieldFullName, "displayname": FieldFullName,
	"email": FieldEmail, "emailaddress": FieldEmail, "mail": FieldEmail, "useremail": FieldEmail,
	"role": FieldRole, "type": FieldRole, "usertype": FieldRole, "userrole": FieldRole,
	"permission": FieldRole, "permissionlevel": FieldRole, "accesslevel": FieldRole,
	"companies": FieldCompanies, "company": FieldCompanies, "companynames": FieldCompanies, "companyname": FieldCompanies,
}

func normalizeHeader(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// RecognizeColumns maps the fields to the columns whose headers name them;
// a field no header names is absent.
func RecognizeColumns(headers []string) map[ImportField]int {
	out := map[ImportField]int{}
	for i, h := range headers {
		if f, ok := headerAliases[normalizeHeader(h)]; ok {
			if _, seen := out[f]; !seen {
				out[f] = i
			}
		}
	}
	return out
}

// normalizeRole is the key a role is mapped by: lower case, single spaces.
func normalizeRole(r string) string {
	return strings.Join(strings.Fields(strings.ToLower(r)), " ")
}

// phoneWagonRoles is seed 003's mapping of PhoneWagon's roles.
var phoneWagonRoles = map[string]UserType{
	"administrator":       Admin,
	"company manager":     Manager,
	"call manager":        Reporting,
	"global call manager": Reporting,
	"campaign monitor":    Reporting,
}

// campaignMonitor is the PhoneWagon role that only saw some tracking
// numbers: the seed advises a company of their own.
const campaignMonitor = "campaign monitor"

// DefaultRoleType is the type a role in a file maps to unless the Admin
// changes it: the seed's PhoneWagon mapping, or our own type names as they
// are (in any case). ok is false for a role nobody knows.
func DefaultRoleType(role string) (UserType, bool) {
	key := normalizeRole(role)
	if t, ok := phoneWagonRoles[key]; ok {
		return t, true
	}
	for _, t := range UserTypes {
		if key == strings.ToLower(t.Label()) {
			return t, true
		}
	}
	return "", false
}

// ImportState is where an import stands.
type ImportState string

const (
	ImportDraft     ImportState = "draft"
	ImportImporting ImportState = "importing"
	ImportDone      ImportState = "done"
)

// Import is one uploaded file and what the Admin chose for it.
type Import struct {
	ID          uint     `gorm:"primaryKey"`
	AccountID   uint     `gorm:"not null;index"`
	Account     *Account `gorm:"constraint:OnDelete:CASCADE"`
	CreatedByID uint     `gorm:"not null"`
	FileName    string   `gorm:"size:200;not null"`
	// Headers is the file's first line, as JSON.
	Headers string `gorm:"type:text;not null"`
	// Settings is the mapping and choices (ImportSettings), as JSON.
	Settings    string      `gorm:"type:text;not null"`
	Rows        int         `gorm:"not null"`
	State       ImportState `gorm:"size:16;not null"`
	CreatedAt   time.Time
	ConfirmedAt *time.Time
	FinishedAt  *time.Time
	// StartedIP is the client address of the Admin who started the
	// import: the audit events of the people it creates or changes carry
	// it, as the wizard's carry theirs.
	StartedIP string `gorm:"size:64;not null;default:''"`
	// RowsPrunedAt is set when the rows were deleted (PruneImportRows);
	// Outcomes then keeps their totals per outcome, as JSON.
	RowsPrunedAt *time.Time
	Outcomes     string `gorm:"type:text;not null;default:''"`
}

// ImportRow is one line of an uploaded file and, once imported, what came
// of it.
type ImportRow struct {
	ID       uint    `gorm:"primaryKey"`
	ImportID uint    `gorm:"not null;index:idx_import_rows_line,priority:1"`
	Import   *Import `gorm:"constraint:OnDelete:CASCADE"`
	Line     int     `gorm:"not null;index:idx_import_rows_line,priority:2"`
	// Cells are the line's fields, as JSON.
	Cells string `gorm:"type:text;not null"`
	// OwnCompany: the Admin accepted a company of their own for this
	// Campaign Monitor.
	OwnCompany bool `gorm:"not null;default:false"`
	// Outcome is empty until the job has acted on the row.
	Outcome  RowOutcome `gorm:"size:16;not null;default:''"`
	Detail   string     `gorm:"size:500;not null;default:''"`
	MemberID *uint
}

// ImportSettings is what the Admin chose on the preview page.
type ImportSettings struct {
	// Columns maps each field to its column; a field not mapped is absent.
	Columns map[ImportField]int `json:"columns"`
	// Roles maps each role of the file (normalizeRole) to a type; "" is
	// not mapped yet.
	Roles map[string]UserType `json:"roles"`
	// OneCompanyID, when set, is the company every row gets instead of the
	// Companies column.
	OneCompanyID uint `json:"one_company_id,omitempty"`
	// CreateCompanies: companies the column names that do not exist are
	// created (an explicit choice).
	CreateCompanies bool   `json:"create_companies,omitempty"`
	Message         string `json:"message,omitempty"`
	// UpdateExisting: people already in the account get the file's type
	// and companies (ChangeType, AssignCompany: the Edit User rules, each
	// audited) instead of being skipped. Companies are only ever added.
	UpdateExisting bool `json:"update_existing,omitempty"`
}

// RowKind is what the preview says will happen to a row.
type RowKind string

const (
	RowInvite         RowKind = "invite"
	RowNotification   RowKind = "notification"
	RowInAccount      RowKind = "in_account"
	RowUpdate         RowKind = "update"
	RowLoginElsewhere RowKind = "login_elsewhere"
	RowInvalid        RowKind = "invalid"
)

// RowKinds lists the kinds in the order totals are shown.
var RowKinds = []RowKind{RowInvite, RowLoginElsewhere, RowNotification, RowUpdate, RowInAccount, RowInvalid}

// Acts reports whether the import does something with a row of the kind.
func (k RowKind) Acts() bool {
	return k == RowInvite || k == RowLoginElsewhere || k == RowNotification || k == RowUpdate
}

// Label is the kind on screen.
func (k RowKind) Label() string {
	switch k {
	case RowInvite:
		return "Will be invited"
	case RowNotification:
		return "Will be added (Notification, no invitation)"
	case RowInAccount:
		return "Already in this account (skipped)"
	case RowUpdate:
		return "Already in this account (type or companies updated)"
	case RowLoginElsewhere:
		return "Has a login in another account (invited to join with it)"
	case RowInvalid:
		return "Cannot be imported"
	}
	return string(k)
}

// RowOutcome is what the import did with a row.
type RowOutcome string

const (
	OutcomeInvited RowOutcome = "invited"
	OutcomeAdded   RowOutcome = "added"
	OutcomeUpdated RowOutcome = "updated"
	OutcomeSkipped RowOutcome = "skipped"
	OutcomeInvalid RowOutcome = "invalid"
	OutcomeFailed  RowOutcome = "failed"
)

// ParseImportFile reads an uploaded CSV: UTF-8 (with or without Excel's
// byte order mark) or, when it is not valid UTF-8, Windows-1252. It
// returns the header and the data lines, or an error saying what is wrong
// with the file.
func ParseImportFile(data []byte) (headers []string, rows [][]string, err error) {
	if len(data) > MaxImportBytes {
		return nil, nil, Errorf(TooLarge, "The file is larger than %d MB. Split it into smaller files.", MaxImportBytes>>20)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		if data, err = charmap.Windows1252.NewDecoder().Bytes(data); err != nil {
			return nil, nil, Errorf(Invalid, "The file's characters could not be read. Save it as CSV UTF-8 and upload it again.")
		}
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	for {
		rec, rerr := r.Read()
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			var perr *csv.ParseError
			if errors.As(rerr, &perr) {
				return nil, nil, Errorf(Invalid, "Line %d of the file is not valid CSV (%v). Fix it and upload the file again.", perr.Line, perr.Err)
			}
			return nil, nil, Errorf(Invalid, "The file is not valid CSV.")
		}
		if headers == nil {
			headers = rec
			continue
		}
		if blank(rec) {
			continue
		}
		if len(rows) == MaxImportRows {
			return nil, nil, Errorf(TooLarge, "The file has more than %d people. Split it into smaller files.", MaxImportRows)
		}
		rows = append(rows, rec)
	}
	if headers == nil || blank(headers) {
		return nil, nil, Errorf(Invalid, "The file is empty. Its first line should name the columns (download the template to see how).")
	}
	if len(rows) == 0 {
		return nil, nil, Errorf(Invalid, "The file has a header line but nobody in it.")
	}
	return headers, rows, nil
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// CreateImport stores an uploaded file's lines for the viewer's account,
// with the columns and roles recognised, ready for the preview.
func (s *Store) CreateImport(ctx context.Context, v *Viewer, fileName string, data []byte) (*Import, error) {
	if !CanImportMembers(v.Type()) {
		return nil, ErrNotFound()
	}
	headers, rows, err := ParseImportFile(data)
	if err != nil {
		return nil, err
	}
	settings := ImportSettings{Columns: RecognizeColumns(headers), Roles: map[string]UserType{}}
	if col, ok := settings.Columns[FieldRole]; ok {
		for _, rec := range rows {
			role := normalizeRole(cell(rec, col))
			if _, seen := settings.Roles[role]; !seen {
				t, _ := DefaultRoleType(role)
				settings.Roles[role] = t
			}
		}
	}
	hj, _ := json.Marshal(headers)
	sj, _ := json.Marshal(settings)
	fileName = truncateText(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, fileName), 200)
	imp := &Import{AccountID: v.Account.ID, CreatedByID: v.Membership.ID, FileName: fileName, Headers: string(hj),
		Settings: string(sj), Rows: len(rows), State: ImportDraft, CreatedAt: s.Now()}
	batch := make([]ImportRow, len(rows))
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(imp).Error; err != nil {
			return fmt.Errorf("create import: %w", err)
		}
		for i, rec := range rows {
			cj, _ := json.Marshal(rec)
			batch[i] = ImportRow{ImportID: imp.ID, Line: i + 2, Cells: string(cj)}
		}
		if err := tx.CreateInBatches(batch, 500).Error; err != nil {
			return fmt.Errorf("store import rows: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return imp, nil
}

func cell(rec []string, col int) string {
	if col < 0 || col >= len(rec) {
		return ""
	}
	return unneutraliseCSVCell(strings.TrimSpace(rec[col]))
}

// unneutraliseCSVCell takes off the apostrophe an export put before a
// value a spreadsheet would have read as a formula (NeutraliseCSVCell).
func unneutraliseCSVCell(s string) string {
	if len(s) > 1 && s[0] == '\'' && strings.ContainsRune("=+-@\t\r", rune(s[1])) {
		return s[1:]
	}
	return s
}

// FindImport returns an import of the viewer's account; anyone who may not
// import, and any other account's import, gets 404.
func (s *Store) FindImport(ctx context.Context, v *Viewer, id uint) (*Import, error) {
	if !CanImportMembers(v.Type()) {
		return nil, ErrNotFound()
	}
	var imp Import
	err := s.db.WithContext(ctx).Where("id = ? AND account_id = ?", id, v.Account.ID).Take(&imp).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("find import: %w", err)
	}
	return &imp, nil
}

// HeaderList is the file's header line.
func (imp *Import) HeaderList() []string {
	var h []string
	_ = json.Unmarshal([]byte(imp.Headers), &h)
	return h
}

// Choices is what the Admin has chosen so far.
func (imp *Import) Choices() ImportSettings {
	var st ImportSettings
	_ = json.Unmarshal([]byte(imp.Settings), &st)
	if st.Columns == nil {
		st.Columns = map[ImportField]int{}
	}
	if st.Roles == nil {
		st.Roles = map[string]UserType{}
	}
	return st
}

// ImportChoice is the preview form: the settings and the Campaign
// Monitors given a company of their own.
type ImportChoice struct {
	Settings ImportSettings
	// OwnCompany are the rows (IDs) whose Campaign Monitor gets a company
	// of their own.
	OwnCompany []uint
}

// SaveImportChoice records the preview form of a draft import. Columns
// and roles must name the file's columns and types; a company for all rows
// must be one of the account's active companies (else a field error).
func (s *Store) SaveImportChoice(ctx context.Context, v *Viewer, imp *Import, in ImportChoice) error {
	if imp.State != ImportDraft {
		return Errorf(Conflict, "This import has already started; its choices can no longer change.")
	}
	headers := imp.HeaderList()
	seen := map[int]bool{}
	for f, col := range in.Settings.Columns {
		if !slices.Contains(ImportFields, f) || col < 0 || col >= len(headers) {
			return Errorf(BadRequest, "That column mapping does not fit the file.")
		}
		if seen[col] {
			return FieldErrors(map[string]string{"columns": fmt.Sprintf("The column %q is mapped to two fields. Map each column once.", headers[col])})
		}
		seen[col] = true
	}
	for role, t := range in.Settings.Roles {
		if t == "" {
			continue
		}
		if _, err := ParseUserType(string(t)); err != nil {
			return Errorf(BadRequest, "%q is not a user type.", t)
		}
		in.Settings.Roles[role] = t
	}
	msg, err := CleanMessage(in.Settings.Message)
	if err != nil {
		return FieldErrors(map[string]string{"message": ErrorMessage(err)})
	}
	in.Settings.Message = msg
	if id := in.Settings.OneCompanyID; id != 0 {
		found, err := s.activeCompaniesByID(ctx, v, map[uint]bool{id: true})
		if err != nil {
			return fmt.Errorf("check import company: %w", err)
		}
		if len(found) != 1 {
			return FieldErrors(map[string]string{"one_company": "That company is no longer available. Choose another."})
		}
	}
	sj, _ := json.Marshal(in.Settings)
	return s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Import{}).Where("id = ? AND state = ?", imp.ID, ImportDraft).Update("settings", string(sj))
		if res.Error != nil {
			return fmt.Errorf("save import choices: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return Errorf(Conflict, "This import has already started; its choices can no longer change.")
		}
		if err := tx.Model(&ImportRow{}).Where("import_id = ?", imp.ID).Update("own_company", false).Error; err != nil {
			return fmt.Errorf("save company offers: %w", err)
		}
		if len(in.OwnCompany) > 0 {
			if err := tx.Model(&ImportRow{}).Where("import_id = ? AND id IN ?", imp.ID, in.OwnCompany).Update("own_company", true).Error; err != nil {
				return fmt.Errorf("save company offers: %w", err)
			}
		}
		imp.Settings = string(sj)
		return nil
	})
}

// PreviewRow is one line of the file as it would be imported.
type PreviewRow struct {
	ID                  uint
	Line                int
	FirstName, LastName string
	Email               string
	Role                string
	Type                UserType
	// Companies are the names of the companies the person would get (not
	// for Admins, who see every company).
	Companies []string
	Kind      RowKind
	// Problem says, for an invalid row, which field and why; for a
	// skipped one, why.
	Problem string
	// CampaignMonitor rows are offered a company of their own, named
	// OwnCompanyName; OwnCompany says whether the Admin accepted.
	CampaignMonitor bool
	OwnCompany      bool
	OwnCompanyName  string
	// Outcome and Detail are what the import did, once it has.
	Outcome RowOutcome
	Detail  string

	draft     Draft
	companies []string // lower-cased names to resolve
	memberID  *uint
	// existing is the person of the account the row's address names.
	existing *importMember
}

// RoleChoice is one role of the file in the mapping table.
type RoleChoice struct {
	Role    string
	Count   int
	Type    UserType
	Default UserType
	Known   bool
}

// ImportPreview is the dry run of an import with the current choices.
type ImportPreview struct {
	Import   *Import
	Settings ImportSettings
	Headers  []string
	Rows     []PreviewRow
	Totals   map[RowKind]int
	Roles    []RoleChoice
	// MissingFields are fields the mapping still needs.
	MissingFields []ImportField
	// UnknownCompanies are names in the Companies column that are not
	// companies of the account (created only if the Admin says so).
	UnknownCompanies []string
	// CampaignMonitors counts the rows offered a company of their own.
	CampaignMonitors int
	// Companies are the account's active companies, for "one for all".
	Companies []Company
	// Progress of an import under way or done.
	Done int
	// Outcomes counts rows per outcome, once imported.
	Outcomes map[RowOutcome]int
}

// Ready reports whether the import may start: every needed column and
// every role mapped, and at least one row to act on.
func (p *ImportPreview) Ready() bool {
	if len(p.MissingFields) > 0 {
		return false
	}
	for _, r := range p.Roles {
		if r.Type == "" {
			return false
		}
	}
	return p.ToAct() > 0
}

// ToAct counts the rows the import will act on.
func (p *ImportPreview) ToAct() int {
	n := 0
	for k, c := range p.Totals {
		if k.Acts() {
			n += c
		}
	}
	return n
}

// Unmapped counts the roles not yet mapped.
func (p *ImportPreview) Unmapped() int {
	n := 0
	for _, r := range p.Roles {
		if r.Type == "" {
			n++
		}
	}
	return n
}

// importLookups is what classifying rows needs from the database, read in
// a few queries for the whole file.
type importLookups struct {
	companies map[string]Company       // lower-cased name → active company
	members   map[string]*importMember // canonical email → in this account
	logins    map[string]bool          // canonical email → has a login
	self      uint                     // the importing Admin
}

// importMember is a person of the account a row names, as an update
// needs them.
type importMember struct {
	ID        uint
	Type      UserType
	Companies map[uint]bool // assigned (read only when updates are chosen)
}

// PreviewImport classifies every row of the import with its current
// choices, reading the account's people and companies in a few queries.
func (s *Store) PreviewImport(ctx context.Context, v *Viewer, imp *Import) (*ImportPreview, error) {
	var rows []ImportRow
	if err := s.db.WithContext(ctx).Where("import_id = ?", imp.ID).Order("line").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("load import rows: %w", err)
	}
	return s.previewRows(ctx, v, imp, rows)
}

func (s *Store) previewRows(ctx context.Context, v *Viewer, imp *Import, rows []ImportRow) (*ImportPreview, error) {
	st := imp.Choices()
	p := &ImportPreview{Import: imp, Settings: st, Headers: imp.HeaderList(), Totals: map[RowKind]int{},
		Outcomes: map[RowOutcome]int{}, Rows: make([]PreviewRow, len(rows))}
	if imp.RowsPrunedAt != nil {
		// Only the totals are left (PruneImportRows).
		p.Outcomes = imp.prunedOutcomes()
		for _, n := range p.Outcomes {
			p.Done += n
		}
		return p, nil
	}
	_, hasFirst := st.Columns[FieldFirstName]
	_, hasLast := st.Columns[FieldLastName]
	_, hasFull := st.Columns[FieldFullName]
	if !hasFull && !hasFirst {
		p.MissingFields = append(p.MissingFields, FieldFirstName)
	}
	if !hasFull && !hasLast {
		p.MissingFields = append(p.MissingFields, FieldLastName)
	}
	if _, ok := st.Columns[FieldEmail]; !ok {
		p.MissingFields = append(p.MissingFields, FieldEmail)
	}
	if _, ok := st.Columns[FieldRole]; !ok {
		p.MissingFields = append(p.MissingFields, FieldRole)
	}
	col := func(f ImportField) int {
		if c, ok := st.Columns[f]; ok {
			return c
		}
		return -1
	}
	roleCount := map[string]int{}
	emails := make([]string, 0, len(rows))
	for i, r := range rows {
		var rec []string
		if err := json.Unmarshal([]byte(r.Cells), &rec); err != nil {
			return nil, fmt.Errorf("import row %d: %w", r.ID, err)
		}
		pr := &p.Rows[i]
		pr.ID, pr.Line, pr.OwnCompany, pr.Outcome, pr.Detail, pr.memberID = r.ID, r.Line, r.OwnCompany, r.Outcome, r.Detail, r.MemberID
		pr.FirstName, pr.LastName = cell(rec, col(FieldFirstName)), cell(rec, col(FieldLastName))
		if hasFull && !hasFirst && !hasLast {
			full := strings.Fields(cell(rec, col(FieldFullName)))
			if len(full) > 0 {
				pr.FirstName, pr.LastName = full[0], strings.Join(full[1:], " ")
			}
		}
		pr.Email = cell(rec, col(FieldEmail))
		pr.Role = cell(rec, col(FieldRole))
		key := normalizeRole(pr.Role)
		roleCount[key]++
		pr.Type = roleType(st, key)
		pr.CampaignMonitor = key == campaignMonitor
		if pr.CampaignMonitor {
			p.CampaignMonitors++
			pr.OwnCompanyName = OwnCompanyName(pr.FirstName, pr.LastName)
		}
		if c := col(FieldCompanies); c >= 0 && st.OneCompanyID == 0 {
			for _, name := range strings.Split(cell(rec, c), CompanySeparator) {
				// An exported Admin's "All companies" names none: Admins
				// see every company.
				if name = strings.TrimSpace(name); name != "" && !strings.EqualFold(name, allCompanies) {
					pr.Companies = append(pr.Companies, name)
				}
			}
		}
		if e, err := CanonicalEmail(pr.Email); err == nil {
			emails = append(emails, e)
		}
		if r.Outcome != "" {
			p.Done++
			p.Outcomes[r.Outcome]++
		}
	}
	for role, n := range roleCount {
		def, known := DefaultRoleType(role)
		p.Roles = append(p.Roles, RoleChoice{Role: role, Count: n, Type: roleType(st, role), Default: def, Known: known})
	}
	sort.Slice(p.Roles, func(i, j int) bool { return p.Roles[i].Role < p.Roles[j].Role })
	look, err := s.importLookups(ctx, v, emails, st.UpdateExisting)
	if err != nil {
		return nil, err
	}
	for _, c := range look.companies {
		p.Companies = append(p.Companies, c)
	}
	sort.Slice(p.Companies, func(i, j int) bool {
		return strings.ToLower(p.Companies[i].Name) < strings.ToLower(p.Companies[j].Name)
	})
	var oneCompany string
	if st.OneCompanyID != 0 {
		for _, c := range look.companies {
			if c.ID == st.OneCompanyID {
				oneCompany = c.Name
			}
		}
	}
	unknown := map[string]string{}
	firstOf := map[string]int{}
	for i := range p.Rows {
		pr := &p.Rows[i]
		classifyRow(pr, st, look, oneCompany, unknown, firstOf)
		p.Totals[pr.Kind]++
	}
	for _, name := range unknown {
		p.UnknownCompanies = append(p.UnknownCompanies, name)
	}
	sort.Strings(p.UnknownCompanies)
	return p, nil
}

// roleType is the type a role of the file maps to: the Admin's choice, or,
// for a role not seen before (another column was just chosen), its
// default.
func roleType(st ImportSettings, role string) UserType {
	if t, ok := st.Roles[role]; ok {
		return t
	}
	t, _ := DefaultRoleType(role)
	return t
}

// OwnCompanyName is the name of the company offered to a Campaign Monitor.
func OwnCompanyName(first, last string) string {
	name := strings.TrimSpace(first + " " + last)
	if name == "" {
		name = "Campaign Monitor"
	}
	return truncateText(name+"'s numbers", MaxCompanyLength)
}

// classifyRow decides a row's kind with the wizard's checks of names,
// email, type and companies (the account's state comes from look).
func classifyRow(pr *PreviewRow, st ImportSettings, look *importLookups, oneCompany string, unknown map[string]string, firstOf map[string]int) {
	invalid := func(msg string) { pr.Kind, pr.Problem = RowInvalid, msg }
	first, err := CleanName(pr.FirstName, "First name", MaxNameLength)
	if err != nil {
		invalid(ErrorMessage(err))
		return
	}
	last, err := CleanName(pr.LastName, "Last name", MaxNameLength)
	if err != nil {
		invalid(ErrorMessage(err))
		return
	}
	email, err := CanonicalEmail(pr.Email)
	if err != nil {
		invalid("Email: " + ErrorMessage(err))
		return
	}
	if prev, dup := firstOf[email]; dup {
		invalid(fmt.Sprintf("Email: the same address is on line %d of the file.", prev))
		return
	}
	firstOf[email] = pr.Line
	if pr.Type == "" && pr.Role == "" {
		invalid("Role: empty. Fill it in the file, or map the empty role to a type.")
		return
	}
	if pr.Type == "" {
		invalid(fmt.Sprintf("Role: %q is not mapped to a type yet.", pr.Role))
		return
	}
	pr.draft = Draft{Type: pr.Type, FirstName: first, LastName: last, Email: email}
	switch {
	case pr.Type.SeesAllCompanies():
		pr.Companies = nil
	case pr.CampaignMonitor && pr.OwnCompany:
		pr.Companies = []string{pr.OwnCompanyName}
		pr.companies = []string{strings.ToLower(pr.OwnCompanyName)}
	case oneCompany != "":
		pr.Companies = []string{oneCompany}
		pr.companies = []string{strings.ToLower(oneCompany)}
	default:
		if len(pr.Companies) == 0 {
			invalid("Companies: none given. Every " + pr.Type.Label() + " user needs at least one company (or choose one company for everyone).")
			return
		}
		for _, name := range pr.Companies {
			key := strings.ToLower(name)
			if _, ok := look.companies[key]; !ok {
				if _, err := CleanName(name, "Company name", MaxCompanyLength); err != nil {
					invalid("Companies: " + ErrorMessage(err))
					return
				}
				unknown[key] = name
				if !st.CreateCompanies {
					invalid(fmt.Sprintf("Companies: %q is not a company of this account (choose to create it, or fix the name).", name))
					return
				}
			}
			pr.companies = append(pr.companies, key)
		}
	}
	switch {
	case look.members[email] != nil:
		pr.existing = look.members[email]
		pr.Kind, pr.Problem = RowInAccount, "Already a user of this account."
		if pr.existing.ID == look.self {
			pr.Problem = "This is you: an import does not change your own type or companies."
		} else if st.UpdateExisting {
			if changes := pr.updateChanges(look); len(changes) > 0 {
				pr.Kind, pr.Problem = RowUpdate, strings.Join(changes, "; ")+"."
			} else {
				pr.Problem = "Already a user of this account with this type and these companies: nothing to change."
			}
		}
	case look.logins[email] && pr.Type.CanLogIn():
		pr.draft.InviteExistingLogin = true
		pr.Kind, pr.Problem = RowLoginElsewhere,
			"Has a login in another Switchboard account: invited to join this one with the password they have."
	case !pr.Type.CanLogIn():
		// A Notification user has no login: one elsewhere changes nothing.
		pr.draft.InviteExistingLogin = look.logins[email]
		pr.Kind, pr.Problem = RowNotification, "Receives emails only: no invitation needed."
	default:
		pr.Kind = RowInvite
	}
}

// updateChanges says what an update would change for the row's person:
// their type, and the companies of the file they do not have yet (none
// are taken away).
func (pr *PreviewRow) updateChanges(look *importLookups) []string {
	var out []string
	if pr.existing.Type != pr.Type {
		out = append(out, "Type "+pr.existing.Type.Label()+" → "+pr.Type.Label())
	}
	if pr.Type.SeesAllCompanies() {
		return out
	}
	var added []string
	for i, key := range pr.companies {
		if c, ok := look.companies[key]; !ok || !pr.existing.Companies[c.ID] || pr.existing.Type.SeesAllCompanies() {
			added = append(added, pr.Companies[i])
		}
	}
	if len(added) > 0 {
		out = append(out, "added to "+strings.Join(added, ", "))
	}
	return out
}

func (s *Store) importLookups(ctx context.Context, v *Viewer, emails []string, withCompanies bool) (*importLookups, error) {
	db := s.db.WithContext(ctx)
	look := &importLookups{companies: map[string]Company{}, members: map[string]*importMember{}, logins: map[string]bool{},
		self: v.Membership.ID}
	var companies []Company
	if err := db.Where("account_id = ? AND status = ?", v.Account.ID, CompanyActive).Find(&companies).Error; err != nil {
		return nil, fmt.Errorf("import: load companies: %w", err)
	}
	for _, c := range companies {
		look.companies[strings.ToLower(c.Name)] = c
	}
	for chunk := range slices.Chunk(emails, 500) {
		var members []Membership
		if err := db.Select("id, email, type").Where("account_id = ? AND email IN ?", v.Account.ID, chunk).Find(&members).Error; err != nil {
			return nil, fmt.Errorf("import: find members: %w", err)
		}
		byID := map[uint]*importMember{}
		for _, m := range members {
			im := &importMember{ID: m.ID, Type: m.Type, Companies: map[uint]bool{}}
			look.members[m.Email], byID[m.ID] = im, im
		}
		if withCompanies && len(byID) > 0 {
			var assigned []Assignment
			if err := db.Select("membership_id, company_id").Where("membership_id IN ?", slices.Collect(maps.Keys(byID))).
				Find(&assigned).Error; err != nil {
				return nil, fmt.Errorf("import: companies of members: %w", err)
			}
			for _, a := range assigned {
				byID[a.MembershipID].Companies[a.CompanyID] = true
			}
		}
		var found []string
		if err := db.Model(&Login{}).Where("email IN ?", chunk).Pluck("email", &found).Error; err != nil {
			return nil, fmt.Errorf("import: find logins: %w", err)
		}
		for _, e := range found {
			look.logins[e] = true
		}
	}
	return look, nil
}

// StartImport confirms a draft import: it must be ready (see Ready), and
// a job to run it is recorded in the same transaction.
func (s *Store) StartImport(ctx context.Context, v *Viewer, imp *Import, ip string) error {
	if imp.State != ImportDraft {
		return nil // a double submit: the job is already there
	}
	p, err := s.PreviewImport(ctx, v, imp)
	if err != nil {
		return err
	}
	if !p.Ready() {
		return Errorf(Invalid, "This import is not ready: map every column and role, and make sure at least one person can be imported.")
	}
	now := s.Now()
	account, by := v.Account.ID, v.Membership.ID
	return s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Import{}).Where("id = ? AND state = ?", imp.ID, ImportDraft).
			Updates(map[string]any{"state": ImportImporting, "confirmed_at": now, "started_ip": truncateText(ip, 64)})
		if res.Error != nil {
			return fmt.Errorf("start import: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return nil
		}
		if _, _, err := s.EnqueueJobTx(tx, NewJob{Kind: ImportJobKind, Key: fmt.Sprint(imp.ID), AccountID: &account,
			CreatedByID: &by, Payload: ImportJob{ImportID: imp.ID}}); err != nil {
			return err
		}
		imp.State, imp.ConfirmedAt, imp.StartedIP = ImportImporting, &now, truncateText(ip, 64)
		return s.audit(tx, account, v.Actor(ip), "import.started", nil,
			fmt.Sprintf("%s: %d rows", imp.FileName, imp.Rows))
	})
}

// ImportJob is the payload of an import job.
type ImportJob struct {
	ImportID uint `json:"import_id"`
}

// ImportProgress reports how far a run has got.
type ImportProgress func(done, total int) error

// RunImport does an import: the companies it was told to create, then
// every row not done yet, each checked again as the wizard checks it and
// created as the wizard creates it, its outcome written in the same
// transaction. It carries on where an earlier, interrupted run stopped.
func (s *Store) RunImport(ctx context.Context, importID uint, progress ImportProgress) error {
	var imp Import
	if err := s.db.WithContext(ctx).Where("id = ?", importID).Take(&imp).Error; err != nil {
		return fmt.Errorf("run import %d: %w", importID, err)
	}
	if imp.State == ImportDone {
		return nil
	}
	v, err := s.importViewer(ctx, &imp)
	if err != nil {
		return err
	}
	var rows []ImportRow
	if err := s.db.WithContext(ctx).Where("import_id = ?", imp.ID).Order("line").Find(&rows).Error; err != nil {
		return fmt.Errorf("load import rows: %w", err)
	}
	if v == nil {
		return s.finishImport(ctx, &imp, "The Admin who started this import is no longer an Admin of the account.")
	}
	st := imp.Choices()
	if err := s.createImportCompanies(ctx, v, &imp, rows); err != nil {
		return err
	}
	p, err := s.previewRows(ctx, v, &imp, rows)
	if err != nil {
		return err
	}
	look, err := s.importLookups(ctx, v, nil, false)
	if err != nil {
		return err
	}
	message, _ := CleanMessage(st.Message)
	done := p.Done
	pending := make([]*PreviewRow, 0, len(p.Rows))
	for i := range p.Rows {
		if p.Rows[i].Outcome == "" {
			pending = append(pending, &p.Rows[i])
		}
	}
	// Rows are checked a chunk ahead of the chunk being written, so that
	// the reads of one overlap the transaction of the other. The rows of
	// the two chunks have different addresses (duplicates in the file are
	// refused by the preview), so a check does not depend on the chunk
	// before it; a race with someone else is caught by the unique index.
	planned := make(chan plannedChunk, 1)
	planCtx, stopPlanning := context.WithCancel(ctx)
	defer stopPlanning()
	go func() {
		defer close(planned)
		for chunk := range slices.Chunk(pending, importChunk) {
			var pc plannedChunk
			pc.plans, pc.err = s.planChunk(planCtx, v, &imp, chunk, look, message)
			select {
			case planned <- pc:
			case <-planCtx.Done():
				return
			}
			if pc.err != nil {
				return
			}
		}
	}()
	for pc := range planned {
		if pc.err != nil {
			return pc.err
		}
		if err := s.applyPlans(ctx, v, imp.StartedIP, pc.plans); err != nil {
			return err
		}
		done += len(pc.plans)
		if progress != nil {
			if err := progress(done, len(rows)); err != nil {
				return err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.finishImport(ctx, &imp, "")
}

// importViewer is the Admin who started the import, as they are now: nil
// when they are no longer an active Admin of the account.
func (s *Store) importViewer(ctx context.Context, imp *Import) (*Viewer, error) {
	v := &Viewer{}
	db := s.db.WithContext(ctx)
	if err := db.Where("id = ?", imp.AccountID).Take(&v.Account).Error; err != nil {
		return nil, fmt.Errorf("import account: %w", err)
	}
	err := db.Where("id = ? AND account_id = ?", imp.CreatedByID, imp.AccountID).Take(&v.Membership).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("import author: %w", err)
	}
	if v.Membership.Status != MemberActive || !CanImportMembers(v.Type()) || v.Account.Status != AccountActive {
		return nil, nil
	}
	return v, nil
}

// finishImport marks the import done; rows not done yet get reason.
func (s *Store) finishImport(ctx context.Context, imp *Import, reason string) error {
	now := s.Now()
	return s.tx(ctx, func(tx *gorm.DB) error {
		if reason != "" {
			if err := tx.Model(&ImportRow{}).Where("import_id = ? AND outcome = ''", imp.ID).
				Updates(map[string]any{"outcome": OutcomeFailed, "detail": reason}).Error; err != nil {
				return fmt.Errorf("finish import: %w", err)
			}
		}
		return tx.Model(&Import{}).Where("id = ?", imp.ID).Updates(map[string]any{"state": ImportDone, "finished_at": now}).Error
	})
}

// createImportCompanies creates, by name and at most once, the companies
// the Admin chose to create: the unknown ones of the Companies column and
// the Campaign Monitors' own. A company of that name that exists (made by
// an earlier, interrupted run, or meanwhile) is used as it is.
func (s *Store) createImportCompanies(ctx context.Context, v *Viewer, imp *Import, rows []ImportRow) error {
	p, err := s.previewRows(ctx, v, imp, rows)
	if err != nil {
		return err
	}
	want := map[string]string{}
	for _, r := range p.Rows {
		if r.Outcome != "" || !r.Kind.Acts() {
			continue
		}
		for i, key := range r.companies {
			want[key] = r.Companies[i]
		}
	}
	zone := v.Account.TimeZone
	if zone == "" {
		zone = "UTC"
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		var have []string
		if err := tx.Model(&Company{}).Where("account_id = ?", v.Account.ID).Pluck("LOWER(name)", &have).Error; err != nil {
			return fmt.Errorf("import: companies: %w", err)
		}
		names := make([]string, 0, len(want))
		for key, name := range want {
			if !slices.Contains(have, key) {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		now := s.Now()
		for _, name := range names {
			c := Company{AccountID: v.Account.ID, Name: name, TimeZone: zone, Status: CompanyActive, CreatedAt: now, UpdatedAt: now}
			if err := tx.Create(&c).Error; err != nil {
				return fmt.Errorf("import: create company: %w", err)
			}
			if err := s.audit(tx, v.Account.ID, v.Actor(imp.StartedIP), "company.created", nil, fmt.Sprintf("%s (%s), by import of %s", c.Name, c.TimeZone, imp.FileName)); err != nil {
				return err
			}
		}
		return nil
	})
}

// applyPlans acts on a chunk of rows in one transaction, written together
// (applyBatch). When that transaction fails (someone added one of the
// addresses meanwhile, a limit was reached, a company was disabled), the
// rows are done one by one through the wizard's own write path, so that
// each gets its own outcome.
func (s *Store) applyPlans(ctx context.Context, v *Viewer, ip string, all []rowPlan) error {
	var plans, updates []rowPlan
	for _, plan := range all {
		if plan.update != nil {
			updates = append(updates, plan)
		} else {
			plans = append(plans, plan)
		}
	}
	for _, plan := range updates {
		if err := s.applyUpdate(ctx, v, ip, plan); err != nil {
			return err
		}
	}
	if len(plans) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx *gorm.DB) error { return s.applyBatch(tx, v, ip, plans) })
	if err == nil || ctx.Err() != nil {
		return err
	}
	for _, plan := range plans {
		err := s.tx(ctx, func(tx *gorm.DB) error { return s.applyRow(tx, v, ip, plan) })
		if err != nil && ctx.Err() == nil {
			err = s.failRow(ctx, plan, err)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// applyUpdate gives a person already in the account the row's type and
// companies through the core's own changes, each with its checks (the
// last active Admin keeps their type) and its audit event: ChangeType,
// then AssignCompany for each company of the file they do not have.
// Nothing is taken away. Each change is a transaction of its own; a run
// resumed after a crash reads the person again and does what is left.
func (s *Store) applyUpdate(ctx context.Context, v *Viewer, ip string, plan rowPlan) error {
	u := plan.update
	m, err := s.memberOfAccount(s.db.WithContext(ctx), v, u.memberID)
	if err != nil {
		return s.failRow(ctx, plan, err)
	}
	var done []string
	if m.Type != u.to {
		if _, err := s.ChangeType(ctx, v, m.ID, TypeChangeInput{To: u.to, CompanyIDs: u.companyIDs, Message: u.message}, ip); err != nil {
			return s.failRow(ctx, plan, err)
		}
		done = append(done, "Type "+m.Type.Label()+" → "+u.to.Label())
	}
	if !u.to.SeesAllCompanies() {
		have, err := assignedCompanyIDs(s.db.WithContext(ctx), m.ID)
		if err != nil {
			return err
		}
		var added []string
		for _, id := range u.companyIDs {
			if slices.Contains(have, id) {
				continue
			}
			_, c, err := s.AssignCompany(ctx, v, m.ID, id, ip)
			if err != nil {
				return s.failRow(ctx, plan, err)
			}
			added = append(added, c.Name)
		}
		if len(added) > 0 {
			done = append(done, "added to "+strings.Join(added, ", "))
		}
	}
	outcome, detail := OutcomeUpdated, strings.Join(done, "; ")+"."
	if len(done) == 0 {
		outcome, detail = OutcomeSkipped, "Already a user of this account with this type and these companies: nothing to change."
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		return tx.Model(&ImportRow{}).Where("id = ? AND outcome = ''", plan.row.ID).
			Updates(map[string]any{"outcome": outcome, "detail": truncateText(detail, 500), "member_id": m.ID}).Error
	})
}

// plannedChunk is a chunk of rows checked and ready to be written.
type plannedChunk struct {
	plans []rowPlan
	err   error
}

// rowPlan is what the job will do with one row.
type rowPlan struct {
	row *PreviewRow
	// person is the row's draft as checked, with their email built before
	// the transaction as the wizard builds it (nil for a row the preview
	// already settled).
	person *batchPerson
	// update is set for a person already in the account who gets the
	// file's type and companies.
	update  *rowUpdate
	outcome RowOutcome
	detail  string
}

// rowUpdate is what an update of a person already in the account asks.
type rowUpdate struct {
	memberID   uint
	to         UserType
	companyIDs []uint
	message    string
}

// planChunk checks a chunk of rows as the wizard checks a draft
// (checkDrafts: CheckDraft for many at once) and builds the email of each
// person it will create, before any transaction.
func (s *Store) planChunk(ctx context.Context, v *Viewer, imp *Import, chunk []*PreviewRow, look *importLookups, message string) ([]rowPlan, error) {
	plans := make([]rowPlan, len(chunk))
	var drafts []Draft
	var drafted []int
	for i, r := range chunk {
		plan := &plans[i]
		plan.row = r
		switch r.Kind {
		case RowInvalid:
			plan.outcome, plan.detail = OutcomeInvalid, r.Problem
			continue
		case RowInAccount:
			plan.outcome, plan.detail = OutcomeSkipped, r.Problem
			continue
		}
		d := r.draft
		d.Key = importCreationKey(imp.ID, r.Line)
		d.Message = message
		available := true
		for _, key := range r.companies {
			c, ok := look.companies[key]
			if !ok {
				var found Company
				err := s.db.WithContext(ctx).Where("account_id = ? AND status = ? AND LOWER(name) = ?", v.Account.ID, CompanyActive, key).Take(&found).Error
				if err != nil {
					plan.outcome, plan.detail = OutcomeFailed, fmt.Sprintf("Company %q is not available.", key)
					available = false
					break
				}
				look.companies[key], c = found, found
			}
			d.CompanyIDs = append(d.CompanyIDs, c.ID)
		}
		switch {
		case !available:
		case r.Kind == RowUpdate:
			plan.update = &rowUpdate{memberID: r.existing.ID, to: r.Type, companyIDs: d.CompanyIDs, message: message}
			plan.outcome = OutcomeUpdated
		default:
			drafts, drafted = append(drafts, d), append(drafted, i)
		}
	}
	checks, err := s.checkDrafts(ctx, v, drafts)
	if err != nil {
		return nil, err
	}
	for j, i := range drafted {
		plan, d, check := &plans[i], drafts[j], checks[j]
		plan.person = &batchPerson{draft: d, check: check}
		switch {
		case check.Created != nil:
			plan.outcome, plan.detail = OutcomeInvited, "Invited by an earlier run of this import."
		case check.ExistingMember != nil:
			plan.outcome, plan.detail = OutcomeSkipped, "Already a user of this account."
		case check.LoginElsewhere && !d.InviteExistingLogin:
			plan.outcome, plan.detail = OutcomeSkipped, "Has a login in another Switchboard account."
		case !check.OK():
			msgs := make([]string, 0, len(check.Fields))
			for _, m := range check.Fields {
				msgs = append(msgs, m)
			}
			sort.Strings(msgs)
			plan.outcome, plan.detail = OutcomeInvalid, strings.Join(msgs, " ")
		case d.Type.CanLogIn() && check.LoginElsewhere:
			plan.outcome, plan.detail = OutcomeInvited, "Invited to join with the login they have in another account."
		case d.Type.CanLogIn():
			plan.outcome, plan.detail = OutcomeInvited, ""
		default:
			plan.outcome, plan.detail = OutcomeAdded, "Notification user: no invitation needed."
		}
		if check.OK() && check.Created == nil {
			if err := s.composeBatchMail(v, plan.person); err != nil {
				return nil, err
			}
		}
	}
	return plans, nil
}

// creates reports whether the plan creates its person.
func (plan *rowPlan) creates() bool {
	return plan.person != nil && plan.person.check.OK() && plan.person.check.Created == nil &&
		(plan.outcome == OutcomeInvited || plan.outcome == OutcomeAdded)
}

// importCreationKey is the creation key of the person a row creates: a
// second run of the same row finds them (CheckDraft's Created).
func importCreationKey(importID uint, line int) string {
	return fmt.Sprintf("import-%d-%d", importID, line)
}

// applyRow acts on one row through the wizard's write path
// (createMemberCounted), for a row its chunk could not be written with.
func (s *Store) applyRow(tx *gorm.DB, v *Viewer, ip string, plan rowPlan) error {
	set := map[string]any{"outcome": plan.outcome, "detail": truncateText(plan.detail, 500)}
	if plan.creates() {
		p := plan.person
		m, err := s.createMemberCounted(tx, v, p.draft, p.check, p.inv, p.notice, ip, s.limits.InviteImport)
		if err != nil {
			return err
		}
		set["member_id"] = m.ID
	} else if plan.person != nil && plan.person.check.Created != nil {
		set["member_id"] = plan.person.check.Created.ID
	}
	res := tx.Model(&ImportRow{}).Where("id = ? AND outcome = ''", plan.row.ID).Updates(set)
	if res.Error != nil {
		return fmt.Errorf("record import row: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		// Another worker recorded this row first: undo ours.
		return errRowTaken
	}
	return nil
}

// applyBatch acts on a chunk of rows together: the people it creates in
// one batch (createMembersBatch), then every row's outcome in one
// statement. Any row another worker recorded first undoes the whole.
func (s *Store) applyBatch(tx *gorm.DB, v *Viewer, ip string, plans []rowPlan) error {
	var people []*batchPerson
	var creating []int
	for i := range plans {
		if plans[i].creates() {
			people, creating = append(people, plans[i].person), append(creating, i)
		}
	}
	ms, err := s.createMembersBatch(tx, v, people, ip, s.limits.InviteImport)
	if err != nil {
		return err
	}
	memberOf := make(map[int]uint, len(plans))
	for j, i := range creating {
		memberOf[i] = ms[j].ID
	}
	for i := range plans {
		if p := plans[i].person; p != nil && p.check.Created != nil {
			memberOf[i] = p.check.Created.ID
		}
	}
	var outcome, detail, member strings.Builder
	var outcomeArgs, detailArgs, memberArgs []any
	ids := make([]uint, len(plans))
	for i, plan := range plans {
		ids[i] = plan.row.ID
		outcome.WriteString(" WHEN ? THEN ?")
		outcomeArgs = append(outcomeArgs, plan.row.ID, string(plan.outcome))
		detail.WriteString(" WHEN ? THEN ?")
		detailArgs = append(detailArgs, plan.row.ID, truncateText(plan.detail, 500))
		if id, ok := memberOf[i]; ok {
			member.WriteString(" WHEN ? THEN ?")
			memberArgs = append(memberArgs, plan.row.ID, id)
		}
	}
	q := "UPDATE import_rows SET outcome = CASE id" + outcome.String() + " ELSE outcome END, detail = CASE id" + detail.String() + " ELSE detail END"
	args := append(outcomeArgs, detailArgs...)
	if len(memberArgs) > 0 {
		q += ", member_id = CASE id" + member.String() + " ELSE member_id END"
		args = append(args, memberArgs...)
	}
	q += " WHERE id IN ? AND outcome = ''"
	args = append(args, ids)
	res := tx.Exec(q, args...)
	if res.Error != nil {
		return fmt.Errorf("record import rows: %w", res.Error)
	}
	if res.RowsAffected != int64(len(plans)) {
		// Another worker recorded some of these rows first: undo ours.
		return errRowTaken
	}
	return nil
}

var errRowTaken = errors.New("import row already recorded")

// failRow records why a row could not be imported on its own.
func (s *Store) failRow(ctx context.Context, plan rowPlan, cause error) error {
	if errors.Is(cause, errRowTaken) {
		return nil
	}
	detail := ErrorMessage(cause)
	if errors.Is(cause, gorm.ErrDuplicatedKey) {
		detail = "Someone added this email address to the account meanwhile."
	}
	var e *Error
	if !errors.As(cause, &e) && !errors.Is(cause, gorm.ErrDuplicatedKey) {
		return cause // the database, not the row: try the job again later
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		return tx.Model(&ImportRow{}).Where("id = ? AND outcome = ''", plan.row.ID).
			Updates(map[string]any{"outcome": OutcomeFailed, "detail": truncateText(detail, 500)}).Error
	})
}

// LatestImports lists the account's recent imports, newest first.
func (s *Store) LatestImports(ctx context.Context, v *Viewer, n int) ([]Import, error) {
	if !CanImportMembers(v.Type()) {
		return nil, ErrNotFound()
	}
	var out []Import
	err := s.db.WithContext(ctx).Where("account_id = ?", v.Account.ID).Order("id DESC").Limit(n).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("list imports: %w", err)
	}
	return out, nil
}

// WriteImportOutcomes writes the outcome of every row as CSV. Cells a
// spreadsheet would run as a formula are neutralised.
func WriteImportOutcomes(w io.Writer, p *ImportPreview) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"Line", "First name", "Last name", "Email", "Type", "Companies", "Outcome", "Detail"}); err != nil {
		return err
	}
	for _, r := range p.Rows {
		outcome, detail := string(r.Outcome), r.Detail
		if outcome == "" {
			outcome, detail = "not imported yet: "+r.Kind.Label(), r.Problem
		}
		rec := []string{fmt.Sprint(r.Line), r.FirstName, r.LastName, r.Email, r.Type.Label(),
			strings.Join(r.Companies, CompanySeparator+" "), outcome, detail}
		for i := range rec {
			rec[i] = NeutraliseCSVCell(rec[i])
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ImportProgressOf counts an import's rows per outcome without reading
// them, for the progress of one under way.
func (s *Store) ImportProgressOf(ctx context.Context, imp *Import) (*ImportPreview, error) {
	var counts []struct {
		Outcome RowOutcome
		N       int
	}
	err := s.db.WithContext(ctx).Model(&ImportRow{}).Select("outcome, COUNT(*) AS n").
		Where("import_id = ? AND outcome <> ''", imp.ID).Group("outcome").Scan(&counts).Error
	if err != nil {
		return nil, fmt.Errorf("import progress: %w", err)
	}
	p := &ImportPreview{Import: imp, Settings: imp.Choices(), Totals: map[RowKind]int{}, Outcomes: map[RowOutcome]int{}}
	for _, c := range counts {
		p.Outcomes[c.Outcome] = c.N
		p.Done += c.N
	}
	return p, nil
}

// ImportRowRetention is how long the rows of an import are kept once it
// has finished (each person's line of the file and its outcome, for the
// results page and its CSV), and how long an upload never started is
// kept at all.
const ImportRowRetention = 30 * 24 * time.Hour

// PruneImportRows deletes the rows of imports that finished more than
// ImportRowRetention ago, keeping each import's totals per outcome (the
// results page still shows them), and deletes uploads never started
// within ImportRowRetention, rows and all. It returns how many rows went.
// Meant to run daily (the scheduler calls it).
func (s *Store) PruneImportRows(ctx context.Context) (int64, error) {
	before := s.Now().Add(-ImportRowRetention)
	db := s.db.WithContext(ctx)
	var total int64
	var drafts []uint
	if err := db.Model(&Import{}).Where("state = ? AND created_at < ?", ImportDraft, before).Pluck("id", &drafts).Error; err != nil {
		return 0, fmt.Errorf("prune imports: %w", err)
	}
	for _, id := range drafts {
		var n int64
		if err := db.Model(&ImportRow{}).Where("import_id = ?", id).Count(&n).Error; err != nil {
			return total, fmt.Errorf("prune imports: %w", err)
		}
		// Its rows go with it (ON DELETE CASCADE); unless the Admin has
		// just started it.
		err := s.tx(ctx, func(tx *gorm.DB) error {
			res := tx.Where("id = ? AND state = ?", id, ImportDraft).Delete(&Import{})
			if res.RowsAffected == 0 {
				n = 0
			}
			return res.Error
		})
		if err != nil {
			return total, fmt.Errorf("prune import %d: %w", id, err)
		}
		total += n
	}
	var done []uint
	if err := db.Model(&Import{}).Where("state = ? AND finished_at < ? AND rows_pruned_at IS NULL", ImportDone, before).
		Pluck("id", &done).Error; err != nil {
		return total, fmt.Errorf("prune imports: %w", err)
	}
	for _, id := range done {
		// The totals first, so that the results page never shows an
		// import without them.
		err := s.tx(ctx, func(tx *gorm.DB) error {
			var counts []struct {
				Outcome RowOutcome
				N       int
			}
			if err := tx.Model(&ImportRow{}).Select("outcome, COUNT(*) AS n").Where("import_id = ?", id).
				Group("outcome").Scan(&counts).Error; err != nil {
				return err
			}
			totals := map[RowOutcome]int{}
			for _, c := range counts {
				totals[c.Outcome] = c.N
			}
			oj, _ := json.Marshal(totals)
			return tx.Model(&Import{}).Where("id = ? AND rows_pruned_at IS NULL", id).
				Updates(map[string]any{"outcomes": string(oj), "rows_pruned_at": s.Now()}).Error
		})
		if err != nil {
			return total, fmt.Errorf("prune import %d: %w", id, err)
		}
		n, err := s.pruneInBatches(ctx, "import_rows", "id", "import_id = ?", id)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// prunedOutcomes are the totals kept of an import whose rows were pruned.
func (imp *Import) prunedOutcomes() map[RowOutcome]int {
	out := map[RowOutcome]int{}
	_ = json.Unmarshal([]byte(imp.Outcomes), &out)
	return out
}
