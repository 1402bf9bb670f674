package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"gorm.io/gorm"

	"portal/app/clock"
	"portal/app/config"
	"portal/app/db"
	"portal/app/i18n"
	"portal/app/metrics"
	"portal/app/queue"
	"portal/app/seal"
)

// Queue is notify's River queue on the portal's one client (app/queue).
const Queue = "notify"

// sealPurpose binds a sealed job payload to this use.
const sealPurpose = "notify.job"

// Options are what New needs. Config, DB, Queue and Bundle are required.
type Options struct {
	Config config.Config // APP_ENV, BASE_URL, *_PROVIDER, SMTP_*, NOTIFY_*, TWILIO_*, ENCRYPTION_KEYS
	DB     *db.DB        // GORM for the outbox
	Queue  *queue.Queue  // the one River client; New adds notify's queue to it
	Bundle *i18n.Bundle
	Log    *slog.Logger
	Clock  clock.Clock // stamps outbox rows; default the wall clock
	// Provider replaces the one ProviderFor would choose from Config
	// (tests use a provider that fails on purpose).
	Provider Provider
	// Workers is how many messages go out at once; default 10. Tests use
	// one, so the outbox holds messages in the order they were queued and
	// "the newest" is always the same one.
	Workers int
	// Metrics counts messages sent and failed by channel; nil counts nothing.
	Metrics *metrics.Metrics
}

// Notifier queues messages and, once started, works the queue: each job is
// rendered and handed to the provider, and retried until it goes through.
type Notifier struct {
	render   renderer
	provider Provider
	sealer   *seal.Sealer
	queue    *queue.Queue
	log      *slog.Logger
	metrics  *metrics.Metrics
	db       *gorm.DB    // notify_deliveries (recordDelivery)
	clock    clock.Clock // stamps notify_deliveries
}

// New builds the notifier and adds its queue and worker to o.Queue;
// nothing is sent until the queue starts.
func New(ctx context.Context, o Options) (*Notifier, error) {
	if o.DB == nil || o.Queue == nil || o.Bundle == nil {
		return nil, errors.New("notify: Options need DB, Queue and Bundle")
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
		queue:    o.Queue,
		log:      o.Log,
		metrics:  o.Metrics,
		db:       o.DB.Gorm,
		clock:    o.Clock,
	}
	if o.Workers == 0 {
		o.Workers = 10
	}
	err = o.Queue.Add(Queue, o.Workers, func(ws *river.Workers) error {
		return river.AddWorkerSafely(ws, &sendWorker{n: n})
	})
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
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
	_, err := n.SendTracked(ctx, m)
	return err
}

// SendTracked is Send for a caller that will ask Failing about the message
// (a sign-in code the person is waiting for): it returns the queued job's
// id.
func (n *Notifier) SendTracked(ctx context.Context, m Message) (int64, error) {
	if _, err := n.Render(m); err != nil {
		return 0, err
	}
	payload, err := json.Marshal(m)
	if err != nil {
		return 0, fmt.Errorf("notify: encode: %w", err)
	}
	// Security: the recipient and the code sit in river_job until cleaned
	// up; sealed, a copy of the table reveals neither.
	sealed, err := n.sealer.Seal(sealPurpose, payload)
	if err != nil {
		return 0, fmt.Errorf("notify: seal: %w", err)
	}
	c, err := n.queue.Client()
	if err != nil {
		return 0, fmt.Errorf("notify: queue: %w", err)
	}
	res, err := c.Insert(ctx, sendArgs{Sealed: sealed}, insertOpts(m.Channel))
	if err != nil {
		return 0, fmt.Errorf("notify: queue: %w", err)
	}
	return res.Job.ID, nil
}

// Failing reports whether the message queued as job (SendTracked) has
// failed at least one attempt and not gone since: it may still go on a
// retry, but the person waiting for it should be offered another way. A
// job the queue no longer holds (sent and cleaned up) is not failing.
func (n *Notifier) Failing(ctx context.Context, job int64) (bool, error) {
	c, err := n.queue.Client()
	if err != nil {
		return false, fmt.Errorf("notify: queue: %w", err)
	}
	row, err := c.JobGet(ctx, job)
	switch {
	case errors.Is(err, rivertype.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("notify: job %d: %w", job, err)
	case row.Kind != (sendArgs{}).Kind():
		return false, nil
	}
	switch row.State {
	case rivertype.JobStateCompleted:
		return false, nil
	case rivertype.JobStateCancelled, rivertype.JobStateDiscarded:
		return true, nil
	}
	return len(row.Errors) > 0, nil
}

// Drain is for tests: it returns once every queued message has been
// worked (queue.Queue.Drain), so the test can read the outbox.
func (n *Notifier) Drain(ctx context.Context) error { return n.queue.Drain(ctx, Queue) }

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
func (w *sendWorker) Timeout(*river.Job[sendArgs]) time.Duration {
	return w.n.queue.Timeout(time.Minute)
}

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
	d := delivery{job: job.ID, channel: m.Channel, template: m.Template, attempts: job.Attempt}
	if m.Channel != Email && time.Since(job.CreatedAt) > PhoneMessageMaxAge {
		// Security: a call ringing an hour later ("press # if you are signing
		// in now") could be answered for someone else's sign-in attempt.
		w.n.metrics.NotifyFailed(string(m.Channel), metrics.NotifyExpired)
		w.n.recordDelivery(ctx, d.failed(ReasonExpired))
		return river.JobCancel(errors.New("notify: a text or call older than its code is not sent"))
	}
	r, err := w.n.Render(m)
	if err != nil {
		w.n.recordDelivery(ctx, d.failed(ReasonInvalid))
		return river.JobCancel(err)
	}
	if m.Discard {
		return nil
	}
	if job.Attempt > 1 {
		// An earlier attempt may have been taken by the provider and the
		// job not marked done (the worker stopped, River's update failed):
		// our own record of it is checked before anything is sent again.
		if sent, err := w.n.sentBefore(ctx, job.ID); err != nil || sent {
			return err
		}
	}
	r.Reference, r.Retry = reference(job), job.Attempt > 1
	sendErr := w.n.provider.Send(ctx, r)
	w.n.metrics.Notified(string(r.Channel), sendErr)
	if sendErr != nil {
		// Security: River stores and logs this text; providers tend to quote
		// the recipient back.
		msg := strings.ReplaceAll(sendErr.Error(), r.To, "[recipient]")
		err := fmt.Errorf("notify: %s not delivered (%s): %s", r.Channel, ReasonOf(sendErr), msg)
		if IsPermanent(sendErr) {
			// The provider will refuse it again (an invalid number, a mailbox
			// that does not exist): retrying for days helps nobody.
			w.n.recordDelivery(ctx, d.failed(ReasonOf(sendErr)))
			return river.JobCancel(err)
		}
		if job.Attempt >= job.MaxAttempts { // River gives up on it now
			w.n.recordDelivery(ctx, d.failed(ReasonOf(sendErr)))
		}
		return err
	}
	w.n.recordDelivery(ctx, d.sent())
	return nil
}

// reference is the job's Rendered.Reference: its id and the moment it was
// queued, so a database restored elsewhere, whose ids start again, never
// names another message.
func reference(job *river.Job[sendArgs]) string {
	return fmt.Sprintf("portal-%d-%d", job.ID, job.CreatedAt.UnixMicro())
}
