package messages_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"portal/app/apptest"
	"portal/app/messages"
)

// longThread starts a thread of mum's on Ellie and fills it to n messages
// ("Message 001" …, the worker answering every other one) through the
// store; it returns the thread and its message ids, oldest first.
func (w *world) longThread(t *testing.T, n int) (*messages.Thread, []int64) {
	t.Helper()
	ctx := context.Background()
	th := &messages.Thread{RecordID: w.ellie.ID, HolderID: w.mum.ID, TypeID: w.toWorker.ID, TeamID: w.toWorker.TeamID,
		Subject: "A long conversation", StartedBy: w.mum.ID}
	first := &messages.Message{AuthorID: w.mum.ID, Body: "Message 001"}
	if err := w.store.Start(ctx, th, first); err != nil {
		t.Fatal(err)
	}
	ids := []int64{first.ID}
	for i := 2; i <= n; i++ {
		m := &messages.Message{AuthorID: w.mum.ID, Body: fmt.Sprintf("Message %03d", i)}
		if i%2 == 0 {
			m.AuthorID, m.FromStaff = w.worker.ID, true
		}
		if err := w.store.Reply(ctx, th, m); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	return th, ids
}

// shown is the bodies of the messages a thread page shows, in order.
func shown(res *apptest.Response) []string {
	return res.Doc.Find(".app-thread .app-thread__message .app-answer").Map(func(_ int, s *goquery.Selection) string {
		return strings.TrimSpace(s.Text())
	})
}

// numbered is "Message <from>" … "Message <to>".
func numbered(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("Message %03d", i))
	}
	return out
}

// linkTo is the href of the link whose text is text, or "".
func linkTo(res *apptest.Response, text string) string {
	href := ""
	res.Doc.Find("main a").Each(func(_ int, s *goquery.Selection) {
		if strings.TrimSpace(s.Text()) == text {
			href = s.AttrOr("href", "")
		}
	})
	return href
}

// pagesLikeThis follows a thread of 120 messages from its newest page by
// "Older messages" to its first, as a holder or a worker; each page shows
// 50 (then the last 20) in order, and an older page leads back to the
// newest and has no Reply.
func pagesLikeThis(t *testing.T, w *world, c *apptest.Client, path string, ids []int64) {
	t.Helper()
	older, newest := w.a.T("messages.thread.older"), w.a.T("messages.thread.newest")
	page := c.Get(path)
	if page.StatusCode != http.StatusOK {
		t.Fatalf("the thread = %d", page.StatusCode)
	}
	if got, want := shown(page), numbered(71, 120); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("the newest page shows %d messages %v, want the newest %d", len(got), got, messages.PageSize)
	}
	if linkTo(page, newest) != "" || page.Doc.Find("#body").Length() != 1 {
		t.Error("the newest page links to itself or lacks Reply")
	}
	link := linkTo(page, older)
	if link != path+"?before="+strconv.FormatInt(ids[70], 10) {
		t.Fatalf("Older messages leads to %q", link)
	}

	page = c.Get(link)
	if got, want := shown(page), numbered(21, 70); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("the second page shows %v, want 21 to 70", got)
	}
	if linkTo(page, newest) != path || page.Doc.Find("#body").Length() != 0 {
		t.Errorf("an older page: Newest messages leads to %q; Reply shown: %v", linkTo(page, newest), page.Doc.Find("#body").Length() != 0)
	}
	if link = linkTo(page, older); link != path+"?before="+strconv.FormatInt(ids[20], 10) {
		t.Fatalf("the second Older messages leads to %q", link)
	}

	page = c.Get(link)
	if got, want := shown(page), numbered(1, 20); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("the first page shows %v, want 1 to 20", got)
	}
	if linkTo(page, older) != "" || linkTo(page, newest) != path {
		t.Errorf("the thread's first page: Older messages %q, Newest messages %q", linkTo(page, older), linkTo(page, newest))
	}

	for _, bad := range []string{"abc", "-5", "0", "1.5", "99999999999999999999"} {
		if res := c.Get(path + "?before=" + bad); res.StatusCode != http.StatusNotFound {
			t.Errorf("?before=%s = %d, want 404", bad, res.StatusCode)
		}
	}
}

