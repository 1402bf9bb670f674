// Command portal serves Children's Services Online.
//
//	portal                                  run the web server (migrating first)
//	portal migrate                          apply database migrations and exit
//	portal create-admin EMAIL GIVEN FAMILY  add a portal admin (migrating first) and exit
//	portal env                              list the environment variables it reads
//	portal backup DIR                       dump the database and copy every object into DIR
//	portal restore [--force] DIR            restore a backup into an empty database and store
//	portal rotate-keys [--batch N]          re-seal every sealed value with ENCRYPTION_KEYS' first key
//
// create-admin makes the first portal admin of a new deployment, or
// another one: an account with no password, as for every member of staff
// an admin adds, whose holder sets one with "Forgot your password?".
//
// main only wires: config → logger → database → storage → i18n → notify →
// app.New → jobs → listen, and stops gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // Europe/London in the distroless image, which has no zoneinfo

	"portal/app"
	"portal/app/accounts"
	"portal/app/audit"
	"portal/app/auth"
	"portal/app/backup"
	"portal/app/clock"
	"portal/app/config"
	"portal/app/db"
	"portal/app/demo"
	"portal/app/forms"
	"portal/app/i18n"
	"portal/app/jobs"
	"portal/app/logging"
	"portal/app/messages"
	"portal/app/metrics"
	"portal/app/notify"
	"portal/app/queue"
	"portal/app/rotate"
	"portal/storage"
)

// all: because fragments are files starting with "_", which embed skips otherwise.
//
//go:embed all:views static locales
var files embed.FS

// memoryLimit is the runtime's soft memory limit unless GOMEMLIMIT sets
// one: every password check holds 19 MiB (argon2id), and without a limit
// the heap may grow to twice what is live before the collector runs, so a
// storm of sign-ins doubled the process's memory. It is not a cap (the
// runtime goes past it rather than stall), and far below the machine's
// 512 MB (fly.toml).
const memoryLimit = 100 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "portal:", err)
		os.Exit(1)
	}
}

func run() error {
	cmd := ""
	if len(os.Args) > 1 {
		cmd = os.Args[1]
	}
	if cmd == "env" {
		for _, v := range config.Variables() {
			fmt.Printf("%-20s default %-10q %s\n", v[0], v[1], v[2])
		}
		return nil
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	if err := cfg.FillDevSecrets(); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("configuration is not valid:\n%w", err)
	}
	log := logging.New(os.Stdout, cfg.LogLevel)
	slog.SetDefault(log)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Before db.Open, which migrates: a backup is of the database as it
	// is, and a restore goes into an empty one.
	if cmd == "backup" || cmd == "restore" {
		store, err := openStorage(ctx, cfg)
		if err != nil {
			return err
		}
		return backup.Command(ctx, cfg, store, cmd, os.Args[2:], os.Stdout)
	}

	database, err := db.Open(ctx, db.Options{URL: cfg.DatabaseURL, DataDir: cfg.DataDir, BinDir: cfg.PGBinDir, Logger: log})
	if err != nil {
		return err
	}
	defer database.Close()
	if cmd == "migrate" {
		log.Info("migrations applied")
		return nil
	}
	if cmd == "create-admin" {
		return createAdmin(ctx, cfg, database, os.Args[2:])
	}
	if cmd == "rotate-keys" {
		return rotate.Command(ctx, database.Gorm, cfg.EncryptionKey, os.Args[2:], os.Stdout)
	}
	if cmd != "" {
		return fmt.Errorf("unknown command %q (try: migrate, create-admin, backup, restore, rotate-keys, env)", cmd)
	}
	return serve(ctx, cfg, database, log)
}

