package jobs

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"portal/app/notify"
)

// AccessEndingLink is where the notice sends the holder: their account,
// which shows the date access ends.
const AccessEndingLink = "/account"

// SendGrantEndNotices emails each holder whose access to a record is
// ending (a placement ended; see access.GraceEnd), once per grant, and
// returns how many were sent. Which grants are owed one is access's rule
// (access.Store.EndNoticesDue).
//
// Security: the email says only that access to one of the records in the
// account ends soon; no name, record or date, which the holder reads in
// their account after signing in.
func (r *Runner) SendGrantEndNotices(ctx context.Context) (int, error) {
	sent := 0
	err := eachID(ctx, func(after int64) ([]int64, error) {
		return r.access.EndNoticesDue(ctx, after, batch)
	}, func(id int64) error {
		ok, err := r.sendGrantEndNotice(ctx, id)
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

// sendGrantEndNotice claims grant id's notice and queues the email before
// the claim commits: if queueing fails the claim rolls back and the next
// run tries again (a commit failing after the email was queued is the one
// way a notice goes twice).
func (r *Runner) sendGrantEndNotice(ctx context.Context, id int64) (bool, error) {
	claimed := false
	err := r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		to, err := r.access.ClaimEndNotice(ctx, tx, id)
		if err != nil || to == nil {
			return err // nil: another run sent it, or it is no longer due
		}
		claimed = true
		return r.notifier.Send(ctx, tx, notify.Message{Channel: notify.Email, To: to.Email,
			Template: "email_access_ending", Lang: to.Locale,
			Data: map[string]string{notify.DataLink: AccessEndingLink}})
	})
	if err != nil {
		return false, err
	}
	return claimed, nil
}
