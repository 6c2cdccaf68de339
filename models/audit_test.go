package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/modelstest"
)

func TestFindAuditEvents_KeysetPagesFiltersAndScope(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			f := newPeopleFixture(t, dialect)
			ada := f.add(models.Admin)
			db := f.store.DB()
			base := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
			// 25 events, several sharing a timestamp (the id breaks ties).
			for i := range 25 {
				ev := models.AuditEvent{AccountID: &f.account.ID, ActorName: "Ada Admin", Action: "member.promoted",
					TargetName: fmt.Sprintf("Target %02d <t%02d@example.com>", i, i), Detail: "Reporting → Manager",
					CreatedAt: base.Add(time.Duration(i/3) * time.Minute)}
				if i%5 == 0 {
					ev.Action, ev.ActorName = "member.deleted", "Bea O'Brien_%"
				}
				must(t, db.Create(&ev).Error)
			}
			other := models.Account{Number: "2000000009", Name: "Other", Status: models.AccountActive}
			must(t, db.Create(&other).Error)
			must(t, db.Create(&models.AuditEvent{AccountID: &other.ID, ActorName: "Ada Admin", Action: "member.deleted", CreatedAt: base.Add(time.Hour)}).Error)

			v := f.viewer(ada)
			ctx := context.Background()
			seen := map[uint]bool{}
			var last *models.AuditEvent
			after := ""
			for pages := 0; ; pages++ {
				page, err := f.store.FindAuditEvents(ctx, v, models.AuditFilter{After: after, Limit: 7})
				if err != nil {
					t.Fatal(err)
				}
				for i := range page.Events {
					ev := page.Events[i]
					if seen[ev.ID] || *ev.AccountID != f.account.ID {
						t.Fatalf("event %d seen twice or from another account", ev.ID)
					}
					seen[ev.ID] = true
					if last != nil && (ev.CreatedAt.After(last.CreatedAt) || ev.CreatedAt.Equal(last.CreatedAt) && ev.ID > last.ID) {
						t.Fatalf("event %d is not older than %d", ev.ID, last.ID)
					}
					last = &ev
				}
				if page.NextCursor == "" {
					break
				}
				after = page.NextCursor
				if pages > 10 {
					t.Fatal("paging does not end")
				}
			}
			if len(seen) != 25 {
				t.Fatalf("visited %d events, want 25", len(seen))
			}

			// Filters: by kind, and by person (case-insensitive, LIKE
			// characters taken literally).
			page, err := f.store.FindAuditEvents(ctx, v, models.AuditFilter{Action: "member.deleted"})
			if err != nil || len(page.Events) != 5 {
				t.Fatalf("by kind: %d events, %v", len(page.Events), err)
			}
			page, err = f.store.FindAuditEvents(ctx, v, models.AuditFilter{Person: "o'brien_%"})
			if err != nil || len(page.Events) != 5 {
				t.Fatalf("by actor: %d events, %v", len(page.Events), err)
			}
			page, err = f.store.FindAuditEvents(ctx, v, models.AuditFilter{Person: "T07@EXAMPLE"})
			if err != nil || len(page.Events) != 1 {
				t.Fatalf("by target: %d events, %v", len(page.Events), err)
			}
			page, err = f.store.FindAuditEvents(ctx, v, models.AuditFilter{Person: "_"})
			if err != nil || len(page.Events) != 5 {
				t.Fatalf("an underscore matched %d events, want the 5 with a literal one", len(page.Events))
			}

			for _, bad := range []models.AuditFilter{{Action: "member.exploded"}, {After: "garbage"}, {Person: string(make([]byte, 200))}} {
				if _, err := f.store.FindAuditEvents(ctx, v, bad); models.ErrorCode(err) != models.BadRequest {
					t.Errorf("%+v: %v", bad, err)
				}
			}
			manager := f.add(models.Manager)
			if _, err := f.store.FindAuditEvents(ctx, f.viewer(manager), models.AuditFilter{}); models.ErrorCode(err) != models.Forbidden {
				t.Errorf("a Manager read the audit log: %v", err)
			}
		})
	}
}
