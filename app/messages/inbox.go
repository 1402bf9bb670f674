package messages

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// WaitingSinceSQL is when a thread (the row being updated, threads)
// began to wait for the council's reply: its first message from the holder
// after the council's last, or NULL when the council wrote last. Migration
// 00019 filled threads.waiting_since with it; Store.add keeps it since.
const WaitingSinceSQL = `(SELECT min(m.created_at) FROM messages m WHERE m.thread_id = threads.id AND NOT m.from_staff
	AND m.id > coalesce((SELECT max(s.id) FROM messages s WHERE s.thread_id = threads.id AND s.from_staff), 0))`

// The team inbox: every thread its types routed to the team.

// InboxThread is a thread as the team's inbox lists it: who wrote, for
// which record, and who deals with it.
type InboxThread struct {
	Thread
	HolderName string
	// HolderRelationship is how the holder stands to the record (their
	// latest grant's relationship: "parent", "foster_carer" …).
	HolderRelationship string
	RecordName         string
	AssigneeName       string
	HasAttachments     bool // a message of it carries a file (app/attachments)
}

// Inbox filters.
const (
	InboxOpen    = "open"    // not handled
	InboxMine    = "mine"    // assigned to the viewer, not handled
	InboxHandled = "handled" // handled
)

// ForTeam lists team's threads in filter, the latest activity first.
func (s *Store) ForTeam(ctx context.Context, teamID, viewerID int64, filter string) ([]InboxThread, error) {
	where := "t.team_id = ? AND t.handled_at IS NULL"
	args := []any{teamID}
	switch filter {
	case InboxMine:
		where += " AND t.assigned_to = ?"
		args = append(args, viewerID)
	case InboxHandled:
		where = "t.team_id = ? AND t.handled_at IS NOT NULL"
	}
	return s.inbox(ctx, where+" ORDER BY t.last_message_at DESC, t.id DESC LIMIT 200", args...)
}

// InboxThread is thread id as a member of team reaches it, with who wrote
// and for which record (a type may route a record of another team's to
// this one), or ErrNotFound.
func (s *Store) InboxThread(ctx context.Context, teamID, id int64) (*InboxThread, error) {
	out, err := s.inbox(ctx, "t.team_id = ? AND t.id = ?", teamID, id)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return &out[0], nil
}

func (s *Store) inbox(ctx context.Context, where string, args ...any) ([]InboxThread, error) {
	var out []InboxThread
	err := s.db.WithContext(ctx).Raw(`SELECT t.*, h.given_name || ' ' || h.family_name AS holder_name,
			r.given_name || ' ' || r.family_name || ' (' || r.case_reference || ')' AS record_name,
			coalesce(a.given_name || ' ' || a.family_name, '') AS assignee_name,
			coalesce((SELECT g.relationship FROM grants g WHERE g.person_id = t.holder_id AND g.record_id = t.record_id
				ORDER BY g.starts_at DESC, g.id DESC LIMIT 1), '') AS holder_relationship,
			EXISTS (SELECT 1 FROM attachments x WHERE x.thread_id = t.id) AS has_attachments
		FROM threads t JOIN people h ON h.id = t.holder_id JOIN records r ON r.id = t.record_id
		LEFT JOIN people a ON a.id = t.assigned_to
		WHERE `+where, args...).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("messages: inbox: %w", err)
	}
	for i := range out {
		plain, err := s.sealer.Open(subjectPurpose(out[i].ID), out[i].SealedSubject)
		if err != nil {
			return nil, fmt.Errorf("messages: inbox subject: %w", err)
		}
		out[i].Subject = string(plain)
	}
	return out, nil
}

// Assign gives th to a worker (0: nobody). The caller has checked the
// worker is in th's team.
func (s *Store) Assign(ctx context.Context, th *Thread, workerID int64) error {
	var to *int64
	if workerID != 0 {
		to = &workerID
	}
	if err := s.db.WithContext(ctx).Model(&Thread{}).Where("id = ?", th.ID).Update("assigned_to", to).Error; err != nil {
		return fmt.Errorf("messages: assign: %w", err)
	}
	return nil
}

// SetHandled marks th handled, or open again. A handled thread waits for
// no reply; one opened again waits if the holder wrote last.
func (s *Store) SetHandled(ctx context.Context, th *Thread, handled bool) error {
	var at, waiting any = nil, gorm.Expr(WaitingSinceSQL)
	if handled {
		at, waiting = s.clock.Now(), nil
	}
	if err := s.db.WithContext(ctx).Model(&Thread{}).Where("id = ?", th.ID).
		Updates(map[string]any{"handled_at": at, "team_unread": false, "waiting_since": waiting}).Error; err != nil {
		return fmt.Errorf("messages: handled: %w", err)
	}
	return nil
}
