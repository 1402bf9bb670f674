package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/template/html/v2"

	"portal/app/config"
	"portal/app/notify"
	"portal/app/web"
)

// sendThree queues an email, a text and a call a minute apart and works
// the queue, so the outbox holds them with distinct times.
func sendThree(t *testing.T, e *env) {
	t.Helper()
	msgs := []notify.Message{
		{Channel: notify.Email, To: "carer@example.org", Template: "email_verification_code", Lang: "en",
			Data: map[string]string{"Code": "111111"}},
		{Channel: notify.SMS, To: "+447700900123", Template: "sms_code", Lang: "en",
			Data: map[string]string{"Code": "222222"}},
		{Channel: notify.Voice, To: "+441632960001", Template: "voice_sign_in", Lang: "en", AnswerToken: "challenge-7"},
	}
	for _, m := range msgs {
		e.send(t, m)
		// Each message is worked before the clock moves, so its row carries
		// its own minute.
		e.drain(t)
		e.clock.Advance(time.Minute)
	}
}

func getJSON(t *testing.T, app *fiber.App) []map[string]any {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/dev/outbox.json", nil)
	// Security: links come from BASE_URL; a forged Host must change nothing.
	req.Host = "evil.example"
	res, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	var out []map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOutboxJSONListsEveryMessageNewestFirstInTheFixedShape(t *testing.T) {
	e := newEnv(t, nil)
	app := devApp(notify.NewDevHandler(e.db.Gorm, nil, baseURL+"/", nil))

	if got := getJSON(t, app); got == nil || len(got) != 0 {
		t.Fatalf("empty outbox: want [], got %#v", got)
	}
	sendThree(t, e)
	got := getJSON(t, app)
	if len(got) != 3 {
		t.Fatalf("want 3 messages, got %d", len(got))
	}
	wantKeys := []string{"answer_url", "body", "channel", "created_at", "id", "subject", "to"}
	for i, m := range got {
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if strings.Join(keys, ",") != strings.Join(wantKeys, ",") {
			t.Errorf("message %d: keys %v, want exactly %v", i, keys, wantKeys)
		}
	}
	// Newest first: the call, the text, the email.
	for i, want := range []struct {
		channel, to, subject, body string
		at                         time.Time
	}{
		{"voice", "+441632960001", "", "Press # only if you are signing in now", start.Add(2 * time.Minute)},
		{"sms", "+447700900123", "", "Your Children's Services Online code is 222222. Your worker will never ask for this code.", start.Add(time.Minute)},
		{"email", "carer@example.org", "Children's Services Online account verification code", "Your verification code is: 111111", start},
	} {
		m := got[i]
		if m["channel"] != want.channel || m["to"] != want.to || m["subject"] != want.subject {
			t.Errorf("message %d: got %v %v %q, want %s %s %q", i, m["channel"], m["to"], m["subject"], want.channel, want.to, want.subject)
		}
		if body, _ := m["body"].(string); !strings.Contains(body, want.body) {
			t.Errorf("message %d: body %q does not contain %q", i, body, want.body)
		}
		at, err := time.Parse(time.RFC3339Nano, m["created_at"].(string))
		if err != nil || !at.Equal(want.at) {
			t.Errorf("message %d: created_at %v, want %v (the clock's time)", i, m["created_at"], want.at)
		}
	}
	voiceID := strconv.FormatFloat(got[0]["id"].(float64), 'f', -1, 64)
	if got[0]["answer_url"] != baseURL+"/dev/outbox/"+voiceID+"/answer" {
		t.Errorf("voice answer_url = %v, want BASE_URL/dev/outbox/%s/answer", got[0]["answer_url"], voiceID)
	}
	for _, m := range got[1:] {
		if m["answer_url"] != "" {
			t.Errorf("%v answer_url = %v, want empty", m["channel"], m["answer_url"])
		}
	}
	if !(got[0]["id"].(float64) > got[1]["id"].(float64) && got[1]["id"].(float64) > got[2]["id"].(float64)) {
		t.Errorf("ids not newest first: %v %v %v", got[0]["id"], got[1]["id"], got[2]["id"])
	}
}

func TestOutboxKeepsNewestFirstWhenTheClockStandsStill(t *testing.T) {
	e := newEnv(t, nil)
	o := notify.NewOutbox(e.db.Gorm, e.clock)
	for _, to := range []string{"a@example.org", "b@example.org"} {
		if err := o.Send(context.Background(), notify.Rendered{Channel: notify.Email, To: to, Subject: "s", Body: "b"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := o.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Recipient != "b@example.org" || !got[0].CreatedAt.Equal(start) {
		t.Fatalf("got %+v", got)
	}
}

// hook records what the answer endpoint passed on.
type hook struct{ token, digits []string }

func (h *hook) answered(_ context.Context, token, digits string) error {
	h.token = append(h.token, token)
	h.digits = append(h.digits, digits)
	return nil
}

func post(t *testing.T, app *fiber.App, path, contentType, body string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode
}

func TestAnsweringACallPassesItsTokenAndDigitsToTheHook(t *testing.T) {
	e := newEnv(t, nil)
	sendThree(t, e)
	msgs, err := notify.NewOutbox(e.db.Gorm, nil).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	call, email := msgs[0], msgs[2]
	if call.Channel != notify.Voice || email.Channel != notify.Email {
		t.Fatalf("unexpected outbox order %+v", msgs)
	}
	path := "/dev/outbox/" + strconv.FormatInt(call.ID, 10) + "/answer"

	t.Run("without a hook it answers 204 and does nothing", func(t *testing.T) {
		h := notify.NewDevHandler(e.db.Gorm, nil, baseURL, nil)
		if got := post(t, devApp(h), path, "", ""); got != http.StatusNoContent {
			t.Fatalf("status %d", got)
		}
	})

	rec := &hook{}
	h := notify.NewDevHandler(e.db.Gorm, nil, baseURL, rec.answered)
	app := devApp(h)
	for _, tc := range []struct {
		name, contentType, body, digits string
	}{
		{"no body presses #", "", "", "#"},
		{"a form sends digits", fiber.MIMEApplicationForm, url.Values{"digits": {"1#"}}.Encode(), "1#"},
		{"JSON sends digits", fiber.MIMEApplicationJSON, `{"digits":"5"}`, "5"},
		{"an empty form field presses #", fiber.MIMEApplicationForm, "digits=", "#"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec.token, rec.digits = nil, nil
			if got := post(t, app, path, tc.contentType, tc.body); got != http.StatusNoContent {
				t.Fatalf("status %d", got)
			}
			if len(rec.token) != 1 || rec.token[0] != "challenge-7" || rec.digits[0] != tc.digits {
				t.Fatalf("hook got tokens %v digits %v, want challenge-7 %q", rec.token, rec.digits, tc.digits)
			}
		})
	}
	t.Run("refuses what a keypad cannot send", func(t *testing.T) {
		rec.token = nil
		if got := post(t, app, path, fiber.MIMEApplicationForm, "digits=abc"); got != http.StatusBadRequest {
			t.Fatalf("status %d", got)
		}
		if len(rec.token) != 0 {
			t.Fatal("hook called")
		}
	})
	t.Run("an email or an unknown id cannot be answered", func(t *testing.T) {
		rec.token = nil
		for _, p := range []string{"/dev/outbox/" + strconv.FormatInt(email.ID, 10) + "/answer", "/dev/outbox/999999/answer"} {
			if got := post(t, app, p, "", ""); got != http.StatusNotFound {
				t.Errorf("%s: status %d", p, got)
			}
		}
		if len(rec.token) != 0 {
			t.Fatal("hook called")
		}
	})
}

// bodyOnly renders a template without its layout: the layouts belong to
// another feature, and this test is about the outbox page's own content.
type bodyOnly struct{ *html.Engine }

func (b bodyOnly) Render(out io.Writer, name string, binding any, _ ...string) error {
	if v, ok := binding.(*web.View); ok && name == v.Layout {
		_, err := io.WriteString(out, string(v.Content))
		return err
	}
	return b.Engine.Render(out, name, binding)
}

func TestOutboxPageShowsEveryMessageWithAnAnswerButtonForCalls(t *testing.T) {
	e := newEnv(t, nil)
	sendThree(t, e)
	engine := html.NewFileSystem(http.FS(onlyFiles(t, "views", "notify/outbox.html")), ".html")
	if err := engine.Load(); err != nil {
		t.Fatal(err)
	}
	sessions := web.NewSessions(e.db.Gorm, e.db.Pool, []byte(config.RandomKey()), e.clock, false)
	r := web.NewRenderer(web.RenderDeps{Engine: bodyOnly{engine}, Bundle: bundle(t), Sessions: sessions, Routes: web.NewRoutes(), Dev: true})
	app := devApp(notify.NewDevHandler(e.db.Gorm, r, baseURL, nil))

	res, err := app.Test(httptest.NewRequest(http.MethodGet, "/dev/outbox", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, b)
	}
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", res.Header.Get("Cache-Control"))
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	en := bundle(t).For("en")
	if got := strings.TrimSpace(doc.Find("h1").Text()); got != en.T("notify.outbox.title") {
		t.Errorf("h1 %q", got)
	}
	rows := doc.Find("#outbox > li")
	if rows.Length() != 3 {
		t.Fatalf("want 3 rows, got %d", rows.Length())
	}
	wantChannels := []string{"notify.outbox.channel_voice", "notify.outbox.channel_sms", "notify.outbox.channel_email"}
	rows.Each(func(i int, row *goquery.Selection) {
		title := strings.TrimSpace(row.Find(".govuk-summary-card__title").Text())
		if got, _, _ := strings.Cut(title, " ·"); got != en.T(wantChannels[i]) {
			t.Errorf("row %d channel %q, want %q", i, got, en.T(wantChannels[i]))
		}
		forms := row.Find("form")
		if (i == 0) != (forms.Length() == 1) {
			t.Errorf("row %d: %d answer forms; only the call has one", i, forms.Length())
		}
	})
	action, _ := rows.Eq(0).Find("form").Attr("action")
	if !strings.HasPrefix(action, "/dev/outbox/") || !strings.HasSuffix(action, "/answer") {
		t.Errorf("answer form posts to %q", action)
	}
	if csrf, _ := rows.Eq(0).Find(`input[name="_csrf"]`).Attr("value"); csrf == "" {
		t.Error("answer form has no CSRF token")
	}
	if !strings.Contains(rows.Eq(2).Text(), "111111") || !strings.Contains(rows.Eq(2).Text(), "carer@example.org") {
		t.Errorf("email row lacks its code or recipient: %q", rows.Eq(2).Text())
	}
}