func serve(ctx context.Context, cfg config.Config, database *db.DB, log *slog.Logger) error {
	store, err := openStorage(ctx, cfg)
	if err != nil {
		return err
	}
	bundle, err := i18n.Load(sub("locales"))
	if err != nil {
		return err
	}
	hasher := auth.NewHasher(auth.ProductionParams, auth.HashSlots())
	var m *metrics.Metrics // nil, and nothing counted, unless METRICS_ADDR is set
	if cfg.MetricsAddr != "" {
		m = metrics.New()
	}
	// One River client (app/queue) works notify's messages and the
	// scheduled jobs; each adds its queue while it is built.
	q, err := queue.New(queue.Options{Config: cfg, DB: database, Log: log, Middleware: m.JobMiddleware()})
	if err != nil {
		return err
	}
	notifier, err := notify.New(ctx, notify.Options{Config: cfg, DB: database, Queue: q, Bundle: bundle, Log: log, Metrics: m})
	if err != nil {
		return err
	}
	portal, err := app.New(ctx, app.Deps{Config: cfg, DB: database, Store: store, Bundle: bundle,
		Views: sub("views"), Static: sub("static"), Log: log, Hasher: hasher, Notifier: notifier, Queue: q, Metrics: m})
	if err != nil {
		return err
	}
	maintenance, err := jobs.New(jobs.Options{DB: database, Queue: q, Notifier: notifier, Audit: portal.Audit,
		Sessions: portal.Sessions, Limiter: portal.Limiter, Codes: portal.Codes, Calls: portal.Calls, Idempotency: portal.Idempotency, Exports: portal.Exports, Objects: store, Log: log})
	if err != nil {
		return err
	}
	if err := q.Start(ctx); err != nil {
		return err
	}
	defer q.Stop(context.Background())
	// Scheduled work: clean-up, access-ending notices, retention.
	if err := maintenance.Start(ctx); err != nil {
		return err
	}
	defer maintenance.Stop()
	if cfg.IsDevelopment() {
		if err := seedDemo(ctx, cfg, database, hasher, store, portal.Forms); err != nil {
			return err
		}
	}
	log.Info("configuration\n" + cfg.String())

	errc := make(chan error, 2)
	ln, err := net.Listen("tcp", ":"+cfg.Port)
	if err != nil {
		return err
	}
	go func() { errc <- portal.Serve(ln) }()
	stopMetrics, err := serveMetrics(cfg.MetricsAddr, m, errc, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	fmt.Printf("\nChildren's Services Online is running at %s\n\n", cfg.BaseURL)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	return portal.Shutdown(shutdownCtx)
}

// serveMetrics serves /metrics, alone, on METRICS_ADDR (when set): never
// the public port (config refuses it). stop ends it, with the app.
func serveMetrics(addr string, m *metrics.Metrics, errc chan<- error, log *slog.Logger) (stop func(), err error) {
	if m == nil {
		return func() {}, nil
	}
	srv, err := metrics.Listen(addr, m)
	if err != nil {
		return nil, err
	}
	go func() {
		if err := srv.Serve(); err != nil {
			errc <- err
		}
	}()
	log.Info("metrics listening", "addr", srv.Addr().String(), "path", metrics.Path)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// sub is a top-level folder of the embedded files.
func sub(dir string) fs.FS { f, _ := fs.Sub(files, dir); return f }

// createAdmin adds a portal admin with no password (accounts.CreateStaff,
// as the admin's "Add a member of staff" does) and says how to sign in.
func createAdmin(ctx context.Context, cfg config.Config, database *db.DB, args []string) error {
	if len(args) != 3 {
		return errors.New("usage: portal create-admin EMAIL GIVEN FAMILY")
	}
	n := accounts.NewStaff{Email: strings.TrimSpace(args[0]), GivenName: strings.TrimSpace(args[1]),
		FamilyName: strings.TrimSpace(args[2]), StaffRole: accounts.StaffPortalAdmin}
	if problems := n.Check(); len(problems) > 0 {
		bundle, err := i18n.Load(sub("locales"))
		if err != nil {
			return err
		}
		var msgs []string
		for _, p := range problems {
			msgs = append(msgs, p.Field+": "+bundle.For("en").T(p.Key))
		}
		return errors.New("cannot create the admin:\n  " + strings.Join(msgs, "\n  "))
	}
	p, err := accounts.NewStore(database.Gorm).CreateStaff(ctx, n)
	if errors.Is(err, accounts.ErrEmailTaken) {
		return errors.New("this email address already has an account")
	}
	if err != nil {
		return err
	}
	if err := audit.New(database.Gorm, clock.Real{}).Write(ctx, nil, audit.Event{Action: "staff.created",
		Target: "person:" + strconv.FormatInt(p.ID, 10)}); err != nil {
		return err
	}
	// Security: no email or name in the output, which may end up in a log.
	fmt.Printf("Portal admin created. To sign in, set a password with \"Forgot your password?\" at %s/forgot-password\n",
		cfg.BaseURL)
	return nil
}

func openStorage(ctx context.Context, cfg config.Config) (storage.Store, error) {
	if cfg.S3Endpoint == "" {
		return storage.NewLocal(filepath.Join(cfg.DataDir, "objects"))
	}
	return storage.NewS3(ctx, storage.S3Config{Endpoint: cfg.S3Endpoint, AccessKey: cfg.S3AccessKey,
		SecretKey: cfg.S3SecretKey, Bucket: cfg.S3Bucket, Region: cfg.S3Region, UseTLS: cfg.S3UseTLS})
}

// seedDemo creates the demo service on first start and prints how to sign in.
func seedDemo(ctx context.Context, cfg config.Config, database *db.DB, hasher *auth.Hasher, store storage.Store, formStore *forms.Store) error {
	password, err := demo.Password(cfg.DataDir, cfg.DemoPassword)
	if err != nil {
		return err
	}
	res, err := demo.Seed(ctx, database.Gorm, hasher, password)
	if err != nil {
		return err
	}
	if err := demo.SeedDocuments(ctx, database.Gorm, store); err != nil {
		return err
	}
	if err := demo.SeedForms(ctx, database.Gorm, formStore); err != nil {
		return err
	}
	if err := demo.SeedMessageTypes(ctx, database.Gorm, messages.NewStore(database.Gorm, clock.Real{}, nil, nil, nil)); err != nil {
		return err
	}
	fmt.Printf("\nDemo accounts (development only), all with the same password:\n"+
		"  worker: %s\n  admin:  %s\n  parent: %s (holds two children's records)\n  password: %s\n"+
		"  Phone codes and emails arrive in the dev outbox: %s/dev/outbox\n",
		demo.WorkerEmail, demo.AdminEmail, demo.ParentEmail, res.Password, cfg.BaseURL)
	return nil
}
