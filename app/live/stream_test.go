package live_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"portal/app/apptest"
	"portal/app/live"
)

// server is a test-only Fiber app whose GET /live streams threads 1 to 9,
// "skip" 1 and "person" 1 for one session, with the options the test
// gives.
type server struct {
	m      *machine
	app    *fiber.App
	url    string
	closed chan struct{} // one value each time a stream's OnClose runs
}

const session = "session-1"

// viewer is the streams' own event: it may mean access ended.
var viewer = live.Event{Topic: "person", ID: 1}

var threads = func() []live.Event {
	evs := []live.Event{{Topic: "skip", ID: 1}, viewer}
	for id := int64(1); id <= 9; id++ {
		evs = append(evs, live.Event{Topic: "thread", ID: id})
	}
	return evs
}()

// serve starts the app on 127.0.0.1:0; max is the streams allowed per
// session, opts is called once per request.
func serve(t *testing.T, m *machine, max int, opts func() live.StreamOptions) *server {
	t.Helper()
	s := &server{m: m, closed: make(chan struct{}, 16)}
	s.app = fiber.New(fiber.Config{Immutable: true, DisableStartupMessage: true})
	s.app.Get("/live", func(c *fiber.Ctx) error {
		sub := m.hub.Subscribe(threads...)
		release := m.hub.Admit(session, max, sub)
		o := opts()
		onClose := o.OnClose
		o.OnClose = func() {
			release()
			if onClose != nil {
				onClose()
			}
			s.closed <- struct{}{}
		}
		return live.Stream(c, sub, o)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.app.Listener(ln) }()
	s.url = "http://" + ln.Addr().String() + "/live"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := s.app.ShutdownWithContext(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return s
}

// waitClosed waits for a stream's OnClose.
func (s *server) waitClosed(t *testing.T) {
	t.Helper()
	select {
	case <-s.closed:
	case <-time.After(wait):
		t.Fatalf("the stream's writer did not end within %s", wait)
	}
}

// renderThreads names every thread event "message" with data from data by
// id, and skips topics "skip" and "person".
func renderThreads(data map[int64]string) func(context.Context, live.Event) (string, string, error) {
	return func(_ context.Context, ev live.Event) (string, string, error) {
		if ev.Topic == "skip" || ev.Topic == "person" {
			return "", "", nil
		}
		d, ok := data[ev.ID]
		if !ok {
			d = "<p>thread</p>"
		}
		return "message", d, nil
	}
}

func allow(context.Context) (bool, error) { return true, nil }

// client reads a stream line by line.
type client struct {
	resp   *http.Response
	lines  chan string
	err    error // why reading ended; read after lines is closed
	cancel context.CancelFunc
	once   sync.Once
}

// connect opens the stream with a plain net/http client; the whole exchange
// is bounded.
func connect(t *testing.T, url string, header http.Header) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*wait)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	tr := &http.Transport{DisableKeepAlives: true}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	c := &client{resp: resp, lines: make(chan string, 256), cancel: cancel}
	go func() {
		defer close(c.lines)
		br := bufio.NewReader(resp.Body)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				c.lines <- strings.TrimSuffix(line, "\n")
			}
			if err != nil {
				c.err = err
				return
			}
		}
	}()
	t.Cleanup(c.leave)
	return c
}

// leave is the browser going away: it closes the connection.
func (c *client) leave() {
	c.once.Do(func() {
		c.cancel()
		c.resp.Body.Close()
	})
}

// expect reads the next lines and fails unless they are want.
func (c *client) expect(t *testing.T, want ...string) {
	t.Helper()
	for _, w := range want {
		select {
		case got, ok := <-c.lines:
			if !ok {
				t.Fatalf("stream ended (%v), want line %q", c.err, w)
			}
			if got != w {
				t.Fatalf("line = %q, want %q", got, w)
			}
		case <-time.After(wait):
			t.Fatalf("no line within %s, want %q", wait, w)
		}
	}
}

// expectOpen reads the stream's opening.
func (c *client) expectOpen(t *testing.T) {
	t.Helper()
	if c.resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", c.resp.StatusCode)
	}
	c.expect(t, ": open", "id: live", "")
}

