package messages

import (
	"context"
	"errors"
	"strconv"
	"strings"

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
// (live: Postgres LISTEN/NOTIFY). Security: it authorises on connect and
// before every event and heartbeat (the session still signed in, the
// record still held, the thread still this holder's) and ends otherwise,
// so it closes on log out, on an idle sign-out or when access ends. It
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
	viewer, record := person(c), th.RecordID
	// person: the holder's own events (access ended) wake it too.
	sub := h.Hub.Subscribe(live.Event{Topic: "thread", ID: th.ID}, live.Event{Topic: "person", ID: viewer})
	return live.Stream(c, sub, live.StreamOptions{
		OnClose: h.Hub.Admit(token, streamsPerSession, sub),
		Cursor:  func() string { return strconv.FormatInt(last, 10) },
		Authorize: func(ctx context.Context) (bool, error) {
			return h.stillHolds(ctx, token, viewer, record, th.ID)
		},
		Render: func(ctx context.Context, ev live.Event) (string, string, error) {
			fresh, err := h.Store.MessagesAfter(ctx, th, last)
			if err != nil {
				return "", "", err
			}
			var out strings.Builder
			for _, m := range fresh {
				last = m.ID
				html, err := render("messages/_message", func(v *web.View) any {
					return MessageView{View: v, Posted: m, Mine: m.AuthorID == viewer}
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
	if _, err := h.Access.Holding(ctx, personID, recordID); errors.Is(err, access.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if threadID == 0 {
		return true, nil
	}
	if _, err := h.Store.HolderThread(ctx, personID, recordID, threadID); errors.Is(err, ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// CountView is the New messages tile's count, as the live stream sends it.
type CountView struct {
	*web.View
	N int64
}

// countStream keeps the dashboard's New messages count up to date: a new
// message for this holder on this record (person:<id>) sends the count
// again. Authorised and passive as threadStream.
func (h *Handler) countStream(c *fiber.Ctx) error {
	held := access.Holding(c)
	token := c.Cookies(h.Sessions.CookieName)
	render, err := h.Render.Snapshot(c)
	if err != nil {
		return err
	}
	viewer, record := person(c), held.ID
	sub := h.Hub.Subscribe(live.Event{Topic: "person", ID: viewer})
	return live.Stream(c, sub, live.StreamOptions{
		OnClose: h.Hub.Admit(token, streamsPerSession, sub),
		Authorize: func(ctx context.Context) (bool, error) {
			return h.stillHolds(ctx, token, viewer, record, 0)
		},
		Render: func(ctx context.Context, ev live.Event) (string, string, error) {
			n, err := h.Store.Unread(ctx, viewer, record)
			if err != nil {
				return "", "", err
			}
			html, err := render("messages/_count", func(v *web.View) any { return CountView{View: v, N: n} })
			return "messages-count", html, err
		},
	})
}
