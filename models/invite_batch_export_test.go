package models

import (
	"context"

	"gorm.io/gorm"
)

// CheckDrafts exposes checkDrafts to tests outside the package.
func (s *Store) CheckDrafts(ctx context.Context, v *Viewer, drafts []Draft) ([]*DraftCheck, error) {
	return s.checkDrafts(ctx, v, drafts)
}

// CreateMembersBatch checks drafts together and creates them in one batch,
// as an import's chunk is, counted against the account's limit l: for
// tests comparing the batch with the wizard.
func (s *Store) CreateMembersBatch(ctx context.Context, v *Viewer, drafts []Draft, ip string, l Limit) ([]Membership, error) {
	checks, err := s.checkDrafts(ctx, v, drafts)
	if err != nil {
		return nil, err
	}
	people := make([]*batchPerson, len(drafts))
	for i, d := range drafts {
		if !checks[i].OK() {
			return nil, FieldErrors(checks[i].Fields)
		}
		people[i] = &batchPerson{draft: d, check: checks[i]}
		if err := s.composeBatchMail(v, people[i]); err != nil {
			return nil, err
		}
	}
	var ms []Membership
	err = s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		ms, err = s.createMembersBatch(tx, v, people, ip, l)
		return err
	})
	return ms, err
}
