package jobs

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"portal/app/clock"
	"portal/app/notify"
)

// AccessEndingLink is where the notice sends the holder: their account,
// which shows the date access ends.
const AccessEndingLink = "/account"

// noticeDue says which grants g (of people p) are owed an access-ending
// notice at @now: the placement's end is recorded and its day has come
// (@today, in London), access has not ended yet, the grant is in force and
// no notice has gone for this end. A worker who records the end again
// clears end_notice_sent_at (access.Store.EndPlacement), so a changed end
// gets a notice of its own.
const noticeDue = `g.ends_at IS NOT NULL AND g.ends_at > @now AND g.end_notice_sent_at IS NULL
	AND (g.placement_ended_on IS NULL OR g.placement_ended_on <= @today)
	AND g.revoked_at IS NULL AND g.starts_at <= @now AND p.status = 'active'`

// SendGrantEndNotices emails each holder whose access to a record is
// ending (a placement ended; see access.GraceEnd), once per grant, and
// returns how many were sent.
//
// Security: the email says only that access to one of the records in the
// account ends soon; no name, record or date, which the holder reads in
// their account after signing in.
func (r *Runner) SendGrantEndNotices(ctx context.Context) (int, error) {
	now := r.clock.Now()
	params := map[string]any{"now": now, "today": now.In(clock.London).Format(time.DateOnly), "batch": batch}
	sent := 0
	err := eachID(ctx, func(after int64) ([]int64, error) {
		var ids []int64
		p := withParam(params, "after", after)
		err := r.db.WithContext(ctx).Raw(`SELECT g.id FROM grants g JOIN people p ON p.id = g.person_id
			WHERE g.id > @after AND `+noticeDue+` ORDER BY g.id LIMIT @batch`, p).Scan(&ids).Error
		if err != nil {
			return nil, fmt.Errorf("jobs: grant end notices: list: %w", err)
		}
		return ids, nil
	}, func(id int64) error {
		ok, err := r.sendGrantEndNotice(ctx, withParam(params, "id", id))
		if err != nil {
			return fmt.Errorf("jobs: grant end notice for grant %d: %w", id, err)
		}
		if ok {
			sent++
		}
		return nil
	})
	return sent, err
}

// sendGrantEndNotice claims grant @id's notice and queues the email before
// the claim commits: if queueing fails the claim rolls back and the next
// run tries again (a commit failing after the email was queued is the one
// way a notice goes twice); a second machine's claim waits on the row lock
// and then finds the notice sent.
func (r *Runner) sendGrantEndNotice(ctx context.Context, params map[string]any) (bool, error) {
	claimed := false
	err := r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var to []struct{ Email, Locale string }
		if err := tx.Raw(`UPDATE grants g SET end_notice_sent_at = @now FROM people p
			WHERE g.id = @id AND p.id = g.person_id AND `+noticeDue+` RETURNING p.email, p.locale`,
			params).Scan(&to).Error; err != nil {
			return err
		}
		if len(to) == 0 {
			return nil // another run sent it, or it is no longer due
		}
		claimed = true
		return r.notifier.Send(ctx, tx, notify.Message{Channel: notify.Email, To: to[0].Email,
			Template: "email_access_ending", Lang: to[0].Locale,
			Data: map[string]string{notify.DataLink: AccessEndingLink}})
	})
	if err != nil {
		return false, err
	}
	return claimed, nil
}

// withParam returns a copy of params with key set to v.
func withParam(params map[string]any, key string, v any) map[string]any {
	out := make(map[string]any, len(params)+1)
	for k, x := range params {
		out[k] = x
	}
	out[key] = v
	return out
}
