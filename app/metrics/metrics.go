// Package metrics counts what an operator watches (requests, the job
// queue, live streams, messages sent, sign-ins, the database pool) in
// Prometheus's format, served on a listener of its own (METRICS_ADDR).
//
// Invariants:
//   - Metrics are served only by Server, on its own listener; the public
//     app has no /metrics route (a request for it is the app's 404).
//   - Security: no label carries an id, an email address, a phone number, a
//     name or a raw URL. A request is labelled by its route's name (or its
//     pattern, "/records/:record<int>", never the path asked for) and
//     everything else by a small fixed set of values (channel, method,
//     outcome, job kind and state), so the series stay few and nothing
//     personal reaches Prometheus.
//   - Each app has its own registry (New), never the process's global
//     one, so two apps in one process (tests) do not clash.
//   - A nil *Metrics is off: every method does nothing, and the app adds
//     no middleware, so a portal without METRICS_ADDR pays nothing.
//   - Per request the middleware does one map lookup (under a read lock),
//     a counter's and a histogram's atomic updates, and allocates nothing
//     once its series exists (about 0.2 µs: BenchmarkMiddleware).
package metrics

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every family of the portal's own.
const Namespace = "portal"

// The values of the sign-in outcome label.
const (
	SignInSuccess = "success" // the step passed (password: AAL1; any other way: signed in, AAL2)
	SignInFailed  = "failed"  // a wrong password, code or passkey
	SignInLocked  = "locked"  // refused because the email is locked, or locked by this failure
	SignInLimited = "limited" // refused by a rate limit before any check
	SignInBusy    = "busy"    // refused because every password check slot was taken
)

// The values of the failed-message reason label.
const (
	NotifyProvider = "provider" // the gateway refused or did not answer; River retries
	NotifyExpired  = "expired"  // a text or call not sent while its code could be used; never sent
)

// Metrics holds the portal's registry and the collectors features report to.
type Metrics struct {
	// Registry holds every family; Server serves it.
	Registry *prometheus.Registry

	http        *httpMetrics
	notifySent  *prometheus.CounterVec
	notifyFail  *prometheus.CounterVec
	signIns     *prometheus.CounterVec
	jobAttempts *prometheus.CounterVec
}

// New returns the metrics of one app: a registry of its own with the Go
// runtime's and the process's collectors and the portal's families.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{Registry: reg, http: newHTTPMetrics()}
	m.notifySent = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "notify_sent_total",
		Help: "Emails, texts and calls the provider accepted, by channel (email, sms, voice)."}, []string{"channel"})
	m.notifyFail = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "notify_failed_total",
		Help: "Emails, texts and calls not delivered, by channel and reason: provider (an attempt the gateway refused; retried) or expired (a text or call too old to send)."},
		[]string{"channel", "reason"})
	m.signIns = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "sign_ins_total",
		Help: "Sign-in steps by method (password, text, call, app, recovery, passkey) and outcome (success, failed, locked, limited, busy)."},
		[]string{"method", "outcome"})
	m.jobAttempts = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "job_attempts_total",
		Help: "Job attempts worked by this machine, by kind and outcome (completed, failed, cancelled, snoozed)."},
		[]string{"kind", "outcome"})
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.http.requests, m.http.duration, m.notifySent, m.notifyFail, m.signIns, m.jobAttempts,
	)
	return m
}

// WatchDB adds the database pools at scrape time: pool, the pgx pool every
// query goes through (portal_db_pool_*), and sqlDB, GORM's database/sql
// face over it (go_sql_*, db_name "portal"), and the job queue's rows by
// kind and state (portal_jobs). Call it once per Metrics.
func (m *Metrics) WatchDB(pool *pgxpool.Pool, sqlDB *sql.DB) error {
	if m == nil {
		return nil
	}
	if pool == nil || sqlDB == nil {
		return errors.New("metrics: WatchDB needs the pool and the sql.DB")
	}
	for _, c := range []prometheus.Collector{newPoolCollector(pool), collectors.NewDBStatsCollector(sqlDB, "portal"), newJobsCollector(pool)} {
		if err := m.Registry.Register(c); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	return nil
}

// StreamCounter is what knows how many live streams are open (live.Hub).
type StreamCounter interface{ OpenStreams() int }

// WatchStreams reports hub's open live streams (portal_live_streams_open),
// read at scrape time. Call it once per Metrics.
func (m *Metrics) WatchStreams(hub StreamCounter) error {
	if m == nil {
		return nil
	}
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: "live_streams_open",
		Help: "Live streams (server-sent events) open on this machine."}, func() float64 { return float64(hub.OpenStreams()) })
	if err := m.Registry.Register(g); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// Notified counts a message handed to its provider: sent when err is nil,
// failed (reason provider) otherwise. channel is notify's Channel.
func (m *Metrics) Notified(channel string, err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.notifyFail.WithLabelValues(channel, NotifyProvider).Inc()
		return
	}
	m.notifySent.WithLabelValues(channel).Inc()
}

// NotifyFailed counts a message not delivered for reason (NotifyExpired),
// without a provider's attempt.
func (m *Metrics) NotifyFailed(channel, reason string) {
	if m == nil {
		return
	}
	m.notifyFail.WithLabelValues(channel, reason).Inc()
}

// SignIn counts a sign-in step by its method and outcome (SignInSuccess…).
// Security: only these two labels, never who.
func (m *Metrics) SignIn(method, outcome string) {
	if m == nil {
		return
	}
	m.signIns.WithLabelValues(method, outcome).Inc()
}