// expectEnd reads to the end of the stream, which must be a clean one;
// lines other than those allowed fail, as do more than maxAllowed of them.
func (c *client) expectEnd(t *testing.T, maxAllowed int, allowed ...string) {
	t.Helper()
	n := 0
	timeout := time.After(wait)
	for {
		select {
		case got, ok := <-c.lines:
			if !ok {
				if !errors.Is(c.err, io.EOF) {
					t.Fatalf("stream ended with %v, want a clean end", c.err)
				}
				return
			}
			if got != "" {
				n++
			}
			if n > maxAllowed || (got != "" && !containsString(allowed, got)) {
				t.Fatalf("line %q before the end of the stream", got)
			}
		case <-timeout:
			t.Fatalf("the stream did not end within %s", wait)
		}
	}
}

func containsString(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func TestStreamWritesEvents(t *testing.T) {
	m := newMachine(t, apptest.NewDatabase(t), nil)
	data := map[int64]string{
		1: "<p>hello</p>",
		2: "<p>one</p>\n<p>two</p>",
		3: "a\r\nb\rc",
		4: "event: forged\n\nid: 9",
	}
	s := serve(t, m, 1, func() live.StreamOptions {
		return live.StreamOptions{Heartbeat: time.Hour, Ping: time.Hour, Authorize: allow, Render: renderThreads(data)}
	})
	c := connect(t, s.url, nil)

	t.Run("the response is an uncached, unbuffered event stream", func(t *testing.T) {
		for k, want := range map[string]string{"Content-Type": "text/event-stream",
			"Cache-Control": "no-store", "X-Accel-Buffering": "no"} {
			if got := c.resp.Header.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
	})
	t.Run("the stream opens with a comment at once", func(t *testing.T) { c.expectOpen(t) })

	tests := []struct {
		name string
		id   int64
		want []string
	}{
		{"a one-line event is its name and one data line", 1,
			[]string{"event: message", "data: <p>hello</p>", ""}},
		{"multi-line data is one data line per line", 2,
			[]string{"event: message", "data: <p>one</p>", "data: <p>two</p>", ""}},
		{"CRLF and a lone CR split lines too", 3,
			[]string{"event: message", "data: a", "data: b", "data: c", ""}},
		{"data cannot end the event or add fields of its own", 4,
			[]string{"event: message", "data: event: forged", "data: ", "data: id: 9", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			notify(t, m.db.Gorm, live.Event{Topic: "thread", ID: tt.id})
			c.expect(t, tt.want...)
		})
	}
	t.Run("an event Render names \"\" is skipped", func(t *testing.T) {
		notify(t, m.db.Gorm, live.Event{Topic: "skip", ID: 1})
		notify(t, m.db.Gorm, live.Event{Topic: "thread", ID: 1})
		c.expect(t, "event: message", "data: <p>hello</p>", "")
	})
}

func TestStreamHeartbeat(t *testing.T) {
	m := newMachine(t, apptest.NewDatabase(t), nil)
	s := serve(t, m, 1, func() live.StreamOptions {
		return live.StreamOptions{Heartbeat: 50 * time.Millisecond, Ping: time.Hour, Authorize: allow, Render: renderThreads(nil)}
	})
	c := connect(t, s.url, nil)
	c.expectOpen(t)
	c.expect(t, ": ping", "", ": ping", "")
}

// later is a clock for StreamOptions.Now that a test moves forward.
type later struct{ by atomic.Int64 }

func (l *later) now() time.Time                                  { return time.Now().Add(time.Duration(l.by.Load())) }
func (l *later) advance(d time.Duration)                         { l.by.Add(int64(d)) }
func (l *later) options(o live.StreamOptions) live.StreamOptions { o.Now = l.now; return o }

func TestStreamEndsWhenAuthorizeSaysNo(t *testing.T) {
	thread := func(t *testing.T, m *machine, _ *later) { notify(t, m.db.Gorm, live.Event{Topic: "thread", ID: 1}) }
	tests := []struct {
		name      string
		heartbeat time.Duration
		answer    func() (bool, error) // once access has ended
		trigger   func(t *testing.T, m *machine, clock *later)
		reported  bool // the error reaches OnError
	}{
		{"Authorize saying no ends the stream on the viewer's own event, however recent the last check", time.Hour,
			func() (bool, error) { return false, nil },
			func(t *testing.T, m *machine, _ *later) { notify(t, m.db.Gorm, viewer) },
			false},
		{"Authorize saying no ends the stream on the next event once the last check is a heartbeat old", time.Hour,
			func() (bool, error) { return false, nil },
			func(t *testing.T, m *machine, clock *later) {
				clock.advance(time.Hour)
				thread(t, m, clock)
			},
			false},
		{"Authorize saying no ends the stream on the next heartbeat", 50 * time.Millisecond,
			func() (bool, error) { return false, nil },
			func(*testing.T, *machine, *later) {},
			false},
		{"an Authorize error ends the stream and is reported", time.Hour,
			func() (bool, error) { return true, errors.New("session store down") },
			func(t *testing.T, m *machine, _ *later) { notify(t, m.db.Gorm, viewer) },
			true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMachine(t, apptest.NewDatabase(t), nil)
			var ended atomic.Bool
			var reported atomic.Value
			clock := &later{}
			s := serve(t, m, 1, func() live.StreamOptions {
				return clock.options(live.StreamOptions{Heartbeat: tt.heartbeat, Ping: time.Hour, Render: renderThreads(nil),
					AuthorizeOn: []live.Event{viewer},
					Authorize: func(context.Context) (bool, error) {
						if ended.Load() {
							return tt.answer()
						}
						return true, nil
					},
					OnError: func(err error) { reported.Store(err) }})
			})
			c := connect(t, s.url, nil)
			c.expectOpen(t)
			if tt.heartbeat < time.Second {
				c.expect(t, ": ping", "")
			}
			ended.Store(true)
			tt.trigger(t, m, clock)
			// Heartbeats authorised before the flip may still arrive (as
			// many as a stall let pile up); nothing else.
			c.expectEnd(t, math.MaxInt, ": ping")
			s.waitClosed(t)
			if got := reported.Load() != nil; got != tt.reported {
				t.Fatalf("error reported = %v, want %v", got, tt.reported)
			}
		})
	}
}

// TestTheViewersEventQueuedBehindAnotherIsActedOnFirst: a stream takes
// its whole queue before rendering, so an access-ending event that
// arrived while it was busy stops it before it renders what came before.
func TestTheViewersEventQueuedBehindAnotherIsActedOnFirst(t *testing.T) {
	m := newMachine(t, apptest.NewDatabase(t), nil)
	var ended atomic.Bool
	busy, release := make(chan struct{}), make(chan struct{})
	s := serve(t, m, 1, func() live.StreamOptions {
		return live.StreamOptions{Heartbeat: time.Hour, Ping: time.Hour, AuthorizeOn: []live.Event{viewer},
			Authorize: func(context.Context) (bool, error) { return !ended.Load(), nil },
			Render: func(ctx context.Context, ev live.Event) (string, string, error) {
				if ev.Topic == "skip" { // busy until the test has queued the rest
					busy <- struct{}{}
					<-release
				}
				return renderThreads(nil)(ctx, ev)
			}}
	})
	c := connect(t, s.url, nil)
	c.expectOpen(t)
	witness := m.hub.Subscribe(viewer)
	t.Cleanup(witness.Close)

	notify(t, m.db.Gorm, live.Event{Topic: "skip", ID: 1})
	select {
	case <-busy:
	case <-time.After(wait):
		t.Fatal("the stream did not take the first event")
	}
	ended.Store(true)
	notify(t, m.db.Gorm, live.Event{Topic: "thread", ID: 1}, viewer)
	next(t, witness)
	// The hub hands an event to every subscription under one lock: once
	// the lock is free again, the stream holds both events too.
	m.hub.Subscribe().Close()
	close(release)
	c.expectEnd(t, 0)
	s.waitClosed(t)
}

// TestAnEventWithinTheHeartbeatIsNotReauthorised: a stream authorised
// less than a heartbeat ago sends an event without asking again, so the
// work of an event does not grow with the streams open; the viewer's own
// event always asks.
func TestAnEventWithinTheHeartbeatIsNotReauthorised(t *testing.T) {
	m := newMachine(t, apptest.NewDatabase(t), nil)
	var asked atomic.Int64
	clock := &later{}
	s := serve(t, m, 1, func() live.StreamOptions {
		return clock.options(live.StreamOptions{Heartbeat: time.Hour, Ping: time.Hour, Render: renderThreads(nil),
			AuthorizeOn: []live.Event{viewer},
			Authorize:   func(context.Context) (bool, error) { asked.Add(1); return true, nil }})
	})
	c := connect(t, s.url, nil)
	c.expectOpen(t)
	steps := []struct {
		name    string
		advance time.Duration
		ev      live.Event
		want    int64 // Authorize calls so far
	}{
		{"an event just after connecting is sent without asking", 0, live.Event{Topic: "thread", ID: 1}, 0},
		{"another within the heartbeat is sent without asking", 59 * time.Minute, live.Event{Topic: "thread", ID: 2}, 0},
		{"the viewer's own event asks", 0, viewer, 1},
		{"that answer counts afresh: an event within the heartbeat of it does not ask", 59 * time.Minute, live.Event{Topic: "thread", ID: 3}, 1},
		{"an event a heartbeat after the last answer asks", time.Minute, live.Event{Topic: "thread", ID: 4}, 2},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			clock.advance(st.advance)
			notify(t, m.db.Gorm, st.ev)
			// The viewer's event renders nothing: a thread event after it
			// shows it was handled.
			if st.ev == viewer {
				notify(t, m.db.Gorm, live.Event{Topic: "thread", ID: 9})
			}
			c.expect(t, "event: message", "data: <p>thread</p>", "")
			if got := asked.Load(); got != st.want {
				t.Fatalf("Authorize was called %d times, want %d", got, st.want)
			}
		})
	}
}

