package app

import "fmt"

// observe points the metrics (when on: METRICS_ADDR) at the database's
// pools, the job queue's table and the live hub's streams. The request
// middleware is added by useMiddleware; features count their own events
// (auth, notify).
func (a *App) observe(d Deps) error {
	if d.Metrics == nil {
		return nil
	}
	sqlDB, err := d.DB.Gorm.DB()
	if err != nil {
		return fmt.Errorf("app: metrics: %w", err)
	}
	if err := d.Metrics.WatchDB(d.DB.Pool, sqlDB); err != nil {
		return err
	}
	return d.Metrics.WatchStreams(a.Hub)
}
