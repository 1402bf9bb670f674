// Package jobs runs the portal's scheduled work: clean-up of expired rows,
// notices that access to a record is ending, the retention of unused
// accounts, and the sweep of objects no row names. Each is a River periodic job on the maintenance queue of the
// portal's one River client (app/queue).
//
// Invariants:
//   - Jobs only notify and clean up. Every expiry (sessions, codes, calls,
//     invitations, grants) is enforced by the query that grants access, so
//     a job that is late, or down, never lets anyone in.
//   - Every step is idempotent and safe on two machines at once: a row is
//     claimed by one conditional statement (UPDATE … WHERE end_notice_sent_at
//     IS NULL, DELETE … WHERE the rule still holds) in the transaction that
//     queues its email or writes its audit event, so it is acted on once.
//     River's leader alone enqueues periodic jobs; this does not rely on it.
//   - Emails name nobody: a notice says that access to "one of the records"
//     ends, never which, whose or when (the date is in the account), and
//     carries only a link to a page of the portal.
//   - Nothing personal goes into a log line, a job's error or the audit
//     trail: people are "person:<id>", counts are numbers.
//   - The jobs are scheduled only by Start and unscheduled by Stop: a
//     client started for notify's messages alone runs none of them.
//   - Time comes from the injected clock.Clock, so tests move it.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"gorm.io/gorm"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/attachments"
	"portal/app/audit"
	"portal/app/auth"
	"portal/app/clock"
	"portal/app/db"
	"portal/app/documents"
	"portal/app/export"
	"portal/app/idempotency"
	"portal/app/notify"
	"portal/app/queue"
	"portal/app/ratelimit"
	"portal/app/web"
	"portal/storage"
)

// Queue is the River queue the scheduled jobs go to.
const Queue = "maintenance"

// The kinds of the scheduled jobs, as river_job names them.
const (
	KindCleanup         = "jobs.cleanup"
	KindGrantEndNotices = "jobs.grant_end_notices"
	KindRetention       = "jobs.retention"
	KindStorageSweep    = "jobs.storage_sweep"
)

// How often each runs.
const (
	CleanupInterval         = time.Hour
	GrantEndNoticesInterval = time.Hour
	RetentionInterval       = 24 * time.Hour
	StorageSweepInterval    = 24 * time.Hour
)

// workTimeout bounds one run of a job; a hung run is cancelled, its open
// transaction rolls back, and the next run picks up where it stopped.
const workTimeout = 10 * time.Minute

// maxAttempts is low because the next scheduled run is at most a day away:
// a run that keeps failing should not pile up retries behind it.
const maxAttempts = 3

// Options are what New needs: all but Clock and Log.
type Options struct {
	DB          *db.DB       // GORM for the jobs' queries
	Queue       *queue.Queue // the one River client; New adds the maintenance queue
	Notifier    *notify.Notifier
	Audit       *audit.Log
	Sessions    *web.Sessions
	Limiter     *ratelimit.Limiter
	Codes       *auth.Codes
	Calls       *auth.Calls
	Idempotency *idempotency.Store // its old keys go with the clean-up
	Exports     *export.Store      // "Download my data" files past export.Keep go with it too
	Objects     storage.Store      // the object store the sweep walks
	Clock       clock.Clock        // default the wall clock
	Log         *slog.Logger
}

// Schedule is one periodic job: its kind and how often it runs.
type Schedule struct {
	Kind     string
	Interval time.Duration
}

