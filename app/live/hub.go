package live

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ListenerName is the application_name of the hub's listening connection,
// so operators (and tests) can find it in pg_stat_activity.
const ListenerName = "portal-live"

// Defaults for a Hub's tunables.
const (
	DefaultBuffer     = 16                     // events a subscription holds before it drops
	DefaultMinBackoff = 250 * time.Millisecond // first wait before reconnecting
	DefaultMaxBackoff = 15 * time.Second       // longest wait between reconnection attempts
	DefaultProbe      = 30 * time.Second       // silence before the listening connection is pinged
	pingTimeout       = 5 * time.Second
)

// ErrStopped is returned by Start on a hub that was stopped.
var ErrStopped = errors.New("live: hub stopped")

// Hub is a process's one listener: it holds a dedicated connection that
// LISTENs on Channel and fans each notification out to the subscriptions
// interested in it. Make one per process with NewHub, Start it, Stop it
// before the app's Shutdown.
type Hub struct {
	// Buffer is each subscription's event buffer (DefaultBuffer when 0).
	// Set it before the first Subscribe.
	Buffer int
	// MinBackoff and MaxBackoff bound the wait between reconnection
	// attempts, which doubles from one to the other (with jitter, so the
	// machines do not all reconnect at once after a failover). Set before
	// Start.
	MinBackoff, MaxBackoff time.Duration
	// Probe is how long the listening connection may stay silent before
	// the hub pings it (DefaultProbe when 0). Set before Start.
	Probe time.Duration

	pool *pgxpool.Pool
	log  *slog.Logger

	mu      sync.Mutex
	subs    map[Event]map[*Subscription]struct{}
	all     map[*Subscription]struct{}
	shared  map[Event]map[any]any // Shared's values, each until its event next changes
	started bool
	stopped bool
	cancel  context.CancelFunc
	done    chan struct{}

	smu     sync.Mutex
	streams map[string][]*Subscription // each key's admitted streams, oldest first

	open atomic.Int64 // streams writing (Stream), for OpenStreams
}

// OpenStreams is how many Streams on this hub's subscriptions are open
// now: counted from the start of a stream's writer to its end (before its
// OnClose), for the live streams gauge (app/metrics).
func (h *Hub) OpenStreams() int { return int(h.open.Load()) }

// NewHub returns a hub that will listen through a connection configured as
// pool's connections are (but not taken from pool). log may be nil.
func NewHub(pool *pgxpool.Pool, log *slog.Logger) *Hub {
	if log == nil {
		log = slog.Default()
	}
	return &Hub{pool: pool, log: log,
		subs:    map[Event]map[*Subscription]struct{}{},
		all:     map[*Subscription]struct{}{},
		shared:  map[Event]map[any]any{},
		streams: map[string][]*Subscription{}}
}

// Start opens the listening connection and returns once it is listening;
// the hub then runs until ctx ends or Stop is called, and either way closes
// every subscription. ctx therefore bounds both the first connection and
// the hub's life: pass the process's, not a short timeout's.
func (h *Hub) Start(ctx context.Context) error {
	if h.pool == nil {
		return errors.New("live: hub has no pool")
	}
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		return ErrStopped
	}
	if h.started {
		h.mu.Unlock()
		return errors.New("live: hub already started")
	}
	h.started = true
	h.mu.Unlock()

	conn, err := h.listen(ctx)
	if err != nil {
		h.mu.Lock()
		h.started = false
		h.mu.Unlock()
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		cancel()
		closeConn(conn)
		return ErrStopped
	}
	h.cancel, h.done = cancel, make(chan struct{})
	done := h.done
	h.mu.Unlock()
	go h.run(runCtx, conn, done)
	return nil
}

