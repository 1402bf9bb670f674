// Package audit writes the append-only trail of who did what to which record.
//
// Invariants:
//   - Every access to sensitive data and every account change calls Log.
//   - The table cannot be changed or emptied by the app: a trigger refuses
//     UPDATE and DELETE, TRUNCATE is refused too (see migration 00001).
//   - Events name people and records by id; no personal data is copied into
//     the trail (Target is an id or a kind, never a name or an email).
package audit

import (
	"context"
	"fmt"
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
// records, so the two commit together, or nil for the log's own connection.
func (l *Log) Write(ctx context.Context, tx *gorm.DB, e Event) error {
	if tx == nil {
		tx = l.db
	}
	e.At = l.clock.Now()
	if err := tx.WithContext(ctx).Create(&e).Error; err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// ForRecord lists a record's events, newest first.
func (l *Log) ForRecord(ctx context.Context, recordID int64, limit int) ([]Event, error) {
	var events []Event
	err := l.db.WithContext(ctx).Where("record_id = ?", recordID).Order("at DESC, id DESC").Limit(limit).Find(&events).Error
	return events, err
}

// ForActor lists an actor's events, newest first.
func (l *Log) ForActor(ctx context.Context, actorID int64, limit int) ([]Event, error) {
	var events []Event
	err := l.db.WithContext(ctx).Where("actor_id = ?", actorID).Order("at DESC, id DESC").Limit(limit).Find(&events).Error
	return events, err
}
