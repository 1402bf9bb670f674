package notify

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// A message's outcome with its provider, as notify_deliveries keeps it for
// the admin's service overview (app/overview): texts and calls sent (the
// council pays for each) and messages given up on.
const (
	// DeliverySent: the provider took the message.
	DeliverySent = "sent"
	// DeliveryFailed: the message will not be sent: it was cancelled (too
	// old, or it cannot be rendered) or its last attempt failed. An attempt
	// that River will try again is not a failure yet.
	DeliveryFailed = "failed"
)

// delivery is one outcome of one queued message, as notify_deliveries
// keeps it: the job, the channel, the template's name (never the words),
// how many attempts and, for a failure, a reason from Reasons. Never the
// recipient.
type delivery struct {
	job      int64
	channel  Channel
	template string
	attempts int
	status   string
	reason   string
}

func (d delivery) sent() delivery { d.status = DeliverySent; return d }

func (d delivery) failed(reason string) delivery {
	d.status, d.reason = DeliveryFailed, reason
	return d
}

// recordDelivery writes one outcome. A failure to write it is logged, not
// returned: the message has gone (or is given up on) either way, and an
// error would make River send it again. A job has at most one "sent" row
// (notify_deliveries_job_sent_idx): a second is ignored.
func (n *Notifier) recordDelivery(ctx context.Context, d delivery) {
	err := n.db.WithContext(context.WithoutCancel(ctx)).Exec(`INSERT INTO notify_deliveries
		(channel, status, at, job_id, template, reason, attempts) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		string(d.channel), d.status, n.clock.Now(), d.job, d.template, d.reason, d.attempts).Error
	if err != nil {
		n.log.Error("notify: delivery not recorded", slog.String("channel", string(d.channel)), slog.String("status", d.status),
			slog.Any("error", err))
	}
}

// sentBefore reports whether the provider took job's message already (its
// "sent" row exists), so a retry must not send it again.
func (n *Notifier) sentBefore(ctx context.Context, job int64) (bool, error) {
	var sent bool
	err := n.db.WithContext(ctx).Raw(`SELECT EXISTS (SELECT 1 FROM notify_deliveries WHERE job_id = ? AND status = ?)`,
		job, DeliverySent).Scan(&sent).Error
	if err != nil {
		return false, fmt.Errorf("notify: deliveries: %w", err)
	}
	return sent, nil
}

// DeleteDeliveriesBefore deletes the outcomes recorded before t (the
// clean-up job keeps a little more than the overview's longest period) and
// returns how many.
func (n *Notifier) DeleteDeliveriesBefore(ctx context.Context, t time.Time) (int64, error) {
	res := n.db.WithContext(ctx).Exec(`DELETE FROM notify_deliveries WHERE at < ?`, t)
	if res.Error != nil {
		return 0, fmt.Errorf("notify: delete deliveries: %w", res.Error)
	}
	return res.RowsAffected, nil
}
