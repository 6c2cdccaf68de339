package web

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"switchboard/models"
)

// Delivery is the worker that empties the outbox: it sends what is due,
// records each success or failure, and looks again every Interval or as
// soon as Wake is called. A message stays in the outbox until a send
// succeeds (at-least-once: a crash between sending and recording sends it
// again, under the same Message-ID).
type Delivery struct {
	Store  *models.Store
	Mailer Mailer
	Log    *slog.Logger
	// Interval between looks at the outbox; zero means 2s.
	Interval time.Duration
	// Batch is how many messages one look takes; zero means 20.
	Batch int

	once sync.Once
	wake chan struct{}
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

// RunOnce sends the messages due now, one look's worth, and reports how
// many were sent and how many failed (and were rescheduled). err is about
// the outbox itself, not about any one message.
func (d *Delivery) RunOnce(ctx context.Context) (sent, failed int, err error) {
	due, err := d.Store.DueEmails(ctx, d.batch())
	if err != nil {
		return 0, 0, err
	}
	for _, m := range due {
		if ctx.Err() != nil {
			return sent, failed, ctx.Err()
		}
		sendErr := d.Mailer.Send(ctx, m)
		if sendErr != nil && ctx.Err() != nil {
			// Stopping mid-send is not the message's failure: leave it due.
			return sent, failed, ctx.Err()
		}
		markCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
		if sendErr == nil {
			err = d.Store.MarkEmailSent(markCtx, m.ID)
			sent++
		} else {
			err = d.Store.MarkEmailFailed(markCtx, m.ID, sendErr)
			failed++
			d.log().Warn("email not delivered; will retry",
				"outbox_id", m.ID, "kind", m.Kind, "attempt", m.Attempts+1,
				"to_domain", domainOf(m.ToAddress),
				"retry_in", models.EmailRetryDelay(m.Attempts+1).String(),
				"err", redactAddress(sendErr.Error(), m.ToAddress))
		}
		cancel()
		if err != nil {
			// Unrecorded: a sent message may go out again, a failed one
			// is retried without waiting. Neither is lost.
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