// Stop ends the listening loop, closes its connection and closes every
// subscription, which ends every open Stream. It waits for the loop to
// finish and may be called more than once.
func (h *Hub) Stop() {
	h.mu.Lock()
	h.stopped = true
	cancel, done := h.cancel, h.done
	h.closeAllLocked()
	h.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (h *Hub) closeAllLocked() {
	for s := range h.all {
		s.closeLocked()
	}
}

// listen opens a dedicated connection with the pool's settings and LISTENs.
// It is not taken from the pool, so the pool's size and health checks are
// unaffected and the pool never hands a listening connection to a query.
func (h *Hub) listen(ctx context.Context) (*pgx.Conn, error) {
	cfg := h.pool.Config().ConnConfig // a copy
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = ListenerName
	// A timed-out wait must leave the connection usable (the probe relies
	// on it): interrupt reads by deadline, never by a server-side cancel.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{Channel}.Sanitize()); err != nil {
		closeConn(conn)
		return nil, err
	}
	return conn, nil
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

// run is the listening loop.
func (h *Hub) run(ctx context.Context, conn *pgx.Conn, done chan struct{}) {
	defer close(done)
	defer func() {
		// Ended by ctx or Stop: no subscription may wait for ever.
		h.mu.Lock()
		h.stopped = true
		h.closeAllLocked()
		h.mu.Unlock()
	}()
	for {
		n, err := h.next(ctx, conn)
		if err == nil {
			h.deliver(n)
			continue
		}
		closeConn(conn)
		if ctx.Err() != nil {
			return
		}
		// Security: the error is pgx's (SQLSTATE, host, user); a payload
		// never reaches it.
		h.log.Warn("live: listening connection lost; reconnecting", "error", err)
		if conn = h.reconnect(ctx); conn == nil {
			return
		}
		h.log.Info("live: listening again")
		// Whatever was sent while nobody listened is lost: every page must
		// reload what it shows, and nothing read before may be shared.
		h.mu.Lock()
		clear(h.shared)
		for s := range h.all {
			s.setMissed()
		}
		h.mu.Unlock()
	}
}

// next waits for a notification, pinging the connection after each Probe
// of silence. An error means the connection is lost (or ctx ended).
func (h *Hub) next(ctx context.Context, conn *pgx.Conn) (*pgconn.Notification, error) {
	probe := h.Probe
	if probe <= 0 {
		probe = DefaultProbe
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, probe)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err == nil {
			return n, nil
		}
		if ctx.Err() != nil || !pgconn.Timeout(err) {
			return nil, err
		}
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		err = conn.Ping(pctx)
		cancel()
		if err != nil {
			return nil, err
		}
	}
}

