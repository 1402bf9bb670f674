package metrics_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/metrics"
	"portal/app/notify"
)

func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header.Get("Content-Type"), string(body)
}

// exposition is how the text format starts a family: never on the public port.
const exposition = "# TYPE "

func TestMetricsAreServedOnlyOnTheirOwnListener(t *testing.T) {
	a := newApp(t)
	a.Client(t).Get("/sign-in")
	status, ctype, body := get(t, a.MetricsURL)
	if status != http.StatusOK || !strings.HasPrefix(ctype, "text/plain") || !strings.Contains(body, exposition+"portal_http_requests_total counter") {
		t.Fatalf("the metrics listener's %s = %d %q:\n%.300s", metrics.Path, status, ctype, body)
	}
	base := strings.TrimSuffix(a.MetricsURL, metrics.Path)
	for _, path := range []string{"/", "/sign-in", "/healthz", metrics.Path + "/x"} {
		if status, _, _ := get(t, base+path); status != http.StatusNotFound {
			t.Errorf("the metrics listener answers %s with %d, want 404: it serves %s alone", path, status, metrics.Path)
		}
	}

	// The public app has no /metrics: a signed-in person gets its 404, a
	// visitor what every page that is not public gives.
	signedIn := a.Client(t)
	a.SignIn(t, signedIn, a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, ""))
	if res := signedIn.Get(metrics.Path); res.StatusCode != http.StatusNotFound || strings.Contains(res.Body, exposition) {
		t.Fatalf("the public app's %s = %d for a signed-in person, want its 404", metrics.Path, res.StatusCode)
	}
	visitor := a.Client(t)
	unknown, got := visitor.Get("/no-such-page"), visitor.Get(metrics.Path)
	sameWay := strings.ReplaceAll(unknown.Header.Get("Location"), "no-such-page", "metrics")
	if got.StatusCode != unknown.StatusCode || got.Header.Get("Location") != sameWay || strings.Contains(got.Body, exposition) {
		t.Fatalf("the public app's %s = %d %q for a visitor; an unknown page = %d %q", metrics.Path,
			got.StatusCode, got.Header.Get("Location"), unknown.StatusCode, unknown.Header.Get("Location"))
	}

	// Off (no METRICS_ADDR, the default): no listener, and still no route.
	off := apptest.NewApp(t, apptest.Options{})
	if off.MetricsURL != "" || off.Metrics != nil {
		t.Fatal("metrics are on without METRICS_ADDR")
	}
	c := off.Client(t)
	off.SignIn(t, c, off.NewPerson(t, "parent@example.net", accounts.RoleCitizen, ""))
	if res := c.Get(metrics.Path); res.StatusCode != http.StatusNotFound {
		t.Fatalf("the public app's %s with metrics off = %d, want 404", metrics.Path, res.StatusCode)
	}
}

func TestRequestsAreCountedByRouteName(t *testing.T) {
	a := newApp(t)
	visitor := a.Client(t)
	visitor.Get("/sign-in")
	visitor.Get("/sign-in")
	redirected := visitor.Get("/no-such-page") // not public: the visitor is sent to sign in
	signedIn := a.Client(t)
	a.SignIn(t, signedIn, a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, ""))
	if res := signedIn.Get("/no-such-page"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("an unknown page signed in = %d", res.StatusCode)
	}

	got := a.Scrape(t)
	for _, tc := range []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{"portal_http_requests_total", map[string]string{"route": "auth.sign_in", "method": "GET", "status": "200"}, 2},
		{"portal_http_request_duration_seconds", map[string]string{"route": "auth.sign_in", "method": "GET", "status": "2xx"}, 2},
		// The error a handler returns is counted with the status the error
		// handler sent, not the 200 the response held before.
		{"portal_http_requests_total", map[string]string{"route": metrics.Unmatched, "method": "GET", "status": "404"}, 1},
		{"portal_http_requests_total", map[string]string{"route": metrics.Unmatched, "method": "GET",
			"status": strconv.Itoa(redirected.StatusCode)}, 1},
	} {
		if v, _ := got.Value(tc.family, tc.labels); v != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.family, tc.labels, v, tc.want)
		}
	}
	for _, s := range got["portal_http_requests_total"].GetMetric() {
		for _, l := range s.GetLabel() {
			if l.GetName() == "route" && strings.Contains(l.GetValue(), "no-such-page") {
				t.Errorf("a request is labelled with the path asked for: %q", l.GetValue())
			}
		}
	}
}

