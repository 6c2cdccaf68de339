package models_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// BenchmarkMarkEmailSent records deliveries. An invitation's record
// overwrites its one-time link, so on SQLite the writer then empties the
// log (erase.go); a type-changed email carries no link and is recorded
// without that. Side by side in one run, they show what erasing costs per
// sent link: "one at a time" is the delivery worker alone (the writer is
// idle, so it erases after every link), "8 at once" is eight callers
// keeping the writer busy (it erases at most every eraseMaxDelay).
func BenchmarkMarkEmailSent(b *testing.B) {
	for _, c := range []struct {
		kind     string
		parallel bool
	}{{"invitation", false}, {"type_changed", false}, {"invitation", true}, {"type_changed", true}} {
		name := c.kind + ", one at a time"
		if c.parallel {
			name = c.kind + ", 8 at once"
		}
		kind := c.kind
		b.Run(name, func(b *testing.B) {
			store := modelstest.Open(b)
			ctx := context.Background()
			ids := make([]uint, b.N)
			for i := range ids {
				link := fmt.Sprintf("https://switchboard.example/invite/%043d", i)
				m := models.OutboxMessage{Kind: kind, ToAddress: fmt.Sprintf("bench.%d@example.com", i), ToName: "Bench",
					Subject:  "You are invited",
					TextBody: strings.Repeat("Words of the email. ", 50) + link,
					HTMLBody: strings.Repeat("<p>Words of the email.</p>", 150) + `<a href="` + link + `">Set your password</a>`}
				if err := store.EnqueueEmail(ctx, &m); err != nil {
					b.Fatal(err)
				}
				ids[i] = m.ID
			}
			b.ReportAllocs()
			b.ResetTimer()
			if !c.parallel {
				for _, id := range ids {
					if err := store.MarkEmailSent(ctx, id); err != nil {
						b.Fatal(err)
					}
				}
				return
			}
			var next atomic.Int64
			b.SetParallelism(4) // 8 callers on 2 cores
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := store.MarkEmailSent(ctx, ids[next.Add(1)-1]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