// TestAThreadShowsItsNewestMessagesAndOlderOnesPageByPage: a thread shows
// only its newest messages.PageSize, the holder's and the team's alike;
// "Older messages" (a plain link, no JavaScript) shows the ones before.
func TestAThreadShowsItsNewestMessagesAndOlderOnesPageByPage(t *testing.T) {
	w := newWorld(t)
	th, ids := w.longThread(t, 120)
	path := rec(w.ellie) + "/messages/" + strconv.FormatInt(th.ID, 10)

	t.Run("the holder's thread", func(t *testing.T) {
		pagesLikeThis(t, w, w.mumC, path, ids)
		newest := w.mumC.Get(path)
		connect := newest.Doc.Find("[sse-connect]")
		if connect.Length() != 1 || !strings.HasSuffix(connect.AttrOr("sse-connect", ""), "?after="+strconv.FormatInt(ids[119], 10)) {
			t.Errorf("the newest page's live stream: %q", connect.AttrOr("sse-connect", ""))
		}
		if older := w.mumC.Get(path + "?before=" + strconv.FormatInt(ids[70], 10)); older.Doc.Find("[sse-connect]").Length() != 0 {
			t.Error("an older page opens the live stream, which would add new messages below old ones")
		}
	})
	t.Run("the team's thread", func(t *testing.T) {
		staff := w.a.Client(t)
		w.a.SignIn(t, staff, w.worker)
		pagesLikeThis(t, w, staff, "/staff/inbox/"+strconv.FormatInt(th.ID, 10), ids)
	})
}

