package live

import (
	"bufio"
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// DefaultHeartbeat is how often a stream re-authorises (and pings), and
// how long an authorisation lets it render events: the bound on how long
// a stream whose access ended without a notification (a session idling
// out, a grant's end passing) can still read and send anything.
const DefaultHeartbeat = 25 * time.Second

// DefaultPing is how often an idle stream writes ": ping": under the idle
// timeouts of proxies (Fly's is 60 s), and soon enough that a stream whose
// page is gone is noticed (the write fails) and its slot freed.
const DefaultPing = 5 * time.Second

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
	// Heartbeat is how often the stream re-authorises, and how long an
	// authorisation lets it send events (DefaultHeartbeat when 0).
	Heartbeat time.Duration
	// Ping is how often an idle stream writes a comment, reading and
	// checking nothing (DefaultPing when 0).
	Ping time.Duration
	// Cursor, if set, says where the page is: the id of the last thing it
	// shows (a message id). It is sent as the SSE id on opening and with
	// each event, so a browser that reconnects says where it was
	// (Last-Event-ID); and on opening Render runs once with the zero
	// Event, to send whatever the page lacks. Without a Cursor, a
	// reconnecting browser gets a refresh event.
	Cursor func() string
	// Authorize is called at every heartbeat, before a refresh, after an
	// event of AuthorizeOn, and before rendering any other event when the
	// last authorisation that passed began Heartbeat ago or more (the
	// request's own checks count as one, made when Stream was called).
	// False or an error ends the stream. Required.
	// Security: this is what closes a stream on log out or when access to
	// what it shows ends; it must re-check the session and the access from
	// the database (by ids copied from the request), never trust the
	// request's *fiber.Ctx, which is gone by then.
	Authorize func(ctx context.Context) (bool, error)
	// AuthorizeOn lists the events that may mean access ended (the
	// viewer's "person" event: a grant revoked, a sign-out): when one is
	// among the events taken from the queue, Authorize runs before any of
	// them is rendered, however recent the last authorisation.
	// Security: every change that ends access at once must notify one of
	// these, or the stream learns of it only within Heartbeat.
	AuthorizeOn []Event
	// Now tells the time for the freshness of an authorisation (time.Now
	// when nil, which is monotonic); tests move it instead of sleeping.
	Now func() time.Time
	// Render gives an event's SSE name and data, read afresh for the
	// viewer. Data may span lines (each is sent as a "data:" line); empty
	// data is not dispatched by browsers. Name "" skips the event. An error
	// ends the stream. Events queued together are rendered once each
	// (identical ones coalesce), so Render must read what is current, not
	// what one notification changed. Required.
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
	if o.Ping <= 0 {
		o.Ping = DefaultPing
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	// Everything the writer needs is copied now: fasthttp reuses c (and the
	// RequestCtx under it) once the handler returns.
	st := &stream{sub: sub, o: o,
		authorised: o.Now(), // the request's checks passed just before the handler called Stream
		parent:     c.UserContext(),
		shutdown:   c.Context().Done(), // closed only when the server shuts down
		refresh:    o.RefreshOnOpen || (c.Get("Last-Event-ID") != "" && o.Cursor == nil)}
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
	// authorised is when the last authorisation that passed began.
	authorised time.Time
}

// write runs on fasthttp's goroutine until the stream ends.
func (st *stream) write(w *bufio.Writer) {
	ctx, cancel := context.WithCancel(st.parent)
	defer cancel()
	st.sub.hub.open.Add(1)
	defer func() {
		st.sub.hub.open.Add(-1)
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
	// What the page lacks goes first, before anything new, and the open
	// frame after it: whoever waits for the stream to open (a test about
	// what comes next) then waits for the catch-up too, which was
	// authorised with the request.
	open := openFrame
	if st.o.Cursor != nil {
		if !st.event(ctx, Event{}, send) {
			return
		}
		open = ": open\nid: " + idLine.Replace(st.o.Cursor()) + "\n\n"
	}
	if !send(open) {
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
	ping := time.NewTicker(st.o.Ping)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-st.sub.Events():
			if !ok || !st.events(ctx, ev, send) {
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
		case <-ping.C:
			if !send(pingFrame) {
				return // the page is gone
			}
		}
	}
}

// events renders and sends first and whatever else is queued with it,
// each once, authorising first when one of them is in AuthorizeOn and
// before each that would otherwise render on a stale authorisation; false
// means the stream must end.
// Security: taking the whole queue first means that a revocation's event
// queued behind another is acted on before that other is rendered.
func (st *stream) events(ctx context.Context, first Event, send func(string) bool) bool {
	batch := []Event{first}
	for range cap(st.sub.events) { // bounded: the hub may keep adding
		ev, more, ok := st.queued()
		if !ok {
			return false // closed: Stop, or evicted by a newer stream
		}
		if !more {
			break
		}
		if !slices.Contains(batch, ev) {
			batch = append(batch, ev)
		}
	}
	if slices.ContainsFunc(batch, func(ev Event) bool { return slices.Contains(st.o.AuthorizeOn, ev) }) && !st.allowed(ctx) {
		return false
	}
	for _, ev := range batch {
		if st.o.Now().Sub(st.authorised) >= st.o.Heartbeat && !st.allowed(ctx) {
			return false
		}
		if !st.event(ctx, ev, send) {
			return false
		}
	}
	return true
}

// queued takes the next queued event without waiting: more is false when
// there is none, ok is false when the subscription is closed.
func (st *stream) queued() (ev Event, more, ok bool) {
	select {
	case ev, ok := <-st.sub.Events():
		return ev, ok, ok
	default:
		return Event{}, false, true
	}
}

// event renders ev and sends it (with the cursor as its id); false means
// the stream must end.
func (st *stream) event(ctx context.Context, ev Event, send func(string) bool) bool {
	name, data, err := st.o.Render(ctx, ev)
	if err == nil && name != "" && !eventNameRE.MatchString(name) {
		err = ErrEventName
	}
	if err != nil {
		st.fail(ctx, err)
		return false
	}
	if name == "" {
		return true
	}
	id := ""
	if st.o.Cursor != nil {
		id = st.o.Cursor()
	}
	return send(frame(name, data, id))
}

// idLine keeps an SSE id on its line. Security: as in frame.
var idLine = strings.NewReplacer("\r", "", "\n", "")

// allowed asks Authorize; an error counts as no. A yes counts from when
// the question was asked, not answered.
func (st *stream) allowed(ctx context.Context) bool {
	asked := st.o.Now()
	ok, err := st.o.Authorize(ctx)
	if err != nil {
		st.fail(ctx, err)
		return false
	}
	if ok {
		st.authorised = asked
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
// line, then its id if any, then a blank line.
func frame(name, data, id string) string {
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
	if id != "" {
		b.WriteString("id: ")
		b.WriteString(idLine.Replace(id))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return b.String()
}
