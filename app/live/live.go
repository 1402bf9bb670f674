// Package live tells open pages, on every app machine, that something
// changed: a store calls Notify inside its transaction, Postgres delivers
// the notification on commit to one listening connection per app process
// (Hub), the hub hands it to the subscriptions interested in exactly that
// {Topic, ID}, and Stream turns a subscription into server-sent events for
// the htmx sse extension.
//
// Invariants:
//   - A notification carries a topic and an id and nothing else
//     ("thread:42"): never content, names or any personal data. Anyone who
//     can LISTEN on the database learns only that thread 42 changed.
//   - The hub never decides access. What a page is shown is re-read by the
//     stream's Render, in the request's context, only while its Authorize
//     (the session and the access, re-read from the database) has said yes
//     recently. A stream is authorised on connect (by the request itself),
//     at every heartbeat (DefaultHeartbeat, 25 s, busy or idle), before a
//     refresh (the events missed may have ended access), before anything
//     is rendered after an event of StreamOptions.AuthorizeOn (the viewer's
//     "person" event), and before rendering any other event once the last
//     check that passed began a heartbeat ago or more. Other events do not
//     re-authorise: 200 pages of one thread cost no authorisation per
//     reply.
//   - The bound on a revoked stream: a change that ends access and
//     notifies the viewer's "person" event (access.Store.Revoke; sign-out,
//     "log out of all devices", a password reset or an account deactivated
//     through web.Sessions) stops the stream at once: it takes its whole
//     queue before rendering any of it, so nothing queued with or after
//     that notification is rendered before Authorize says no; only events
//     already taken from the queue when it arrives (a batch being
//     rendered, read afresh) are still sent. A change that does not
//     notify (a session idling out, a grant's end passing, a row changed
//     straight in the database) is seen within one heartbeat: the last
//     check that passed began before the change, no render begins a
//     heartbeat or more after that check began, so none begins more than
//     25 s after the change, and the next heartbeat (at most 25 s away)
//     ends the stream.
//   - Per notification, the database work grows with topics, not with open
//     streams: Render may share one read among the streams of one machine
//     that render the same notification (Hub.Shared), which the hub
//     forgets when the next notification of that event arrives, so a
//     shared read always began after the notification was received.
//     Authorising is never shared: each stream checks its own session.
//   - One listening connection per process, whatever the number of pages
//     open; a lost connection is re-established with capped backoff, and
//     every subscription is then told it missed events (a "refresh").
//   - A slow subscriber never blocks the hub or other subscribers: its
//     newest events are dropped and it is told it missed events.
//   - Notifications are queued on the caller's transaction: delivered when
//     it commits, never if it rolls back.
//   - A stream has no side effects: it never marks anything read and never
//     touches the session (the caller decides whether the request is
//     passive, see web.Passive).
//   - Logs never carry payloads, not even malformed ones.
//
// # Fiber and fasthttp caveats
//
//   - fasthttp's SetBodyStreamWriter starts the writer goroutine at once
//     (NewStreamReader), not after the handler: it runs alongside the rest
//     of the handler and the middleware, and long after fasthttp has reused
//     the *fiber.Ctx. Stream copies what it needs (the user context, the
//     server's shutdown channel, the Last-Event-ID header) before the call,
//     and must be the handler's last statement.
//   - Middleware that runs after the handler (the access log) sees the
//     request end when the handler returns, not when the stream ends.
//   - fasthttp never cancels anything when a client goes away; the writer
//     learns of it only when a write or flush fails. The heartbeat bounds
//     that: a closed stream is noticed within about two heartbeats.
//   - fasthttp's RequestCtx.Done closes only when the server shuts down.
//     Stream captures it, so app.Shutdown ends open streams by itself;
//     without that, Shutdown would wait for every stream (each holds its
//     connection open) until its deadline. Hub.Stop ends them too.
//   - fasthttp's Server.WriteTimeout sets one deadline per response, so it
//     would cut every stream after that long (the portal sets none; if one
//     is ever set, EventSource reconnects and the page gets a refresh).
//   - A client that stops reading but keeps its TCP connection blocks the
//     writer in Flush once the kernel's buffers and fasthttp's four-slot
//     pipe are full; nothing reachable from the *bufio.Writer can cancel
//     that, only the connection failing or Shutdown's deadline. At a
//     heartbeat every 25 s it takes a very long time to get there.
//   - Fiber's app.Test reads the whole response, so it cannot test a
//     stream; the tests use a real listener and an HTTP client.
//   - fasthttp speaks HTTP/1.1 only: a browser talking to it directly opens
//     at most six connections per origin, streams included (behind Fly's
//     proxy browsers get HTTP/2). Hub.Acquire caps streams per session.
//
// # Postgres caveats
//
//   - NOTIFY in a transaction takes a database-wide lock at commit, which
//     serialises committing transactions that notify; cheap at the
//     portal's volume, but Notify belongs in transactions that change what
//     a page shows, not in bulk jobs.
//   - Identical notifications in one transaction are delivered once.
//   - The listening connection must be a direct session: LISTEN does not
//     work through a transaction-mode pooler (pgbouncer).
//   - Notifications sent while the listener is reconnecting are lost; the
//     hub marks every subscription missed once it listens again, and a
//     page reloads its fragment on "refresh".
//   - A listening connection is silent for ever; the hub pings it after
//     Probe of silence, so a half-open connection is noticed in seconds
//     rather than after TCP keepalive gives up.
//
// # Browser caveats
//
//   - EventSource cannot send headers, so a stream request never carries
//     X-Portal-Passive: its route must be passive by path (web's
//     passivePaths), or every reconnection would count as activity and an
//     open page would keep its session from ever idling out.
//   - EventSource reconnects by itself when a stream ends, sending the
//     last event id; Stream sets one ("live") when the stream opens and
//     answers a reconnection with a "refresh" first, since events may have
//     been lost in between (a deploy, a blip, Hub.Stop).
//   - After Authorize ends a stream, the reconnection reaches the handler,
//     which must refuse it (401): the htmx sse extension then keeps
//     retrying with backoff up to about a minute while the page stays open,
//     each retry refused; the idle timer takes the page away on log out.
//   - Events between the page's render and its stream opening are not
//     seen; StreamOptions.RefreshOnOpen closes that gap at the cost of one
//     fragment request per page view.
package live

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// Channel is the one NOTIFY channel the portal uses.
const Channel = "portal_live"

