package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"portal/app/notify"
)

// Providers down (issue 18): a refusal or a hang is retried with backoff
// until the provider recovers, and exactly one message arrives; a message
// the provider will never take is given up at once; what is given up is
// recorded for the admins, without the recipient.

// flakyMailbox is a real SMTP server on loopback that refuses the first
// failures messages with code (at DATA, or at RCPT when atRcpt), then
// keeps what it receives.
type flakyMailbox struct {
	mailbox
	code     int
	atRcpt   bool
	failures int // -1: for ever
	tries    int
}

func (b *flakyMailbox) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &flakySession{session: session{box: &b.mailbox}, flaky: b}, nil
}

// refuse counts one try and says whether to refuse it.
func (b *flakyMailbox) refuse() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tries++
	if b.failures == 0 {
		return nil
	}
	if b.failures > 0 {
		b.failures--
	}
	return &smtp.SMTPError{Code: b.code, EnhancedCode: smtp.EnhancedCode{b.code / 100, 0, 0}, Message: "not now for carer@example.org"}
}

type flakySession struct {
	session
	flaky *flakyMailbox
}

func (s *flakySession) Rcpt(to string, o *smtp.RcptOptions) error {
	if s.flaky.atRcpt {
		if err := s.flaky.refuse(); err != nil {
			return err
		}
	}
	return s.session.Rcpt(to, o)
}

func (s *flakySession) Data(r io.Reader) error {
	if !s.flaky.atRcpt {
		if err := s.flaky.refuse(); err != nil {
			_, _ = io.Copy(io.Discard, r)
			return err
		}
	}
	return s.session.Data(r)
}

func startFlakySMTP(t *testing.T, box *flakyMailbox) func(*notify.Options) {
	t.Helper()
	srv := smtp.NewServer(box)
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	return func(o *notify.Options) {
		o.Config.MailProvider, o.Config.SMTPHost, o.Config.SMTPPort = "smtp", host, p
		o.Config.SMTPTLS, o.Config.MailFrom = "none", "Children's Services Online <no-reply@example.org>"
	}
}

// job is what river_job says of the one notify job.
type job struct {
	ID       int64
	State    string
	Attempt  int
	Attempts int // max_attempts
}

func onlyJob(t *testing.T, e *env) job {
	t.Helper()
	var j job
	if err := e.db.Pool.QueryRow(context.Background(),
		`SELECT id, state::text, attempt, max_attempts FROM river_job WHERE kind = 'notify.send'`).Scan(&j.ID, &j.State, &j.Attempt, &j.Attempts); err != nil {
		t.Fatal(err)
	}
	return j
}

// outcome is one row of notify_deliveries with what the admins see.
type outcome struct {
	JobID    int64
	Channel  string
	Status   string
	Template string
	Reason   string
	Attempts int
}

