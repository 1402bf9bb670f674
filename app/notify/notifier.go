package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"gorm.io/gorm"

	"portal/app/clock"
	"portal/app/config"
	"portal/app/db"
	"portal/app/i18n"
	"portal/app/seal"
)

// Queue is the River queue notify's client works. It is notify's alone: a
// River client fails jobs whose kind it has no worker for, so another
// feature's jobs must go to another queue.
const Queue = "notify"

// sealPurpose binds a sealed job payload to this use.
const sealPurpose = "notify.job"

// Options are what New needs. Config, DB and Bundle are required.
type Options struct {
	Config config.Config // APP_ENV, BASE_URL, *_PROVIDER, SMTP_*, NOTIFY_*, TWILIO_*, ENCRYPTION_KEYS
	DB     *db.DB        // the pgx pool for River, GORM for the outbox
	Bundle *i18n.Bundle
	Log    *slog.Logger
	Clock  clock.Clock // stamps outbox rows; default the wall clock
	// Provider replaces the one ProviderFor would choose from Config
	// (tests use a provider that fails on purpose).
	Provider Provider
	// RetryPolicy replaces River's backoff (attempt⁴ seconds, jittered);
	// tests use a short one so a retry does not take seconds.
	RetryPolicy river.ClientRetryPolicy
	// Workers is how many messages go out at once; default 10. Tests use
	// one, so the outbox holds messages in the order they were queued and
	// "the newest" is always the same one.
	Workers int
}

// Notifier queues messages and, once started, works the queue: each job is
// rendered and handed to the provider, and retried until it goes through.
type Notifier struct {
	render   renderer
	provider Provider
	sealer   *seal.Sealer
	client   *river.Client[pgx.Tx]
	log      *slog.Logger

	mu      sync.Mutex // guards started and serialises Start, Stop and Drain
	started bool
}

// New builds the notifier and its River client; nothing runs until Start.
func New(ctx context.Context, o Options) (*Notifier, error) {
	if o.DB == nil || o.DB.Pool == nil || o.Bundle == nil {
		return nil, errors.New("notify: Options need DB and Bundle")
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	sealer, err := seal.New(o.Config.EncryptionKey)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	provider := o.Provider
	if provider == nil {
		if provider, err = ProviderFor(o.Config, o.DB.Gorm, o.Clock, o.Bundle); err != nil {
			return nil, err
		}
	}
	n := &Notifier{
		render: renderer{bundle: o.Bundle, baseURL: strings.TrimRight(o.Config.BaseURL, "/"),
			service: map[string]string{"en": o.Config.ServiceName, "cy": o.Config.ServiceNameCy}},
		provider: provider,
		sealer:   sealer,
		log:      o.Log,
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &sendWorker{n: n}); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	if o.Workers == 0 {
		o.Workers = 10
	}
	rc := &river.Config{
		Queues:      map[string]river.QueueConfig{Queue: {MaxWorkers: o.Workers}},
		Workers:     workers,
		Logger:      o.Log,
		RetryPolicy: o.RetryPolicy,
		// A queued message is sealed, but there is no reason to keep it long.
		CompletedJobRetentionPeriod: time.Hour,
		TestOnly:                    o.Config.Env == config.Test,
	}
	if !o.Config.IsProduction() {
		// A developer (or a test) waits on the outbox: fetch promptly. In
		// production River's defaults keep many machines from polling hard.
		rc.FetchPollInterval = 100 * time.Millisecond
		rc.FetchCooldown = 10 * time.Millisecond
	}
	n.client, err = river.NewClient(riverpgxv5.New(o.DB.Pool), rc)
	if err != nil {
		return nil, fmt.Errorf("notify: queue client: %w", err)
	}
	return n, nil
}

// Render checks m and returns it in its final words, as the queue will send
// it. Send calls it first, so a bad message fails in the caller.
func (n *Notifier) Render(m Message) (Rendered, error) { return n.render.render(m) }

// Send queues m for delivery and returns once the job is committed in
// Postgres; the provider is called later, by the worker, with retries.
//
// tx is the caller's transaction, or nil. The job is not inserted inside it:
// GORM's transaction is a database/sql *sql.Tx, River's pgx driver needs a
// pgx.Tx, and River's database/sql driver (riverdatabasesql v0.51.1) is not
// available from our module proxy. So the job is committed on its own
// connection before Send returns. That choice loses nothing: if the insert
// fails, Send fails and the caller rolls back; if it succeeds, the message
// is durable whatever happens next. The cost is that a caller that rolls
// back after Send has sent a message anyway (a code for a challenge that
// does not exist, which simply will not work), so callers call Send as the
// last step of their transaction. The parameter stays so that the insert
// can join the transaction later without touching any caller.
func (n *Notifier) Send(ctx context.Context, tx *gorm.DB, m Message) error {
	_ = tx
	if _, err := n.Render(m); err != nil {
		return err
	}
	payload, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("notify: encode: %w", err)
	}
	// Security: the recipient and the code sit in river_job until cleaned
	// up; sealed, a copy of the table reveals neither.
	sealed, err := n.sealer.Seal(sealPurpose, payload)
	if err != nil {
		return fmt.Errorf("notify: seal: %w", err)
	}
	if _, err := n.client.Insert(ctx, sendArgs{Sealed: sealed}, insertOpts(m.Channel)); err != nil {
		return fmt.Errorf("notify: queue: %w", err)
	}
	return nil
}