func TestStreamEndsWhenClientLeaves(t *testing.T) {
	m := newMachine(t, apptest.NewDatabase(t), nil)
	s := serve(t, m, 1, func() live.StreamOptions {
		return live.StreamOptions{Heartbeat: 50 * time.Millisecond, Ping: time.Hour, Authorize: allow, Render: renderThreads(nil)}
	})
	c := connect(t, s.url, nil)
	c.expectOpen(t)
	c.leave()
	// fasthttp notices only a failed write: a heartbeat or two.
	s.waitClosed(t)
}

func TestANewStreamClosesTheSessionsOldest(t *testing.T) {
	m := newMachine(t, apptest.NewDatabase(t), nil)
	s := serve(t, m, 2, func() live.StreamOptions {
		return live.StreamOptions{Heartbeat: time.Hour, Ping: time.Hour, Authorize: allow, Render: renderThreads(nil)}
	})
	first, second := connect(t, s.url, nil), connect(t, s.url, nil)
	first.expectOpen(t)
	second.expectOpen(t)
	third := connect(t, s.url, nil)
	third.expectOpen(t)
	t.Run("the session's oldest stream ends", func(t *testing.T) {
		first.expectEnd(t, 0)
		s.waitClosed(t)
	})
	t.Run("the others stay open", func(t *testing.T) {
		notify(t, m.db.Gorm, live.Event{Topic: "thread", ID: 2})
		second.expect(t, "event: message", "data: <p>thread</p>", "")
		third.expect(t, "event: message", "data: <p>thread</p>", "")
	})
}

