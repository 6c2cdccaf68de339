package models_test

import (
	"slices"
	"testing"

	"switchboard/models"
)

// The matrix must say exactly what DESIGN.md's table says.
func TestMatrix_MatchesDesign(t *testing.T) {
	want := map[models.Capability][4]bool{ // Admin, Manager, Reporting, Notification
		models.CapEmails:          {true, true, true, true},
		models.CapReviewCalls:     {true, true, true, false},
		models.CapTakeCalls:       {true, true, true, false},
		models.CapClassifyCalls:   {true, true, true, false},
		models.CapIntegrations:    {true, true, false, false},
		models.CapTrackingNumbers: {true, true, false, false},
		models.CapManageUsers:     {true, false, false, false},
		models.CapManageCompanies: {true, false, false, false},
		models.CapWhiteLabel:      {true, false, false, false},
		models.CapBilling:         {true, false, false, false},
		models.CapBulkEnablement:  {true, false, false, false},
		models.CapCloseAccount:    {true, false, false, false},
	}
	lines := models.Matrix()
	if len(lines) != len(want) {
		t.Fatalf("matrix has %d rows, want %d", len(lines), len(want))
	}
	for _, line := range lines {
		for i, typ := range models.UserTypes {
			if got := models.Can(typ, line.Capability); got != want[line.Capability][i] || line.Allowed[typ] != got {
				t.Errorf("%s may %q = %v, want %v", typ, line.Label, got, want[line.Capability][i])
			}
		}
	}
}

func TestParseUserType_RefusesOddValues(t *testing.T) {
	for _, s := range []string{"SuperAdmin", "ADMIN", " admin", "admin ", "admin\x00", "Admin", "", "owner"} {
		if _, err := models.ParseUserType(s); err == nil {
			t.Errorf("ParseUserType(%q) accepted", s)
		}
	}
	for _, typ := range models.UserTypes {
		if got, err := models.ParseUserType(string(typ)); err != nil || got != typ {
			t.Errorf("ParseUserType(%q) = %q, %v", typ, got, err)
		}
	}
}

func TestGainedAndLost(t *testing.T) {
	gained := models.Gained(models.Reporting, models.Manager)
	if !slices.Contains(gained, "Set up and disable integrations") || len(gained) != 2 {
		t.Errorf("Reporting → Manager gains %v", gained)
	}
	lost := models.Lost(models.Admin, models.Manager)
	if !slices.Contains(lost, "See every company in the account, not only assigned ones") {
		t.Errorf("Admin → Manager loses %v", lost)
	}
	if len(models.Gained(models.Admin, models.Reporting)) != 0 {
		t.Error("a demotion gains nothing")
	}
	if models.Notification.CanLogIn() || !models.Reporting.CanLogIn() {
		t.Error("only Notification users have no login")
	}
}
