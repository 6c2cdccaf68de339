package models_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
	"switchboard/models/modelstest"
)

func secretNamed(t *testing.T, s *models.Store, name string) bool {
	t.Helper()
	var n int64
	must(t, s.DB().Model(&models.Secret{}).Where("name = ?", name).Count(&n).Error)
	return n == 1
}

func putSecret(tx *gorm.DB, name string) error {
	return tx.Create(&models.Secret{Name: name, Value: []byte{1}}).Error
}

// The writer's tests run on both databases: a transaction means the same
// on each (writer.go).

// TestTx_EachCallerGetsItsOwnTransaction runs many transactions at once:
// each keeps or loses exactly its own changes, gets its own error, and is
// readable once tx returns. A statement that fails fails its transaction
// even when fn goes on; inside a nested Transaction it fails only that.
func TestTx_EachCallerGetsItsOwnTransaction(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			store := modelstest.OpenDialect(t, dialect)
			ctx := context.Background()
			const n = 60
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					name := fmt.Sprintf("job-%d", i)
					errs[i] = store.Tx(ctx, func(tx *gorm.DB) error {
						if err := putSecret(tx, name); err != nil {
							return err
						}
						switch i % 4 {
						case 1: // fails after writing: its row must go
							return fmt.Errorf("job %d refused", i)
						case 2: // a statement fails (a duplicate) and fn goes on as if not
							_ = putSecret(tx, name)
							_ = putSecret(tx, name+"-b")
							return nil
						case 3: // the duplicate in a nested transaction: only that is undone
							err := tx.Transaction(func(tx *gorm.DB) error { return putSecret(tx, name) })
							if !errors.Is(err, gorm.ErrDuplicatedKey) {
								return fmt.Errorf("nested duplicate: %v", err)
							}
							return putSecret(tx, name+"-b")
						}
						return nil
					})
					// Read through the read pool, not the writer.
					if errs[i] == nil && !secretNamed(t, store, name) {
						t.Errorf("job %d: its row is not visible after tx returned", i)
					}
				})
			}
			wg.Wait()
			for i := range n {
				name := fmt.Sprintf("job-%d", i)
				kept, keptB := secretNamed(t, store, name), secretNamed(t, store, name+"-b")
				switch i % 4 {
				case 0:
					if errs[i] != nil || !kept {
						t.Errorf("job %d: err %v, row kept %v; want kept", i, errs[i], kept)
					}
				case 1:
					if errs[i] == nil || errs[i].Error() != fmt.Sprintf("job %d refused", i) || kept {
						t.Errorf("job %d: err %v, row kept %v; want its own error and no row", i, errs[i], kept)
					}
				case 2:
					if !errors.Is(errs[i], gorm.ErrDuplicatedKey) || kept || keptB {
						t.Errorf("job %d: err %v, rows kept %v %v; want the duplicate's error and nothing kept", i, errs[i], kept, keptB)
					}
				case 3:
					if errs[i] != nil || !kept || !keptB {
						t.Errorf("job %d: err %v, rows kept %v %v; want both", i, errs[i], kept, keptB)
					}
				}
			}
		})
	}
}

// TestTx_NestedTransactions: savepoints within savepoints, each undone
// alone, and a failure inside one that is undone leaves the outer
// transaction free to commit.
func TestTx_NestedTransactions(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			store := modelstest.OpenDialect(t, dialect)
			ctx := context.Background()
			err := store.Tx(ctx, func(tx *gorm.DB) error {
				must(t, putSecret(tx, "outer"))
				must(t, tx.Transaction(func(tx *gorm.DB) error {
					must(t, putSecret(tx, "kept"))
					err := tx.Transaction(func(tx *gorm.DB) error {
						must(t, putSecret(tx, "undone"))
						return errors.New("inner refused")
					})
					if err == nil || err.Error() != "inner refused" {
						t.Errorf("inner transaction: %v", err)
					}
					return nil
				}))
				err := tx.Transaction(func(tx *gorm.DB) error {
					must(t, putSecret(tx, "undone-too"))
					return putSecret(tx, "outer") // a duplicate
				})
				if !errors.Is(err, gorm.ErrDuplicatedKey) {
					t.Errorf("nested duplicate: %v", err)
				}
				return nil
			})
			must(t, err)
			for name, want := range map[string]bool{"outer": true, "kept": true, "undone": false, "undone-too": false} {
				if got := secretNamed(t, store, name); got != want {
					t.Errorf("%s kept %v, want %v", name, got, want)
				}
			}
		})
	}
}

