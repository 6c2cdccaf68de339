package views

import (
	"net/url"

	"switchboard/models"
)

// CompaniesProps is the companies list.
type CompaniesProps struct {
	Page   *models.CompanyPage
	Status models.CompanyStatus
	Query  string
}

func companiesURL(status models.CompanyStatus, query, after string) string {
	q := url.Values{}
	if status == models.CompanyDisabled {
		q.Set("status", string(status))
	}
	if query != "" {
		q.Set("q", query)
	}
	if after != "" {
		q.Set("after", after)
	}
	if len(q) == 0 {
		return "/companies"
	}
	return "/companies?" + q.Encode()
}

// CompanyPath is the address of a company's page suffix ("/users", …).
func CompanyPath(c models.Company, suffix string) string {
	return "/companies/" + idString(c.ID) + suffix
}

// CompanyFormProps is the create and edit form.
type CompanyFormProps struct {
	Company *models.Company // nil when creating
	Name    string
	Zone    string
	Errors  map[string]string
}

// CompanyDisableProps is the confirmation before disabling.
type CompanyDisableProps struct {
	Company models.Company
	// Losing are the people who see the company only through their
	// assignment and so lose sight of it.
	Losing []models.Membership
}

// CompanyUsersProps is a company's Edit Users page.
type CompanyUsersProps struct {
	Company    models.Company
	People     *models.CompanyPeople
	Inviting   bool
	Query      string
	Candidates []models.Membership
	More       bool
	// Losses are what removing each person from the company takes away
	// in the areas (ring groups…), by member.
	Losses map[uint][]string
	// Sole marks the people for whom this is their only active company.
	Sole map[uint]bool
}

func canAssign(v *models.Viewer, m models.Membership) bool {
	return v != nil && models.CanAssign(v.Type(), m.Type)
}
