package apptest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"portal/app"
	"portal/app/accounts"
	"portal/app/auth"
	"portal/app/clock"
	"portal/app/config"
	"portal/app/db"
	"portal/app/i18n"
	"portal/app/jobs"
	"portal/app/logging"
	"portal/app/metrics"
	"portal/app/notify"
	"portal/app/queue"
	"portal/app/web"
	"portal/storage"
	"portal/storage/s3test"
)

// Start is where every test clock begins: a fixed, ordinary weekday morning.
var Start = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// Options adjust NewApp.
type Options struct {
	DSN  string          // reuse a database (two apps, one database); empty makes a fresh one
	Env  string          // APP_ENV; default development
	Log  io.Writer       // where the app logs (the log canary reads it); default discarded
	Tune func(*app.Deps) // last-minute changes to the dependencies
	// Configure changes the configuration before anything is built from it
	// (the notifier's providers, for instance: see FakeTwilio.Configure).
	Configure func(*config.Config)
	// S3 runs the app on a real S3 server (versitygw, started for the test:
	// TestApp.S3 stops and starts it) instead of a local directory.
	S3 bool
	// Clock is where the test clock starts (Start when zero): time.Now()
	// for an app that shares its database with a built binary, whose
	// clock is the machine's.
	Clock time.Time
}

// TestApp is a running portal on a loopback port.
type TestApp struct {
	*app.App
	URL      string
	DSN      string
	DB       *db.DB
	Clock    *clock.Fake
	Bundle   *i18n.Bundle
	Config   config.Config
	Notifier *notify.Notifier
	Queue    *queue.Queue // not started: Notifier.Drain works it when a test reads the outbox
	Hasher   *auth.Hasher
	Store    storage.Store // the documents' object store (local unless Options.S3 or Tune changed it)
	// S3 is the S3 server the store talks to, with Options.S3 (else nil).
	S3 *s3test.Server
	// Jobs is built but not started: tests call its work (Cleanup,
	// SendGrantEndNotices, Retention, Sweep) when they mean to, after moving Clock.
	Jobs *jobs.Runner
	// Metrics and MetricsURL exist when Configure sets MetricsAddr (such as
	// "127.0.0.1:0"): the metrics listener runs as main runs it.
	Metrics    *metrics.Metrics
	MetricsURL string
}

