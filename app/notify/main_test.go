package notify_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"portal/app/apptest"
	"portal/app/clock"
	"portal/app/config"
	"portal/app/db"
	"portal/app/i18n"
	"portal/app/notify"
	"portal/app/queue"
	"portal/app/web"
)

func TestMain(m *testing.M) { apptest.Main(m) }

const baseURL = "https://portal.example.test"

var start = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// repoRoot is the directory holding go.mod, found by walking up from here.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	for dir := filepath.Dir(file); dir != "/"; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
	}
	t.Fatal("go.mod not found")
	return ""
}

// onlyFiles is a file system of just the named files of dir, so these tests
// depend on notify's own locales and views, not on other features' files
// that may be mid-edit.
func onlyFiles(t testing.TB, dir string, names ...string) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(repoRoot(t), dir, n))
		if err != nil {
			t.Fatal(err)
		}
		m[n] = &fstest.MapFile{Data: b}
	}
	return m
}

func localesFS(t testing.TB) fs.FS {
	return onlyFiles(t, "locales", "notify.en.toml", "notify.cy.toml")
}

func bundle(t testing.TB) *i18n.Bundle {
	t.Helper()
	b, err := i18n.Load(localesFS(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testConfig() config.Config {
	return config.Config{Env: config.Test, BaseURL: baseURL, MailProvider: "outbox",
		EncryptionKey: "t1:" + config.RandomKey()}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// quickRetry retries after 10ms instead of River's seconds, so a test of
// retries takes milliseconds; River then puts the job straight back to
// available rather than waiting for its scheduler.
type quickRetry struct{}

func (quickRetry) NextRetry(*rivertype.JobRow) time.Time {
	return time.Now().Add(10 * time.Millisecond)
}

// laterRetry leaves a failed job waiting an hour, so a test sees it failed.
type laterRetry struct{}

func (laterRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(time.Hour) }

type env struct {
	db       *db.DB
	clock    *clock.Fake
	queue    *queue.Queue
	notifier *notify.Notifier
	cfg      config.Config
}

// newEnv builds a notifier on a fresh database, retrying at once; o
// adjusts its options.
func newEnv(t *testing.T, o func(*notify.Options)) *env { return newEnvRetrying(t, quickRetry{}, o) }

// newEnvRetrying is newEnv with the queue's retry policy.
func newEnvRetrying(t *testing.T, retry river.ClientRetryPolicy, o func(*notify.Options)) *env {
	t.Helper()
	e := &env{db: apptest.NewDB(t), clock: clock.NewFake(start), cfg: testConfig()}
	q, err := queue.New(queue.Options{Config: e.cfg, DB: e.db, Log: quiet, RetryPolicy: retry})
	if err != nil {
		t.Fatal(err)
	}
	opts := notify.Options{Config: e.cfg, DB: e.db, Queue: q, Bundle: bundle(t), Log: quiet, Clock: e.clock}
	if o != nil {
		o(&opts)
	}
	n, err := notify.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	e.queue, e.notifier = q, n
	t.Cleanup(func() { _ = q.Stop(context.Background()) })
	return e
}

func (e *env) send(t *testing.T, m notify.Message) {
	t.Helper()
	if err := e.notifier.Send(context.Background(), nil, m); err != nil {
		t.Fatal(err)
	}
}

func (e *env) drain(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.notifier.Drain(ctx); err != nil {
		t.Fatal(err)
	}
}

// devApp is a bare Fiber app with only the dev outbox's routes.
func devApp(h *notify.DevHandler) *fiber.App { return bareApp(h.Mount) }

// bareApp is a Fiber app with only the routes mount adds and an error
// handler that answers web.Error with its status, as the real one does.
func bareApp(mount func(fiber.Router)) *fiber.App {
	app := fiber.New(fiber.Config{Immutable: true, ErrorHandler: func(c *fiber.Ctx, err error) error {
		var we *web.Error
		if errors.As(err, &we) {
			return c.Status(we.Status).SendString(we.Key)
		}
		return c.Status(fiber.StatusInternalServerError).SendString(err.Error())
	}})
	mount(app)
	return app
}

// recorder is a provider that remembers what it was given and can fail the
// first few attempts.
type recorder struct {
	mu       sync.Mutex
	failures int // attempts to fail before succeeding; -1 fails forever
	err      error
	attempts int
	got      []notify.Rendered
}

func (r *recorder) Send(_ context.Context, m notify.Rendered) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	if r.failures != 0 {
		if r.failures > 0 {
			r.failures--
		}
		return r.err
	}
	r.got = append(r.got, m)
	return nil
}

func (r *recorder) delivered() []notify.Rendered {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]notify.Rendered(nil), r.got...)
}
