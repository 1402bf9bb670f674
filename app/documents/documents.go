// Package documents is "Items to view" (guides 000, 001): files the
// council sends to chosen holders of a record, and the completed copies of
// forms, kept in object storage and downloaded through an authorised
// handler.
//
// Invariants:
//   - A holder reaches a document only as one of its recipients, on a
//     record they hold now, while it is not withdrawn. Anything else, a
//     foreign id included, is ErrNotFound, answered with the same 404 as a
//     document that does not exist.
//   - Staff reach documents only through their team's record (the staff
//     package checks the record first; every query here takes the record).
//   - The file is streamed from storage to the response, never held in
//     memory, and never offered by a shareable link: each download is a
//     signed-in request that passes the checks above.
//   - Every download writes an audit event; the first open by a recipient
//     is also kept on the recipient's row, which the worker sees.
//   - A holder never learns who else a document was sent to, nor when they
//     opened it.
//   - Withdrawing a document removes its file from storage (it was sent in
//     error, so nobody should read it again); its row stays, with who
//     withdrew it and when, for the trail.
package documents

import (
	"context"
	"errors"
	"fmt"
	"portal/app/live"
	"portal/app/uploads"
	"time"

	"gorm.io/gorm"

	"portal/app/clock"
	"portal/app/db"
)

// Kinds of document, as the "Type" column shows them.
const (
	KindAssessment    = "assessment"
	KindPlan          = "plan"
	KindLetter        = "letter"
	KindReport        = "report"
	KindMinutes       = "minutes"
	KindGeneral       = "general"
	KindCompletedForm = "completed_form" // made by the portal when a holder submits a form
)

// UploadKinds are the kinds a worker may choose; completed forms are the
// portal's own.
var UploadKinds = []string{KindAssessment, KindPlan, KindLetter, KindReport, KindMinutes, KindGeneral}

// TitleMax is the longest title, in characters.
const TitleMax = 150

// ErrNotFound is a document the actor may not reach, or none.
var ErrNotFound = fmt.Errorf("documents: %w", db.ErrNotFound)

// Document is one file sent on a record.
type Document struct {
	ID          int64
	RecordID    int64
	Kind        string
	Title       string
	ObjectKey   string
	FileName    string // safe to show and to offer as the download's name
	ContentType string
	Size        int64
	SHA256      string `gorm:"column:sha256"`
	SentBy      *int64
	CreatedAt   time.Time
	WithdrawnAt *time.Time
	WithdrawnBy *int64
}

// Recipient is one holder a document was sent to.
type Recipient struct {
	DocumentID int64
	PersonID   int64
	RecordID   int64
	CreatedAt  time.Time
	OpenedAt   *time.Time
	Withdrawn  bool
}

// TableName keeps GORM on the document_recipients table.
func (Recipient) TableName() string { return "document_recipients" }

// Store reads and writes documents and their recipients.
type Store struct {
	db    *gorm.DB
	clock clock.Clock
}

// NewStore returns the store.
func NewStore(db *gorm.DB, clk clock.Clock) *Store { return &Store{db: db, clock: clk} }

// Prefix is what every document's object key starts with (a worker's
// upload and a submitted form's PDF).
const Prefix = "documents/"

// Referenced reports which of keys a document's row names (withdrawn ones
// too), for the storage sweeper (app/jobs): an object no row names is an
// orphan.
func (s *Store) Referenced(ctx context.Context, keys []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(keys) == 0 {
		return out, nil
	}
	var found []string
	if err := s.db.WithContext(ctx).Raw(`SELECT object_key FROM documents WHERE object_key IN ?`, keys).Scan(&found).Error; err != nil {
		return nil, fmt.Errorf("documents: referenced: %w", err)
	}
	for _, k := range found {
		out[k] = true
	}
	return out, nil
}

