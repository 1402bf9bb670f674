package resilience_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"portal/app/apptest"
	"portal/app/live"
)

// writer is a signed-in person saving or sending again and again from a
// goroutine while the test crashes the database: it keeps what each try
// was answered.
type writer struct {
	c    *apptest.Client
	path string
	form func(n int) url.Values

	mu       sync.Mutex
	acked    []int       // tries answered 2xx or 303, in order
	failed   map[int]int // try → its status (0: no answer)
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

func startWriter(t *testing.T, c *apptest.Client, path string, form func(n int) url.Values) *writer {
	w := &writer{c: c, path: path, form: form, failed: map[int]int{}, stop: make(chan struct{}), done: make(chan struct{})}
	t.Cleanup(w.halt)
	go func() {
		defer close(w.done)
		for n := 1; ; n++ {
			select {
			case <-w.stop:
				return
			default:
			}
			status, _, err := c.TryPostForm(path, form(n))
			w.mu.Lock()
			if err == nil && (status/100 == 2 || status == http.StatusSeeOther) {
				w.acked = append(w.acked, n)
			} else {
				w.failed[n] = status
			}
			w.mu.Unlock()
			time.Sleep(20 * time.Millisecond) // a person's pace, not a storm
		}
	}()
	return w
}

// counts are how many tries were acknowledged and how many failed so far.
func (w *writer) counts() (acked, failed int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked), len(w.failed)
}

// halt stops the writer and waits for its last try; again, it does nothing.
func (w *writer) halt() {
	w.stopOnce.Do(func() { close(w.stop) })
	<-w.done
}

// waitFor waits (at most a minute) until ok says the writers got there.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	waitForWithin(t, time.Minute, what, ok)
}