// TestTx_ReadsSeeTheirOwnWrites: inside a transaction, reads through it
// see what it wrote; reads through the store see only what is committed.
func TestTx_ReadsSeeTheirOwnWrites(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			store := modelstest.OpenDialect(t, dialect)
			ctx := context.Background()
			must(t, store.Tx(ctx, func(tx *gorm.DB) error {
				must(t, putSecret(tx, "mine"))
				var n int64
				must(t, tx.Model(&models.Secret{}).Where("name = ?", "mine").Count(&n).Error)
				if n != 1 {
					t.Error("the transaction does not see its own write")
				}
				if secretNamed(t, store, "mine") {
					t.Error("the store sees a write before its commit")
				}
				return nil
			}))
			if !secretNamed(t, store, "mine") {
				t.Error("the store does not see the committed write")
			}
		})
	}
}

// TestTx_PanicsAndCancelledCallers: a panic inside a transaction reaches
// its caller and undoes only that transaction; a caller whose context has
// ended writes nothing and gets its context's error.
func TestTx_PanicsAndCancelledCallers(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			store := modelstest.OpenDialect(t, dialect)
			ctx := context.Background()
			func() {
				defer func() {
					if p := recover(); p != "boom" {
						t.Errorf("recovered %v, want the transaction's panic", p)
					}
				}()
				_ = store.Tx(ctx, func(tx *gorm.DB) error {
					_ = putSecret(tx, "panicked")
					panic("boom")
				})
			}()
			if secretNamed(t, store, "panicked") {
				t.Error("a panicking transaction kept its row")
			}
			must(t, store.Tx(ctx, func(tx *gorm.DB) error { return putSecret(tx, "after") }))
			if !secretNamed(t, store, "after") {
				t.Error("no transaction runs after a panic")
			}
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			err := store.Tx(cctx, func(tx *gorm.DB) error { return putSecret(tx, "cancelled") })
			if !errors.Is(err, context.Canceled) || secretNamed(t, store, "cancelled") {
				t.Errorf("a cancelled caller: err %v, row kept %v", err, secretNamed(t, store, "cancelled"))
			}
		})
	}
}

// TestTx_SQLiteCallersWaitTheirTurn: on SQLite one transaction writes at a
// time; a caller that gives up while it waits is told so and writes
// nothing, and the others run in turn.
func TestTx_SQLiteCallersWaitTheirTurn(t *testing.T) {
	store := modelstest.Open(t)
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- store.Tx(ctx, func(tx *gorm.DB) error {
			close(started)
			<-release
			return putSecret(tx, "first")
		})
	}()
	<-started
	cctx, cancel := context.WithCancel(ctx)
	gaveUp := make(chan error, 1)
	go func() { gaveUp <- store.Tx(cctx, func(tx *gorm.DB) error { return putSecret(tx, "gave-up") }) }()
	waited := make(chan error, 1)
	go func() { waited <- store.Tx(ctx, func(tx *gorm.DB) error { return putSecret(tx, "waited") }) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Errorf("the caller that gave up: %v", err)
	}
	close(release)
	must(t, <-held)
	must(t, <-waited)
	if secretNamed(t, store, "gave-up") || !secretNamed(t, store, "first") || !secretNamed(t, store, "waited") {
		t.Error("the callers' rows are not what they were promised")
	}
	store.Close()
	if err := store.Tx(ctx, func(tx *gorm.DB) error { return nil }); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("a transaction asked of a closed store: %v", err)
	}
}
