package models

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// SecretKey returns a random key kept in the database, creating it on first
// use, so cookies stay valid across restarts without any configuration.
func (s *Store) SecretKey(ctx context.Context, name string, size int) ([]byte, error) {
	db := s.db.WithContext(ctx)
	key := make([]byte, size)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("random key: %w", err)
	}
	// Two servers starting at once must agree on one key: insert if absent,
	// then read whichever won.
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).
		Create(&Secret{Name: name, Value: key, CreatedAt: s.Now()}).Error; err != nil {
		return nil, fmt.Errorf("store key %s: %w", name, err)
	}
	var sec Secret
	err := db.Take(&sec, "name = ?", name).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && len(sec.Value) != size) {
		return nil, fmt.Errorf("key %s: missing or of the wrong size", name)
	}
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", name, err)
	}
	return sec.Value, nil
}
