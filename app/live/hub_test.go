package live_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"portal/app/apptest"
	"portal/app/live"
)

func TestHubAcrossMachines(t *testing.T) {
	dsn := apptest.NewDatabase(t)
	a, b := newMachine(t, dsn, nil), newMachine(t, dsn, nil)
	first, second := live.Event{Topic: "thread", ID: 1}, live.Event{Topic: "thread", ID: 2}
	sub := b.hub.Subscribe(first, second)
	t.Cleanup(sub.Close)

	t.Run("each machine holds one listening connection", func(t *testing.T) {
		if n := listeners(t, a.db); n != 2 {
			t.Fatalf("listening connections = %d, want 2 (one per hub)", n)
		}
	})
	t.Run("a rolled-back transaction delivers nothing and a committed one is delivered to the other machine", func(t *testing.T) {
		tx := a.db.Gorm.Begin()
		if err := live.Notify(context.Background(), tx, first); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback().Error; err != nil {
			t.Fatal(err)
		}
		notify(t, a.db.Gorm, second)
		// Postgres delivers in commit order: had the first been sent, it
		// would arrive before the second.
		if got := next(t, sub); got != second {
			t.Fatalf("first event = %v, want %v", got, second)
		}
	})
	t.Run("an event is not delivered before its transaction commits", func(t *testing.T) {
		tx := a.db.Gorm.Begin()
		if err := live.Notify(context.Background(), tx, first); err != nil {
			t.Fatal(err)
		}
		// While tx is open, another transaction's event overtakes it.
		notify(t, a.db.Gorm, second)
		if got := next(t, sub); got != second {
			t.Fatalf("first event = %v, want %v", got, second)
		}
		if err := tx.Commit().Error; err != nil {
			t.Fatal(err)
		}
		if got := next(t, sub); got != first {
			t.Fatalf("event after commit = %v, want %v", got, first)
		}
	})
	t.Run("the machine that notifies receives its own event", func(t *testing.T) {
		own := a.hub.Subscribe(first)
		defer own.Close()
		notify(t, b.db.Gorm, first)
		if got := next(t, own); got != first {
			t.Fatalf("event = %v, want %v", got, first)
		}
		if got := next(t, sub); got != first {
			t.Fatalf("other machine's event = %v, want %v", got, first)
		}
	})
}

