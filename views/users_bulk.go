package views

import (
	"strings"

	"switchboard/models"
)

// BulkForm is a bulk action being confirmed: whom, what, and its choices.
type BulkForm struct {
	View       models.UserFilter // the list's view, kept in the form's address
	Companies  []models.Company  // those the viewer may choose
	Action     models.BulkAction
	Scope      string // "selected" or "all"
	IDs        []uint
	Count      int
	Target     uint // the company to add to or remove from
	To         models.UserType
	CompanyIDs []uint // for an Admin moved to a company-scoped type
	Key        string
	Errors     map[string]string
}

// bulkActionURL is where a bulk form posts, with the list's view in its
// address (the view decides "everyone matching").
func bulkActionURL(path string, f models.UserFilter) string {
	return path + strings.TrimPrefix(usersURL(firstPage(f)), "/users")
}

// bulkActionsFor are the actions the viewer may start.
func bulkActionsFor(t models.UserType) []models.BulkAction {
	var out []models.BulkAction
	for _, a := range models.BulkActions {
		if models.AllowedBulk(t, a) {
			out = append(out, a)
		}
	}
	return out
}

// bulkPlans are what a change of type grants and takes away, for each type
// a chosen person may have now.
func bulkPlans(to models.UserType) []models.TypePlan {
	var out []models.TypePlan
	for _, from := range models.UserTypes {
		if from != to {
			out = append(out, models.PlanTypeChange(models.Membership{Type: from, FirstName: from.Label() + " users"}, to))
		}
	}
	return out
}

func bulkTitle(f BulkForm) string {
	return f.Action.Label() + ": " + peopleCount(f.Count)
}

func peopleCount(n int) string {
	if n == 1 {
		return "1 person"
	}
	return FormatCount(int64(n)) + " people"
}

// bulkProgress is the share of a job done, in percent.
func bulkProgress(r *models.BulkReport) int {
	if r.Total == 0 {
		return 100
	}
	return r.Done * 100 / r.Total
}

// countOrMore is how many a view matches, for "All 2,546 matching".
func countOrMore(p *models.UserPage) string {
	if p.TotalAtLeast {
		return FormatCount(p.Total) + "+"
	}
	return FormatCount(p.Total)
}

// canBulk reports whether the viewer may start any bulk action.
func canBulk(t models.UserType) bool { return len(bulkActionsFor(t)) > 0 }
