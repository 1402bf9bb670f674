package jobs

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"

	"portal/app/accounts"
	"portal/app/audit"
	"portal/app/notify"
)

// The retention rule (guide 004: "We also delete accounts older than one
// month if they haven't been used"). A month is taken as 30 days, so it is
// the same length whatever the month; the warning goes 7 days before.
const (
	RetentionAge = 30 * 24 * time.Hour          // deleted when older than this (and warned in time)
	WarningAge   = RetentionAge - WarningNotice // warned when older than this: 23 days
	// WarningNotice is the least time between the warning and the deletion:
	// nobody is deleted without a week's warning, even after the job was down.
	WarningNotice = 7 * 24 * time.Hour
)

// RetentionWarningLink is where the warning sends the person.
const RetentionWarningLink = "/sign-in"

// AuditDeletedUnused is the audit action of a deletion by the retention job.
const AuditDeletedUnused = "account.deleted_unused"

// RetentionResult counts what one retention run did.
type RetentionResult struct {
	Unwarned int64 // warned, then used (invited, granted): the warning no longer stands
	Warned   int
	Deleted  int
}

// Retention deletes accounts never used (unused) that are older than
// RetentionAge and were warned at least WarningNotice before, and warns
// those older than WarningAge. Each deletion is audited as
// "person:<id>", with no actor.
//
// A warning stands only while the account stays unused: an account that
// was warned and then invited loses the warning, so if the invitation is
// withdrawn it is warned afresh and kept another week.
func (r *Runner) Retention(ctx context.Context) (RetentionResult, error) {
	now := r.clock.Now()
	times := accounts.Retention{Now: now, WarnBefore: now.Add(-WarningAge), DeleteBefore: now.Add(-RetentionAge),
		WarnedBy: now.Add(-WarningNotice)}
	var res RetentionResult
	var err error
	if res.Unwarned, err = r.people.Unwarn(ctx); err != nil {
		return res, fmt.Errorf("jobs: retention: %w", err)
	}
	err = eachID(ctx, func(after int64) ([]int64, error) {
		return r.people.DeletionsDue(ctx, times, after, batch)
	}, func(id int64) error {
		ok, err := r.deleteUnused(ctx, times, id)
		if err != nil {
			return fmt.Errorf("jobs: retention: delete person %d: %w", id, err)
		}
		if ok {
			res.Deleted++
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	err = eachID(ctx, func(after int64) ([]int64, error) {
		return r.people.WarningsDue(ctx, times, after, batch)
	}, func(id int64) error {
		ok, err := r.warnUnused(ctx, times, id)
		if err != nil {
			return fmt.Errorf("jobs: retention: warn person %d: %w", id, err)
		}
		if ok {
			res.Warned++
		}
		return nil
	})
	return res, err
}

// warnUnused stamps person id warned, if the rule still says so, and
// queues the warning before the stamp commits (see sendGrantEndNotice): a
// warning that could not be queued is not recorded, so the week's notice
// starts only once an email is on its way.
func (r *Runner) warnUnused(ctx context.Context, times accounts.Retention, id int64) (bool, error) {
	claimed := false
	err := r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		to, err := r.people.ClaimWarning(ctx, tx, times, id)
		if err != nil || to == nil {
			return err
		}
		claimed = true
		return r.notifier.Send(ctx, tx, notify.Message{Channel: notify.Email, To: to.Email,
			Template: "email_account_unused", Lang: to.Locale,
			Data: map[string]string{notify.DataLink: RetentionWarningLink}})
	})
	if err != nil {
		return false, err
	}
	return claimed, nil
}

// deleteUnused deletes person id, if the rule still says so, and audits it
// in the same transaction.
//
// Security: the audit event names the account by id only, with no actor:
// the trail is append-only, so an email written there could never be
// erased, which would defeat the deletion.
func (r *Runner) deleteUnused(ctx context.Context, times accounts.Retention, id int64) (bool, error) {
	deleted := false
	err := r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		ok, err := r.people.DeleteUnused(ctx, tx, times, id)
		if err != nil || !ok {
			return err // not ok: another run deleted it, or it was used meanwhile
		}
		deleted = true
		return r.audit.Write(ctx, tx, audit.Event{Action: AuditDeletedUnused,
			Target: "person:" + strconv.FormatInt(id, 10)})
	})
	if err != nil {
		return false, err
	}
	return deleted, nil
}
