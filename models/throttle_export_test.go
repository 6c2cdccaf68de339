package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Hit counts one hit of key under l in a transaction of its own, for tests
// outside the package: the hits in the window after it, or, when refused,
// until when.
func (s *Store) Hit(ctx context.Context, l Limit, key string) (hits int, refusedUntil time.Time, err error) {
	err = s.tx(ctx, func(tx *gorm.DB) error {
		c, r, err := s.hit(tx, l, key, "", true)
		hits = c.hits
		if r != nil {
			refusedUntil = r.until
		}
		return err
	})
	return hits, refusedUntil, err
}
