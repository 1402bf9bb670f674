package messages_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"portal/app"
	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/db"
	"portal/app/live"
	"portal/app/messages"
)

// queryCount counts the app's statements of two kinds: reads of a
// thread's new messages (MessagesAfter) and the live streams'
// re-authorisations (the session, the grant, the thread).
type queryCount struct {
	mu          sync.Mutex
	after, auth int
}

func (q *queryCount) now() (after, auth int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.after, q.auth
}

// countingApp is the portal on a database connection of its own whose
// statements q counts (a GORM callback, registered before the app uses
// the connection). The test's own fixtures go through a.DB, not counted.
func countingApp(t *testing.T, q *queryCount) *apptest.TestApp {
	t.Helper()
	dsn := apptest.NewDatabase(t)
	after, _, _ := strings.Cut(messages.MessagesAfterSQL, "?")
	count := func(tx *gorm.DB) {
		sql := tx.Statement.SQL.String()
		q.mu.Lock()
		defer q.mu.Unlock()
		switch {
		case strings.HasPrefix(sql, after):
			q.after++
		case strings.Contains(sql, "token_hash"), strings.Contains(sql, "FROM grants g"), strings.Contains(sql, "FROM threads WHERE id"):
			q.auth++
		}
	}
	return apptest.NewApp(t, apptest.Options{DSN: dsn, Tune: func(d *app.Deps) {
		counted, err := db.Connect(context.Background(), dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { counted.Close() })
		cb := counted.Gorm.Callback()
		for _, err := range []error{
			cb.Query().After("gorm:query").Register("test:count", count),
			cb.Row().After("gorm:row").Register("test:count", count),
			cb.Raw().After("gorm:raw").Register("test:count", count),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		d.DB = counted
		// No heartbeat within a test: every authorisation counted is one
		// the test's own steps caused.
		d.Heartbeat = time.Hour
	}})
}

// until reads lines until one contains want; false if the stream ends first.
func until(t *testing.T, lines <-chan string, want string) bool {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return false
			}
			if strings.Contains(l, want) {
				return true
			}
		case <-deadline:
			t.Fatalf("no line with %q within 10 s", want)
		}
	}
}

// liveThread is a thread between mum and her worker's team, started by
// mum with "Hello"; store notifies (live.Notify) as the app's does.
type liveThread struct {
	store       *messages.Store
	th          *messages.Thread
	mum, worker *accounts.Person
	path        string // the thread's stream
}