func TestSubscriptionReceivesOnlyItsEvents(t *testing.T) {
	m := newMachine(t, apptest.NewDatabase(t), nil)
	// Every subscription also wants end, sent last: anything unwanted would
	// arrive before it, so reading up to end proves what was not received.
	end := live.Event{Topic: "end", ID: 1}
	tests := []struct {
		name   string
		topics []live.Event
		want   []live.Event
	}{
		{"a thread's subscriber gets only that thread, not another thread or a person with its id",
			[]live.Event{{Topic: "thread", ID: 1}},
			[]live.Event{{Topic: "thread", ID: 1}}},
		{"a person's subscriber gets only that person, not a thread with its id",
			[]live.Event{{Topic: "person", ID: 1}},
			[]live.Event{{Topic: "person", ID: 1}}},
		{"a subscriber to two events gets both, in commit order",
			[]live.Event{{Topic: "thread", ID: 2}, {Topic: "person", ID: 1}},
			[]live.Event{{Topic: "thread", ID: 2}, {Topic: "person", ID: 1}}},
		{"a subscriber to an event nobody sends gets nothing",
			[]live.Event{{Topic: "thread", ID: 99}},
			nil},
	}
	subs := make([]*live.Subscription, len(tests))
	for i, tt := range tests {
		subs[i] = m.hub.Subscribe(append(tt.topics, end)...)
		t.Cleanup(subs[i].Close)
	}
	notify(t, m.db.Gorm,
		live.Event{Topic: "thread", ID: 3},
		live.Event{Topic: "thread", ID: 2},
		live.Event{Topic: "person", ID: 2},
		live.Event{Topic: "person", ID: 1},
		live.Event{Topic: "thread", ID: 1},
	)
	notify(t, m.db.Gorm, end)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []live.Event
			for ev := next(t, subs[i]); ev != end; ev = next(t, subs[i]) {
				got = append(got, ev)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("events = %v, want %v", got, tt.want)
			}
			for j := range got {
				if got[j] != tt.want[j] {
					t.Fatalf("events = %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestSlowSubscriberDoesNotBlockOthers(t *testing.T) {
	m := newMachine(t, apptest.NewDatabase(t), nil)
	const sent = live.DefaultBuffer + 4
	evs := make([]live.Event, sent)
	for i := range evs {
		evs[i] = live.Event{Topic: "thread", ID: int64(i + 1)}
	}
	slow, fast := m.hub.Subscribe(evs...), m.hub.Subscribe(evs...)
	t.Cleanup(slow.Close)
	t.Cleanup(fast.Close)

	t.Run("the other subscriber gets every event while the slow one reads none", func(t *testing.T) {
		// One at a time, each read before the next is sent, so only the
		// slow subscriber's buffer fills.
		for _, ev := range evs {
			notify(t, m.db.Gorm, ev)
			if got := next(t, fast); got != ev {
				t.Fatalf("event = %v, want %v", got, ev)
			}
		}
		if fast.Missed() {
			t.Fatal("the fast subscriber reports missed events")
		}
	})
	// The hub offered event 17 to both before it read event 18, so the
	// slow subscriber's buffer was full and flagged before the loop ended.
	t.Run("the slow subscriber is told it missed events", func(t *testing.T) {
		select {
		case <-slow.Refresh():
		case <-time.After(wait):
			t.Fatal("no refresh signal")
		}
		if !slow.Missed() {
			t.Fatal("Missed() = false after a full buffer")
		}
		if slow.Missed() {
			t.Fatal("Missed() did not clear")
		}
	})
	t.Run("the slow subscriber kept the oldest events and dropped the newest", func(t *testing.T) {
		if n := len(slow.Events()); n != live.DefaultBuffer {
			t.Fatalf("buffered = %d, want %d", n, live.DefaultBuffer)
		}
		for _, want := range evs[:live.DefaultBuffer] {
			if got := next(t, slow); got != want {
				t.Fatalf("event = %v, want %v", got, want)
			}
		}
	})
}

func TestHubSurvivesLostConnection(t *testing.T) {
	logs := &logBuffer{}
	dsn := apptest.NewDatabase(t)
	m := newMachine(t, dsn, logs.logger())
	ev := live.Event{Topic: "thread", ID: 8}
	sub := m.hub.Subscribe(ev)
	t.Cleanup(sub.Close)
	notify(t, m.db.Gorm, ev)
	next(t, sub)

	if n := terminateListeners(t, m.db); n != 1 {
		t.Fatalf("terminated %d listening connections, want 1", n)
	}
	t.Run("once listening again, every subscription is told it may have missed events", func(t *testing.T) {
		select {
		case <-sub.Refresh():
		case <-time.After(wait):
			t.Fatalf("no refresh within %s of losing the connection", wait)
		}
		if !sub.Missed() {
			t.Fatal("Missed() = false after a reconnection")
		}
	})
	t.Run("an event after the reconnection is delivered", func(t *testing.T) {
		notify(t, m.db.Gorm, ev)
		if got := next(t, sub); got != ev {
			t.Fatalf("event = %v, want %v", got, ev)
		}
	})
	t.Run("the hub holds one listening connection again", func(t *testing.T) {
		if n := listeners(t, m.db); n != 1 {
			t.Fatalf("listening connections = %d, want 1", n)
		}
	})
	t.Run("the loss and the reconnection are logged without payloads", func(t *testing.T) {
		out := logs.String()
		if !strings.Contains(out, "reconnecting") || !strings.Contains(out, "listening again") {
			t.Fatalf("log does not record the reconnection:\n%s", out)
		}
		if strings.Contains(out, ev.String()) {
			t.Fatalf("log carries a payload:\n%s", out)
		}
	})
}

func TestMalformedNotificationIsIgnoredAndNotLogged(t *testing.T) {
	logs := &logBuffer{}
	m := newMachine(t, apptest.NewDatabase(t), logs.logger())
	ev := live.Event{Topic: "thread", ID: 5}
	sub := m.hub.Subscribe(ev)
	t.Cleanup(sub.Close)
	if err := m.db.Gorm.Exec(`SELECT pg_notify(?, ?)`, live.Channel, "Jane Doe thread:5").Error; err != nil {
		t.Fatal(err)
	}
	notify(t, m.db.Gorm, ev)
	if got := next(t, sub); got != ev {
		t.Fatalf("event = %v, want %v", got, ev)
	}
	out := logs.String()
	if !strings.Contains(out, "malformed") {
		t.Fatalf("the malformed notification is not logged:\n%s", out)
	}
	if strings.Contains(out, "Jane") {
		t.Fatalf("log carries the payload:\n%s", out)
	}
}

func TestHubStop(t *testing.T) {
	m := newMachine(t, apptest.NewDatabase(t), nil)
	sub := m.hub.Subscribe(live.Event{Topic: "thread", ID: 1})
	m.hub.Stop()
	t.Run("every subscription is closed", func(t *testing.T) {
		select {
		case _, ok := <-sub.Events():
			if ok {
				t.Fatal("an event after Stop")
			}
		case <-time.After(wait):
			t.Fatal("Events not closed by Stop")
		}
	})
	t.Run("the listening connection is closed", func(t *testing.T) {
		deadline := time.Now().Add(wait)
		for listeners(t, m.db) != 0 {
			if time.Now().After(deadline) {
				t.Fatal("the listening connection is still open")
			}
			time.Sleep(10 * time.Millisecond) // polling for the backend to exit, not waiting out a timer
		}
	})
	t.Run("a subscription after Stop comes closed", func(t *testing.T) {
		late := m.hub.Subscribe(live.Event{Topic: "thread", ID: 1})
		if _, ok := <-late.Events(); ok {
			t.Fatal("an event on a subscription made after Stop")
		}
	})
	t.Run("Start after Stop is refused and Stop again is harmless", func(t *testing.T) {
		if err := m.hub.Start(context.Background()); !errors.Is(err, live.ErrStopped) {
			t.Fatalf("Start = %v, want ErrStopped", err)
		}
		m.hub.Stop()
	})
}

func TestAdmitClosesTheOldestBeyondTheLimit(t *testing.T) {
	h := live.NewHub(nil, quiet)
	ev := live.Event{Topic: "thread", ID: 1}
	first, second, third := h.Subscribe(ev), h.Subscribe(ev), h.Subscribe(ev)
	other := h.Subscribe(ev)
	r1 := h.Admit("session-1", 2, first)
	h.Admit("session-1", 2, second)
	h.Admit("session-2", 2, other)
	closed := func(s *live.Subscription) bool {
		select {
		case <-s.Done():
			return true
		default:
			return false
		}
	}
	if closed(first) || closed(second) {
		t.Fatal("a stream within the limit was closed")
	}
	r3 := h.Admit("session-1", 2, third)
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"the oldest stream of a session over its limit is closed", closed(first), true},
		{"the next oldest stays", closed(second), false},
		{"the newest stays", closed(third), false},
		{"another session's stream stays", closed(other), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("closed = %v, want %v", tt.got, tt.want)
			}
		})
	}
	t.Run("a released stream frees its place, however often it is released", func(t *testing.T) {
		r1() // already gone: changes nothing
		r3()
		r3()
		fourth := h.Subscribe(ev)
		h.Admit("session-1", 2, fourth)
		if closed(second) || closed(fourth) {
			t.Fatal("a stream was closed although the session was within its limit")
		}
	})
}

