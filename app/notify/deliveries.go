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

// recordDelivery writes one outcome: a channel, a status and the time,
// never the recipient or the words. A failure to write it is logged, not
// returned: the message has gone (or is given up on) either way, and an
// error would make River send it again.
func (n *Notifier) recordDelivery(ctx context.Context, ch Channel, status string) {
	err := n.db.WithContext(context.WithoutCancel(ctx)).
		Exec(`INSERT INTO notify_deliveries (channel, status, at) VALUES (?, ?, ?)`, string(ch), status, n.clock.Now()).Error
	if err != nil {
		n.log.Error("notify: delivery not recorded", slog.String("channel", string(ch)), slog.String("status", status),
			slog.Any("error", err))
	}
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
