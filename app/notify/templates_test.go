package notify_test

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"strings"
	"testing"
	"text/template"
	"text/template/parse"

	"github.com/BurntSushi/toml"

	"portal/app/i18n"
	"portal/app/notify"
)

// templates returns each language's message tables (email_*, sms_*,
// voice_*) as written in locales/notify.<lang>.toml.
func templates(t *testing.T, lang string) map[string]map[string]string {
	t.Helper()
	raw, err := fs.ReadFile(localesFS(t), "notify."+lang+".toml")
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]any
	if err := toml.Unmarshal(raw, &all); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for name, v := range all {
		if name == "notify" {
			continue
		}
		table, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: %s is not a table", lang, name)
		}
		out[name] = map[string]string{}
		for k, s := range table {
			out[name][k], _ = s.(string)
		}
	}
	return out
}

// fields lists the {{.X}} a text uses, and whether it uses anything else.
func fields(t *testing.T, text string) (names []string, other bool) {
	t.Helper()
	tmpl, err := template.New("x").Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	var walk func(parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.TextNode:
		case *parse.ActionNode:
			if len(n.Pipe.Cmds) == 1 && len(n.Pipe.Cmds[0].Args) == 1 && len(n.Pipe.Decl) == 0 {
				if f, ok := n.Pipe.Cmds[0].Args[0].(*parse.FieldNode); ok && len(f.Ident) == 1 {
					names = append(names, f.Ident[0])
					return
				}
			}
			other = true
		default:
			other = true // if, range, with, template: none belongs in a message
		}
	}
	walk(tmpl.Tree.Root)
	return names, other
}

func TestMessageTextsInterpolateOnlyTheAllowedKeys(t *testing.T) {
	for _, lang := range []string{"en", "cy"} {
		for name, table := range templates(t, lang) {
			channel, _, _ := strings.Cut(name, "_")
			if !notify.Channel(channel).Valid() {
				t.Errorf("%s: table %s does not start with email_, sms_ or voice_", lang, name)
			}
			if table["body"] == "" {
				t.Errorf("%s: %s has no body", lang, name)
			}
			if (channel == "email") != (table["subject"] != "") {
				t.Errorf("%s: %s: emails, and only emails, have a subject", lang, name)
			}
			for key, text := range table {
				if key != "body" && key != "subject" {
					t.Errorf("%s: %s.%s: only subject and body belong in a message table", lang, name, key)
				}
				names, other := fields(t, text)
				if other {
					t.Errorf("%s: %s.%s uses template logic; only {{.Code}} and {{.Link}} are allowed", lang, name, key)
				}
				for _, f := range names {
					if f == notify.DataService {
						continue // the configured service name, which the renderer adds itself
					}
					if key == "subject" || !allowed[f] {
						t.Errorf("%s: %s.%s interpolates .%s; bodies may use only the notify.Data* keys, subjects .Service", lang, name, key, f)
					}
				}
			}
		}
	}
}

// allowed are the keys a message body may interpolate: notify's Data*
// keys, each argued never to be personal.
var allowed = map[string]bool{notify.DataCode: true, notify.DataLink: true, notify.DataTime: true,
	notify.DataBrowser: true, notify.DataSystem: true}

func TestEveryMessageIsInBothLanguagesAndTranslated(t *testing.T) {
	en, err := i18n.Keys(localesFS(t), "en")
	if err != nil {
		t.Fatal(err)
	}
	cy, err := i18n.Keys(localesFS(t), "cy")
	if err != nil {
		t.Fatal(err)
	}
	for k := range en {
		if !cy[k] {
			t.Errorf("%s is missing in Welsh", k)
		}
	}
	for k := range cy {
		if !en[k] {
			t.Errorf("%s is in Welsh only", k)
		}
	}
	enT, cyT := templates(t, "en"), templates(t, "cy")
	for name := range enT {
		if enT[name]["body"] == cyT[name]["body"] {
			t.Errorf("%s.body is the same in Welsh as in English", name)
		}
	}
}

func TestEveryTemplateRendersWithOnlyWhatItIsGiven(t *testing.T) {
	e := newEnv(t, nil)
	for _, lang := range []string{"en", "cy"} {
		for name, table := range templates(t, lang) {
			channel, _, _ := strings.Cut(name, "_")
			m := notify.Message{Channel: notify.Channel(channel), To: "someone@example.org", Template: name, Lang: lang,
				Data: map[string]string{}}
			names, _ := fields(t, table["body"])
			for _, f := range names {
				if f != notify.DataService {
					m.Data[f] = map[string]string{notify.DataCode: "908172", notify.DataLink: "/sign-in",
						notify.DataTime: "2026-12-07T14:05:00Z", notify.DataBrowser: "firefox", notify.DataSystem: "android"}[f]
				}
			}
			if m.Channel == notify.Voice {
				m.AnswerToken = "challenge-1"
			}
			r, err := e.notifier.Render(m)
			if err != nil {
				t.Errorf("%s %s: %v", lang, name, err)
				continue
			}
			if strings.Contains(r.Body, "{{") || strings.Contains(r.Body, "<no value>") {
				t.Errorf("%s %s: unfilled template: %q", lang, name, r.Body)
			}
			for _, f := range names {
				if f == notify.DataLink && !strings.Contains(r.Body, baseURL+"/sign-in") {
					t.Errorf("%s %s: link not built from BASE_URL: %q", lang, name, r.Body)
				}
			}
		}
	}
}

