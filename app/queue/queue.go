// Package queue is the portal's one River client. notify's messages and
// the scheduled jobs are two queues on it, with one schema, one leader and
// one start and stop.
//
// Invariants:
//   - A feature adds its queue and workers (Add) while it is built, before
//     anything uses the client; the client is made from all of them the
//     first time it is needed (Insert, Start, Drain), and adding after that
//     is an error. So the client knows every kind it can be asked to
//     work: River's leader discards stuck jobs of a kind it has no worker
//     for, which is why two clients once needed two schemas.
//   - Periodic jobs are scheduled on a started client (Schedule) and
//     removed with their handles: a client started only to work messages
//     (Drain, in tests) runs no scheduled work.
//   - Outside production the client polls promptly (100 ms): a developer,
//     or a test, waits on the outbox.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"portal/app/config"
	"portal/app/db"
)

// Options are what New needs; DB is required.
type Options struct {
	Config config.Config // APP_ENV: test mode, polling
	DB     *db.DB
	Log    *slog.Logger
	// RetryPolicy replaces River's backoff (attempt⁴ seconds, jittered);
	// tests use a short one so a retry does not take seconds.
	RetryPolicy river.ClientRetryPolicy
	// Middleware wraps every job's work (app/metrics counts attempts).
	Middleware []rivertype.Middleware
}

// Queue holds the River client, made on first use from what was added.
type Queue struct {
	o       Options
	queues  map[string]river.QueueConfig
	workers *river.Workers

	mu      sync.Mutex // guards client and started; serialises Start, Stop and Drain
	client  *river.Client[pgx.Tx]
	started bool
}

// New returns an empty queue; features Add to it.
func New(o Options) (*Queue, error) {
	if o.DB == nil || o.DB.Pool == nil {
		return nil, errors.New("queue: Options need DB")
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Queue{o: o, queues: map[string]river.QueueConfig{}, workers: river.NewWorkers()}, nil
}

// Add registers a queue worked by at most maxWorkers jobs at once, and its
// workers (register adds them with river.AddWorkerSafely).
func (q *Queue) Add(name string, maxWorkers int, register func(*river.Workers) error) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.client != nil {
		return fmt.Errorf("queue: %s added after the client was made", name)
	}
	if _, ok := q.queues[name]; ok {
		return fmt.Errorf("queue: %s added twice", name)
	}
	q.queues[name] = river.QueueConfig{MaxWorkers: maxWorkers}
	return register(q.workers)
}

// Client returns the River client, making it the first time.
func (q *Queue) Client() (*river.Client[pgx.Tx], error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.clientLocked()
}

func (q *Queue) clientLocked() (*river.Client[pgx.Tx], error) {
	if q.client != nil {
		return q.client, nil
	}
	rc := &river.Config{
		Queues:      q.queues,
		Workers:     q.workers,
		Logger:      q.o.Log,
		RetryPolicy: q.o.RetryPolicy,
		Middleware:  q.o.Middleware,
		// A queued message is sealed, but there is no reason to keep it long.
		CompletedJobRetentionPeriod: time.Hour,
		TestOnly:                    q.o.Config.Env == config.Test,
		// A job held by a machine that stopped (killed mid-job) stays
		// "running" until the leader's rescuer, on any machine, finds it
		// running longer than this and its own time limit, and runs it
		// again. Every limit is kept below it (Timeout), so a job still
		// running on a live machine is never run twice.
		RescueStuckJobsAfter: q.o.Config.JobRescueAfter,
		JobTimeout:           q.Timeout(river.JobTimeoutDefault),
	}
	if !q.o.Config.IsProduction() {
		// In production River's defaults keep many machines from polling hard.
		rc.FetchPollInterval = 100 * time.Millisecond
		rc.FetchCooldown = 10 * time.Millisecond
	}
	c, err := river.NewClient(riverpgxv5.New(q.o.DB.Pool), rc)
	if err != nil {
		return nil, fmt.Errorf("queue: client: %w", err)
	}
	q.client = c
	return c, nil
}

