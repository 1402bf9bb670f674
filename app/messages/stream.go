package messages

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"

	"portal/app/access"
	"portal/app/live"
	"portal/app/web"
)

// streamsPerSession is how many live streams one session may hold open
// (a few tabs); a newer one closes the oldest (live.Hub.Admit).
const streamsPerSession = 4

// cursor is the last message the page shows: the browser's Last-Event-ID
// when it reconnects, else the page's own ?after= (it names its last
// message), else none. Each is only a position within this thread.
func (h *Handler) cursor(c *fiber.Ctx, th *Thread) (int64, error) {
	for _, s := range []string{c.Get("Last-Event-ID"), c.Query("after")} {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil && id >= 0 {
			return id, nil
		}
	}
	return h.Store.LastMessage(c.UserContext(), th)
}

// threadStream sends the thread's new messages as they arrive
// (server-sent events, the htmx sse extension), from any app machine
// (live: Postgres LISTEN/NOTIFY). Security: it is authorised on connect,
// at every heartbeat, at once on the viewer's "person" event (access
// revoked, signed out) and before any event once the last check is a
// heartbeat old (the session still signed in, the record still held, the
// thread still this holder's), and ends otherwise: see live's bound. It
// has no side effects: it marks nothing read and keeps no session alive
// (web.Passive).
func (h *Handler) threadStream(c *fiber.Ctx) error {
	th, err := h.holderThread(c)
	if err != nil {
		return err
	}
	token := c.Cookies(h.Sessions.CookieName)
	last, err := h.cursor(c, th)
	if err != nil {
		return err
	}
	render, err := h.Render.Snapshot(c)
	if err != nil {
		return err
	}
	viewer, record, links := person(c), th.RecordID, h.holderLinks(th)
	thread, self := live.Event{Topic: "thread", ID: th.ID}, live.Event{Topic: "person", ID: viewer}
	sub := h.Hub.Subscribe(thread, self)
	return live.Stream(c, sub, live.StreamOptions{
		OnClose:     h.Hub.Admit(token, streamsPerSession, sub),
		Heartbeat:   h.Heartbeat,
		Now:         h.Clock.Now, // the freshness of an authorisation, on the portal's clock
		Cursor:      func() string { return strconv.FormatInt(last, 10) },
		AuthorizeOn: []live.Event{self},
		Authorize: func(ctx context.Context) (bool, error) {
			return h.stillHolds(ctx, token, viewer, record, th.ID)
		},
		Render: func(ctx context.Context, ev live.Event) (string, string, error) {
			var fresh []Posted
			var err error
			switch ev {
			case live.Event{}: // on opening: what this page lacks, for it alone
				fresh, err = h.messagesAfter(ctx, th, last)
			case thread:
				fresh, err = h.newMessages(ctx, th, last)
			default: // the viewer's own event only re-authorised
				return "", "", nil
			}
			if err != nil {
				return "", "", err
			}
			var out strings.Builder
			for _, m := range fresh {
				last = m.ID
				html, err := render("messages/_message", func(v *web.View) any {
					return messageView(v, m, links)
				})
				if err != nil {
					return "", "", err
				}
				out.WriteString(html)
			}
			if out.Len() == 0 {
				return "", "", nil
			}
			return "message", out.String(), nil
		},
	})
}

// newMessages is th's messages after message id after, for a stream that
// took a notification of th: read once for all of this machine's streams
// of th that render the same notification (live.Hub.Shared), opened once,
// and cut at each stream's own cursor. The rows are shared: read only.
func (h *Handler) newMessages(ctx context.Context, th *Thread, after int64) ([]Posted, error) {
	ev := live.Event{Topic: "thread", ID: th.ID}
	r := h.Hub.Shared(ev, sharedAfterKey{}, func() any { return new(sharedAfter) }).(*sharedAfter)
	return r.after(ctx, after, func(ctx context.Context, from int64) ([]Posted, error) {
		return h.messagesAfter(ctx, th, from)
	})
}

// messagesAfter is th's messages after message id after, with their files.
func (h *Handler) messagesAfter(ctx context.Context, th *Thread, after int64) ([]Posted, error) {
	msgs, err := h.Store.MessagesAfter(ctx, th, after)
	if err != nil {
		return nil, err
	}
	return msgs, h.Store.Files(ctx, th, msgs)
}