// TestALeftPageFreesItsPlaceAtTheNextPing: the browser closes a stream's
// connection when its page goes; the next ping's write fails and the
// stream ends, without waiting for an event or the heartbeat.
func TestALeftPageFreesItsPlaceAtTheNextPing(t *testing.T) {
	m := newMachine(t, apptest.NewDatabase(t), nil)
	s := serve(t, m, 2, func() live.StreamOptions {
		return live.StreamOptions{Heartbeat: time.Hour, Ping: 20 * time.Millisecond, Authorize: allow, Render: renderThreads(nil)}
	})
	c := connect(t, s.url, nil)
	c.expectOpen(t)
	c.leave()
	s.waitClosed(t)
}

func TestStreamEndsOnStop(t *testing.T) {
	m := newMachine(t, apptest.NewDatabase(t), nil)
	s := serve(t, m, 2, func() live.StreamOptions {
		return live.StreamOptions{Heartbeat: time.Hour, Ping: time.Hour, Authorize: allow, Render: renderThreads(nil)}
	})
	a, b := connect(t, s.url, nil), connect(t, s.url, nil)
	a.expectOpen(t)
	b.expectOpen(t)
	m.hub.Stop()
	t.Run("every open stream ends cleanly", func(t *testing.T) {
		a.expectEnd(t, 0)
		b.expectEnd(t, 0)
		s.waitClosed(t)
		s.waitClosed(t)
	})
	t.Run("a stream opened after Stop ends at once", func(t *testing.T) {
		c := connect(t, s.url, nil)
		c.expectOpen(t)
		c.expectEnd(t, 0)
	})
	t.Run("the app then shuts down without waiting", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := s.app.ShutdownWithContext(ctx); err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	})
}

