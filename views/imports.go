package views

import (
	"strconv"

	"switchboard/models"
)

// ImportStartProps is the upload page of an import.
type ImportStartProps struct {
	// Error is what was wrong with the last upload.
	Error  string
	Recent []models.Import
}

// ImportProps is an import's page: the mapping and preview of a draft, the
// progress of one under way, the results of one done.
type ImportProps struct {
	Preview *models.ImportPreview
	// Errors are the form's field errors.
	Errors map[string]string
	// Show narrows the rows listed to one kind ("" all).
	Show models.RowKind
}

// ImportPath is the address of an import's page.
func ImportPath(id uint) string { return "/users/import/" + strconv.FormatUint(uint64(id), 10) }

func (p ImportProps) imp() *models.Import { return p.Preview.Import }

func (p ImportProps) column(f models.ImportField) int {
	if c, ok := p.Preview.Settings.Columns[f]; ok {
		return c
	}
	return -1
}

func (p ImportProps) rows() []models.PreviewRow {
	if p.Show == "" {
		return p.Preview.Rows
	}
	out := make([]models.PreviewRow, 0, p.Preview.Totals[p.Show])
	for _, r := range p.Preview.Rows {
		if r.Kind == p.Show {
			out = append(out, r)
		}
	}
	return out
}

// existing counts the rows of people already in the account.
func (p ImportProps) existing() int {
	return p.Preview.Totals[models.RowInAccount] + p.Preview.Totals[models.RowUpdate]
}

func (p ImportProps) percent() int {
	if p.imp().Rows == 0 {
		return 0
	}
	return p.Preview.Done * 100 / p.imp().Rows
}

func roleLabel(r string) string {
	if r == "" {
		return "(empty)"
	}
	return r
}

var outcomeLabels = map[models.RowOutcome]string{
	models.OutcomeInvited: "Invited", models.OutcomeAdded: "Added (no invitation)", models.OutcomeUpdated: "Updated",
	models.OutcomeSkipped: "Skipped", models.OutcomeInvalid: "Not imported", models.OutcomeFailed: "Failed",
}

var outcomeOrder = []models.RowOutcome{models.OutcomeInvited, models.OutcomeAdded, models.OutcomeUpdated, models.OutcomeSkipped,
	models.OutcomeInvalid, models.OutcomeFailed}

func outcomeLabel(o models.RowOutcome) string {
	if l, ok := outcomeLabels[o]; ok {
		return l
	}
	return "Waiting"
}

func itoa(n int) string { return strconv.Itoa(n) }

func uitoa(n uint) string { return strconv.FormatUint(uint64(n), 10) }