func outcomes(t *testing.T, e *env) []outcome {
	t.Helper()
	var out []outcome
	if err := e.db.Gorm.Raw(`SELECT job_id, channel, status, template, reason, attempts FROM notify_deliveries ORDER BY id`).
		Scan(&out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAnSMTPServerRefusingForNowIsRetriedAndOneEmailArrives(t *testing.T) {
	for _, code := range []int{451, 554} {
		t.Run("code="+strconv.Itoa(code), func(t *testing.T) {
			box := &flakyMailbox{code: code, failures: 2}
			e := newEnv(t, startFlakySMTP(t, box))
			e.send(t, codeEmail)
			e.drain(t)

			msgs := box.all()
			if len(msgs) != 1 || box.tries != 3 {
				t.Fatalf("%d messages arrived after %d tries, want 1 after 3", len(msgs), box.tries)
			}
			j := onlyJob(t, e)
			if j.State != "completed" || j.Attempt != 3 {
				t.Fatalf("job %+v, want completed at its 3rd attempt", j)
			}
			m, err := mail.ReadMessage(bytes.NewReader(msgs[0].data))
			if err != nil {
				t.Fatal(err)
			}
			// The Message-ID is the job's, so each attempt carried the same one
			// and a server that took one of them can drop the others.
			id := m.Header.Get("Message-ID")
			if !strings.HasPrefix(id, "<portal-"+strconv.FormatInt(j.ID, 10)+"-") || !strings.HasSuffix(id, "@example.org>") {
				t.Errorf("Message-ID %q is not the job's", id)
			}
			if got := outcomes(t, e); len(got) != 1 || got[0].Status != notify.DeliverySent || got[0].JobID != j.ID {
				t.Fatalf("deliveries %+v, want the job sent once", got)
			}
		})
	}
}

func TestAnEmailAddressRefusedForGoodIsNotRetried(t *testing.T) {
	box := &flakyMailbox{code: 550, atRcpt: true, failures: -1}
	e := newEnv(t, startFlakySMTP(t, box))
	e.send(t, codeEmail)
	err := e.notifier.Drain(context.Background())
	if err == nil || strings.Contains(err.Error(), "carer@example.org") {
		t.Fatalf("Drain = %v, want a failure that does not quote the address", err)
	}
	if j := onlyJob(t, e); j.State != "cancelled" || j.Attempt != 1 || box.tries != 1 {
		t.Fatalf("job %+v after %d tries, want cancelled after one", j, box.tries)
	}
	if got := outcomes(t, e); len(got) != 1 || got[0] != (outcome{JobID: onlyJob(t, e).ID, Channel: "email",
		Status: notify.DeliveryFailed, Template: "email_verification_code", Reason: notify.ReasonRefused, Attempts: 1}) {
		t.Fatalf("deliveries %+v, want one refused email", got)
	}
}

// gateway is GOV.UK Notify's and Twilio's API on loopback, answering each
// POST as its script says, in turn (then 201): "500", "400", "hang" (no
// answer until the client gives up), "lost" (taken, then no answer). It
// keeps each message it took, and answers Notify's look-up by reference.
type gateway struct {
	srv *httptest.Server

	mu     sync.Mutex
	script []string
	posts  int
	taken  []string // the reference (Notify) or the body (Twilio) of each message taken
	lookup int
}

func startGateway(t *testing.T, script ...string) *gateway {
	t.Helper()
	g := &gateway{script: script}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gateway) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodGet && r.URL.Path == "/v2/notifications" {
		g.mu.Lock()
		g.lookup++
		ref := r.URL.Query().Get("reference")
		var found []map[string]string
		for _, t := range g.taken {
			if t == ref {
				found = append(found, map[string]string{"id": "740e5834-3a29-46b4-9a6f-16142fde533a", "reference": t, "status": "sending"})
			}
		}
		g.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"notifications": found, "links": map[string]string{}})
		return
	}
	body, _ := io.ReadAll(r.Body)
	key := string(body)
	var sms struct{ Reference string }
	if json.Unmarshal(body, &sms) == nil {
		key = sms.Reference
	}
	g.mu.Lock()
	step := "201"
	if g.posts < len(g.script) {
		step = g.script[g.posts]
	}
	g.posts++
	if step == "201" || step == "lost" {
		g.taken = append(g.taken, key)
	}
	g.mu.Unlock()
	switch step {
	case "hang", "lost":
		<-r.Context().Done() // until the portal's client gives up
	case "500":
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"errors":[{"error":"Exception","message":"Internal server error"}]}`))
	case "400":
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"code":21211,"errors":[{"error":"ValidationError","message":"phone_number Not a UK mobile number"}]}`))
	default:
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":"740e5834-3a29-46b4-9a6f-16142fde533a","sid":"SM0123"}`))
	}
}

func (g *gateway) counts() (posts int, taken []string, lookups int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.posts, append([]string(nil), g.taken...), g.lookup
}

// clientTimeout is the gateways' timeout in these tests: a "hang" ends
// when the portal's client gives up, and nothing here waits for it.
const clientTimeout = 300 * time.Millisecond