// TestNoLabelCarriesAnIdOrAnEmail goes through a whole sign-in, a record's
// pages (its own, and one that is not the person's) and a live stream,
// with ids no label could hold by chance, then reads every label.
func TestNoLabelCarriesAnIdOrAnEmail(t *testing.T) {
	a := newApp(t)
	for table, id := range map[string]int{"records": 987650, "people": 876540} {
		if err := a.DB.Gorm.Exec(`SELECT setval(pg_get_serial_sequence(?, 'id'), ?)`, table, id).Error; err != nil {
			t.Fatal(err)
		}
	}
	team := a.NewTeam(t, "North Locality Team")
	record := a.NewRecord(t, team, "Ellie", "Smith")
	person := a.NewPerson(t, "family.member@example.net", accounts.RoleCitizen, "")
	a.GivePhone(t, person, "+447911123456", true)
	a.Grant(t, person, record, access.Parent)

	c := a.Client(t)
	a.PasswordStep(t, c, person)
	c.PostForm("/sign-in/confirm/send", nil)
	if res := c.PostForm("/sign-in/confirm/verify", map[string][]string{"code": {a.LastSent(t, "sms", "").Code()}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in = %d", res.StatusCode)
	}
	rec := "/records/" + strconv.FormatInt(record.ID, 10)
	if res := c.Get(rec + "/"); res.StatusCode != http.StatusOK {
		t.Fatalf("the dashboard = %d", res.StatusCode)
	}
	if res := c.Get("/records/123456789/"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("a record not held = %d", res.StatusCode)
	}
	lines := c.Stream(rec+"/messages/stream", nil)
	waitLine(t, lines, ": open")

	got := a.Scrape(t)
	if v, _ := got.Value("portal_live_streams_open", nil); v != 1 {
		t.Errorf("portal_live_streams_open = %v with one stream open, want 1", v)
	}
	for _, route := range []string{"access.dashboard", "messages.count_stream", "auth.confirm.verify"} {
		if _, ok := got.Value("portal_http_requests_total", map[string]string{"route": route}); !ok {
			t.Errorf("no requests counted for route %s", route)
		}
	}
	if v, _ := got.Value("portal_notify_sent_total", map[string]string{"channel": "sms"}); v != 1 {
		t.Errorf("texts sent = %v, want 1", v)
	}

	routes := map[string]bool{metrics.Unmatched: true}
	for _, r := range a.GetRoutes() {
		routes[r.Name], routes[r.Path] = true, true
	}
	secrets := []string{strconv.FormatInt(record.ID, 10), strconv.FormatInt(person.ID, 10), "123456789",
		"@", "example", "7911", "+44", "Ellie", "Smith"}
	for name, fam := range got {
		for _, s := range fam.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "route" && !routes[l.GetValue()] {
					t.Errorf("%s: route label %q is not a route's name or pattern", name, l.GetValue())
				}
				for _, secret := range secrets {
					if strings.Contains(l.GetValue(), secret) {
						t.Errorf("%s: label %s=%q holds %q", name, l.GetName(), l.GetValue(), secret)
					}
				}
			}
		}
	}
}

func waitLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the stream ended before %q", want)
			}
			if l == want {
				return
			}
		case <-timeout:
			t.Fatalf("no %q from the stream", want)
		}
	}
}

// badSend is a notify job whose payload cannot be opened: the worker
// cancels it.
type badSend struct {
	Sealed string `json:"sealed"`
}

func (badSend) Kind() string { return "notify.send" }

func TestJobsAreCountedByKindAndState(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	if err := a.Notifier.Send(ctx, nil, notify.Message{Channel: notify.Email, To: "someone@example.net", Lang: "en",
		Template: "email_verification_code", Data: map[string]string{"Code": "424242"}}); err != nil {
		t.Fatal(err)
	}
	got := a.Scrape(t)
	for _, state := range []string{"available", "retryable", "completed", "cancelled", "discarded"} {
		want := 0.0
		if state == "available" {
			want = 1
		}
		if v, ok := got.Value("portal_jobs", map[string]string{"kind": "notify.send", "state": state}); !ok || v != want {
			t.Errorf("queued: portal_jobs{notify.send,%s} = %v (present %v), want %v", state, v, ok, want)
		}
	}

	if err := a.Notifier.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Queue.Insert(ctx, badSend{Sealed: "not sealed"}, &river.InsertOpts{Queue: notify.Queue}); err != nil {
		t.Fatal(err)
	}
	if err := a.Notifier.Drain(ctx); err == nil {
		t.Fatal("a job that cannot be opened was not cancelled")
	}
	got = a.Scrape(t)
	for _, tc := range []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{"portal_jobs", map[string]string{"kind": "notify.send", "state": "available"}, 0},
		{"portal_jobs", map[string]string{"kind": "notify.send", "state": "completed"}, 1},
		{"portal_jobs", map[string]string{"kind": "notify.send", "state": "cancelled"}, 1},
		{"portal_job_attempts_total", map[string]string{"kind": "notify.send", "outcome": metrics.JobCompleted}, 1},
		{"portal_job_attempts_total", map[string]string{"kind": "notify.send", "outcome": metrics.JobCancelled}, 1},
		{"portal_notify_sent_total", map[string]string{"channel": "email"}, 1},
	} {
		if v, _ := got.Value(tc.family, tc.labels); v != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.family, tc.labels, v, tc.want)
		}
	}
}