func TestSilentConnectionIsProbed(t *testing.T) {
	logs := &logBuffer{}
	m := newMachine(t, apptest.NewDatabase(t), logs.logger(), func(h *live.Hub) { h.Probe = 20 * time.Millisecond })
	d, h := m.db, m.hub
	ev := live.Event{Topic: "thread", ID: 3}
	sub := h.Subscribe(ev)
	t.Cleanup(sub.Close)

	// The probe's ping is the listening backend's latest statement.
	pingedPID := func() (int32, bool) {
		var pid int32
		err := d.Pool.QueryRow(context.Background(), `SELECT pid FROM pg_stat_activity
			WHERE application_name = $1 AND datname = current_database() AND query = '-- ping'`,
			live.ListenerName).Scan(&pid)
		return pid, err == nil
	}
	deadline := time.Now().Add(wait)
	pid, ok := pingedPID()
	for ; !ok; pid, ok = pingedPID() {
		if time.Now().After(deadline) {
			t.Fatalf("the listening connection was not pinged within %s", wait)
		}
		time.Sleep(10 * time.Millisecond) // polling for the ping, not waiting out a timer
	}
	t.Run("after probes the same connection still delivers", func(t *testing.T) {
		notify(t, m.db.Gorm, ev)
		if got := next(t, sub); got != ev {
			t.Fatalf("event = %v, want %v", got, ev)
		}
		var same bool
		if err := d.Pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE pid = $1 AND application_name = $2)`, pid, live.ListenerName).Scan(&same); err != nil {
			t.Fatal(err)
		}
		if !same {
			t.Fatal("the hub reconnected instead of keeping its connection")
		}
		if sub.Missed() || strings.Contains(logs.String(), "reconnecting") {
			t.Fatal("a probe was taken for a lost connection")
		}
	})
}

// sharedKey keys the tests' values in Hub.Shared.
type sharedKey struct{}

// TestSharedLastsUntilItsEventNextChanges: the streams rendering one
// notification share what one of them read for it; the next notification
// of that event, a reconnection or the end of its subscriptions starts
// afresh, so nothing read before a notification is handed on after it.
func TestSharedLastsUntilItsEventNextChanges(t *testing.T) {
	m := newMachine(t, apptest.NewDatabase(t), nil)
	ev, other := live.Event{Topic: "thread", ID: 1}, live.Event{Topic: "thread", ID: 2}
	sub := m.hub.Subscribe(ev, other)
	t.Cleanup(sub.Close)
	shared := func() *int { return m.hub.Shared(ev, sharedKey{}, func() any { return new(int) }).(*int) }
	first := shared()

	t.Run("every caller gets the same value until the event changes", func(t *testing.T) {
		if shared() != first {
			t.Fatal("a second caller got another value")
		}
	})
	t.Run("another key gets its own value", func(t *testing.T) {
		type otherKey struct{}
		if v := m.hub.Shared(ev, otherKey{}, func() any { return new(int) }).(*int); v == first {
			t.Fatal("two keys share a value")
		}
	})
	t.Run("another event's notification keeps it", func(t *testing.T) {
		notify(t, m.db.Gorm, other)
		next(t, sub)
		if shared() != first {
			t.Fatal("the value was dropped by another event")
		}
	})
	t.Run("the event's notification drops it before anyone is told", func(t *testing.T) {
		notify(t, m.db.Gorm, ev)
		next(t, sub)
		if shared() == first {
			t.Fatal("the value outlived a notification of its event")
		}
	})
	t.Run("a reconnection drops it before anyone is told", func(t *testing.T) {
		before := shared()
		if n := terminateListeners(t, m.db); n != 1 {
			t.Fatalf("terminated %d listening connections, want 1", n)
		}
		select {
		case <-sub.Refresh():
		case <-time.After(wait):
			t.Fatal("no refresh after the reconnection")
		}
		if shared() == before {
			t.Fatal("the value outlived a reconnection")
		}
	})
	t.Run("without a subscription nothing is kept", func(t *testing.T) {
		sub.Close()
		if shared() == shared() {
			t.Fatal("a value was kept for an event nobody listens to")
		}
	})
}