// Runner holds the scheduled jobs and the River client that runs them.
// Its Cleanup, SendGrantEndNotices, Retention and Sweep methods are the
// jobs' work; tests call them directly.
type Runner struct {
	access    *access.Store   // whose grants are owed an access-ending notice
	people    *accounts.Store // whose accounts are unused (Retention)
	db        *gorm.DB
	notifier  *notify.Notifier
	audit     *audit.Log
	sessions  *web.Sessions
	limiter   *ratelimit.Limiter
	codes     *auth.Codes
	calls     *auth.Calls
	idem      *idempotency.Store
	exports   *export.Store
	objects   storage.Store
	owners    []owner // who names the objects under each prefix (Sweep)
	clock     clock.Clock
	log       *slog.Logger
	queue     *queue.Queue
	periodic  []*river.PeriodicJob
	schedules []Schedule

	mu        sync.Mutex // guards scheduled
	scheduled []rivertype.PeriodicJobHandle
}

// New builds the runner and adds the maintenance queue and its workers to
// o.Queue; nothing is scheduled until Start.
func New(o Options) (*Runner, error) {
	if o.DB == nil || o.Queue == nil || o.Notifier == nil || o.Audit == nil || o.Sessions == nil ||
		o.Limiter == nil || o.Codes == nil || o.Calls == nil || o.Idempotency == nil || o.Exports == nil || o.Objects == nil {
		return nil, errors.New("jobs: Options need DB, Queue, Notifier, Audit, Sessions, Limiter, Codes, Calls, Idempotency, Exports and Objects")
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	r := &Runner{db: o.DB.Gorm, access: access.NewStore(o.DB.Gorm, o.Clock), people: accounts.NewStore(o.DB.Gorm), notifier: o.Notifier, audit: o.Audit, sessions: o.Sessions, limiter: o.Limiter,
		codes: o.Codes, calls: o.Calls, idem: o.Idempotency, exports: o.Exports, objects: o.Objects, clock: o.Clock, log: o.Log, queue: o.Queue}
	r.owners = []owner{
		{documents.Prefix, documents.NewStore(o.DB.Gorm, o.Clock).Referenced},
		{attachments.Prefix, attachments.NewStore(o.DB.Gorm, o.Objects, o.Clock).Referenced},
		{export.Prefix, o.Exports.Referenced},
	}

	var adds []func(*river.Workers) error
	limit := o.Queue.Timeout(workTimeout)
	for _, j := range []struct {
		add      func(*river.Workers) error
		args     river.JobArgs
		interval time.Duration
	}{
		{addWorker[cleanupArgs](r.cleanupRun, limit), cleanupArgs{}, CleanupInterval},
		{addWorker[grantEndNoticesArgs](r.noticesRun, limit), grantEndNoticesArgs{}, GrantEndNoticesInterval},
		{addWorker[retentionArgs](r.retentionRun, limit), retentionArgs{}, RetentionInterval},
		{addWorker[storageSweepArgs](r.sweepRun, limit), storageSweepArgs{}, StorageSweepInterval},
	} {
		adds = append(adds, j.add)
		args, interval := j.args, j.interval
		r.periodic = append(r.periodic, river.NewPeriodicJob(river.PeriodicInterval(interval),
			func() (river.JobArgs, *river.InsertOpts) {
				// One run per period even if leadership moves or machines
				// restart (RunOnStart would otherwise run it at every start).
				return args, &river.InsertOpts{Queue: Queue, MaxAttempts: maxAttempts,
					UniqueOpts: river.UniqueOpts{ByPeriod: interval}}
			},
			// RunOnStart: the scheduler's timers live in memory, so a daily
			// job on machines that restart more often than daily would
			// otherwise never run.
			&river.PeriodicJobOpts{ID: args.Kind(), RunOnStart: true}))
		r.schedules = append(r.schedules, Schedule{Kind: args.Kind(), Interval: interval})
	}

	err := o.Queue.Add(Queue, 2, func(ws *river.Workers) error {
		for _, add := range adds {
			if err := add(ws); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return r, nil
}

// Schedules lists the periodic jobs registered on the client, in order.
func (r *Runner) Schedules() []Schedule { return append([]Schedule(nil), r.schedules...) }

// Start schedules the jobs on the queue, starting it if need be, until
// Stop. Calling it again does nothing.
func (r *Runner) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.scheduled != nil {
		return nil
	}
	if err := r.queue.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	handles, err := r.queue.Schedule(r.periodic)
	if err != nil {
		return fmt.Errorf("jobs: schedule: %w", err)
	}
	r.scheduled = handles
	return nil
}

// Stop unschedules the jobs; a run in hand finishes when the queue stops.
// A job cut short is safe: every step is its own transaction.
func (r *Runner) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queue.Unschedule(r.scheduled)
	r.scheduled = nil
}

// The jobs' arguments: none; each run looks at the database as it is.
type (
	cleanupArgs         struct{}
	grantEndNoticesArgs struct{}
	retentionArgs       struct{}
	storageSweepArgs    struct{}
)

// Kind names the clean-up job in river_job.
func (cleanupArgs) Kind() string { return KindCleanup }

// Kind names the grant end notices job in river_job.
func (grantEndNoticesArgs) Kind() string { return KindGrantEndNotices }

// Kind names the retention job in river_job.
func (retentionArgs) Kind() string { return KindRetention }

// Kind names the storage sweep in river_job.
func (storageSweepArgs) Kind() string { return KindStorageSweep }

// InsertOpts keeps the job on the maintenance queue.
func (storageSweepArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// InsertOpts keeps the job on the maintenance queue.
func (cleanupArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// InsertOpts keeps the job on the maintenance queue.
func (grantEndNoticesArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// InsertOpts keeps the job on the maintenance queue.
func (retentionArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// worker runs one kind of job: run does the work and logs what it did.
type worker[A river.JobArgs] struct {
	river.WorkerDefaults[A]
	run   func(context.Context) error
	limit time.Duration
}

// Timeout bounds one run.
func (w *worker[A]) Timeout(*river.Job[A]) time.Duration { return w.limit }

// Work runs the job. An error makes River retry it (maxAttempts); every
// step being idempotent, a retry redoes only what is left.
func (w *worker[A]) Work(ctx context.Context, _ *river.Job[A]) error { return w.run(ctx) }

// addWorker returns a registration of run as the worker for kind A.
func addWorker[A river.JobArgs](run func(context.Context) error, limit time.Duration) func(*river.Workers) error {
	return func(ws *river.Workers) error { return river.AddWorkerSafely[A](ws, &worker[A]{run: run, limit: limit}) }
}

// The runs log what the work did, in counts only.
func (r *Runner) cleanupRun(ctx context.Context) error {
	res, err := r.Cleanup(ctx)
	if err != nil {
		return err
	}
	r.log.InfoContext(ctx, "jobs: clean-up done", "sessions", res.Sessions, "otp_rows", res.OneTimeCodes, "idempotency_keys", res.IdempotencyKeys,
		"call_rows", res.PhoneCalls, "exports", res.Exports, "deliveries", res.Deliveries)
	return nil
}

func (r *Runner) noticesRun(ctx context.Context) error {
	n, err := r.SendGrantEndNotices(ctx)
	if err != nil {
		return err
	}
	r.log.InfoContext(ctx, "jobs: access-ending notices done", "sent", n)
	return nil
}

func (r *Runner) retentionRun(ctx context.Context) error {
	res, err := r.Retention(ctx)
	if err != nil {
		return err
	}
	r.log.InfoContext(ctx, "jobs: retention done", "unwarned", res.Unwarned, "warned", res.Warned, "deleted", res.Deleted)
	return nil
}

// batch is how many rows a job claims per round trip; each is still acted
// on in its own transaction.
const batch = 200

// eachID calls do for the ids that next lists, in batches after the last
// id seen, so a row that keeps failing cannot hold a run in a loop.
func eachID(ctx context.Context, next func(after int64) ([]int64, error), do func(id int64) error) error {
	var after int64
	for {
		ids, err := next(after)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := do(id); err != nil {
				return err
			}
			after = id
		}
		if len(ids) < batch {
			return nil
		}
	}
}
