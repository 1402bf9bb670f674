package accounts

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// unused says whether person p was never used: a citizen (never staff) with
// no grant at all (in force, ended or revoked: any history with a record
// keeps the account) and no invitation on its way for their address or
// accepted by them. An invitation whose link has expired still counts
// while its state is open: the worker can send it again.
const unused = `p.role = 'citizen'
	AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.person_id = p.id)
	AND NOT EXISTS (SELECT 1 FROM invitations i WHERE (lower(i.email) = lower(p.email) OR i.person_id = p.id)
		AND i.state IN ('code_sent', 'code_confirmed', 'invitation_sent', 'accepted'))`

// Who is warned, and who is deleted (Retention's times).
const (
	warnDue   = `p.retention_warned_at IS NULL AND p.created_at < @warnBefore AND ` + unused
	deleteDue = `p.retention_warned_at <= @warnedBy AND p.created_at < @deleteBefore AND ` + unused
)

// Retention says when an unused account is warned and when deleted: the
// retention job's policy (app/jobs), this package's rule of who is unused.
type Retention struct {
	Now          time.Time
	WarnBefore   time.Time // created before this: warned
	DeleteBefore time.Time // created before this, and warned by WarnedBy: deleted
	WarnedBy     time.Time
}

func (r Retention) params(more ...any) map[string]any {
	p := map[string]any{"now": r.Now, "warnBefore": r.WarnBefore, "deleteBefore": r.DeleteBefore, "warnedBy": r.WarnedBy}
	for i := 0; i+1 < len(more); i += 2 {
		p[more[i].(string)] = more[i+1]
	}
	return p
}

// Recipient is whom a notice goes to: an address and a language, nothing else.
type Recipient struct{ Email, Locale string }

// Unwarn takes the warning back from everyone warned who has been used
// since (invited, granted), and says how many.
func (s *Store) Unwarn(ctx context.Context) (int64, error) {
	res := s.db.WithContext(ctx).Exec(`UPDATE people p SET retention_warned_at = NULL
		WHERE p.retention_warned_at IS NOT NULL AND NOT (` + unused + `)`)
	if res.Error != nil {
		return 0, fmt.Errorf("accounts: unwarn: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// WarningsDue lists, in id order, up to limit people after id after owed
// the unused-account warning.
func (s *Store) WarningsDue(ctx context.Context, r Retention, after int64, limit int) ([]int64, error) {
	return s.peopleWhere(ctx, warnDue, r.params("after", after, "limit", limit))
}

// DeletionsDue lists, in id order, up to limit unused people after id
// after whose warning has run its course.
func (s *Store) DeletionsDue(ctx context.Context, r Retention, after int64, limit int) ([]int64, error) {
	return s.peopleWhere(ctx, deleteDue, r.params("after", after, "limit", limit))
}

func (s *Store) peopleWhere(ctx context.Context, cond string, params map[string]any) ([]int64, error) {
	var ids []int64
	err := s.db.WithContext(ctx).Raw(`SELECT p.id FROM people p WHERE p.id > @after AND `+cond+
		` ORDER BY p.id LIMIT @limit`, params).Scan(&ids).Error
	if err != nil {
		return nil, fmt.Errorf("accounts: retention: %w", err)
	}
	return ids, nil
}

// ClaimWarning stamps person id warned in tx, if the rule still says so,
// and returns whom the warning goes to (nil: no longer due).
func (s *Store) ClaimWarning(ctx context.Context, tx *gorm.DB, r Retention, id int64) (*Recipient, error) {
	var to []Recipient
	if err := tx.WithContext(ctx).Raw(`UPDATE people p SET retention_warned_at = @now WHERE p.id = @id AND `+warnDue+
		` RETURNING p.email, p.locale`, r.params("id", id)).Scan(&to).Error; err != nil {
		return nil, fmt.Errorf("accounts: warn %d: %w", id, err)
	}
	if len(to) == 0 {
		return nil, nil
	}
	return &to[0], nil
}

// DeleteUnused deletes person id in tx, if the rule still says so, and
// says whether it did. Sessions, grants (there are none) and phone calls
// go with the row (ON DELETE CASCADE); an invitation they declined keeps
// its row without them (person_id SET NULL).
func (s *Store) DeleteUnused(ctx context.Context, tx *gorm.DB, r Retention, id int64) (bool, error) {
	var ids []int64
	if err := tx.WithContext(ctx).Raw(`DELETE FROM people p WHERE p.id = @id AND `+deleteDue+` RETURNING p.id`,
		r.params("id", id)).Scan(&ids).Error; err != nil {
		return false, fmt.Errorf("accounts: delete %d: %w", id, err)
	}
	return len(ids) > 0, nil
}
