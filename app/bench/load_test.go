package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"portal/app/clock"
	"portal/app/db"
	"portal/app/demo"
	"portal/app/messages"
	"portal/app/seal"
	"portal/app/web"
)

// The load run's sizes: sessions signed in at once, clients per phase,
// the seconds each measured slice lasts.
const (
	sessions     = 200
	clients      = 8
	slice        = 2 * time.Second
	rounds       = 5
	threadLength = 2000
)

var ran bool

// BenchmarkLoadRun is `make bench`'s load run (see the package doc). It
// runs once, whatever b.N, and prints its table.
func BenchmarkLoadRun(b *testing.B) {
	if ran {
		return
	}
	ran = true
	r := setUp(b)
	r.firstLoad(b)
	r.startBaseline(b)
	r.throughput(b)
	r.writesPerGet(b)
	r.concurrent(b)
	r.storm(b)
	r.liveDelivery(b)
	r.download(b)
	r.tableSizes(b)
	r.print()
}

// run is one load run's servers, data and figures.
type run struct {
	password         string // the demo accounts', made for this run
	dir, sessionKey  string
	cluster          *db.Embedded
	db               *db.DB
	portal, baseline *proc
	client           *http.Client
	record, parent   int64
	thread           int64 // the parent's thread of threadLength messages
	tokens           []string
	dashboardBytes   int
	rows             []row
}

// row is one line of the printed table.
type row struct{ what, figure, target string }

func (r *run) add(what, target, format string, args ...any) {
	r.rows = append(r.rows, row{what, fmt.Sprintf(format, args...), target})
}

func (r *run) print() {
	fmt.Printf("\nLoad run, %s, %d cores (figures are ratios to a side measured in the same run)\n\n",
		time.Now().Format("2006-01-02"), runtime.NumCPU())
	fmt.Printf("| %s | %s | %s |\n|---|---|---|\n", "what", "measured", "target")
	for _, x := range r.rows {
		fmt.Printf("| %s | %s | %s |\n", x.what, x.figure, x.target)
	}
	fmt.Println()
}

// setUp starts a cluster with fsync on (pg_stat_statements preloaded),
// the portal on its embedded defaults with demo data, and signs in the
// demo parent's sessions.
func setUp(b *testing.B) *run {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "portal-bench-")
	if err != nil {
		b.Fatal(err)
	}
	r := &run{dir: dir, sessionKey: randomKey(), client: newClient(4 * sessions)}
	// The demo password is made as the portal makes it at a first start,
	// in its data directory, where the portal then reads it.
	if r.password, err = demo.Password(filepath.Join(dir, "data"), ""); err != nil {
		b.Fatal(err)
	}
	r.cluster = &db.Embedded{Dir: filepath.Join(dir, "data", "postgres"),
		Settings: []string{"shared_preload_libraries=pg_stat_statements", "pg_stat_statements.track=all"}}
	if _, err := r.cluster.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = r.cluster.StopAnyway()
		_ = os.RemoveAll(dir)
	})
	bin := build(b, dir, "portal", ".")
	port := freePort(b)
	encryption := "bench1:" + randomKey()
	r.portal = start(b, "portal", bin, port, "/readyz", []string{"APP_ENV=development", "PORT=" + port,
		"DATA_DIR=" + filepath.Join(dir, "data"), "DATABASE_URL=", "S3_ENDPOINT=",
		"SESSION_KEY=" + r.sessionKey, "ENCRYPTION_KEYS=" + encryption, "TRUST_FLY_CLIENT_IP=true",
		"BASE_URL=http://127.0.0.1:" + port})
	if r.db, err = db.Connect(ctx, r.cluster.DSN("portal"), nil); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.db.Close() })
	g := r.db.Gorm
	must(b, g.Exec(`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`).Error)
	must(b, g.Raw(`SELECT r.id FROM records r WHERE r.case_reference = 'DEMO-0001'`).Scan(&r.record).Error)
	must(b, g.Raw(`SELECT id FROM people WHERE email = ?`, demo.ParentEmail).Scan(&r.parent).Error)
	// The parent has used the portal before: terms confirmed.
	must(b, g.Exec(`UPDATE people SET terms_accepted_at = now() WHERE id = ?`, r.parent).Error)

	// A long thread: its first message through the store (sealed for the
	// thread), the rest copies of it (one key, one thread: they open).
	sealer, err := seal.New(encryption)
	must(b, err)
	store := messages.NewStore(g, clock.Real{}, sealer, nil, nil)
	types, err := store.Types(ctx, true)
	must(b, err)
	th := &messages.Thread{RecordID: r.record, HolderID: r.parent, TypeID: types[0].ID, TeamID: types[0].TeamID,
		Subject: "Bench thread", StartedBy: r.parent}
	must(b, store.Start(ctx, th, &messages.Message{AuthorID: r.parent, Body: "A message of the bench thread."}))
	r.thread = th.ID
	must(b, g.Exec(`INSERT INTO messages (thread_id, author_id, from_staff, body, created_at)
		SELECT thread_id, author_id, from_staff, body, created_at FROM messages m, generate_series(2, ?)
		WHERE m.thread_id = ?`, threadLength, th.ID).Error)

	// Sessions through the portal's own store and key: the harness's way in.
	key, err := base64Std(r.sessionKey)
	must(b, err)
	minted := web.NewSessions(g, r.db.Pool, key, clock.Real{}, false)
	for i := 0; i < sessions; i++ {
		token, err := minted.Start(ctx, r.parent, web.AAL2)
		must(b, err)
		r.tokens = append(r.tokens, token)
	}
	return r
}