func newLiveThread(t *testing.T, a *apptest.TestApp) *liveThread {
	t.Helper()
	team := a.NewTeam(t, "North Locality Team")
	w := &liveThread{worker: a.NewWorker(t, "worker@example.org", team),
		mum: a.NewPerson(t, "mum@example.net", accounts.RoleCitizen, "")}
	ellie := a.NewRecord(t, team, "Ellie", "Smith")
	a.Grant(t, w.mum, ellie, access.Parent)
	w.store = messages.NewStore(a.DB.Gorm, a.Clock, a.Sealer, nil, func(ctx context.Context, tx *gorm.DB, topic string, id int64) error {
		return live.Notify(ctx, tx, live.Event{Topic: topic, ID: id})
	})
	ty := &messages.Type{NameEN: "Message your worker", NameCY: "Anfon neges at eich gweithiwr", TeamID: team.ID, Active: true}
	if err := w.store.SaveType(context.Background(), ty); err != nil {
		t.Fatal(err)
	}
	w.th = &messages.Thread{RecordID: ellie.ID, HolderID: w.mum.ID, TypeID: ty.ID, TeamID: team.ID, Subject: "For Jo Bloggs", StartedBy: w.mum.ID}
	// The hub has handed on the thread's first notification before any
	// stream of the test opens: on a busy machine it could otherwise reach
	// a stream late and look like a read the test did not ask for. (The
	// thread's is sent just before mum's "unread", in one commit.)
	started := a.Hub.Subscribe(live.Event{Topic: "unread", ID: w.mum.ID})
	defer started.Close()
	if err := w.store.Start(context.Background(), w.th, &messages.Message{AuthorID: w.mum.ID, Body: "Hello"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started.Events():
	case <-time.After(10 * time.Second):
		t.Fatal("the hub did not hand on the new thread's notification")
	}
	w.path = "/records/" + strconv.FormatInt(ellie.ID, 10) + "/messages/" + strconv.FormatInt(w.th.ID, 10) + "/stream"
	return w
}

// TestSigningOutEndsThatSessionsStreamsAtOnce: signing out tells the
// person's open pages (their "person" event), so a stream of that session
// ends at once, not at its next heartbeat, and carries nothing after;
// the same person's other session keeps its stream.
func TestSigningOutEndsThatSessionsStreamsAtOnce(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	w := newLiveThread(t, a)
	leaving, staying := a.Client(t), a.Client(t)
	a.SignIn(t, leaving, w.mum)
	a.SignIn(t, staying, w.mum)
	gone, kept := leaving.Stream(w.path+"?after=0", nil), staying.Stream(w.path+"?after=0", nil)
	for _, lines := range []<-chan string{gone, kept} {
		if !until(t, lines, "Hello") {
			t.Fatal("a stream ended before sending what its page lacked")
		}
	}
	// A page for the form's CSRF token (a new account's pages lead to
	// the terms first).
	if res := leaving.Get("/account"); res.Header.Get("Location") != "" {
		leaving.Get(res.Header.Get("Location"))
	}
	if res := leaving.PostForm("/sign-out", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out = %d", res.StatusCode)
	}
	if err := w.store.Reply(context.Background(), w.th, &messages.Message{AuthorID: w.worker.ID, FromStaff: true, Body: "After the sign-out"}); err != nil {
		t.Fatal(err)
	}
	t.Run("the signed-out session's stream ends without the reply", func(t *testing.T) {
		// Well within the 25 s heartbeat: only the sign-out's event ends it.
		if until(t, gone, "After the sign-out") {
			t.Fatal("the stream carried a reply after its session ended")
		}
	})
	t.Run("the other session's stream carries it", func(t *testing.T) {
		if !until(t, kept, "After the sign-out") {
			t.Fatal("the other session's stream ended")
		}
	})
}

// TestOneReplyIsReadOnceForEveryOpenPageOfItsThread: twenty pages of one
// thread are open (five sessions, four streams each); a reply reaches
// every one of them, read from the database once and with no stream
// re-authorising, so the work of a reply does not grow with the pages open.
func TestOneReplyIsReadOnceForEveryOpenPageOfItsThread(t *testing.T) {
	const sessions, perSession = 5, 4 // messages' streamsPerSession
	q := &queryCount{}
	a := countingApp(t, q)
	w := newLiveThread(t, a)
	th, mum, store := w.th, w.mum, w.store
	// ?after=0: each stream opens by sending the first message, so once a
	// page has it, that stream's own opening read is done.
	path := w.path + "?after=0"
	var pages []<-chan string
	for range sessions {
		c := a.Client(t)
		a.SignIn(t, c, mum)
		for range perSession {
			lines := c.Stream(path, nil)
			if !until(t, lines, "Hello") {
				t.Fatal("a stream ended before sending what its page lacked")
			}
			pages = append(pages, lines)
		}
	}
	afterBefore, authBefore := q.now()

	reply := &messages.Message{AuthorID: w.worker.ID, FromStaff: true, Body: "A reply for every page"}
	if err := store.Reply(context.Background(), th, reply); err != nil {
		t.Fatal(err)
	}
	for i, lines := range pages {
		if !until(t, lines, "A reply for every page") {
			t.Fatalf("page %d of %d did not get the reply", i+1, len(pages))
		}
	}
	afterNow, authNow := q.now()

	t.Run("the new messages are read once for all the pages", func(t *testing.T) {
		if n := afterNow - afterBefore; n != 1 {
			t.Fatalf("%d pages of the thread read its new messages %d times, want once", len(pages), n)
		}
	})
	t.Run("no stream re-authorises for a reply within the heartbeat", func(t *testing.T) {
		// Every stream was authorised when it opened; the heartbeat is an
		// hour and the clock does not move, so nothing but the reply could
		// make a stream ask again, and it must not.
		if n := authNow - authBefore; n != 0 {
			t.Fatalf("the reply made %d authorisation queries, want none", n)
		}
	})
}

// TestMessagesAfterReadsAuthorsByPrimaryKey: however many messages the
// planner expects (an early cursor, the generic plan of a cached
// statement), a thread's new messages never scan the people table.
func TestMessagesAfterReadsAuthorsByPrimaryKey(t *testing.T) {
	d := apptest.NewDB(t)
	ctx := context.Background()
	for _, sql := range []string{
		`INSERT INTO teams (name) VALUES ('North')`,
		`INSERT INTO people (email, given_name, family_name, role)
			SELECT 'p' || i || '@example.net', 'Given' || i, 'Family' || i, 'citizen' FROM generate_series(1, 20000) i`,
		`INSERT INTO records (kind, case_reference, given_name, family_name, team_id) VALUES ('child', 'C1', 'Ellie', 'Smith', 1)`,
		`INSERT INTO message_types (name_en, name_cy, team_id, created_at) VALUES ('Message', 'Neges', 1, now())`,
		`INSERT INTO threads (record_id, holder_id, type_id, team_id, subject, started_by, created_at, last_message_at)
			SELECT 1, i, 1, 1, '-', i, now(), now() FROM generate_series(1, 200) i`,
		`INSERT INTO messages (thread_id, author_id, from_staff, body, created_at)
			SELECT i % 200 + 1, i % 20000 + 1, false, '-', now() FROM generate_series(1, 20000) i`,
		`INSERT INTO messages (thread_id, author_id, from_staff, body, created_at)
			SELECT 1, i % 7 + 1, false, '-', now() FROM generate_series(1, 3000) i`,
		`ANALYZE`,
	} {
		if err := d.Gorm.Exec(sql).Error; err != nil {
			t.Fatal(err)
		}
	}
	// $1, $2 for ?, ?, as a prepared statement has them.
	sql := messages.MessagesAfterSQL
	for i := 1; strings.Contains(sql, "?"); i++ {
		sql = strings.Replace(sql, "?", "$"+strconv.Itoa(i), 1)
	}
	for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		t.Run("plan_cache_mode="+mode, func(t *testing.T) {
			var plan []string
			err := d.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
				for _, s := range []string{`SET LOCAL plan_cache_mode = ` + mode, `PREPARE after_q(bigint, bigint) AS ` + sql} {
					if err := tx.Exec(s).Error; err != nil {
						return err
					}
				}
				if err := tx.Raw(`EXPLAIN EXECUTE after_q(1, 0)`).Scan(&plan).Error; err != nil {
					return err
				}
				return tx.Exec(`DEALLOCATE after_q`).Error
			})
			if err != nil {
				t.Fatal(err)
			}
			text := strings.Join(plan, "\n")
			if strings.Contains(text, "Seq Scan on people") || !strings.Contains(text, "people_pkey") {
				t.Fatalf("the plan reads people other than by primary key:\n%s", text)
			}
			if !strings.Contains(text, "messages_thread_idx") {
				t.Fatalf("the plan does not read the thread through its index:\n%s", text)
			}
		})
	}
}
