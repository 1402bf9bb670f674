package metrics

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// scrapeTimeout bounds the job queue's query at a scrape.
const scrapeTimeout = 5 * time.Second

// jobsCollector counts river_job's rows by kind and state at each scrape,
// in one grouped query. The table is shared: every machine reports the
// same numbers (the dashboard takes their max, not their sum).
type jobsCollector struct {
	pool *pgxpool.Pool
	desc *prometheus.Desc
}

func newJobsCollector(pool *pgxpool.Pool) *jobsCollector {
	return &jobsCollector{pool: pool, desc: prometheus.NewDesc(Namespace+"_jobs",
		"Jobs in the queue (river_job) by kind and state (available, scheduled, running, retryable, completed, cancelled, discarded, pending); shared by every machine.",
		[]string{"kind", "state"}, nil)}
}

func (j *jobsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- j.desc }

func (j *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	counts, err := j.count()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(j.desc, err)
		return
	}
	// Every state of every kind seen, zeros too, so that a rule such as
	// portal_jobs{state="retryable"} > 0 has a series to compare.
	for kind, states := range counts {
		for _, st := range rivertype.JobStates() {
			ch <- prometheus.MustNewConstMetric(j.desc, prometheus.GaugeValue, float64(states[string(st)]), kind, string(st))
		}
	}
}

// count reads the queue's rows: kind → state → rows.
func (j *jobsCollector) count() (map[string]map[string]int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	rows, err := j.pool.Query(ctx, `SELECT kind, state::text, count(*) FROM river_job GROUP BY kind, state`)
	if err != nil {
		return nil, fmt.Errorf("metrics: jobs: %w", err)
	}
	counts := map[string]map[string]int64{}
	var kind, state string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&kind, &state, &n}, func() error {
		if counts[kind] == nil {
			counts[kind] = map[string]int64{}
		}
		counts[kind][state] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("metrics: jobs: %w", err)
	}
	return counts, nil
}

// poolCollector reports the pgx pool every query goes through (GORM's
// database/sql face borrows its connections).
type poolCollector struct {
	pool                                          *pgxpool.Pool
	acquired, idle, total, max, constructing      *prometheus.Desc
	acquires, waited, waitSeconds, canceled, made *prometheus.Desc
}

func newPoolCollector(pool *pgxpool.Pool) *poolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(Namespace+"_db_pool_"+name, help, nil, nil)
	}
	return &poolCollector{pool: pool,
		acquired:     d("acquired_conns", "Connections in use."),
		idle:         d("idle_conns", "Connections idle in the pool."),
		total:        d("total_conns", "Connections open (in use, idle and being made)."),
		max:          d("max_conns", "Most connections the pool opens."),
		constructing: d("constructing_conns", "Connections being opened."),
		acquires:     d("acquires_total", "Connections taken from the pool."),
		waited:       d("empty_acquires_total", "Takes that waited because no connection was idle."),
		waitSeconds:  d("acquire_seconds_total", "Time spent taking connections, waits included."),
		canceled:     d("canceled_acquires_total", "Takes given up (the request's context ended first)."),
		made:         d("new_conns_total", "Connections opened."),
	}
}

func (p *poolCollector) descs() []*prometheus.Desc {
	return []*prometheus.Desc{p.acquired, p.idle, p.total, p.max, p.constructing, p.acquires, p.waited, p.waitSeconds, p.canceled, p.made}
}

func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range p.descs() {
		ch <- d
	}
}

func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := p.pool.Stat()
	gauge := func(d *prometheus.Desc, v int32) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(p.acquired, s.AcquiredConns())
	gauge(p.idle, s.IdleConns())
	gauge(p.total, s.TotalConns())
	gauge(p.max, s.MaxConns())
	gauge(p.constructing, s.ConstructingConns())
	counter(p.acquires, float64(s.AcquireCount()))
	counter(p.waited, float64(s.EmptyAcquireCount()))
	counter(p.waitSeconds, s.AcquireDuration().Seconds())
	counter(p.canceled, float64(s.CanceledAcquireCount()))
	counter(p.made, float64(s.NewConnsCount()))
}

// The values of the job attempt outcome label.
const (
	JobCompleted = "completed"
	JobFailed    = "failed"    // an error: River retries, or discards after the last attempt
	JobCancelled = "cancelled" // river.JobCancel: never retried
	JobSnoozed   = "snoozed"
)

// jobMiddleware counts each job attempt by kind and outcome.
type jobMiddleware struct {
	river.MiddlewareDefaults
	attempts *prometheus.CounterVec
}

// Work counts the attempt once the worker returns (or panics: River turns
// a panic into a failed attempt).
func (j *jobMiddleware) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			j.attempts.WithLabelValues(job.Kind, JobFailed).Inc()
			panic(r)
		}
		j.attempts.WithLabelValues(job.Kind, jobOutcome(err)).Inc()
	}()
	return doInner(ctx)
}

func jobOutcome(err error) string {
	var snooze *rivertype.JobSnoozeError
	var cancel *rivertype.JobCancelError
	switch {
	case err == nil:
		return JobCompleted
	case errors.As(err, &snooze):
		return JobSnoozed
	case errors.As(err, &cancel):
		return JobCancelled
	}
	return JobFailed
}

// JobMiddleware is the queue's middleware (queue.Options.Middleware) that
// counts job attempts (portal_job_attempts_total); none when m is nil.
func (m *Metrics) JobMiddleware() []rivertype.Middleware {
	if m == nil {
		return nil
	}
	return []rivertype.Middleware{&jobMiddleware{attempts: m.jobAttempts}}
}
