package live_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"portal/app/apptest"
	"portal/app/db"
	"portal/app/live"
)

func TestMain(m *testing.M) { apptest.Main(m) }

// wait bounds every wait for something to happen; tests never sleep.
const wait = 10 * time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// logBuffer is a logger whose output a test can read.
type logBuffer struct{ apptest.Output }

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// machine is one app process: its own pool on the shared database and its
// own hub.
type machine struct {
	db  *db.DB
	hub *live.Hub
}

// newMachine connects to dsn and starts a hub with quick reconnection,
// adjusted by tune.
func newMachine(t *testing.T, dsn string, log *slog.Logger, tune ...func(*live.Hub)) *machine {
	t.Helper()
	d, err := db.Connect(context.Background(), dsn, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if log == nil {
		log = quiet
	}
	h := live.NewHub(d.Pool, log)
	h.MinBackoff, h.MaxBackoff = 10*time.Millisecond, 100*time.Millisecond
	for _, f := range tune {
		f(h)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Stop)
	return &machine{db: d, hub: h}
}

// notify commits evs in one transaction on g.
func notify(t *testing.T, g *gorm.DB, evs ...live.Event) {
	t.Helper()
	err := g.Transaction(func(tx *gorm.DB) error {
		for _, ev := range evs {
			if err := live.Notify(context.Background(), tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// next is the subscription's next event, failing after wait.
func next(t *testing.T, s *live.Subscription) live.Event {
	t.Helper()
	select {
	case ev, ok := <-s.Events():
		if !ok {
			t.Fatal("subscription closed")
		}
		return ev
	case <-time.After(wait):
		t.Fatalf("no event within %s", wait)
	}
	return live.Event{}
}

// listeners counts the hubs' listening connections on the database.
func listeners(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	err := d.Pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
		WHERE application_name = $1 AND datname = current_database()`, live.ListenerName).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// terminateListeners kills the hubs' listening connections on the database
// and returns how many there were.
func terminateListeners(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	err := d.Pool.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND datname = current_database()`, live.ListenerName).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// rawListener LISTENs on Channel with a plain connection and returns the
// payloads exactly as Postgres delivers them, to check what is on the wire.
func rawListener(t *testing.T, dsn string) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+live.Channel); err != nil {
		t.Fatal(err)
	}
	out := make(chan string, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				return
			}
			out <- n.Payload
		}
	}()
	t.Cleanup(func() { cancel(); <-done; _ = conn.Close(context.Background()) })
	return out
}

func nextPayload(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(wait):
		t.Fatalf("no notification within %s", wait)
	}
	return ""
}