func (r *run) dashboard() string { return r.portal.url + "/records/" + strconv.FormatInt(r.record, 10) }

// signedIn is a request for path as each minted session.
func (r *run) signedIn(base, path string, n int) []request {
	reqs := make([]request, n)
	for i := range reqs {
		reqs[i] = request{url: base + path, cookie: r.tokens[i%len(r.tokens)], want: http.StatusOK}
	}
	return reqs
}

func (r *run) startBaseline(b *testing.B) {
	dir := filepath.Join(r.dir, "baseline-bin")
	must(b, os.MkdirAll(dir, 0o755))
	bin := build(b, dir, "baseline", "./app/bench/baseline")
	port := freePort(b)
	r.baseline = start(b, "baseline", bin, port, "/healthz", []string{"PORT=" + port,
		"DATABASE_URL=" + r.cluster.DSN("portal"), "SESSION_KEY=" + r.sessionKey,
		"PAGE_BYTES=" + strconv.Itoa(r.dashboardBytes)})
}

// throughput: the dashboard against the baseline; and one page (help)
// signed in against the same page anonymous, which is what being signed
// in costs (the session, the person, the idle timer); in alternating
// slices.
func (r *run) throughput(b *testing.B) {
	path := "/records/" + strconv.FormatInt(r.record, 10)
	app := r.signedIn(r.portal.url, path, clients)
	base := r.signedIn(r.baseline.url, path, clients)
	help := r.signedIn(r.portal.url, "/help", clients)
	anon := []request{{url: r.portal.url + "/help", want: http.StatusOK}}
	drive(r.portal, r.client, clients, slice/2, app) // warm both
	drive(r.baseline, r.client, clients, slice/2, base)
	frag := r.signedIn(r.portal.url, path, clients)
	for i := range frag {
		frag[i].htmx = true
	}
	var rps, cpu, anonRatio, anonCPU, fragCPU []float64
	for i := 0; i < rounds; i++ {
		a := drive(r.portal, r.client, clients, slice, app)
		z := drive(r.baseline, r.client, clients, slice, base)
		h := drive(r.portal, r.client, clients, slice, help)
		n := drive(r.portal, r.client, clients, slice, anon)
		f := drive(r.portal, r.client, clients, slice, frag)
		check(b, a, z, h, n, f)
		fragCPU = append(fragCPU, float64(f.cpuPer())/float64(a.cpuPer()))
		rps = append(rps, a.rps()/z.rps())
		cpu = append(cpu, float64(a.cpuPer())/float64(z.cpuPer()))
		anonRatio = append(anonRatio, h.rps()/n.rps())
		anonCPU = append(anonCPU, float64(n.cpuPer())/float64(h.cpuPer()))
	}
	r.add("dashboard requests/s ÷ baseline's", "≥ 0.5", "%.2f", median(rps))
	r.add("dashboard CPU per request ÷ baseline's", "", "%.1f", median(cpu))
	r.add("dashboard as an HTMX fragment ÷ as a page, CPU per request", "< 1", "%.2f", median(fragCPU))
	r.add("a page signed in ÷ the same page anonymous (help), requests/s (portal's CPU per request, anonymous ÷ signed in)", "≥ 0.8",
		"%.2f (%.2f)", median(anonRatio), median(anonCPU))
}

// concurrent: 200 signed-in sessions at once, p99 against the baseline's.
func (r *run) concurrent(b *testing.B) {
	path := "/records/" + strconv.FormatInt(r.record, 10)
	app := r.signedIn(r.portal.url, path, sessions)
	base := r.signedIn(r.baseline.url, path, sessions)
	var ratios []float64
	var p99 time.Duration
	for i := 0; i < 2; i++ {
		a := drive(r.portal, r.client, sessions, 2*slice, app)
		z := drive(r.baseline, r.client, sessions, 2*slice, base)
		check(b, a, z)
		ratios = append(ratios, float64(a.pct(99))/float64(z.pct(99)))
		p99 = a.pct(99)
	}
	r.add("p99 with 200 signed-in sessions ÷ baseline's", "≤ 2", "%.2f (portal %s)", median(ratios), p99.Round(time.Millisecond))
}

func check(b *testing.B, rs ...result) {
	for _, x := range rs {
		if x.errs > 0 || x.n == 0 {
			b.Fatalf("%d errors, %d answers; first: %v", x.errs, x.n, x.err)
		}
	}
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}
