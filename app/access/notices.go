package access

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"portal/app/accounts"
	"portal/app/clock"
)

// endNoticeDue says which grants g (of people p) are owed an access-ending
// notice at @now: in force (inForce), the placement's end recorded and its
// day come (@today, in London), and no notice gone for this end. A worker
// who records the end again clears end_notice_sent_at (EndPlacement), so a
// changed end gets a notice of its own.
const endNoticeDue = inForce + ` AND g.ends_at IS NOT NULL AND g.end_notice_sent_at IS NULL
	AND (g.placement_ended_on IS NULL OR g.placement_ended_on <= @today)`

func (s *Store) noticeParams() map[string]any {
	now := s.clock.Now()
	return map[string]any{"now": now, "today": now.In(clock.London).Format(time.DateOnly)}
}

// EndNoticesDue lists, in id order, up to limit grants after id after that
// are owed an access-ending notice.
func (s *Store) EndNoticesDue(ctx context.Context, after int64, limit int) ([]int64, error) {
	p := s.noticeParams()
	p["after"], p["limit"] = after, limit
	var ids []int64
	err := s.db.WithContext(ctx).Raw(`SELECT g.id FROM grants g JOIN people p ON p.id = g.person_id
		WHERE g.id > @after AND `+endNoticeDue+` ORDER BY g.id LIMIT @limit`, p).Scan(&ids).Error
	if err != nil {
		return nil, fmt.Errorf("access: end notices due: %w", err)
	}
	return ids, nil
}

// ClaimEndNotice marks grant id's notice sent, in tx (the caller queues the
// email in the same transaction), if it is still owed, and returns whom it
// goes to; nil when another run sent it or it is owed no more. A second
// machine's claim waits on the row lock and then finds it sent.
func (s *Store) ClaimEndNotice(ctx context.Context, tx *gorm.DB, id int64) (*accounts.Recipient, error) {
	p := s.noticeParams()
	p["id"] = id
	var to []accounts.Recipient
	if err := tx.WithContext(ctx).Raw(`UPDATE grants g SET end_notice_sent_at = @now FROM people p
		WHERE g.id = @id AND p.id = g.person_id AND `+endNoticeDue+` RETURNING p.email, p.locale`, p).Scan(&to).Error; err != nil {
		return nil, fmt.Errorf("access: claim end notice %d: %w", id, err)
	}
	if len(to) == 0 {
		return nil, nil
	}
	return &to[0], nil
}