// Start begins working the queue, until Stop. Calling it again does nothing.
func (n *Notifier) Start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.client.Start(ctx); err != nil {
		return fmt.Errorf("notify: start: %w", err)
	}
	n.started = true
	return nil
}

// Stop finishes the jobs in hand and stops working the queue; queued jobs
// wait in Postgres for the next start (of this or any machine).
func (n *Notifier) Stop(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.started {
		return nil
	}
	n.started = false
	if err := n.client.Stop(ctx); err != nil {
		return fmt.Errorf("notify: stop: %w", err)
	}
	return nil
}

// DrainTimeout bounds Drain when its context has no deadline.
const DrainTimeout = 30 * time.Second

// Drain is for tests: it returns once every queued message has been worked,
// so the test can read the outbox. It works through the real queue: if the
// notifier is not started, Drain starts it and stops it again before
// returning. It does not wait out a retry's backoff; a message that failed
// and waits for a retry, or was given up, makes Drain return an error.
func (n *Notifier) Drain(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DrainTimeout)
		defer cancel()
	}
	n.mu.Lock()
	if !n.started {
		// Hold the lock so an app's Start cannot interleave with our stop.
		defer n.mu.Unlock()
		if err := n.client.Start(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("notify: drain: start: %w", err)
		}
		defer func() { _ = n.client.Stop(context.WithoutCancel(ctx)) }()
	} else {
		n.mu.Unlock()
	}
	pending := river.NewJobListParams().Queues(Queue).First(1).
		States(rivertype.JobStateAvailable, rivertype.JobStateRunning, rivertype.JobStatePending)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		res, err := n.client.JobList(ctx, pending)
		if err != nil {
			return fmt.Errorf("notify: drain: %w", err)
		}
		if len(res.Jobs) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("notify: drain: %w", ctx.Err())
		case <-tick.C:
		}
	}
	failed, err := n.client.JobList(ctx, river.NewJobListParams().Queues(Queue).First(100).
		States(rivertype.JobStateRetryable, rivertype.JobStateDiscarded, rivertype.JobStateCancelled))
	if err != nil {
		return fmt.Errorf("notify: drain: %w", err)
	}
	if len(failed.Jobs) > 0 {
		last := ""
		if errs := failed.Jobs[0].Errors; len(errs) > 0 {
			last = errs[len(errs)-1].Error
		}
		return fmt.Errorf("notify: %d message(s) not delivered; last error: %s", len(failed.Jobs), last)
	}
	return nil
}

// Texts and calls carry one-time codes and "press # if you are signing in
// now": worth sending only while the code or call can still be used.
const (
	// PhoneMessageMaxAge is the life of a sign-in code (auth.CodeLifetime);
	// a text or call still unsent by then is cancelled, not sent late.
	PhoneMessageMaxAge = 10 * time.Minute
	phoneMaxAttempts   = 4
)

// insertOpts puts every job on notify's queue; texts and calls get few
// attempts (emails keep River's default of days of retries).
func insertOpts(ch Channel) *river.InsertOpts {
	opts := &river.InsertOpts{Queue: Queue}
	if ch != Email {
		opts.MaxAttempts = phoneMaxAttempts
	}
	return opts
}

// sendArgs is the queued job: the Message, sealed.
type sendArgs struct {
	Sealed string `json:"sealed"`
}

// Kind names the job in river_job.
func (sendArgs) Kind() string { return "notify.send" }

// InsertOpts puts the job on notify's own queue.
func (sendArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// sendWorker renders a queued message and hands it to the provider.
type sendWorker struct {
	river.WorkerDefaults[sendArgs]
	n *Notifier
}

// Timeout bounds one delivery attempt; a hung provider is retried.
func (w *sendWorker) Timeout(*river.Job[sendArgs]) time.Duration { return time.Minute }

// Work delivers one message. An error makes River retry with backoff; a
// message that can never be delivered (it cannot be opened or rendered)
// is cancelled instead of retried for weeks.
func (w *sendWorker) Work(ctx context.Context, job *river.Job[sendArgs]) error {
	plain, err := w.n.sealer.Open(sealPurpose, job.Args.Sealed)
	if err != nil {
		return river.JobCancel(err)
	}
	var m Message
	if err := json.Unmarshal(plain, &m); err != nil {
		return river.JobCancel(fmt.Errorf("notify: decode: %w", err))
	}
	if m.Channel != Email && time.Since(job.CreatedAt) > PhoneMessageMaxAge {
		// Security: a call ringing an hour later ("press # if you are signing
		// in now") could be answered for someone else's sign-in attempt.
		return river.JobCancel(errors.New("notify: a text or call older than its code is not sent"))
	}
	r, err := w.n.Render(m)
	if err != nil {
		return river.JobCancel(err)
	}
	if m.Discard {
		return nil
	}
	if err := w.n.provider.Send(ctx, r); err != nil {
		// Security: River stores and logs this text; providers tend to quote
		// the recipient back.
		msg := strings.ReplaceAll(err.Error(), r.To, "[recipient]")
		return fmt.Errorf("notify: %s not delivered: %s", r.Channel, msg)
	}
	return nil
}
