package web

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"switchboard/models"
)

// Delivery is the worker that empties the outbox: it claims what is due,
// sends it, records each success or failure, and looks again every Interval
// or as soon as Wake is called. Every server runs one; the claim (a lease on
// each message, models/jobs.go) makes one of them send each message. A
// message stays in the outbox until a send succeeds (at-least-once: a
// server that dies between sending and recording leaves its lease to run
// out, and another sends the message again, under the same Message-ID).
type Delivery struct {
	Store   *models.Store
	Mailer  Mailer
	Log     *slog.Logger
	Metrics *Metrics
	// Owner names this process in leases; empty means workerID().
	Owner string
	// Lease is how long a claim lasts without a heartbeat; zero means 2 min.
	Lease time.Duration
	// Interval between looks at the outbox; zero means 2s.
	Interval time.Duration
	// Batch is how many messages one look takes; zero means 20.
	Batch int

	owners claimOwners
	once   sync.Once
	wake   chan struct{}
}

// markTimeout bounds the recording of a result. It runs even while the
// worker is stopping, so that a message sent just before shutdown is not
// sent again after the restart.
const markTimeout = 10 * time.Second

func (d *Delivery) wakeChan() chan struct{} {
	d.once.Do(func() { d.wake = make(chan struct{}, 1) })
	return d.wake
}

// Wake nudges the worker to look at the outbox now, e.g. right after a
// change enqueued an email. It never blocks: nudges made while one is
// pending collapse into it.
func (d *Delivery) Wake() {
	select {
	case d.wakeChan() <- struct{}{}:
	default:
	}
}

func (d *Delivery) log() *slog.Logger {
	if d.Log == nil {
		return slog.Default()
	}
	return d.Log
}

// Run delivers until ctx ends.
func (d *Delivery) Run(ctx context.Context) {
	interval := d.Interval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	wake := d.wakeChan()
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		sent, failed, err := d.RunOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			d.log().Error("email delivery", "err", err)
		}
		// A full batch that all went out means more may be waiting.
		if err == nil && failed == 0 && sent > 0 && sent == d.batch() {
			continue
		}
		timer.Reset(interval)
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-timer.C:
		}
	}
}

func (d *Delivery) batch() int {
	if d.Batch <= 0 {
		return 20
	}
	return d.Batch
}

func (d *Delivery) lease() time.Duration {
	if d.Lease <= 0 {
		return 2 * time.Minute
	}
	return d.Lease
}

// RunOnce claims the messages due now, one look's worth, sends them, and
// reports how many were sent and how many failed (and were rescheduled).
// err is about the outbox itself, not about any one message. Messages it
// claimed but did not get to (the server is stopping) are handed back.
func (d *Delivery) RunOnce(ctx context.Context) (sent, failed int, err error) {
	owner := d.owners.next(d.Owner)
	due, err := d.Store.ClaimEmails(ctx, owner, d.lease(), d.batch())
	if err != nil || len(due) == 0 {
		return 0, 0, err
	}
	ids := make([]uint, len(due))
	for i, m := range due {
		ids[i] = m.ID
	}
	hold := holdLeases(d.Store, models.OutboxQueue, owner, d.lease(), ids, nil, d.log())
	defer func() {
		if rerr := hold.release(ctx); err == nil {
			err = rerr
		}
	}()
	for _, m := range due {
		if ctx.Err() != nil {
			return sent, failed, ctx.Err()
		}
		if !hold.holds(m.ID) {
			continue // the lease ran out and another server has it
		}
		sendErr := d.Mailer.Send(ctx, m)
		if sendErr != nil && ctx.Err() != nil {
			// Stopping mid-send is not the message's failure: it is
			// handed back, due at once for the next server.
			return sent, failed, ctx.Err()
		}
		hold.finished(m.ID)
		markCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
		if sendErr == nil {
			err = d.Store.MarkEmailSent(markCtx, m.ID)
			sent++
			d.Metrics.emailDelivered("sent")
		} else {
			err = d.Store.MarkEmailFailed(markCtx, owner, m.ID, sendErr)
			failed++
			d.Metrics.emailDelivered("failed")
			d.log().Warn("email not delivered; will retry",
				"outbox_id", m.ID, "kind", m.Kind, "attempt", m.Attempts+1,
				"to_domain", domainOf(m.ToAddress),
				"retry_in", models.EmailRetryDelay(m.Attempts+1).String(),
				"err", redactAddress(sendErr.Error(), m.ToAddress))
			if errors.Is(err, models.ErrLeaseLost) {
				err = nil // another server has it now and will say
			}
		}
		cancel()
		if err != nil {
			// Unrecorded: a sent message may go out again, a failed one
			// is retried when its lease runs out. Neither is lost.
			return sent, failed, err
		}
	}
	return sent, failed, nil
}

// redactAddress keeps a recipient's address out of the log when the SMTP
// server's answer repeats it ("550 <ada@example.com>: no such user"). The
// server echoes the address as sent, which is the stored canonical form.
func redactAddress(text, addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return text
	}
	return strings.ReplaceAll(text, addr, "…"+addr[at:])
}
