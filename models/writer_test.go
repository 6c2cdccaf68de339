package models_test

import (
	"context"
	"errors"
	"fmt"
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

// TestTx_EachCallerGetsItsOwnTransaction runs many transactions at once,
// which the SQLite writer commits in groups: each must keep or lose its
// own changes, get its own error, and be visible to reads once tx returns.
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
						if err := tx.Create(&models.Secret{Name: name, Value: []byte{1}}).Error; err != nil {
							return err
						}
						switch i % 3 {
						case 1: // fails after writing: its row must go
							return fmt.Errorf("job %d refused", i)
						case 2: // a statement fails (duplicate key); on SQLite the job may go on and succeed
							// (PostgreSQL aborts the transaction instead)
							if err := tx.Create(&models.Secret{Name: name, Value: []byte{2}}).Error; err == nil {
								return errors.New("a duplicate key was accepted")
							}
							return tx.Create(&models.Secret{Name: name + "-b", Value: []byte{3}}).Error
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
				switch i % 3 {
				case 0:
					if errs[i] != nil || !secretNamed(t, store, name) {
						t.Errorf("job %d: err %v, row kept %v; want kept", i, errs[i], secretNamed(t, store, name))
					}
				case 1:
					if errs[i] == nil || errs[i].Error() != fmt.Sprintf("job %d refused", i) || secretNamed(t, store, name) {
						t.Errorf("job %d: err %v, row kept %v; want its own error and no row", i, errs[i], secretNamed(t, store, name))
					}
				case 2:
					if dialect == "postgres" {
						if errs[i] == nil || secretNamed(t, store, name) {
							t.Errorf("job %d: err %v; want the aborted transaction's error and no row", i, errs[i])
						}
					} else if errs[i] != nil || !secretNamed(t, store, name) || !secretNamed(t, store, name+"-b") {
						t.Errorf("job %d: err %v; want both rows", i, errs[i])
					}
				}
			}
		})
	}
}

// TestTx_PanicsAndCancelledCallers: a panic inside a transaction reaches its
// caller and undoes only that transaction; a caller that gives up while
// waiting for the writer gets its context's error and writes nothing.
func TestTx_PanicsAndCancelledCallers(t *testing.T) {
	store := modelstest.Open(t)
	ctx := context.Background()

	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want the transaction's panic", p)
			}
		}()
		_ = store.Tx(ctx, func(tx *gorm.DB) error {
			tx.Create(&models.Secret{Name: "panicked", Value: []byte{1}})
			panic("boom")
		})
	}()
	if secretNamed(t, store, "panicked") {
		t.Error("a panicking transaction kept its row")
	}
	must(t, store.Tx(ctx, func(tx *gorm.DB) error { return tx.Create(&models.Secret{Name: "after", Value: []byte{1}}).Error }))
	if !secretNamed(t, store, "after") {
		t.Error("the writer stopped after a panic")
	}

	// Hold the writer, queue a caller behind it, and cancel that caller.
	started, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- store.Tx(ctx, func(tx *gorm.DB) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	cctx, cancel := context.WithCancel(ctx)
	waited := make(chan error, 1)
	go func() {
		waited <- store.Tx(cctx, func(tx *gorm.DB) error {
			return tx.Create(&models.Secret{Name: "cancelled", Value: []byte{1}}).Error
		})
	}()
	cancel()
	if err := <-waited; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: %v, want context.Canceled", err)
	}
	close(release)
	must(t, <-held)
	if secretNamed(t, store, "cancelled") {
		t.Error("a cancelled caller's transaction ran")
	}
}

// TestTx_CallerGoneBeforeItsTurn: two transactions wait behind a busy
// writer and are then run in one group; each cancels the other's caller.
// Whichever runs first writes; the other's caller has gone by its turn, so
// it is skipped and its caller told so.
func TestTx_CallerGoneBeforeItsTurn(t *testing.T) {
	store := modelstest.Open(t)
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- store.Tx(ctx, func(tx *gorm.DB) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	ctxs := make([]context.Context, 2)
	cancels := make([]context.CancelFunc, 2)
	for i := range ctxs {
		ctxs[i], cancels[i] = context.WithCancel(ctx)
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			errs[i] = store.Tx(ctxs[i], func(tx *gorm.DB) error {
				cancels[1-i]()
				return tx.Create(&models.Secret{Name: fmt.Sprintf("turn-%d", i), Value: []byte{1}}).Error
			})
		})
	}
	// Let both reach the queue behind the held writer (if one is late, it
	// finds its caller gone before it is queued, with the same outcome).
	time.Sleep(50 * time.Millisecond)
	close(release)
	must(t, <-held)
	wg.Wait()
	wrote := 0
	for i := range 2 {
		name := fmt.Sprintf("turn-%d", i)
		switch {
		case errs[i] == nil && secretNamed(t, store, name):
			wrote++
		case errors.Is(errs[i], context.Canceled) && !secretNamed(t, store, name):
		default:
			t.Errorf("transaction %d: err %v, row kept %v", i, errs[i], secretNamed(t, store, name))
		}
	}
	if wrote != 1 {
		t.Errorf("%d transactions wrote, want exactly the first to run", wrote)
	}
}
