package metrics

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/valyala/fasthttp"
)

func TestRouteLabelIsANameOrAPatternNeverAPath(t *testing.T) {
	h := func(c *fiber.Ctx) error { return nil }
	for _, tc := range []struct {
		name  string
		route *fiber.Route
		want  string
	}{
		{"a named route is its name", &fiber.Route{Name: "messages.thread", Path: "/records/:record<int>/messages/:thread<int>", Handlers: []fiber.Handler{h}}, "messages.thread"},
		{"an unnamed route is its pattern", &fiber.Route{Path: "/static", Handlers: []fiber.Handler{h}}, "/static"},
		{"the middleware every request passes is unmatched", &fiber.Route{Path: "/", Handlers: []fiber.Handler{h}}, Unmatched},
		{"Fiber's stand-in for no route, which holds the path asked for, is unmatched", &fiber.Route{Path: "/records/42/secret"}, Unmatched},
		{"no route is unmatched", nil, Unmatched},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RouteLabel(tc.route); got != tc.want {
				t.Fatalf("RouteLabel = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStatusLabels(t *testing.T) {
	for _, tc := range []struct {
		status      int
		code, class string
	}{{200, "200", "2xx"}, {303, "303", "3xx"}, {422, "422", "4xx"}, {503, "503", "5xx"}, {0, "other", "other"}, {999, "other", "other"}} {
		if statusCode(tc.status) != tc.code || statusClass(tc.status) != tc.class {
			t.Errorf("status %d = %q %q, want %q %q", tc.status, statusCode(tc.status), statusClass(tc.status), tc.code, tc.class)
		}
	}
}

// TestARequestAllocatesNothingOnceItsSeriesExists: the portal is measured
// against a bare baseline (make bench); counting a request costs a map
// lookup and two atomic updates, no allocation.
func TestARequestAllocatesNothingOnceItsSeriesExists(t *testing.T) {
	m := New()
	k := seriesKey{route: "auth.sign_in", method: fiber.MethodGet, status: fiber.StatusOK}
	m.http.get(k)
	start := time.Now()
	if n := testing.AllocsPerRun(100, func() {
		s := m.http.get(k)
		s.count.Inc()
		s.time.Observe(time.Since(start).Seconds())
	}); n != 0 {
		t.Fatalf("counting a request allocates %v times", n)
	}
}

func TestJobAttemptsAreCountedByOutcome(t *testing.T) {
	m := New()
	mw := m.JobMiddleware()[0].(rivertype.WorkerMiddleware)
	job := &rivertype.JobRow{Kind: "notify.send"}
	work := func(err error) {
		_ = mw.Work(context.Background(), job, func(context.Context) error { return err })
	}
	work(nil)
	work(errors.New("provider down"))
	work(river.JobCancel(errors.New("too old")))
	work(river.JobSnooze(time.Minute))
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a worker's panic was swallowed: River must see it")
			}
		}()
		_ = mw.Work(context.Background(), job, func(context.Context) error { panic("boom") })
	}()
	for outcome, want := range map[string]float64{JobCompleted: 1, JobFailed: 2, JobCancelled: 1, JobSnoozed: 1} {
		if got := counterValue(t, m, "portal_job_attempts_total", job.Kind, outcome); got != want {
			t.Errorf("attempts %s = %v, want %v", outcome, got, want)
		}
	}
	if New().JobMiddleware() == nil || (*Metrics)(nil).JobMiddleware() != nil {
		t.Error("JobMiddleware: want one for metrics on, none for off")
	}
}

// counterValue reads a counter's series by its label values, in order.
func counterValue(t *testing.T, m *Metrics, name string, values ...string) float64 {
	t.Helper()
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	series:
		for _, s := range f.GetMetric() {
			for i, l := range s.GetLabel() {
				if i >= len(values) || l.GetValue() != values[i] {
					continue series
				}
			}
			return s.GetCounter().GetValue()
		}
	}
	return 0
}

// TestOffIsNil: a nil *Metrics (METRICS_ADDR unset) is safe to call.
func TestOffIsNil(t *testing.T) {
	var m *Metrics
	m.SignIn("password", SignInFailed)
	m.Notified("email", nil)
	m.NotifyFailed("sms", NotifyExpired)
	if err := m.WatchDB(nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := m.WatchStreams(nil); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkMiddleware is a request to a named route through a bare Fiber
// app, without and with the metrics middleware: the difference is what
// counting costs a request.
func BenchmarkMiddleware(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "on"}[on], func(b *testing.B) {
			app := fiber.New(fiber.Config{Immutable: true})
			if on {
				app.Use(New().Middleware())
			}
			app.Get("/records/:record<int>", func(c *fiber.Ctx) error { return c.SendString("ok") }).Name("records.show")
			h := app.Handler()
			var ctx fasthttp.RequestCtx
			ctx.Request.SetRequestURI("/records/42")
			ctx.Request.Header.SetMethod(fiber.MethodGet)
			b.ReportAllocs()
			for b.Loop() {
				h(&ctx)
				ctx.Response.Reset()
			}
		})
	}
}