// TestAnOlderPageNeitherReadsTheThreadNorShowsAnotherThread: ?before= is a
// position in this thread only; an id of another holder's thread shows
// nothing of it. Only the newest page marks the thread read.
func TestAnOlderPageNeitherReadsTheThreadNorShowsAnotherThread(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	th, ids := w.longThread(t, 60)
	path := rec(w.ellie) + "/messages/" + strconv.FormatInt(th.ID, 10)
	others := w.send(t, w.otherC, w.sam, w.toWorker, "Sam's", "Sam's secret")
	othersID, _ := strconv.ParseInt(others[strings.LastIndex(others, "/")+1:], 10, 64)
	othersThread, err := w.store.HolderThread(ctx, w.other.ID, w.sam.ID, othersID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := w.store.Reply(ctx, othersThread, &messages.Message{AuthorID: w.worker.ID, FromStaff: true, Body: fmt.Sprintf("Sam's reply %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	var theirs int64
	w.a.DB.Gorm.Raw(`SELECT max(id) FROM messages WHERE thread_id = ?`, othersID).Scan(&theirs)

	staff := w.a.Client(t)
	w.a.SignIn(t, staff, w.worker)
	for name, try := range map[string]func() *apptest.Response{
		"the holder": func() *apptest.Response { return w.mumC.Get(path + "?before=" + strconv.FormatInt(theirs, 10)) },
		"the team": func() *apptest.Response {
			return staff.Get("/staff/inbox/" + strconv.FormatInt(th.ID, 10) + "?before=" + strconv.FormatInt(theirs, 10))
		},
	} {
		// Their message is newer than all of mum's: the page is mum's
		// newest 50, as a position in mum's thread, and nothing else.
		res := try()
		if strings.Contains(res.Body, "Sam's") {
			t.Errorf("%s: ?before= another thread's message shows that thread", name)
		}
		if got, want := shown(res), numbered(11, 60); res.StatusCode != http.StatusOK || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: ?before= another thread's message = %d %v, want mum's 11 to 60", name, res.StatusCode, got)
		}
	}
	if res := w.mumC.Get(others + "?before=" + strconv.FormatInt(theirs, 10)); res.StatusCode != http.StatusNotFound {
		t.Errorf("another holder's thread, paged = %d", res.StatusCode)
	}

	unread := func() (holder, team bool) {
		w.a.DB.Gorm.Raw(`SELECT holder_unread FROM threads WHERE id = ?`, th.ID).Scan(&holder)
		w.a.DB.Gorm.Raw(`SELECT team_unread FROM threads WHERE id = ?`, th.ID).Scan(&team)
		return holder, team
	}
	if err := w.store.Reply(ctx, th, &messages.Message{AuthorID: w.worker.ID, FromStaff: true, Body: "Message 061"}); err != nil {
		t.Fatal(err)
	}
	if err := w.store.Reply(ctx, th, &messages.Message{AuthorID: w.mum.ID, Body: "Message 062"}); err != nil {
		t.Fatal(err)
	}
	w.mumC.Get(path + "?before=" + strconv.FormatInt(ids[30], 10))
	staff.Get("/staff/inbox/" + strconv.FormatInt(th.ID, 10) + "?before=" + strconv.FormatInt(ids[30], 10))
	if holder, team := unread(); !holder || !team {
		t.Errorf("an older page marked the thread read: holder unread %v, team unread %v", holder, team)
	}
	w.mumC.Get(path)
	staff.Get("/staff/inbox/" + strconv.FormatInt(th.ID, 10))
	if holder, team := unread(); holder || team {
		t.Errorf("the newest page left the thread unread: holder %v, team %v", holder, team)
	}
}

// sqlLog keeps the SQL GORM runs.
type sqlLog struct {
	logger.Interface
	sql []string
}

func (l *sqlLog) LogMode(logger.LogLevel) logger.Interface { return l }

func (l *sqlLog) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	s, _ := fc()
	l.sql = append(l.sql, s)
}

// TestAThreadPageDoesNotReadTheWholeThread: the page's query asks for one
// more than a page and Postgres answers it from the (thread_id, id) index,
// so a page costs the same in a thread of 20 messages or of 20,000.
func TestAThreadPageDoesNotReadTheWholeThread(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	th, ids := w.longThread(t, 120)
	rec := &sqlLog{Interface: logger.Discard}
	store := messages.NewStore(w.a.DB.Gorm.Session(&gorm.Session{Logger: rec}), w.a.Clock, w.a.Sealer, nil, nil)
	if _, _, err := store.Messages(ctx, th, ids[100]); err != nil {
		t.Fatal(err)
	}
	if len(rec.sql) != 1 || !strings.Contains(rec.sql[0], "LIMIT "+strconv.Itoa(messages.PageSize+1)) {
		t.Fatalf("the page's queries: %q, want one with LIMIT %d", rec.sql, messages.PageSize+1)
	}
	var plan []string
	err := w.a.DB.Gorm.Transaction(func(tx *gorm.DB) error {
		// A table this small is cheapest read whole; what matters is that
		// the index answers the query when the table is large.
		if err := tx.Exec(`SET LOCAL enable_seqscan = off`).Error; err != nil {
			return err
		}
		if err := tx.Exec(`SET LOCAL enable_bitmapscan = off`).Error; err != nil {
			return err
		}
		return tx.Raw(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ` + rec.sql[0]).Scan(&plan).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	t.Log(rec.sql[0], "\n", text)
	if !strings.Contains(text, "Index Scan Backward using messages_thread_idx") || !strings.Contains(text, "Limit") {
		t.Errorf("the page's plan does not walk the thread's index:\n%s", text)
	}
	// The index scan stops after a page and one more, of 120.
	if !strings.Contains(text, fmt.Sprintf("(actual rows=%d ", messages.PageSize+1)) {
		t.Errorf("the page's plan reads more than a page:\n%s", text)
	}
}