func TestStreamEndsOnServerShutdown(t *testing.T) {
	m := newMachine(t, apptest.NewDatabase(t), nil)
	s := serve(t, m, 1, func() live.StreamOptions {
		return live.StreamOptions{Heartbeat: time.Hour, Ping: time.Hour, Authorize: allow, Render: renderThreads(nil)}
	})
	c := connect(t, s.url, nil)
	c.expectOpen(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.app.ShutdownWithContext(ctx); err != nil {
		t.Fatalf("shutdown with a stream open: %v", err)
	}
	c.expectEnd(t, 0)
	s.waitClosed(t)
}

func TestStreamRefresh(t *testing.T) {
	refresh := []string{"event: refresh", "data: refresh", ""}
	tests := []struct {
		name    string
		header  http.Header
		onOpen  bool
		trigger func(t *testing.T, m *machine)
		want    []string
	}{
		{"a reconnecting browser (Last-Event-ID) is sent a refresh first",
			http.Header{"Last-Event-Id": {"live"}}, false, nil, refresh},
		{"RefreshOnOpen sends a refresh first", nil, true, nil, refresh},
		{"a first connection is sent no refresh", nil, false,
			func(t *testing.T, m *machine) { notify(t, m.db.Gorm, live.Event{Topic: "thread", ID: 1}) },
			[]string{"event: message", "data: <p>thread</p>", ""}},
		{"a lost listening connection sends a refresh", nil, false,
			func(t *testing.T, m *machine) {
				if n := terminateListeners(t, m.db); n != 1 {
					t.Fatalf("terminated %d listening connections, want 1", n)
				}
			}, refresh},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMachine(t, apptest.NewDatabase(t), nil)
			s := serve(t, m, 1, func() live.StreamOptions {
				return live.StreamOptions{Heartbeat: time.Hour, Ping: time.Hour, Authorize: allow, Render: renderThreads(nil),
					RefreshOnOpen: tt.onOpen}
			})
			c := connect(t, s.url, tt.header)
			c.expectOpen(t)
			if tt.trigger != nil {
				tt.trigger(t, m)
			}
			c.expect(t, tt.want...)
		})
	}
}

func TestStreamRefusesToStartWithoutAuthorize(t *testing.T) {
	m := newMachine(t, apptest.NewDatabase(t), nil)
	s := serve(t, m, 1, func() live.StreamOptions {
		return live.StreamOptions{Render: renderThreads(nil)}
	})
	c := connect(t, s.url, nil)
	if c.resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", c.resp.StatusCode)
	}
	s.waitClosed(t)
	t.Run("the refused stream's place is released", func(t *testing.T) {
		held := m.hub.Subscribe(threads...)
		m.hub.Admit(session, 1, held)
		select {
		case <-held.Done():
			t.Fatal("a new stream was closed: the refused one still holds its place")
		default:
		}
	})
}
