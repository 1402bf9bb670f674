package documents

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// The staff side: what was sent on a record, to whom, and who opened it.
// Every method takes the record, which the caller has found in its team.

// Sent is a document as the record's workers see it.
type Sent struct {
	Document
	SenderName string    // "" when the portal made it
	Recipients []Opening `gorm:"-"`
}

// Opening is one recipient of a document and their first open.
type Opening struct {
	DocumentID int64
	PersonID   int64
	GivenName  string
	FamilyName string
	OpenedAt   *time.Time
}

// ForRecord lists the documents of record, newest first, withdrawn ones
// included (the page marks them), with their recipients.
func (s *Store) ForRecord(ctx context.Context, recordID int64, limit int) ([]Sent, error) {
	var out []Sent
	err := s.db.WithContext(ctx).Raw(`SELECT d.*, coalesce(p.given_name || ' ' || p.family_name, '') AS sender_name
		FROM documents d LEFT JOIN people p ON p.id = d.sent_by
		WHERE d.record_id = ? ORDER BY d.created_at DESC, d.id DESC LIMIT ?`, recordID, limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("documents: for record: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]int64, len(out))
	at := make(map[int64]int, len(out))
	for i, d := range out {
		ids[i], at[d.ID] = d.ID, i
	}
	var opens []Opening
	err = s.db.WithContext(ctx).Raw(`SELECT r.document_id, r.person_id, p.given_name, p.family_name, r.opened_at
		FROM document_recipients r JOIN people p ON p.id = r.person_id
		WHERE r.document_id IN ? ORDER BY p.family_name, p.given_name, p.id`, ids).Scan(&opens).Error
	if err != nil {
		return nil, fmt.Errorf("documents: openings: %w", err)
	}
	for _, o := range opens {
		i := at[o.DocumentID]
		out[i].Recipients = append(out[i].Recipients, o)
	}
	return out, nil
}

// OnRecord is document id of record, withdrawn or not, or ErrNotFound.
func (s *Store) OnRecord(ctx context.Context, recordID, id int64) (*Document, error) {
	var d Document
	err := s.db.WithContext(ctx).Where("record_id = ? AND id = ?", recordID, id).Take(&d).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("documents: on record: %w", err)
	}
	return &d, nil
}

// Withdraw marks document id of record withdrawn by person in tx, for
// every recipient at once. A document already withdrawn is ErrNotFound.
func (s *Store) Withdraw(ctx context.Context, tx *gorm.DB, recordID, id, by int64) (*Document, error) {
	var d Document
	res := tx.WithContext(ctx).Raw(`UPDATE documents SET withdrawn_at = ?, withdrawn_by = ?
		WHERE record_id = ? AND id = ? AND withdrawn_at IS NULL RETURNING *`, s.clock.Now(), by, recordID, id).Scan(&d)
	if res.Error != nil {
		return nil, fmt.Errorf("documents: withdraw: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, ErrNotFound
	}
	if err := tx.WithContext(ctx).Model(&Recipient{}).Where("document_id = ?", id).
		Update("withdrawn", true).Error; err != nil {
		return nil, fmt.Errorf("documents: withdraw recipients: %w", err)
	}
	return &d, nil
}