func notifyAt(t *testing.T, g *gateway) func(*notify.Options) {
	return func(o *notify.Options) {
		p, err := notify.NewGovUKNotify(notify.GovUKNotifyConfig{APIBase: g.srv.URL, APIKey: notifyKey,
			TemplateID: notifyTemplate, Timeout: clientTimeout})
		if err != nil {
			t.Fatal(err)
		}
		o.Provider = notify.Channels{notify.SMS: p}
	}
}

func twilioAt(t *testing.T, g *gateway) func(*notify.Options) {
	return func(o *notify.Options) {
		p, err := notify.NewTwilio(notify.TwilioConfig{APIBase: g.srv.URL, AccountSID: twilioSID, AuthToken: twilioToken,
			From: twilioFrom, PortalBase: baseURL, Bundle: bundle(t), Timeout: clientTimeout})
		if err != nil {
			t.Fatal(err)
		}
		o.Provider = notify.Channels{notify.SMS: p, notify.Voice: p}
	}
}

func TestAGatewayDownIsRetriedUntilItRecovers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		provider func(*testing.T, *gateway) func(*notify.Options)
		script   []string
	}{
		{"Notify answering 500", notifyAt, []string{"500", "500"}},
		{"Notify hanging past the client's timeout", notifyAt, []string{"hang", "500"}},
		{"Twilio answering 500", twilioAt, []string{"500", "500"}},
		{"Twilio hanging past the client's timeout", twilioAt, []string{"hang", "hang"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := startGateway(t, tc.script...)
			e := newEnv(t, tc.provider(t, g))
			e.send(t, aCodeText)
			e.drain(t)
			posts, taken, _ := g.counts()
			j := onlyJob(t, e)
			if posts != 3 || len(taken) != 1 || j.State != "completed" || j.Attempt != 3 {
				t.Fatalf("%d posts, %d taken, job %+v: want 3 attempts and one text taken", posts, len(taken), j)
			}
			if got := outcomes(t, e); len(got) != 1 || got[0].Status != notify.DeliverySent || got[0].JobID != j.ID {
				t.Fatalf("deliveries %+v, want the job sent once", got)
			}
		})
	}
}

func TestAGatewayRefusalForGoodIsNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name     string
		provider func(*testing.T, *gateway) func(*notify.Options)
	}{{"Notify", notifyAt}, {"Twilio", twilioAt}} {
		t.Run(tc.name, func(t *testing.T) {
			g := startGateway(t, "400", "400", "400", "400")
			e := newEnv(t, tc.provider(t, g))
			e.send(t, aCodeText)
			if err := e.notifier.Drain(context.Background()); err == nil || !strings.Contains(err.Error(), "status 400") {
				t.Fatalf("Drain = %v, want the 400", err)
			}
			posts, _, _ := g.counts()
			j := onlyJob(t, e)
			if posts != 1 || j.State != "cancelled" {
				t.Fatalf("%d posts, job %+v: want one, then given up", posts, j)
			}
			if got := outcomes(t, e); len(got) != 1 || got[0] != (outcome{JobID: j.ID, Channel: "sms", Status: notify.DeliveryFailed,
				Template: "sms_code", Reason: notify.ReasonRefused, Attempts: 1}) {
				t.Fatalf("deliveries %+v, want one refused text", got)
			}
		})
	}
}

// TestNotifyTookItButTheAnswerWasLost: Notify takes the text, and its
// answer never comes back (the client times out). The retry asks Notify
// by the job's reference, finds it, and sends nothing again.
func TestNotifyTookItButTheAnswerWasLost(t *testing.T) {
	g := startGateway(t, "lost")
	e := newEnv(t, notifyAt(t, g))
	e.send(t, aCodeText)
	e.drain(t)
	posts, taken, lookups := g.counts()
	j := onlyJob(t, e)
	if posts != 1 || len(taken) != 1 || lookups != 1 {
		t.Fatalf("%d posts, %d taken, %d look-ups: want the text taken once and looked up once", posts, len(taken), lookups)
	}
	if want := "portal-" + strconv.FormatInt(j.ID, 10) + "-"; !strings.HasPrefix(taken[0], want) {
		t.Errorf("reference %q, want the job's (%s…)", taken[0], want)
	}
	if j.State != "completed" || j.Attempt != 2 {
		t.Fatalf("job %+v, want completed at its second attempt", j)
	}
	if got := outcomes(t, e); len(got) != 1 || got[0].Status != notify.DeliverySent {
		t.Fatalf("deliveries %+v, want one sent", got)
	}
}

