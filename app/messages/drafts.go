package messages

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// Drafts: what a person is writing, saved as they type and before an idle
// sign-out, so that neither a timeout nor a lost connection loses it
// (guide 002). One per person for a new message on a record, one per
// thread for a reply.

// Draft is a message being written.
type Draft struct {
	TypeID  int64               `json:"type,omitempty"`
	Subject string              `json:"subject,omitempty"`
	Body    string              `json:"body,omitempty"`
	Answers map[string][]string `json:"answers,omitempty"` // a form message type's fields
}

func draftPurpose(person int64) string { return fmt.Sprintf("message.draft:%d", person) }

// SaveDraft keeps d for person on record (thread 0: a new message).
func (s *Store) SaveDraft(ctx context.Context, personID, recordID, threadID int64, d Draft) error {
	plain, err := json.Marshal(d)
	if err != nil {
		return err
	}
	sealed, err := s.sealer.Seal(draftPurpose(personID), plain)
	if err != nil {
		return err
	}
	err = s.db.WithContext(ctx).Exec(`INSERT INTO message_drafts (person_id, record_id, thread_id, content, updated_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (person_id, record_id, coalesce(thread_id, 0))
		DO UPDATE SET content = excluded.content, updated_at = excluded.updated_at`,
		personID, recordID, nullable(threadID), sealed, s.clock.Now()).Error
	if err != nil {
		return fmt.Errorf("messages: save draft: %w", err)
	}
	return nil
}

// DraftOf is person's draft on record (thread 0: a new message); none is
// the zero Draft.
func (s *Store) DraftOf(ctx context.Context, personID, recordID, threadID int64) (Draft, error) {
	var sealed string
	err := s.db.WithContext(ctx).Raw(`SELECT content FROM message_drafts WHERE person_id = ? AND record_id = ?
		AND coalesce(thread_id, 0) = ?`, personID, recordID, threadID).Row().Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return Draft{}, nil
	}
	if err != nil {
		return Draft{}, fmt.Errorf("messages: draft: %w", err)
	}
	plain, err := s.sealer.Open(draftPurpose(personID), sealed)
	if err != nil {
		return Draft{}, fmt.Errorf("messages: draft: %w", err)
	}
	var d Draft
	return d, json.Unmarshal(plain, &d)
}

// DeleteDraft discards person's draft (once sent).
func (s *Store) DeleteDraft(ctx context.Context, personID, recordID, threadID int64) error {
	err := s.db.WithContext(ctx).Exec(`DELETE FROM message_drafts WHERE person_id = ? AND record_id = ? AND coalesce(thread_id, 0) = ?`,
		personID, recordID, threadID).Error
	if err != nil {
		return fmt.Errorf("messages: delete draft: %w", err)
	}
	return nil
}

func nullable(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