func TestDatabasePoolAndRuntimeAreReported(t *testing.T) {
	a := newApp(t)
	a.Client(t).Get("/readyz") // at least one query through the pool
	got := a.Scrape(t)
	if v, _ := got.Value("portal_db_pool_max_conns", nil); v != float64(a.DB.Pool.Config().MaxConns) {
		t.Errorf("portal_db_pool_max_conns = %v, want the pool's %d", v, a.DB.Pool.Config().MaxConns)
	}
	for _, name := range []string{"portal_db_pool_total_conns", "portal_db_pool_acquires_total"} {
		if v, _ := got.Value(name, nil); v < 1 {
			t.Errorf("%s = %v, want at least 1", name, v)
		}
	}
	for _, name := range []string{"go_sql_max_open_connections", "go_sql_in_use_connections", "go_sql_wait_count_total"} {
		if _, ok := got.Value(name, map[string]string{"db_name": "portal"}); !ok {
			t.Errorf("no %s{db_name=portal}: GORM's database/sql pool is not reported", name)
		}
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_resident_memory_bytes"} {
		if _, ok := got.Value(name, nil); !ok {
			t.Errorf("no %s: the runtime's and the process's collectors are missing", name)
		}
	}
}

// TestTwoAppsInOneProcessKeepTheirOwnMetrics: each app has its own
// registry; the global one would refuse the second, or mix their counts.
func TestTwoAppsInOneProcessKeepTheirOwnMetrics(t *testing.T) {
	first, second := newApp(t), newApp(t)
	first.Client(t).Get("/sign-in")
	labels := map[string]string{"route": "auth.sign_in", "method": "GET"}
	if v, _ := first.Scrape(t).Value("portal_http_requests_total", labels); v != 1 {
		t.Errorf("the first app counted %v sign-in pages, want 1", v)
	}
	if v, ok := second.Scrape(t).Value("portal_http_requests_total", labels); ok || v != 0 {
		t.Errorf("the second app counted %v of the first's sign-in pages", v)
	}
}

// exprFamily finds metric names in a PromQL expression.
var exprFamily = regexp.MustCompile(`\b(portal|go_sql|go|process)_[a-z_]+`)

// TestTheDashboardShowsEveryFamily: the Grafana dashboard in the repo is
// valid JSON and has a panel for every family the portal exports of its
// own, the database/sql pool and the process; every family a panel asks
// for exists.
func TestTheDashboardShowsEveryFamily(t *testing.T) {
	raw, err := os.ReadFile("grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	if dash.Title == "" || dash.UID == "" || len(dash.Panels) == 0 {
		t.Fatal("the dashboard has no title, uid or panels")
	}
	shown := map[string]bool{}
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		if p.Title == "" || len(p.Targets) == 0 {
			t.Errorf("panel %q has no title or no query", p.Title)
		}
		for _, target := range p.Targets {
			for _, name := range exprFamily.FindAllString(target.Expr, -1) {
				shown[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count"), "_sum")] = true
			}
		}
	}

	for _, name := range metricsSeenOnlyAfterEvents {
		if !shown[name] {
			t.Errorf("no panel shows %s", name)
		}
	}
	a := newApp(t)
	a.Client(t).Get("/sign-in")
	got := a.Scrape(t)
	for name := range got {
		if strings.HasPrefix(name, "portal_") && !shown[name] {
			t.Errorf("no panel shows %s", name)
		}
	}
	for name := range shown {
		if got[name] == nil && !slices.Contains(metricsSeenOnlyAfterEvents, name) {
			t.Errorf("a panel asks for %s, which the portal does not export", name)
		}
	}
}

// metricsSeenOnlyAfterEvents are families with labels that exist only once
// something happened (a message sent, a sign-in, a job worked).
var metricsSeenOnlyAfterEvents = []string{"portal_notify_sent_total", "portal_notify_failed_total",
	"portal_sign_ins_total", "portal_job_attempts_total", "portal_jobs"}
