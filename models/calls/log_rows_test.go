package calls_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"switchboard/models"
	"switchboard/models/calls"
	"switchboard/models/modelstest"
)

// TestCallLog_RowsCarryTheirNumberCompanyAndTags: a page's rows come from
// one statement, with the company from the scope and tag names from the
// account's list (log.go); each row must show what the database holds
// for its call: the call's own fields, its number's name, its company's
// name and time zone, and its tags A → Z, even a tag beyond those a page
// lists. Every page of the log of an
// Admin, a Manager of one company, a Manager of more companies than are
// read one by one, and one company's log, on both databases.
func TestCallLog_RowsCarryTheirNumberCompanyAndTags(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			w := newLogWorld(t, dialect)
			db := w.store.DB()
			// A few calls with several tags, added out of A → Z order.
			var some []calls.Call
			must(t, db.Where("account_id = ?", w.account.ID).Order("id").Limit(12).Find(&some).Error)
			for _, c := range some {
				for _, tag := range []string{"Spam", "Booked", "Already called"} {
					if _, err := w.calls.AddTag(ctx, w.admin, c.ID, tag, ""); err != nil && models.ErrorCode(err) != models.Conflict {
						t.Fatal(err)
					}
				}
			}
			// More tags than a page lists (500, A → Z): a call tagged with
			// one beyond them still shows it, in its place.
			filler := make([]calls.Tag, 500)
			for i := range filler {
				name := fmt.Sprintf("Filler %03d", i)
				filler[i] = calls.Tag{AccountID: w.account.ID, Name: name, Key: strings.ToLower(name), CreatedAt: w.store.Now()}
			}
			must(t, db.CreateInBatches(&filler, 100).Error)
			for _, tag := range []string{"Zulu", "Spam"} {
				if _, err := w.calls.AddTag(ctx, w.admin, some[0].ID, tag, ""); err != nil && models.ErrorCode(err) != models.Conflict {
					t.Fatal(err)
				}
			}
			var companies []models.Company
			must(t, db.Find(&companies).Error)
			byID := map[uint]models.Company{}
			for _, c := range companies {
				byID[c.ID] = c
			}
			for _, c := range []struct {
				name      string
				v         *models.Viewer
				companyID uint
			}{{"Admin", w.admin, 0}, {"Manager of Acme", w.acmeManager, 0}, {"Manager of many", w.manyManager, 0}, {"Acme's log", w.admin, w.acme.ID}} {
				seen, after := 0, ""
				for page := 0; ; page++ {
					p, err := w.calls.FindCalls(ctx, c.v, calls.LogFilter{CompanyID: c.companyID, Limit: 7, After: after})
					must(t, err)
					for _, r := range p.Rows {
						var want calls.Call
						must(t, db.Take(&want, r.ID).Error)
						co := byID[want.CompanyID]
						var tags []string
						must(t, db.Model(&calls.Tag{}).Joins("JOIN call_tags ON call_tags.tag_id = tags.id").
							Where("call_tags.call_id = ?", r.ID).Order("tags.key").Pluck("tags.name", &tags).Error)
						var got []string
						for _, tg := range r.Tags {
							got = append(got, tg.Name)
						}
						switch {
						case r.CompanyID != want.CompanyID || r.NumberID != want.NumberID || r.Kind != want.Kind || r.Sid != want.Sid ||
							r.CallerNumber != want.CallerNumber || r.CallerName != want.CallerName || r.FirstTime != want.FirstTime ||
							r.Source != want.Source || !r.StartedAt.Equal(want.StartedAt) || r.Outcome != want.Outcome ||
							r.Duration != want.Duration || r.Qualified != want.Qualified:
							t.Errorf("%s: call %d reads %+v, want %+v", c.name, r.ID, r.Call, want)
						case r.NumberName != w.numbers[want.NumberID].Name:
							t.Errorf("%s: call %d's number %q, want %q", c.name, r.ID, r.NumberName, w.numbers[want.NumberID].Name)
						case r.CompanyName != co.Name || r.TimeZone != co.TimeZone || !r.LocalStart().Equal(want.StartedAt) ||
							r.LocalStart().Location().String() != co.TimeZone:
							t.Errorf("%s: call %d's company %q in %s (%v), want %q in %s", c.name, r.ID, r.CompanyName, r.TimeZone, r.LocalStart(), co.Name, co.TimeZone)
						case !slices.Equal(got, tags):
							t.Errorf("%s: call %d's tags %v, want %v", c.name, r.ID, got, tags)
						}
						seen++
					}
					if p.NextCursor == "" {
						break
					}
					after = p.NextCursor
				}
				if seen < 10 {
					t.Errorf("%s: only %d rows checked", c.name, seen)
				}
			}
		})
	}
}