// takenThenFailed is a provider whose first attempt is taken, recorded
// as sent, and still fails (the worker stopped before River marked the job
// done); it counts every attempt.
type takenThenFailed struct {
	e        *env
	mu       sync.Mutex
	attempts int
}

func (p *takenThenFailed) Send(ctx context.Context, r notify.Rendered) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.attempts++
	if p.attempts == 1 {
		if err := p.e.db.Gorm.Exec(`INSERT INTO notify_deliveries (channel, status, at, job_id)
			SELECT 'sms', 'sent', now(), id FROM river_job WHERE kind = 'notify.send'`).Error; err != nil {
			return err
		}
		return errors.New("the worker stopped")
	}
	return nil
}

func TestAJobRecordedAsSentIsNotSentAgain(t *testing.T) {
	p := &takenThenFailed{}
	e := newEnv(t, func(o *notify.Options) { o.Provider = p })
	p.e = e
	e.send(t, aCodeText)
	e.drain(t)
	if p.attempts != 1 {
		t.Fatalf("the provider was asked %d times, want once", p.attempts)
	}
	if j := onlyJob(t, e); j.State != "completed" || j.Attempt != 2 {
		t.Fatalf("job %+v, want completed at its second attempt", j)
	}
}

func TestAMessageGivenUpOnSaysWhyForTheAdmins(t *testing.T) {
	g := startGateway(t, "500", "500", "500", "500", "500")
	e := newEnv(t, twilioAt(t, g))
	e.send(t, aCodeText)
	if err := e.notifier.Drain(context.Background()); err == nil {
		t.Fatal("Drain reported success")
	}
	j := onlyJob(t, e)
	if j.State != "discarded" || j.Attempt != j.Attempts || j.Attempts > 5 {
		t.Fatalf("job %+v, want discarded after its few attempts", j)
	}
	if got := outcomes(t, e); len(got) != 1 || got[0] != (outcome{JobID: j.ID, Channel: "sms", Status: notify.DeliveryFailed,
		Template: "sms_code", Reason: notify.ReasonUnavailable, Attempts: j.Attempts}) {
		t.Fatalf("deliveries %+v, want one text failed as unavailable", got)
	}
}

func TestFailingSaysWhenAQueuedMessageHasNotGone(t *testing.T) {
	t.Run("a provider down", func(t *testing.T) {
		p := &recorder{failures: -1, err: errors.New("provider down")}
		e := newEnvRetrying(t, laterRetry{}, func(o *notify.Options) { o.Provider = p })
		id, err := e.notifier.SendTracked(context.Background(), aCodeText)
		if err != nil {
			t.Fatal(err)
		}
		if failing, err := e.notifier.Failing(context.Background(), id); err != nil || failing {
			t.Fatalf("before any attempt: Failing = %v (%v), want false", failing, err)
		}
		_ = e.notifier.Drain(context.Background())
		if failing, err := e.notifier.Failing(context.Background(), id); err != nil || !failing {
			t.Fatalf("after a failed attempt: Failing = %v (%v), want true", failing, err)
		}
	})
	t.Run("a provider up", func(t *testing.T) {
		p := &recorder{}
		e := newEnv(t, func(o *notify.Options) { o.Provider = p })
		id, err := e.notifier.SendTracked(context.Background(), aCodeText)
		if err != nil {
			t.Fatal(err)
		}
		e.drain(t)
		if failing, err := e.notifier.Failing(context.Background(), id); err != nil || failing {
			t.Fatalf("Failing = %v (%v), want false", failing, err)
		}
		if failing, err := e.notifier.Failing(context.Background(), id+1000); err != nil || failing {
			t.Fatalf("an unknown job: Failing = %v (%v), want false", failing, err)
		}
	})
}