// Event says that one thing changed: {"thread", 42}, {"person", 7}. On the
// wire it is "thread:42".
type Event struct {
	Topic string
	ID    int64
}

// ErrInvalidEvent is returned for an event whose topic is not lower-case
// letters and underscores (1 to 32 of them) or whose id is not positive.
var ErrInvalidEvent = errors.New("live: invalid event")

// topicRE is what a topic may be.
// Security: a fixed alphabet keeps anything but an identifier out of the
// payload, so no content can be smuggled into a notification as a topic.
var topicRE = regexp.MustCompile(`^[a-z_]{1,32}$`)

// String is the event's payload, "thread:42".
func (e Event) String() string { return e.Topic + ":" + strconv.FormatInt(e.ID, 10) }

// Valid reports ErrInvalidEvent unless e can be sent.
func (e Event) Valid() error {
	if !topicRE.MatchString(e.Topic) || e.ID < 1 {
		return ErrInvalidEvent
	}
	return nil
}

// ParseEvent reads a payload written by Notify. Anything else, including a
// non-canonical form of a valid one ("thread:042", "thread:+1"), is refused.
func ParseEvent(payload string) (Event, error) {
	topic, id, ok := strings.Cut(payload, ":")
	if !ok {
		return Event{}, ErrInvalidEvent
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return Event{}, ErrInvalidEvent
	}
	ev := Event{Topic: topic, ID: n}
	if ev.Valid() != nil || ev.String() != payload {
		return Event{}, ErrInvalidEvent
	}
	return ev, nil
}

// Notify queues ev on tx, a transaction or the plain database: Postgres
// delivers it to every listening hub when tx commits (at once for the plain
// database), never if it rolls back. An invalid event is refused and
// nothing is sent.
func Notify(ctx context.Context, tx *gorm.DB, ev Event) error {
	if err := ev.Valid(); err != nil {
		return err
	}
	if tx == nil {
		return errors.New("live: notify: no database")
	}
	// Security: the payload is a parameter, never spliced into SQL.
	if err := tx.WithContext(ctx).Exec(`SELECT pg_notify(?, ?)`, Channel, ev.String()).Error; err != nil {
		return fmt.Errorf("live: notify: %w", err)
	}
	return nil
}
