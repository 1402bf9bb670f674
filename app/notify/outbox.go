package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"portal/app/clock"
	"portal/app/db"
)

// ErrNotFound is returned for an outbox message that does not exist.
var ErrNotFound = fmt.Errorf("notify: %w", db.ErrNotFound)

// OutboxMessage is one row of outbox_messages: a message as it was handed
// to the outbox provider.
type OutboxMessage struct {
	ID          int64
	Channel     Channel
	Recipient   string
	Subject     string
	Body        string
	AnswerToken string
	CreatedAt   time.Time
}

// TableName keeps GORM on the outbox_messages table.
func (OutboxMessage) TableName() string { return "outbox_messages" }

// Outbox is the development provider: it stores every message in Postgres
// instead of sending it, so a developer (or a test) reads codes and links
// at /dev/outbox. It must never run in production, where it would swallow
// real people's messages (ProviderFor refuses it there).
type Outbox struct {
	db    *gorm.DB
	clock clock.Clock
}

// NewOutbox returns the outbox over db, stamping rows with clk (tests move
// it, so the rows' times follow the test's story).
func NewOutbox(db *gorm.DB, clk clock.Clock) *Outbox {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Outbox{db: db, clock: clk}
}

// Send stores r.
func (o *Outbox) Send(ctx context.Context, r Rendered) error {
	row := OutboxMessage{Channel: r.Channel, Recipient: r.To, Subject: r.Subject, Body: r.Body,
		AnswerToken: r.AnswerToken, CreatedAt: o.clock.Now()}
	if err := o.db.WithContext(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("notify: outbox: %w", err)
	}
	return nil
}

// List returns every stored message, newest first (the id breaks ties, as a
// test clock that stands still gives many rows the same time).
func (o *Outbox) List(ctx context.Context) ([]OutboxMessage, error) {
	rows := []OutboxMessage{}
	if err := o.db.WithContext(ctx).Order("created_at DESC, id DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("notify: outbox list: %w", err)
	}
	return rows, nil
}

// Get returns one stored message, or ErrNotFound.
func (o *Outbox) Get(ctx context.Context, id int64) (OutboxMessage, error) {
	var row OutboxMessage
	err := o.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, ErrNotFound
	}
	if err != nil {
		return row, fmt.Errorf("notify: outbox get: %w", err)
	}
	return row, nil
}
