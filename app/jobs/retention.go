package jobs

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"

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

// unused says whether person p was never used: a citizen (never staff) with
// no grant at all (in force, ended or revoked: any history with a record
// keeps the account) and no invitation on its way for their address or
// accepted by them. An invitation whose link has expired still counts
// while its state is open: the worker can send it again.
const unused = `p.role = 'citizen'
	AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.person_id = p.id)
	AND NOT EXISTS (SELECT 1 FROM invitations i WHERE (lower(i.email) = lower(p.email) OR i.person_id = p.id)
		AND i.state IN ('code_sent', 'code_confirmed', 'invitation_sent', 'accepted'))`

// Who is warned, and who is deleted, at @now.
const (
	warnDue   = `p.retention_warned_at IS NULL AND p.created_at < @warnBefore AND ` + unused
	deleteDue = `p.retention_warned_at <= @warnedBy AND p.created_at < @deleteBefore AND ` + unused
)

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
	params := map[string]any{"now": now, "batch": batch, "warnBefore": now.Add(-WarningAge),
		"deleteBefore": now.Add(-RetentionAge), "warnedBy": now.Add(-WarningNotice)}
	var res RetentionResult
	unwarn := r.db.WithContext(ctx).Exec(`UPDATE people p SET retention_warned_at = NULL
		WHERE p.retention_warned_at IS NOT NULL AND NOT (` + unused + `)`)
	if unwarn.Error != nil {
		return res, fmt.Errorf("jobs: retention: unwarn: %w", unwarn.Error)
	}
	res.Unwarned = unwarn.RowsAffected

	err := eachID(ctx, r.peopleWhere(ctx, deleteDue, params), func(id int64) error {
		ok, err := r.deleteUnused(ctx, withParam(params, "id", id))
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
	err = eachID(ctx, r.peopleWhere(ctx, warnDue, params), func(id int64) error {
		ok, err := r.warnUnused(ctx, withParam(params, "id", id))
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

// peopleWhere lists, in batches, the ids of people p for whom cond holds.
func (r *Runner) peopleWhere(ctx context.Context, cond string, params map[string]any) func(int64) ([]int64, error) {
	return func(after int64) ([]int64, error) {
		var ids []int64
		err := r.db.WithContext(ctx).Raw(`SELECT p.id FROM people p WHERE p.id > @after AND `+cond+
			` ORDER BY p.id LIMIT @batch`, withParam(params, "after", after)).Scan(&ids).Error
		if err != nil {
			return nil, fmt.Errorf("jobs: retention: list: %w", err)
		}
		return ids, nil
	}
}

// warnUnused stamps person @id warned, if the rule still says so, and
// queues the warning before the stamp commits (see sendGrantEndNotice): a
// warning that could not be queued is not recorded, so the week's notice
// starts only once an email is on its way.
func (r *Runner) warnUnused(ctx context.Context, params map[string]any) (bool, error) {
	claimed := false
	err := r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var to []struct{ Email, Locale string }
		if err := tx.Raw(`UPDATE people p SET retention_warned_at = @now WHERE p.id = @id AND `+warnDue+
			` RETURNING p.email, p.locale`, params).Scan(&to).Error; err != nil {
			return err
		}
		if len(to) == 0 {
			return nil
		}
		claimed = true
		return r.notifier.Send(ctx, tx, notify.Message{Channel: notify.Email, To: to[0].Email,
			Template: "email_account_unused", Lang: to[0].Locale,
			Data: map[string]string{notify.DataLink: RetentionWarningLink}})
	})
	if err != nil {
		return false, err
	}
	return claimed, nil
}

// deleteUnused deletes person @id, if the rule still says so, and audits it
// in the same transaction. Sessions, grants (there are none) and phone
// calls go with the row (ON DELETE CASCADE); an invitation they declined
// keeps its row without them (person_id SET NULL).
//
// Security: the audit event names the account by id only, with no actor:
// the trail is append-only, so an email written there could never be
// erased, which would defeat the deletion.
func (r *Runner) deleteUnused(ctx context.Context, params map[string]any) (bool, error) {
	deleted := false
	err := r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var ids []int64
		if err := tx.Raw(`DELETE FROM people p WHERE p.id = @id AND `+deleteDue+` RETURNING p.id`,
			params).Scan(&ids).Error; err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil // another run deleted it, or it was used meanwhile
		}
		deleted = true
		return r.audit.Write(ctx, tx, audit.Event{Action: AuditDeletedUnused,
			Target: "person:" + strconv.FormatInt(ids[0], 10)})
	})
	if err != nil {
		return false, err
	}
	return deleted, nil
}
