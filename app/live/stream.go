package live

import (
	"bufio"
	"context"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// DefaultHeartbeat is how often an idle stream sends ": ping": under the
// idle timeouts of proxies (Fly's is 60 s), and the bound on how long a
// closed or revoked stream lingers.
const DefaultHeartbeat = 25 * time.Second

// RefreshEvent is the event a stream sends when its page must reload what
// it shows (events were lost); pages listen with hx-trigger="sse:refresh".
const RefreshEvent = "refresh"

// lastEventID is the id a stream gives itself on opening, so a browser's
// EventSource sends it back as Last-Event-ID when it reconnects.
const lastEventID = "live"

const (
	openFrame    = ": open\nid: " + lastEventID + "\n\n"
	pingFrame    = ": ping\n\n"
	refreshFrame = "event: " + RefreshEvent + "\ndata: " + RefreshEvent + "\n\n"
)

// eventNameRE is what Render may name an event.
// Security: a line break in a name would let it add fields of its own.
var eventNameRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// ErrEventName is reported (through OnError) when Render names an event
// with anything but letters, digits and _ . : - (at most 64).
var ErrEventName = errors.New("live: invalid event name")

// StreamOptions says how a stream renders and when it must end.
type StreamOptions struct {
	// Heartbeat is the interval of the ": ping" comment (DefaultHeartbeat
	// when 0).
	Heartbeat time.Duration
	// Authorize is called before every event and every heartbeat; false or
	// an error ends the stream. Required.
	// Security: this is what closes a stream on log out or when access to
	// what it shows ends; it must re-check the session and the access from
	// the database (by ids copied from the request), never trust the
	// request's *fiber.Ctx, which is gone by then.
	Authorize func(ctx context.Context) (bool, error)
	// Render gives an event's SSE name and data, read afresh for the
	// viewer. Data may span lines (each is sent as a "data:" line); empty
	// data is not dispatched by browsers. Name "" skips the event. An error
	// ends the stream. Required.
	Render func(ctx context.Context, ev Event) (name string, data string, err error)
	// RefreshOnOpen sends a refresh right after the stream opens, for
	// pages that cannot afford to miss an event sent between their render
	// and the stream's opening.
	RefreshOnOpen bool
	// OnClose is called once, when the stream ends or when Stream refuses
	// to start (release an Acquire here).
	OnClose func()
	// OnError, if set, is told the error from Authorize or Render, or
	// ErrEventName, that ended the stream (never a client going away).
	OnError func(error)
}

// Stream answers with server-sent events from sub until the client goes
// away, ctx (the request's user context) ends, the server shuts down, the
// subscription is closed (Hub.Stop), or Authorize says no. It takes
// ownership of sub, closing it when the stream ends. It returns at once:
// the response is written by a goroutine after the handler returns, so it
// must be the handler's last statement. It has no side effects: it never
// marks anything read and never touches the session.
func Stream(c *fiber.Ctx, sub *Subscription, o StreamOptions) error {
	if sub == nil || o.Authorize == nil || o.Render == nil {
		if sub != nil {
			sub.Close()
		}
		if o.OnClose != nil {
			o.OnClose()
		}
		return errors.New("live: Stream needs a subscription, Authorize and Render")
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	// Everything the writer needs is copied now: fasthttp reuses c (and the
	// RequestCtx under it) once the handler returns.
	st := &stream{sub: sub, o: o,
		parent:   c.UserContext(),
		shutdown: c.Context().Done(), // closed only when the server shuts down
		refresh:  o.RefreshOnOpen || c.Get("Last-Event-ID") != ""}
	c.Status(fiber.StatusOK)
	c.Set(fiber.HeaderContentType, "text/event-stream")
	// Security: a stream shows private data; nothing may keep a copy.
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Accel-Buffering", "no") // a buffering proxy would hold events back
	c.Context().SetBodyStreamWriter(st.write)
	return nil
}

// stream is what a Stream's writer goroutine holds.
type stream struct {
	sub      *Subscription
	o        StreamOptions
	parent   context.Context
	shutdown <-chan struct{}
	refresh  bool
}

// write runs on fasthttp's goroutine until the stream ends.
func (st *stream) write(w *bufio.Writer) {
	ctx, cancel := context.WithCancel(st.parent)
	defer cancel()
	defer func() {
		st.sub.Close()
		if st.o.OnClose != nil {
			st.o.OnClose()
		}
	}()
	// Authorize and Render see ctx end on Stop and on shutdown, not only
	// when their own turn in the loop comes.
	go func() {
		select {
		case <-st.sub.Done():
		case <-st.shutdown:
		case <-ctx.Done():
		}
		cancel()
	}()

	// send writes and flushes; false means the client is gone.
	send := func(s string) bool {
		if _, err := w.WriteString(s); err != nil {
			return false
		}
		return w.Flush() == nil
	}
	if !send(openFrame) {
		return
	}
	if st.refresh {
		st.sub.Missed() // this refresh covers whatever was missed so far
		if !st.allowed(ctx) || !send(refreshFrame) {
			return
		}
	}
	tick := time.NewTicker(st.o.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-st.sub.Events():
			if !ok || !st.allowed(ctx) {
				return
			}
			name, data, err := st.o.Render(ctx, ev)
			if err == nil && name != "" && !eventNameRE.MatchString(name) {
				err = ErrEventName
			}
			if err != nil {
				st.fail(ctx, err)
				return
			}
			if name != "" && !send(frame(name, data)) {
				return
			}
		case <-st.sub.Refresh():
			if !st.sub.Missed() {
				continue
			}
			if !st.allowed(ctx) || !send(refreshFrame) {
				return
			}
		case <-tick.C:
			if !st.allowed(ctx) || !send(pingFrame) {
				return
			}
		}
	}
}

// allowed asks Authorize; an error counts as no.
func (st *stream) allowed(ctx context.Context) bool {
	ok, err := st.o.Authorize(ctx)
	if err != nil {
		st.fail(ctx, err)
		return false
	}
	return ok
}

// fail reports err unless the stream was ending anyway.
func (st *stream) fail(ctx context.Context, err error) {
	if st.o.OnError != nil && ctx.Err() == nil {
		st.o.OnError(err)
	}
}

// lineBreaks turns every line ending SSE knows (CRLF, CR, LF) into LF.
// Security: a lone CR left in data would start a new field in the browser,
// letting rendered content inject an event of its own.
var lineBreaks = strings.NewReplacer("\r\n", "\n", "\r", "\n")

// frame is one SSE event: its name, then each line of data as a "data:"
// line, then a blank line.
func frame(name, data string) string {
	var b strings.Builder
	b.Grow(len(name) + len(data) + 16)
	b.WriteString("event: ")
	b.WriteString(name)
	b.WriteByte('\n')
	for line := range strings.SplitSeq(lineBreaks.Replace(data), "\n") {
		b.WriteString("data: ")
		b.WriteString(line)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return b.String()
}