// pages are the same-site pages linked from the pages at starts, with
// their own paths, that c is shown (200) now.
func pages(c *apptest.Client, starts ...string) []string {
	seen := map[string]bool{}
	for _, start := range starts {
		seen[start] = true
		res := c.Get(start)
		if res.Doc == nil {
			continue
		}
		res.Doc.Find("a[href^='/']").Each(func(_ int, a *goquery.Selection) {
			href, _ := a.Attr("href")
			href, _, _ = strings.Cut(href, "#")
			// Not the language links: following one changes the person's language.
			if !strings.HasPrefix(href, "/static/") && !strings.HasPrefix(href, "//") && !strings.Contains(href, "lang=") {
				seen[href] = true
			}
		})
	}
	var out []string
	for p := range seen {
		if c.Get(p).StatusCode == http.StatusOK {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// TestPostgresDown is issue 18's database point, against the package's
// real cluster, crashed by the test (pg_ctl stop -m immediate) while a
// holder saves a draft and her worker sends replies, each again and again,
// and started again:
//   - while it is down, every page the holder and the worker had open
//     answers 503 with "The service is having a problem" (never a page,
//     a sign-in page, a 404 or a 500), a draft save 503 with "your work is
//     kept on this page" for the page's message area, a sign-in with the
//     right password 503, and /readyz names the database;
//   - once it is back, without a restart: the same sessions go on, every
//     save and reply that was acknowledged is there, the live stream a
//     page held carries a reply made after, and the job queue sends the
//     email a new message asks for.
func TestPostgresDown(t *testing.T) {
	f := newFamily(t)
	a := f.a
	if err := a.Queue.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	res := f.sendMessage("For Jo", "The bruise on her arm.")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("a message = %d", res.StatusCode)
	}
	thread := res.Header.Get("Location")
	id := thread[strings.LastIndex(thread, "/")+1:]
	mumPages := pages(f.mumC, "/", f.record(), f.record()+"/messages", thread)
	workerPages := pages(f.workerC, "/staff", f.staffRecord(), "/staff/inbox", "/staff/inbox/"+id)
	// The thread's page holds its live stream open throughout, reading it
	// as it comes, and opens it again when it ends (a stream whose event
	// could not be read during the outage ends), from the last event it
	// had, as the browser's EventSource does.
	stream := &apptest.Output{}
	go func() {
		last := ""
		for t.Context().Err() == nil {
			header := http.Header{}
			if last != "" {
				header.Set("Last-Event-ID", last)
			}
			lines, err := f.mumC.TryStream(thread+"/stream", header)
			if err != nil {
				time.Sleep(200 * time.Millisecond) // EventSource's retry, not a wait for an expiry
				continue
			}
			for l := range lines {
				fmt.Fprintln(stream, l)
				if id, ok := strings.CutPrefix(l, "id: "); ok {
					last = id
				}
			}
		}
	}()

	// Two more sessions, one each, type and send from goroutines.
	typing, replying := a.Client(t), a.Client(t)
	a.SignIn(t, typing, f.mum)
	a.SignIn(t, replying, f.worker)
	typing.Get(f.record() + "/messages/new")
	replying.Get("/staff/inbox/" + id)
	drafts := startWriter(t, typing, f.record()+"/messages/draft", func(n int) url.Values {
		return url.Values{"type": {itoa(f.toWorker.ID)}, "subject": {"Draft"}, "body": {fmt.Sprintf("draft %d", n)}}
	})
	replies := startWriter(t, replying, "/staff/inbox/"+id+"/reply", func(n int) url.Values {
		return url.Values{"body": {fmt.Sprintf("Reply number %d.", n)}}
	})
	waitFor(t, "acknowledged saves and replies", func() bool {
		d, _ := drafts.counts()
		r, _ := replies.counts()
		return d >= 3 && r >= 3
	})
	apptest.CrashPostgres(t)
	waitFor(t, "failed saves and replies", func() bool {
		_, d := drafts.counts()
		_, r := replies.counts()
		return d >= 3 && r >= 3
	})

	t.Run("while it is down, every page answers 503 and says so", func(t *testing.T) {
		for _, p := range append(mumPages, workerPages...) {
			c := f.mumC
			if strings.HasPrefix(p, "/staff") {
				c = f.workerC
			}
			res := c.Get(p)
			if res.StatusCode != http.StatusServiceUnavailable || res.Text("h1") != a.T("errors.database.title") {
				t.Errorf("%s = %d %q", p, res.StatusCode, res.Text("h1"))
			}
		}
	})
	t.Run("a draft save is a 503 for the page's message area", func(t *testing.T) {
		c := f.mumC
		c.Header.Set("HX-Request", "true")
		defer c.Header.Del("HX-Request")
		res := c.PostForm(f.record()+"/messages/draft", url.Values{"subject": {"x"}, "body": {"typed while down"}})
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("HX-Retarget") != "#flash" ||
			!strings.Contains(res.Text("body"), a.T("errors.database.body")) {
			t.Errorf("= %d %q %q", res.StatusCode, res.Header.Get("HX-Retarget"), res.Text("body"))
		}
		// Refused before its handler began: nothing done, so a page may
		// send it again as it was (offline.js does).
		if res.Header.Get("X-Portal-Retry") != "safe" {
			t.Errorf("X-Portal-Retry = %q", res.Header.Get("X-Portal-Retry"))
		}
	})
	t.Run("signing in is a 503, not a way in", func(t *testing.T) {
		c := a.Client(t)
		c.Get("/sign-in")
		res := c.PostForm("/sign-in", url.Values{"email": {f.mum.Email}, "password": {apptest.Password}})
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Location") != "" {
			t.Errorf("= %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
	})
	t.Run("readyz names the database", func(t *testing.T) {
		if status, r, body := f.ready(t); status != http.StatusServiceUnavailable || r.Checks["database"] != "unavailable" {
			t.Errorf("= %d %s", status, body)
		}
	})

	apptest.StartPostgres(t)
	_, draftsFailed := drafts.counts()
	_, repliesFailed := replies.counts()
	d0, _ := drafts.counts()
	r0, _ := replies.counts()
	waitFor(t, "saves and replies acknowledged again", func() bool {
		d, _ := drafts.counts()
		r, _ := replies.counts()
		return d >= d0+3 && r >= r0+3
	})
	drafts.halt()
	replies.halt()

	t.Run("every failure was a 503", func(t *testing.T) {
		for name, w := range map[string]*writer{"draft": drafts, "reply": replies} {
			for n, status := range w.failed {
				if status != http.StatusServiceUnavailable {
					t.Errorf("%s %d = %d", name, n, status)
				}
			}
		}
		t.Logf("%d drafts and %d replies failed while the database was down", draftsFailed, repliesFailed)
	})
	t.Run("the sessions go on", func(t *testing.T) {
		for _, p := range mumPages {
			if res := f.mumC.Get(p); res.StatusCode != http.StatusOK {
				t.Errorf("%s = %d", p, res.StatusCode)
			}
		}
		for _, p := range workerPages {
			if res := f.workerC.Get(p); res.StatusCode != http.StatusOK {
				t.Errorf("%s = %d", p, res.StatusCode)
			}
		}
	})
	t.Run("the last draft saved is kept", func(t *testing.T) {
		last := drafts.acked[len(drafts.acked)-1]
		got := f.mumC.Get(f.record() + "/messages/new").Text("textarea#body")
		if got != fmt.Sprintf("draft %d", last) && got != fmt.Sprintf("draft %d", last+1) {
			t.Errorf("the draft is %q; the last save acknowledged was %d", got, last)
		}
	})
	t.Run("every reply acknowledged is in the thread, once", func(t *testing.T) {
		page := f.mumC.Get(thread).Text("main")
		for _, n := range replies.acked {
			if c := strings.Count(page, fmt.Sprintf("Reply number %d.", n)); c != 1 {
				t.Errorf("reply %d shows %d times", n, c)
			}
		}
	})
	t.Run("the live page gets a reply made now", func(t *testing.T) {
		// A reply made before the hub listens again is not lost either:
		// the page is told to refresh when it does (live's "refresh").
		// This one is made once it listens, so it comes as itself.
		waitFor(t, "the live hub listening again", func() bool {
			var n int
			a.DB.Gorm.Raw(`SELECT count(*) FROM pg_stat_activity WHERE application_name = ? AND datname = current_database()`,
				live.ListenerName).Scan(&n)
			return n == 1
		})
		res := f.workerC.PostForm("/staff/inbox/"+id+"/reply", url.Values{"body": {"Made after the outage."}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("reply = %d", res.StatusCode)
		}
		waitFor(t, "the reply on the live page", func() bool { return strings.Contains(stream.String(), "Made after the outage.") })
	})
	t.Run("the job queue sends again", func(t *testing.T) {
		before := f.count(t, "outbox_messages")
		if res := f.sendMessage("After", "Sent after the outage."); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("a message = %d", res.StatusCode)
		}
		waitFor(t, "an email for the new message", func() bool { return f.count(t, "outbox_messages") > before })
	})
}
