package views

import (
	"testing"
	"time"
)

func TestFormatDuration_SaysItAsPeopleDo(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                             "0 seconds",
		time.Second:                   "1 second",
		45 * time.Second:              "45 seconds",
		time.Minute:                   "1 minute",
		90 * time.Second:              "1 minute and 30 seconds",
		15 * time.Minute:              "15 minutes",
		time.Hour:                     "1 hour",
		90 * time.Minute:              "1 hour and 30 minutes",
		24 * time.Hour:                "24 hours",
		36 * time.Hour:                "36 hours",
		47*time.Hour + 59*time.Minute: "47 hours and 59 minutes",
		48 * time.Hour:                "2 days",
		7 * 24 * time.Hour:            "7 days",
		7*24*time.Hour + 3*time.Hour:  "7 days and 3 hours",
		-time.Hour:                    "1 hour",
		// The smaller unit is rounded, never printed with Go's fractions.
		time.Hour + 29*time.Second:            "1 hour",
		59*time.Second + 600*time.Millisecond: "1 minute",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