// Create saves d, sent to recipients, in tx (nil: a transaction of its
// own). The caller has stored the file under d.ObjectKey and checked that
// every recipient holds d.RecordID.
func (s *Store) Create(ctx context.Context, tx *gorm.DB, d *Document, recipients []int64) error {
	if len(recipients) == 0 {
		return errors.New("documents: create: no recipients")
	}
	if tx == nil {
		return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return s.Create(ctx, tx, d, recipients) })
	}
	d.CreatedAt = s.clock.Now()
	if err := tx.WithContext(ctx).Create(d).Error; err != nil {
		return fmt.Errorf("documents: create: %w", err)
	}
	rows := make([]Recipient, len(recipients))
	for i, p := range recipients {
		rows[i] = Recipient{DocumentID: d.ID, PersonID: p, RecordID: d.RecordID, CreatedAt: d.CreatedAt}
	}
	if err := tx.WithContext(ctx).Create(&rows).Error; err != nil {
		return fmt.Errorf("documents: create recipients: %w", err)
	}
	// Each recipient's open dashboard counts it (delivered on commit).
	for _, p := range recipients {
		if err := live.Notify(ctx, tx, live.Event{Topic: "unread", ID: p}); err != nil {
			return err
		}
	}
	return nil
}

// Item is a document as one of its recipients sees it.
type Item struct {
	Document
	OpenedAt *time.Time // when this recipient first opened it
}

const itemColumns = `d.*, r.opened_at`

// ForHolder lists the documents sent to person on record, newest first.
// The caller has checked that person holds record now.
func (s *Store) ForHolder(ctx context.Context, personID, recordID int64) ([]Item, error) {
	var out []Item
	err := s.db.WithContext(ctx).Raw(`SELECT `+itemColumns+` FROM document_recipients r
		JOIN documents d ON d.id = r.document_id
		WHERE r.person_id = ? AND r.record_id = ? AND NOT r.withdrawn
		ORDER BY r.created_at DESC, d.id DESC`, personID, recordID).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("documents: for holder: %w", err)
	}
	return out, nil
}

// HolderItem is document id as person sees it on record, or ErrNotFound.
func (s *Store) HolderItem(ctx context.Context, personID, recordID, id int64) (*Item, error) {
	var out []Item
	err := s.db.WithContext(ctx).Raw(`SELECT `+itemColumns+` FROM document_recipients r
		JOIN documents d ON d.id = r.document_id
		WHERE r.person_id = ? AND r.record_id = ? AND r.document_id = ? AND NOT r.withdrawn`,
		personID, recordID, id).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("documents: holder item: %w", err)
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return &out[0], nil
}

// MarkOpened records person's first open of document id, and reports
// whether this was it.
func (s *Store) MarkOpened(ctx context.Context, personID, id int64) (bool, error) {
	res := s.db.WithContext(ctx).Model(&Recipient{}).
		Where("document_id = ? AND person_id = ? AND opened_at IS NULL AND NOT withdrawn", id, personID).
		Update("opened_at", s.clock.Now())
	if res.Error != nil {
		return false, fmt.Errorf("documents: mark opened: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// Unopened counts what person has not opened yet on record: the
// dashboard's "Items to view" tile. It reads only the partial index of
// unopened rows, so old documents cost it nothing.
func (s *Store) Unopened(ctx context.Context, personID, recordID int64) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Raw(`SELECT count(*) FROM document_recipients
		WHERE person_id = ? AND record_id = ? AND opened_at IS NULL AND NOT withdrawn`, personID, recordID).Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("documents: unopened: %w", err)
	}
	return n, nil
}

// Format names the file's kind for people: pdf, word, jpeg, png or file
// (a locale key's last part).
func (d Document) Format() string {
	switch d.ContentType {
	case "application/pdf":
		return "pdf"
	case "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
		return "word"
	case "image/jpeg":
		return "jpeg"
	case "image/png":
		return "png"
	}
	return "file"
}

// SizeText is the file's size as the council's guides write it: "240 KB",
// "1.2 MB" (the same in English and Welsh).
func (d Document) SizeText() string { return uploads.SizeText(d.Size) }