// Timeout is a job's time limit: d, or half of JOB_RESCUE_AFTER when that
// is shorter, so no job may still run when the rescuer takes it for lost.
// Every worker's Timeout goes through it.
func (q *Queue) Timeout(d time.Duration) time.Duration {
	if rescue := q.o.Config.JobRescueAfter; rescue > 0 && rescue/2 < d {
		return rescue / 2
	}
	return d
}

// Insert queues one job.
func (q *Queue) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	c, err := q.Client()
	if err != nil {
		return err
	}
	_, err = c.Insert(ctx, args, opts)
	return err
}

// Start begins working every queue, until Stop. Calling it again does
// nothing.
func (q *Queue) Start(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.startLocked(ctx)
}

func (q *Queue) startLocked(ctx context.Context) error {
	if q.started {
		return nil
	}
	c, err := q.clientLocked()
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return fmt.Errorf("queue: start: %w", err)
	}
	q.started = true
	return nil
}

// Stop finishes the jobs in hand and stops working; queued jobs wait in
// Postgres for the next start (of this or any machine).
func (q *Queue) Stop(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.stopLocked(ctx)
}

func (q *Queue) stopLocked(ctx context.Context) error {
	if !q.started {
		return nil
	}
	q.started = false
	if err := q.client.Stop(ctx); err != nil {
		return fmt.Errorf("queue: stop: %w", err)
	}
	return nil
}

// Schedule adds periodic jobs to the started client (only the leader
// enqueues them); Unschedule removes them by the handles it returns.
func (q *Queue) Schedule(jobs []*river.PeriodicJob) ([]rivertype.PeriodicJobHandle, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.started {
		return nil, errors.New("queue: Schedule needs a started client")
	}
	return q.client.PeriodicJobs().AddManySafely(jobs)
}

// Unschedule removes periodic jobs Schedule added.
func (q *Queue) Unschedule(handles []rivertype.PeriodicJobHandle) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.client != nil {
		q.client.PeriodicJobs().RemoveMany(handles)
	}
}

// DrainTimeout bounds Drain when its context has no deadline.
const DrainTimeout = 30 * time.Second

// Drain is for tests: it returns once every job of the named queue has
// been worked. It works through the real queue: if the client is not
// started, Drain starts it and stops it again before returning (no
// periodic job runs: none is scheduled). It does not wait out a retry's
// backoff; a job that failed and waits for a retry, or was given up, makes
// Drain return an error with the job's last error.
func (q *Queue) Drain(ctx context.Context, name string) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DrainTimeout)
		defer cancel()
	}
	q.mu.Lock()
	if !q.started {
		// Hold the lock so an app's Start cannot interleave with our stop.
		defer q.mu.Unlock()
		if err := q.startLocked(context.WithoutCancel(ctx)); err != nil {
			return err
		}
		defer func() { _ = q.stopLocked(context.WithoutCancel(ctx)) }()
	} else {
		q.mu.Unlock()
	}
	pending := river.NewJobListParams().Queues(name).First(1).
		States(rivertype.JobStateAvailable, rivertype.JobStateRunning, rivertype.JobStatePending)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		res, err := q.client.JobList(ctx, pending)
		if err != nil {
			return fmt.Errorf("queue: drain: %w", err)
		}
		if len(res.Jobs) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("queue: drain: %w", ctx.Err())
		case <-tick.C:
		}
	}
	failed, err := q.client.JobList(ctx, river.NewJobListParams().Queues(name).First(100).
		States(rivertype.JobStateRetryable, rivertype.JobStateDiscarded, rivertype.JobStateCancelled))
	if err != nil {
		return fmt.Errorf("queue: drain: %w", err)
	}
	if len(failed.Jobs) > 0 {
		last := ""
		if errs := failed.Jobs[0].Errors; len(errs) > 0 {
			last = errs[len(errs)-1].Error
		}
		return fmt.Errorf("queue: %d job(s) of %s not done; last error: %s", len(failed.Jobs), name, last)
	}
	return nil
}
