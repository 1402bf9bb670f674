// Package audit writes the append-only trail of who did what to which record.
//
// Invariants:
//   - Every access to sensitive data and every account change calls Log.
//   - The table cannot be changed or emptied by the app: a trigger refuses
//     UPDATE and DELETE, TRUNCATE is refused too (see migration 00001).
//   - Events name people and records by id; no personal data is copied into
//     the trail (Target is an id or a kind, never a name or an email).
//   - A Rider in the context (a session's last activity) is written in the
//     same statement as the request's first event, or by its owner after
//     the request: one write round trip where there would be two, and
//     never lost.
package audit

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"portal/app/clock"
)

// Event is one line of the trail.
type Event struct {
	ID        int64
	At        time.Time
	ActorID   *int64
	Action    string // dotted verb, e.g. "document.opened", "session.signed_in"
	RecordID  *int64
	Target    string // what was acted on, e.g. "document:42"
	IP        string
	RequestID string
}

// TableName keeps GORM on the audit_events table.
func (Event) TableName() string { return "audit_events" }

// Log writes events.
type Log struct {
	db    *gorm.DB
	clock clock.Clock
}

// New returns the audit log.
func New(db *gorm.DB, clk clock.Clock) *Log { return &Log{db: db, clock: clk} }

// Write appends e, stamping the time. Pass the transaction of the change it
// records, so the two commit together, or nil for the log's own connection
// (then a Rider in ctx goes with it).
func (l *Log) Write(ctx context.Context, tx *gorm.DB, e Event) error {
	sql, args := insertEvent, []any{l.clock.Now(), e.ActorID, e.Action, e.RecordID, e.Target, e.IP, e.RequestID}
	if tx == nil {
		tx = l.db
		// Only outside a transaction: one that rolls back must not take
		// the rider with it.
		if r, _ := ctx.Value(riderKey{}).(*Rider); r != nil && r.taken.CompareAndSwap(false, true) {
			sql, args = "WITH rider AS ("+r.SQL+") "+sql, append(append([]any{}, r.Args...), args...)
		}
	}
	if err := tx.WithContext(ctx).Exec(sql, args...).Error; err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

const insertEvent = `INSERT INTO audit_events (at, actor_id, action, record_id, target, ip, request_id) VALUES (?, ?, ?, ?, ?, ?, ?)`

// Rider is a small write (an UPDATE, ? placeholders) that rides on the
// request's next event instead of taking a round trip of its own: the
// session's last activity on a page that is audited anyway.
type Rider struct {
	SQL   string
	Args  []any
	taken atomic.Bool
}

// Taken reports whether an event has written the rider; if not, its owner
// writes it.
func (r *Rider) Taken() bool { return r.taken.Load() }

type riderKey struct{}

// WithRider returns ctx carrying r for the next Write.
func WithRider(ctx context.Context, r *Rider) context.Context {
	return context.WithValue(ctx, riderKey{}, r)
}

// ForRecord lists a record's events, newest first.
func (l *Log) ForRecord(ctx context.Context, recordID int64, limit int) ([]Event, error) {
	var events []Event
	err := l.db.WithContext(ctx).Where("record_id = ?", recordID).Order("at DESC, id DESC").Limit(limit).Find(&events).Error
	return events, err
}