// reconnect retries listen with capped, jittered backoff until it succeeds
// or ctx ends (then nil).
func (h *Hub) reconnect(ctx context.Context) *pgx.Conn {
	lo, hi := h.MinBackoff, h.MaxBackoff
	if lo <= 0 {
		lo = DefaultMinBackoff
	}
	if hi < lo {
		hi = max(lo, DefaultMaxBackoff)
	}
	wait := lo
	for attempt := 1; ; attempt++ {
		// Between half the wait and the whole of it.
		d := wait/2 + rand.N(wait/2+1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		conn, err := h.listen(ctx)
		if err == nil {
			return conn
		}
		if ctx.Err() != nil {
			return nil
		}
		h.log.Warn("live: reconnect failed", "attempt", attempt, "error", err)
		wait = min(wait*2, hi)
	}
}

// deliver hands a notification to the subscriptions that want it.
func (h *Hub) deliver(n *pgconn.Notification) {
	if n == nil || n.Channel != Channel {
		return
	}
	ev, err := ParseEvent(n.Payload)
	if err != nil {
		// Security: say how long it was, never what it said.
		h.log.Warn("live: ignored a malformed notification", "bytes", len(n.Payload))
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	// Before anyone hears of ev: what was read for it before is stale.
	delete(h.shared, ev)
	for s := range h.subs[ev] {
		s.offer(ev)
	}
}

// Shared returns the value this hub keeps for {ev, key}, made by create
// when there is none, so that the streams rendering one notification of
// ev can share one read of the database (a thread's new messages) instead
// of each making its own. key tells apart the kinds of value kept for one
// event: use a value of an unexported type, as for a context key.
//
// The hub forgets the values of ev when a notification of ev arrives
// (before it is handed to anyone), when the listening connection is
// re-established (notifications may have been lost) and when ev's last
// subscription closes; without a subscription to ev, create's value is
// returned and not kept. So a value obtained after taking an event ev from
// Events was made after the hub received that event, and anything it
// reads from the database after it was made sees that event's commit.
//
// Security: a value is shared by every subscriber of ev on this machine
// whatever the person: keep in it only what every one of them may see,
// and authorise each of them before handing it on (Stream does).
//
// create runs with the hub's lock held: it must be quick (an allocation)
// and must not call the hub.
func (h *Hub) Shared(ev Event, key any, create func() any) any {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs[ev]) == 0 {
		return create()
	}
	m := h.shared[ev]
	if m == nil {
		m = map[any]any{}
		h.shared[ev] = m
	}
	v, ok := m[key]
	if !ok {
		v = create()
		m[key] = v
	}
	return v
}

// Subscribe registers interest in exact {Topic, ID} pairs. On a stopped hub
// the subscription comes back already closed. The caller must Close it
// (Stream does so when the stream ends).
func (h *Hub) Subscribe(topics ...Event) *Subscription {
	size := h.Buffer
	if size <= 0 {
		size = DefaultBuffer
	}
	s := &Subscription{hub: h, events: make(chan Event, size),
		refresh: make(chan struct{}, 1), done: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		s.closeLocked()
		return s
	}
	for _, ev := range topics {
		m := h.subs[ev]
		if m == nil {
			m = map[*Subscription]struct{}{}
			h.subs[ev] = m
		}
		if _, dup := m[s]; !dup {
			m[s] = struct{}{}
			s.topics = append(s.topics, ev)
		}
	}
	h.all[s] = struct{}{}
	return s
}

// Admit counts sub as one of key's (a session's) streams. When key has
// max already, the oldest is closed, which ends its stream: the page just
// opened is the one the person looks at, and a page they left a moment ago
// may not have been noticed yet. So one session never holds more than limit
// connections and goroutines, and moving between pages never locks the
// newest page out. release is idempotent. The count is this process's:
// each app machine counts its own.
func (h *Hub) Admit(key string, limit int, sub *Subscription) (release func()) {
	h.smu.Lock()
	subs := append(h.streams[key], sub)
	var evicted []*Subscription
	if over := len(subs) - max(limit, 1); over > 0 {
		evicted, subs = subs[:over:over], subs[over:]
	}
	h.streams[key] = subs
	h.smu.Unlock()
	for _, old := range evicted {
		old.Close()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			h.smu.Lock()
			defer h.smu.Unlock()
			rest := slices.DeleteFunc(slices.Clone(h.streams[key]), func(s *Subscription) bool { return s == sub })
			if len(rest) == 0 {
				delete(h.streams, key)
			} else {
				h.streams[key] = rest
			}
		})
	}
}

// Subscription is one consumer's interest in some events.
type Subscription struct {
	hub     *Hub
	topics  []Event
	events  chan Event
	refresh chan struct{}
	done    chan struct{}
	missed  atomic.Bool
	closed  bool // guarded by hub.mu
}

// Events delivers the subscription's events, in the order Postgres
// delivered them. It is buffered (Hub.Buffer); when full, the newest event
// is dropped and Missed reports it. It is closed when the subscription is.
func (s *Subscription) Events() <-chan Event { return s.events }

// Refresh receives (at most one pending signal) when events were lost,
// because the buffer was full or the hub was reconnecting; Missed says so
// too and clears the flag.
func (s *Subscription) Refresh() <-chan struct{} { return s.refresh }

// Missed reports whether events were lost since the last call, and clears
// the flag: the consumer should reload what it shows.
func (s *Subscription) Missed() bool { return s.missed.Swap(false) }

// Done is closed when the subscription is closed (by Close or Hub.Stop).
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Close ends the subscription and closes Events. It may be called more than
// once.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.closeLocked()
}

func (s *Subscription) closeLocked() {
	if s.closed {
		return
	}
	s.closed = true
	for _, ev := range s.topics {
		if m := s.hub.subs[ev]; m != nil {
			delete(m, s)
			if len(m) == 0 {
				delete(s.hub.subs, ev)
				delete(s.hub.shared, ev)
			}
		}
	}
	delete(s.hub.all, s)
	close(s.events)
	close(s.done)
}

// offer sends ev without ever blocking; hub.mu is held, so s is open.
func (s *Subscription) offer(ev Event) {
	select {
	case s.events <- ev:
	default:
		s.setMissed()
	}
}

func (s *Subscription) setMissed() {
	s.missed.Store(true)
	select {
	case s.refresh <- struct{}{}:
	default:
	}
}
