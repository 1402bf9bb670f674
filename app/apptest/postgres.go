// Package apptest is the test harness: a throwaway Postgres cluster per test
// package, a fresh database per test, the real app with a movable clock, an
// HTTP client with cookies and CSRF, and headless Chromium.
//
// Invariants:
//   - Nothing is mocked: Postgres, the router, the renderer are the real ones.
//   - Nothing skips: a missing component fails the run with how to install it.
//   - Clocks move; no test sleeps to wait for an expiry.
package apptest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"portal/app/db"
)

const templateDB = "portal_template"

var (
	cluster   *db.Embedded
	clusterMu sync.Mutex
	dbCount   atomic.Int64
)

// Main wraps a test package's TestMain: it starts the package's Postgres
// cluster (fsync off, socket only), migrates a template database once, runs
// the tests and stops the cluster.
//
//	func TestMain(m *testing.M) { apptest.Main(m) }
func Main(m *testing.M) { run(m, nil) }

// MainDurable is Main for a package whose tests crash the cluster
// (CrashPostgres): commits wait for the WAL to reach the kernel, as in
// production, so a commit acknowledged before the crash survives it. (Main's
// clusters commit asynchronously, which is faster and loses the last
// commits in a crash.) Its tests must not run in parallel.
func MainDurable(m *testing.M) { run(m, []string{"synchronous_commit=on"}) }

func run(m *testing.M, settings []string) {
	if fuzzingOnly() {
		os.Exit(m.Run())
	}
	code := func() int {
		stop, err := startCluster(settings)
		if err != nil {
			fmt.Fprintln(os.Stderr, "apptest:", err)
			return 1
		}
		defer stop()
		return m.Run()
	}()
	os.Exit(code)
}

// fuzzingOnly reports whether this run only fuzzes: -fuzz with -run '^$'
// (make fuzz, and the worker processes the fuzzer starts with the same
// flags). Fuzz targets take no database, so no cluster is started: one
// per worker would be slow, and left running when a worker is killed.
func fuzzingOnly() bool {
	flag.Parse()
	fuzz, run := flag.Lookup("test.fuzz"), flag.Lookup("test.run")
	return fuzz != nil && run != nil && fuzz.Value.String() != "" && run.Value.String() == "^$"
}

func startCluster(settings []string) (func(), error) {
	clusterMu.Lock()
	defer clusterMu.Unlock()
	// The temp dir (not t.TempDir) must be reachable by the postgres OS user
	// when tests run as root; Embedded opens its parents for search.
	dir, err := os.MkdirTemp("", "portal-test-")
	if err != nil {
		return nil, err
	}
	e := &db.Embedded{Dir: dir + "/pg", Fast: true, Settings: settings}
	ctx := context.Background()
	if _, err := e.Start(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	stop := func() { _ = e.Stop(); os.RemoveAll(dir) }
	if err := db.CreateDatabase(ctx, e.DSN("postgres"), templateDB, ""); err != nil {
		stop()
		return nil, err
	}
	if err := db.Migrate(ctx, e.DSN(templateDB)); err != nil {
		stop()
		return nil, err
	}
	cluster = e
	return stop, nil
}

// NewDatabase creates a fresh, migrated database for t and returns its DSN.
func NewDatabase(t testing.TB) string {
	t.Helper()
	if cluster == nil {
		t.Fatal("apptest: no cluster: the package needs func TestMain(m *testing.M) { apptest.Main(m) }")
	}
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), dbCount.Add(1))
	if err := db.CreateDatabase(context.Background(), cluster.DSN("postgres"), name, templateDB); err != nil {
		t.Fatal(err)
	}
	return cluster.DSN(name)
}

// NewDB returns a connection to a fresh database, closed when t ends.
func NewDB(t testing.TB) *db.DB {
	t.Helper()
	d, err := db.Connect(context.Background(), NewDatabase(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// AdminDSN is the superuser DSN of the package's cluster (for tests of the
// database itself, such as the audit trail's triggers).
func AdminDSN(dbname string) string { return cluster.DSN(dbname) }

// CrashPostgres stops the package's cluster as a power cut would, for a
// test of an outage; StartPostgres brings it back (after crash recovery).
// Every test of the package shares the cluster: only a package started
// with MainDurable, whose tests do not run in parallel, may call them.
func CrashPostgres(t testing.TB) {
	t.Helper()
	if err := cluster.Crash(); err != nil {
		t.Fatal(err)
	}
	// A test that fails before StartPostgres leaves the cluster to the
	// package's other tests running (Start does nothing if it runs).
	t.Cleanup(func() { _, _ = cluster.Start(context.Background()) })
}

// StartPostgres starts the package's cluster again after CrashPostgres.
func StartPostgres(t testing.TB) {
	t.Helper()
	if _, err := cluster.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}
