package notify_test

import (
	"bytes"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"portal/app/notify"
)

// mailbox is a real SMTP server on loopback that keeps what it receives.
type mailbox struct {
	mu   sync.Mutex
	msgs []received
}

type received struct {
	from string
	to   []string
	data []byte
}

func (b *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{box: b}, nil }

func (b *mailbox) all() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.msgs...)
}

type session struct {
	box *mailbox
	cur received
}

func (s *session) Reset()        { s.cur = received{} }
func (s *session) Logout() error { return nil }
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.cur.from = from
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, s.cur)
	s.box.mu.Unlock()
	return nil
}

func startSMTP(t *testing.T) (*mailbox, string, int) {
	t.Helper()
	box := &mailbox{}
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
	return box, host, p
}

// plainBody decodes a single-part text message's body.
func plainBody(t *testing.T, m *mail.Message) string {
	t.Helper()
	var r io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

func TestSMTPDeliversToARealServer(t *testing.T) {
	box, host, port := startSMTP(t)
	e := newEnv(t, func(o *notify.Options) {
		o.Config.MailProvider, o.Config.SMTPHost, o.Config.SMTPPort = "smtp", host, port
		o.Config.SMTPTLS, o.Config.MailFrom = "none", "Children's Services Online <no-reply@example.org>"
	})
	e.send(t, notify.Message{Channel: notify.Email, To: "carer@example.org", Template: "email_invitation",
		Lang: "cy", Data: map[string]string{"Link": "/invitations/accept?t=abc123"}})
	e.drain(t)

	msgs := box.all()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if got.from != "no-reply@example.org" || len(got.to) != 1 || got.to[0] != "carer@example.org" {
		t.Errorf("envelope from %q to %v", got.from, got.to)
	}
	m, err := mail.ReadMessage(bytes.NewReader(got.data))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	cy := bundle(t).For("cy")
	if subject != cy.T("email_invitation.subject", "Service", cy.T("notify.service")) {
		t.Errorf("Subject %q, want the Welsh title %q", subject, cy.T("email_invitation.subject", "Service", cy.T("notify.service")))
	}
	if to := m.Header.Get("To"); !strings.Contains(to, "carer@example.org") {
		t.Errorf("To %q", to)
	}
	if m.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("Auto-Submitted %q", m.Header.Get("Auto-Submitted"))
	}
	body := plainBody(t, m)
	if !strings.Contains(body, baseURL+"/invitations/accept?t=abc123") {
		t.Errorf("body lacks the BASE_URL link:\n%s", body)
	}
	if !strings.Contains(body, "Gwasanaethau Plant Ar-lein") {
		t.Errorf("body is not Welsh:\n%s", body)
	}
}

func TestSMTPRefusesOtherChannels(t *testing.T) {
	s, err := notify.NewSMTP(notify.SMTPConfig{Host: "127.0.0.1", Port: 1, TLS: "none", From: "a@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(t.Context(), notify.Rendered{Channel: notify.SMS, To: "+447700900123", Body: "b"}); err == nil {
		t.Fatal("SMTP accepted a text message")
	}
}
