package idempotency_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/messages"
	"portal/app/records"
)

func TestMain(m *testing.M) { apptest.Main(m) }

// holder is a parent of a record who may message its team.
type holder struct {
	a      *apptest.TestApp
	record *records.Record
	parent *accounts.Person
	c      *apptest.Client
	send   url.Values // a message to the worker
}

func newHolder(t *testing.T, a *apptest.TestApp) *holder {
	t.Helper()
	team := a.NewTeam(t, "North Locality Team")
	h := &holder{a: a, record: a.NewRecord(t, team, "Ellie", "Smith"),
		parent: a.NewPerson(t, "mum@example.net", accounts.RoleCitizen, "")}
	a.NewWorker(t, "worker@example.org", team)
	a.Grant(t, h.parent, h.record, access.Parent)
	ty := &messages.Type{NameEN: "Message your worker", NameCY: "Anfon neges at eich gweithiwr", TeamID: team.ID, Active: true}
	if err := messages.NewStore(a.DB.Gorm, a.Clock, a.Sealer, nil, nil).SaveType(context.Background(), ty); err != nil {
		t.Fatal(err)
	}
	h.c = a.Client(t)
	a.SignIn(t, h.c, h.parent)
	h.send = url.Values{"type": {strconv.FormatInt(ty.ID, 10)}, "subject": {"School trip"}, "body": {"Can Ellie go?"},
		"action": {"send"}}
	return h
}

func (h *holder) path() string {
	return "/records/" + strconv.FormatInt(h.record.ID, 10) + "/messages/new"
}

// with is the message form with an idempotency key, as its page made it.
func (h *holder) with(key string) url.Values {
	v := url.Values{"_idem": {key}}
	for k, vals := range h.send {
		v[k] = vals
	}
	return v
}

func (h *holder) threads(t *testing.T) int64 {
	t.Helper()
	var n int64
	h.a.DB.Gorm.Raw(`SELECT count(*) FROM messages`).Scan(&n)
	return n
}

// TestASendRepeatedWithItsKeyIsSentOnce: the same form, sent again with
// the key its page carried, gets the first answer and makes nothing new;
// another key is another message.
func TestASendRepeatedWithItsKeyIsSentOnce(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	h := newHolder(t, a)
	h.c.Get(h.path())
	first := h.c.PostForm(h.path(), h.with("key-one-0123456789abcdef"))
	if first.StatusCode != http.StatusSeeOther {
		t.Fatalf("the first send = %d", first.StatusCode)
	}
	again := h.c.PostForm(h.path(), h.with("key-one-0123456789abcdef"))
	if again.StatusCode != first.StatusCode || again.Header.Get("Location") != first.Header.Get("Location") ||
		again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the same key again = %d %q (replayed %q), want the first answer %d %q", again.StatusCode,
			again.Header.Get("Location"), again.Header.Get("Idempotent-Replayed"), first.StatusCode, first.Header.Get("Location"))
	}
	if n := h.threads(t); n != 1 {
		t.Fatalf("%d messages after a repeated send, want 1", n)
	}
	h.c.PostForm(h.path(), h.with("key-two-0123456789abcdef"))
	if n := h.threads(t); n != 2 {
		t.Fatalf("%d messages after a second form, want 2", n)
	}
}

// TestAKeyIsOnlyItsOwnersAndOnlySuccessIsKept: another person's request
// with the same key is their own; a form refused (422) keeps nothing, so
// the corrected form with the same key goes through.
func TestAKeyIsOnlyItsOwnersAndOnlySuccessIsKept(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	h := newHolder(t, a)
	dad := a.NewPerson(t, "dad@example.net", accounts.RoleCitizen, "")
	a.Grant(t, dad, h.record, access.Parent)
	dc := a.Client(t)
	a.SignIn(t, dc, dad)

	h.c.Get(h.path())
	empty := h.with("key-shared-0123456789abc")
	empty.Set("body", "")
	if res := h.c.PostForm(h.path(), empty); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("an empty message = %d, want 422", res.StatusCode)
	}
	if res := h.c.PostForm(h.path(), h.with("key-shared-0123456789abc")); res.StatusCode != http.StatusSeeOther || res.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("the corrected form with the same key = %d (replayed %q), want sent", res.StatusCode, res.Header.Get("Idempotent-Replayed"))
	}
	dc.Get(h.path())
	if res := dc.PostForm(h.path(), h.with("key-shared-0123456789abc")); res.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("another person's key replayed an answer")
	}
	if n := h.threads(t); n != 2 {
		t.Fatalf("%d messages, want 2 (one each)", n)
	}
}

// TestTwoMachinesHonourOneKey: the key's claim and answer are in Postgres,
// so the twin request reaching another machine gets the first answer.
func TestTwoMachinesHonourOneKey(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	b := apptest.NewApp(t, apptest.Options{DSN: a.DSN})
	h := newHolder(t, a)
	token := h.c.Cookie(a.Sessions.CookieName)
	onB := b.Client(t)
	onB.SetCookie(b.Sessions.CookieName, token)

	h.c.Get(h.path())
	first := h.c.PostForm(h.path(), h.with("key-machines-0123456789"))
	onB.Get(h.path())
	again := onB.PostForm(h.path(), h.with("key-machines-0123456789"))
	if again.Header.Get("Idempotent-Replayed") != "true" || again.Header.Get("Location") != first.Header.Get("Location") {
		t.Fatalf("the twin on the other machine = %d %q, want the first answer %q", again.StatusCode,
			again.Header.Get("Location"), first.Header.Get("Location"))
	}
	if n := h.threads(t); n != 1 {
		t.Fatalf("%d messages across two machines, want 1", n)
	}
}

// TestDraftSavesIgnoreKeys: each autosave of the same form must run (its
// key is the form's): the last one wins.
func TestDraftSavesIgnoreKeys(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	h := newHolder(t, a)
	draft := "/records/" + strconv.FormatInt(h.record.ID, 10) + "/messages/draft"
	h.c.Get(h.path())
	for _, body := range []string{"Can Ellie", "Can Ellie go on the trip?"} {
		v := h.with("key-draft-0123456789abcd")
		v.Set("body", body)
		if res := h.c.PostForm(draft, v); res.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("a draft save was replayed (%q)", body)
		}
	}
	if page := h.c.Get(h.path()); page.Text("#body") != "Can Ellie go on the trip?" {
		t.Fatalf("the draft is %q, want the last save", page.Text("#body"))
	}
}
