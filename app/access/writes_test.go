package access_test

import (
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/records"
)

// writeCounter counts the write statements the app sends through GORM.
type writeCounter struct {
	mu  sync.Mutex
	sql []string
}

var writeSQL = regexp.MustCompile(`(?is)^\s*(with\b.*)?\b(insert|update|delete)\b`)

func countWrites(t *testing.T, g *gorm.DB) *writeCounter {
	w := &writeCounter{}
	record := func(db *gorm.DB) {
		if s := db.Statement.SQL.String(); writeSQL.MatchString(s) {
			w.mu.Lock()
			w.sql = append(w.sql, s)
			w.mu.Unlock()
		}
	}
	cb := g.Callback()
	for name, err := range map[string]error{
		"create": cb.Create().After("gorm:create").Register("test:writes", record),
		"update": cb.Update().After("gorm:update").Register("test:writes", record),
		"delete": cb.Delete().After("gorm:delete").Register("test:writes", record),
		"raw":    cb.Raw().After("gorm:raw").Register("test:writes", record),
	} {
		if err != nil {
			t.Fatal(name, err)
		}
	}
	return w
}

func (w *writeCounter) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.sql
	w.sql = nil
	return out
}

// A signed-in page makes at most one write round trip: the session's last
// activity rides on the page's audit event; a page that audits nothing
// writes the activity alone; and the audit event is never skipped.
func TestASignedInPageIsOneWriteRoundTrip(t *testing.T) {
	a, parent, child, c := signedInHolder(t)
	dash := "/records/" + strconv.FormatInt(child.ID, 10)
	writes := countWrites(t, a.DB.Gorm)
	lastActive := func() (at time.Time) {
		a.DB.Gorm.Raw(`SELECT last_active_at FROM sessions WHERE person_id = ?`, parent.ID).Scan(&at)
		return at
	}
	audited := func() (n int) {
		a.DB.Gorm.Raw(`SELECT count(*) FROM audit_events WHERE actor_id = ? AND action = 'record.viewed'`, parent.ID).Scan(&n)
		return n
	}
	for _, tc := range []struct {
		name, path string
		wait       time.Duration // since the last request
		audits     int
	}{
		{"an audited page, activity due", dash, time.Minute, 1},
		{"an audited page, activity just written", dash, time.Second, 1},
		{"a page that audits nothing, activity due", "/help", time.Minute, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a.Clock.Advance(tc.wait)
			before := audited()
			writes.take()
			if res := c.Get(tc.path); res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			if got := writes.take(); len(got) != 1 {
				t.Fatalf("%d write statements, want 1: %q", len(got), got)
			}
			if got := audited() - before; got != tc.audits {
				t.Fatalf("%d record.viewed events, want %d", got, tc.audits)
			}
			if tc.wait >= time.Minute && !lastActive().Equal(a.Clock.Now()) {
				t.Fatalf("last activity %s, want %s", lastActive(), a.Clock.Now())
			}
		})
	}
}

// Every audit event a request writes names the client's address and the
// request (web.FromRequest): opening a record, signing out.
func TestEveryAuditEventOfARequestHasItsAddressAndID(t *testing.T) {
	a, _, child, c := signedInHolder(t)
	c.Get("/records/" + strconv.FormatInt(child.ID, 10))
	c.Get("/profile")
	c.PostForm("/sign-out", nil)
	var events []struct{ Action, IP, RequestID string }
	a.DB.Gorm.Raw(`SELECT action, ip, request_id FROM audit_events ORDER BY id`).Scan(&events)
	if len(events) < 2 {
		t.Fatalf("only %d events: %v", len(events), events)
	}
	for _, e := range events {
		if e.IP == "" || len(e.RequestID) != 16 {
			t.Errorf("%s: address %q, request %q", e.Action, e.IP, e.RequestID)
		}
	}
}

// signedInHolder is a parent holding a child's record, signed in.
func signedInHolder(t *testing.T) (*apptest.TestApp, *accounts.Person, *records.Record, *apptest.Client) {
	a := apptest.NewApp(t, apptest.Options{})
	child := a.NewRecord(t, a.NewTeam(t, "Children in care"), "Ellie", "Smith")
	parent := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	a.Grant(t, parent, child, access.Parent)
	c := a.Client(t)
	a.SignIn(t, c, parent)
	return a, parent, child, c
}
