package jobs

import (
	"context"
	"fmt"
	"time"
)

// KeepExpired is how long expired rate-limit windows, codes and calls stay
// before the clean-up deletes them. It is at least the longest rate-limit
// window (a day), so no window still counting is deleted.
const KeepExpired = 24 * time.Hour

// KeepDeliveries is how long the record of each message sent or given up
// on stays (the admins' overview shows at most 90 days; a year and a bit
// lets a council compare with the same month last year).
const KeepDeliveries = 400 * 24 * time.Hour

// CleanupResult counts what one clean-up deleted (rate-limit windows are
// not counted).
type CleanupResult struct {
	Sessions        int64
	OneTimeCodes    int64
	PhoneCalls      int64
	IdempotencyKeys int64
	Exports         int   // "Download my data" files deleted after export.Keep
	Deliveries      int64 // records of messages sent, after KeepDeliveries
}

// Cleanup deletes expired sessions, and rate-limit windows, one-time codes
// and phone calls that ended more than KeepExpired ago, the exports past
// their time and the records of deliveries past KeepDeliveries. Nothing depends on
// it having run: each store checks expiry when it reads.
func (r *Runner) Cleanup(ctx context.Context) (CleanupResult, error) {
	var res CleanupResult
	var err error
	if res.Sessions, err = r.sessions.DeleteExpired(ctx); err != nil {
		return res, fmt.Errorf("jobs: cleanup: sessions: %w", err)
	}
	if err = r.limiter.Cleanup(ctx, KeepExpired); err != nil {
		return res, fmt.Errorf("jobs: cleanup: rate limits: %w", err)
	}
	if res.OneTimeCodes, err = r.codes.DeleteExpired(ctx, KeepExpired); err != nil {
		return res, fmt.Errorf("jobs: cleanup: %w", err)
	}
	if res.PhoneCalls, err = r.calls.DeleteExpired(ctx, KeepExpired); err != nil {
		return res, fmt.Errorf("jobs: cleanup: %w", err)
	}
	if res.IdempotencyKeys, err = r.idem.DeleteOld(ctx); err != nil {
		return res, fmt.Errorf("jobs: cleanup: idempotency keys: %w", err)
	}
	if res.Exports, err = r.exports.DeleteExpired(ctx); err != nil {
		return res, fmt.Errorf("jobs: cleanup: %w", err)
	}
	if res.Deliveries, err = r.notifier.DeleteDeliveriesBefore(ctx, r.clock.Now().Add(-KeepDeliveries)); err != nil {
		return res, fmt.Errorf("jobs: cleanup: %w", err)
	}
	return res, nil
}