// sharedAfterKey keys a thread's sharedAfter in live.Hub.Shared.
type sharedAfterKey struct{}

// sharedAfter is one notification's reads of a thread's new messages. A
// stream joins a read that began at or before its cursor (normally the
// one read: the streams of a thread are all at its newest message), else
// starts one from its own.
type sharedAfter struct {
	mu    sync.Mutex
	reads []*threadRead
}

// threadRead is one MessagesAfter, its rows closed to writes once done.
type threadRead struct {
	from int64
	done chan struct{}
	rows []Posted // oldest first
	err  error
}

// after returns the messages after after, joining a read that covers them
// or making one with fetch.
func (s *sharedAfter) after(ctx context.Context, after int64, fetch func(context.Context, int64) ([]Posted, error)) ([]Posted, error) {
	s.mu.Lock()
	i := slices.IndexFunc(s.reads, func(r *threadRead) bool { return r.from <= after })
	var r *threadRead
	if i >= 0 {
		r = s.reads[i]
	} else {
		r = &threadRead{from: after, done: make(chan struct{})}
		s.reads = append(s.reads, r)
	}
	s.mu.Unlock()
	if i < 0 {
		r.rows, r.err = fetch(ctx, after)
		if r.err != nil { // nobody else may start from a failed read
			s.mu.Lock()
			s.reads = slices.DeleteFunc(s.reads, func(x *threadRead) bool { return x == r })
			s.mu.Unlock()
		}
		close(r.done)
		if r.err != nil {
			return nil, r.err
		}
	} else {
		select {
		case <-r.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if r.err != nil {
			// The reading stream's own context may have ended (its page
			// left): read for this one.
			return fetch(ctx, after)
		}
	}
	n := sort.Search(len(r.rows), func(j int) bool { return r.rows[j].ID > after })
	return slices.Clip(r.rows[n:]), nil
}

// stillHolds reports whether the session behind token is still signed in
// as person, who still holds record and its thread (0: any).
func (h *Handler) stillHolds(ctx context.Context, token string, personID, recordID, threadID int64) (bool, error) {
	sess, err := h.Sessions.Load(ctx, token)
	if errors.Is(err, web.ErrSessionExpired) || sess == nil || !sess.SignedIn() || *sess.PersonID != personID {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if ok, err := h.Access.Holds(ctx, personID, recordID); err != nil || !ok {
		return false, err
	}
	if threadID == 0 {
		return true, nil
	}
	return h.Store.HolderHasThread(ctx, personID, recordID, threadID)
}

// countStream keeps the dashboard's tile counts up to date: whatever
// changes one of this holder's counts (a message, a document or a form for
// them: unread:<id>) sends every count again, the New messages one in the
// element's place and the others out of band. Authorised and passive as
// threadStream.
func (h *Handler) countStream(c *fiber.Ctx) error {
	held := access.Holding(c)
	token := c.Cookies(h.Sessions.CookieName)
	render, err := h.Render.Snapshot(c)
	if err != nil {
		return err
	}
	viewer, record := person(c), held.ID
	self := live.Event{Topic: "person", ID: viewer}
	sub := h.Hub.Subscribe(live.Event{Topic: "unread", ID: viewer}, self)
	return live.Stream(c, sub, live.StreamOptions{
		OnClose:     h.Hub.Admit(token, streamsPerSession, sub),
		Heartbeat:   h.Heartbeat,
		Now:         h.Clock.Now, // the freshness of an authorisation, on the portal's clock
		AuthorizeOn: []live.Event{self},
		Authorize: func(ctx context.Context) (bool, error) {
			return h.stillHolds(ctx, token, viewer, record, 0)
		},
		Render: func(ctx context.Context, ev live.Event) (string, string, error) {
			counts, err := access.CountAll(ctx, h.Counts, viewer, record)
			if err != nil {
				return "", "", err
			}
			var out strings.Builder
			for _, section := range access.CountSections {
				n, ok := counts[section]
				if !ok {
					continue
				}
				html, err := render("records/_count", func(v *web.View) any {
					return access.CountView{View: v, Section: section, N: n, OOB: section != "messages"}
				})
				if err != nil {
					return "", "", err
				}
				out.WriteString(html)
			}
			return "counts", out.String(), nil
		},
	})
}