func TestPersonalDataCannotGetIntoAMessage(t *testing.T) {
	e := newEnv(t, nil)
	base := notify.Message{Channel: notify.Email, To: "carer@example.org", Template: "email_new_message", Lang: "en"}
	for _, tc := range []struct {
		name string
		data map[string]string
	}{
		{"a name under its own key", map[string]string{"Link": "/messages", "Name": "Jane Smith"}},
		{"a child's name in the Code", map[string]string{"Code": "Jane Smith"}},
		{"message text as the Link", map[string]string{"Link": "Your son missed school"}},
		{"a link to another site", map[string]string{"Link": "https://evil.example/phish"}},
		{"a scheme-relative link", map[string]string{"Link": "//evil.example/phish"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := base
			m.Data = tc.data
			if _, err := e.notifier.Render(m); !errors.Is(err, notify.ErrInvalid) {
				t.Fatalf("rendered with %v (err %v)", tc.data, err)
			}
			if err := e.notifier.Send(context.Background(), nil, m); !errors.Is(err, notify.ErrInvalid) {
				t.Fatalf("queued with %v (err %v)", tc.data, err)
			}
		})
	}
	t.Run("the recipient's address appears only in To", func(t *testing.T) {
		m := base
		m.Data = map[string]string{"Link": "/messages"}
		r, err := e.notifier.Render(m)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(r.Body, m.To) || strings.Contains(r.Subject, m.To) {
			t.Fatalf("the address leaked into the message: %q", r.Body)
		}
	})
}

func TestGuideTitlesAreTheSubjects(t *testing.T) {
	subject := func(e *env, template string) string {
		t.Helper()
		m := notify.Message{Channel: notify.Email, To: "someone@example.org", Template: template, Lang: "en",
			Data: map[string]string{"Code": "K7QM-3XHD", "Link": "/sign-in"}}
		if template == "email_account_locked" || template == "email_invitation" || template == "email_activation" {
			delete(m.Data, "Code")
		} else {
			delete(m.Data, "Link")
		}
		r, err := e.notifier.Render(m)
		if err != nil {
			t.Fatal(err)
		}
		return r.Subject
	}
	guides := newEnv(t, nil)
	for template, want := range map[string]string{
		"email_invitation_code":   "Set up your Children's Services Online Account",
		"email_invitation":        "Accept Children's Services Online Account Invitation",
		"email_verification_code": "Children's Services Online account verification code",
		"email_activation":        "New Children's Services Online activation",
		"email_account_locked":    "Sign-in to your account was locked",
	} {
		if got := subject(guides, template); got != want {
			t.Errorf("%s = %q, want %q", template, got, want)
		}
	}
	// Guide 003's council names the service "My Norfolk Social Care".
	norfolk := newEnv(t, func(o *notify.Options) { o.Config.ServiceName = "My Norfolk Social Care" })
	if got := subject(norfolk, "email_invitation_code"); got != "Set up your My Norfolk Social Care Account" {
		t.Errorf("with SERVICE_NAME the code email is titled %q", got)
	}
	en := bundle(t).For("en")
	if got := en.T("sms_code.body", "Code", "123456", "Service", "Children's Services Online"); got != "Your Children's Services Online code is 123456. Your worker will never ask for this code." {
		t.Errorf("sms_code.body = %q", got)
	}
	if got := en.T("voice_sign_in.body"); !strings.Contains(got, "press # only if you are signing in now") &&
		!strings.Contains(got, "Press # only if you are signing in now") {
		t.Errorf("voice_sign_in.body = %q", got)
	}
}

// TestABrowserOrTimeIsNeverFreeText: the new-sign-in email's browser,
// system and time are refused unless they are a known name and a time.
func TestABrowserOrTimeIsNeverFreeText(t *testing.T) {
	e := newEnv(t, nil)
	good := map[string]string{notify.DataLink: "/sign-in", notify.DataTime: "2026-12-07T14:05:00Z",
		notify.DataBrowser: "firefox", notify.DataSystem: "android"}
	for key, bad := range map[string]string{notify.DataBrowser: "Firefox/133.0 (Android 14)", notify.DataSystem: "<b>",
		notify.DataTime: "yesterday"} {
		data := maps.Clone(good)
		data[key] = bad
		_, err := e.notifier.Render(notify.Message{Channel: notify.Email, To: "someone@example.org",
			Template: "email_new_device", Lang: "en", Data: data})
		if !errors.Is(err, notify.ErrInvalid) {
			t.Errorf("%s = %q rendered (err %v)", key, bad, err)
		}
	}
	if _, err := e.notifier.Render(notify.Message{Channel: notify.Email, To: "someone@example.org",
		Template: "email_new_device", Lang: "cy", Data: good}); err != nil {
		t.Errorf("the known names: %v", err)
	}
}