// NewApp starts the real portal for t: real Postgres, real router, local
// storage in a temp dir, the dev outbox, a movable clock and cheap argon2.
func NewApp(t testing.TB, o Options) *TestApp {
	t.Helper()
	if o.DSN == "" {
		o.DSN = NewDatabase(t)
	}
	if o.Env == "" {
		o.Env = config.Development
	}
	ctx := context.Background()
	database, err := db.Connect(ctx, o.DSN, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { database.Close() })
	var store storage.Store
	var s3srv *s3test.Server
	if o.S3 {
		s3srv = s3test.Start(t)
		store, err = storage.NewS3(ctx, storage.S3Config{Endpoint: s3srv.Addr, AccessKey: s3srv.AccessKey,
			SecretKey: s3srv.SecretKey, Bucket: "portal"})
	} else {
		store, err = storage.NewLocal(t.TempDir())
	}
	if err != nil {
		t.Fatal(err)
	}
	bundle := Bundle(t)
	logOut := o.Log
	if logOut == nil {
		logOut = io.Discard
	}
	log := logging.New(logOut, "debug")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	secrets := secretsFor(o.DSN)
	cfg := config.Config{Env: o.Env, Port: "0", BaseURL: url, DataDir: t.TempDir(),
		SessionKey: secrets.session, EncryptionKey: secrets.encryption, MailProvider: "outbox",
		MailFrom: "Children's Services Online <no-reply@example.org>", PhoneCountries: "GB"}
	if o.Env == config.Production {
		// Production refuses the outbox; nothing is sent in these tests.
		cfg.MailProvider, cfg.SMTPHost, cfg.SMTPPort, cfg.SMTPTLS = "smtp", "127.0.0.1", 1, "none"
		cfg.SMSProvider, cfg.VoiceProvider, cfg.TwilioBaseURL = "twilio", "twilio", "http://127.0.0.1:1"
		cfg.TwilioAccountSID, cfg.TwilioAuthToken, cfg.TwilioFrom = "ACtest", config.RandomKey(), "+441632960000"
	}
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	clk := clock.NewFake(Start)
	if !o.Clock.IsZero() {
		clk = clock.NewFake(o.Clock)
	}
	var m *metrics.Metrics
	if cfg.MetricsAddr != "" {
		m = metrics.New()
	}
	q, err := queue.New(queue.Options{Config: cfg, DB: database, Log: log, Middleware: m.JobMiddleware()})
	if err != nil {
		t.Fatal(err)
	}
	notifier, err := notify.New(ctx, notify.Options{Config: cfg, DB: database, Queue: q, Bundle: bundle, Log: log, Clock: clk, Workers: 1, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	deps := app.Deps{Config: cfg, DB: database, Store: store, Bundle: bundle, Views: RepoFS(t, "views"),
		Static: RepoFS(t, "static"), Clock: clk, Log: log, Hasher: auth.NewHasher(auth.TestParams, 4), Notifier: notifier, Queue: q, Metrics: m}
	if o.Tune != nil {
		o.Tune(&deps)
	}
	a, err := app.New(ctx, deps)
	if err != nil {
		t.Fatal(err)
	}
	runner, err := jobs.New(jobs.Options{DB: database, Queue: q, Notifier: notifier, Audit: a.Audit,
		Sessions: a.Sessions, Limiter: a.Limiter, Codes: a.Codes, Calls: a.Calls, Idempotency: a.Idempotency, Exports: a.Exports, Objects: deps.Store, Clock: clk, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = a.Serve(ln) }()
	metricsURL := serveMetrics(t, cfg.MetricsAddr, deps.Metrics)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		runner.Stop()
		_ = q.Stop(ctx)
		_ = a.Shutdown(ctx)
	})
	return &TestApp{App: a, URL: url, DSN: o.DSN, DB: database, Clock: clk, Bundle: bundle, Config: cfg,
		Notifier: notifier, Queue: q, Hasher: deps.Hasher, Jobs: runner, Store: deps.Store, S3: s3srv,
		Metrics: deps.Metrics, MetricsURL: metricsURL}
}

// appSecrets are the keys of the apps on one database: like machines of
// one deployment, they share them, so each opens what another sealed.
type appSecrets struct{ session, encryption string }

var secretsByDSN sync.Map // DSN → appSecrets

func secretsFor(dsn string) appSecrets {
	s, _ := secretsByDSN.LoadOrStore(dsn, appSecrets{session: config.RandomKey(), encryption: "test1:" + config.RandomKey()})
	return s.(appSecrets)
}

// T translates id in English, so tests find text by message id. Messages
// that name the service get its default name, as the notifier gives them.
func (a *TestApp) T(id string, args ...any) string {
	en := a.Bundle.For("en")
	return en.T(id, append(args, "Service", en.T("notify.service"))...)
}

// NewPerson creates a person with the given role and staff role, who has
// already confirmed the terms (tests of that step clear it).
func (a *TestApp) NewPerson(t testing.TB, email, role, staffRole string) *accounts.Person {
	t.Helper()
	hash, err := a.Hasher.Hash(context.Background(), Password)
	if err != nil {
		t.Fatal(err)
	}
	accepted := a.Clock.Now()
	p := &accounts.Person{Email: email, GivenName: "Test", FamilyName: "Person", PasswordHash: hash,
		Role: role, StaffRole: staffRole, Status: "active", Locale: "en", TermsAcceptedAt: &accepted}
	if err := accounts.NewStore(a.DB.Gorm).Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

// GivePhone puts a verified phone number (E.164) on person, as if they had
// enrolled it; mobile says whether it takes texts.
func (a *TestApp) GivePhone(t testing.TB, person *accounts.Person, e164 string, mobile bool) {
	t.Helper()
	sealed, err := a.Sealer.Seal("person.phone", []byte(e164))
	if err != nil {
		t.Fatal(err)
	}
	hint := auth.MaskPhone(e164)
	if err := accounts.NewStore(a.DB.Gorm).SetPhone(context.Background(), person.ID, sealed, hint, mobile); err != nil {
		t.Fatal(err)
	}
	person.PhoneSealed, person.PhoneHint, person.PhoneMobile = sealed, hint, mobile
}

// PasswordStep signs client in with person's email and the test password,
// leaving it at AAL1 on "Confirm your identity".
func (a *TestApp) PasswordStep(t testing.TB, c *Client, person *accounts.Person) {
	t.Helper()
	c.Get("/sign-in")
	res := c.PostForm("/sign-in", url.Values{"email": {person.Email}, "password": {Password}})
	if res.Header.Get("Location") != "/sign-in/confirm" {
		t.Fatalf("password step for %s = %d %q", person.Email, res.StatusCode, res.Header.Get("Location"))
	}
	c.Get("/sign-in/confirm") // the new session's CSRF token
}

// Password is the password of every person NewPerson makes: random for
// each test run, so no credential is written in the code.
var Password = config.RandomKey()[:20] + "-Aa9"

// SignIn gives client a session for person at AAL2, as if they had passed
// both factors.
func (a *TestApp) SignIn(t testing.TB, c *Client, person *accounts.Person) {
	t.Helper()
	token, err := a.Sessions.Start(context.Background(), person.ID, web.AAL2)
	if err != nil {
		t.Fatal(err)
	}
	c.SetCookie(a.Sessions.CookieName, token)
}

var (
	rootOnce sync.Once
	root     string
)

// RepoRoot is the directory holding go.mod.
func RepoRoot(t testing.TB) string {
	rootOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		dir := filepath.Dir(file)
		for dir != "/" {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				root = dir
				return
			}
			dir = filepath.Dir(dir)
		}
	})
	if root == "" {
		t.Fatal("apptest: go.mod not found")
	}
	return root
}

// RepoFS is a top-level folder of the repository (views, static, locales).
func RepoFS(t testing.TB, dir string) fs.FS { return os.DirFS(filepath.Join(RepoRoot(t), dir)) }

// Bundle loads the real message files.
func Bundle(t testing.TB) *i18n.Bundle {
	b, err := i18n.Load(RepoFS(t, "locales"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// BuildPortal builds the portal's binary as the Dockerfile does, for a
// test that runs it (its commands, a second machine to kill).
func BuildPortal(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "portal")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// FreePort is a loopback TCP port free a moment ago, for a process the
// test starts (which listens on it itself).
func FreePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// WaitReady asks base's /readyz until it answers ready, for at most
// within (a started binary's start-up, not a wait for time to pass), and
// reports whether it did.
func WaitReady(base string, within time.Duration) bool {
	for end := time.Now().Add(within); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		res, err := http.Get(base + "/readyz")
		if err != nil {
			continue
		}
		var body struct{ Status string }
		_ = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if body.Status == "ready" {
			return true
		}
	}
	return false
}
