package config

import (
	"maps"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != "3000" || c.DataDir != "./data" || c.Env != Development || c.BaseURL != "http://localhost:3000" {
		t.Fatalf("defaults = port %q data %q env %q base %q", c.Port, c.DataDir, c.Env, c.BaseURL)
	}
}

func TestPortAndDataDirAreHonoured(t *testing.T) {
	c, _ := load(env(map[string]string{"PORT": "4123", "DATA_DIR": "/srv/portal"}))
	if c.Port != "4123" || c.DataDir != "/srv/portal" || c.BaseURL != "http://localhost:4123" {
		t.Fatalf("got port %q data %q base %q", c.Port, c.DataDir, c.BaseURL)
	}
}

func TestProductionRefusesToStartWithoutSecrets(t *testing.T) {
	c, _ := load(env(map[string]string{"APP_ENV": "production"}))
	err := c.Validate()
	if err == nil {
		t.Fatal("production without secrets validated")
	}
	for _, name := range []string{"DATABASE_URL", "BASE_URL", "SESSION_KEY", "ENCRYPTION_KEYS", "MAIL_PROVIDER",
		"SMS_PROVIDER", "VOICE_PROVIDER"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

// production is a complete production environment; tests change one thing.
func production() map[string]string {
	return map[string]string{"APP_ENV": "production", "DATABASE_URL": "postgres://x/y",
		"BASE_URL": "https://portal.example.org", "SESSION_KEY": RandomKey(), "ENCRYPTION_KEYS": "k1:" + RandomKey(),
		"MAIL_PROVIDER": "smtp", "SMTP_HOST": "smtp.example.org",
		"SMS_PROVIDER": "notify", "NOTIFY_API_KEY": "live-" + uuid + "-" + uuid, "NOTIFY_SMS_TEMPLATE_ID": uuid,
		"VOICE_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": "AC123", "TWILIO_AUTH_TOKEN": "token", "TWILIO_FROM": "+441632960000"}
}

const uuid = "26785a09-ab16-4eb0-8407-a37497a57506"

func TestProductionWithEverythingValidates(t *testing.T) {
	c, _ := load(env(production()))
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestPhoneProvidersNeedTheirSettings(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change map[string]string
		want   string // part of the error; empty: valid
	}{
		{"the defaults are the outbox, which development accepts", map[string]string{"APP_ENV": "development",
			"SMS_PROVIDER": "", "VOICE_PROVIDER": ""}, ""},
		{"production refuses texts in the outbox", map[string]string{"SMS_PROVIDER": "outbox"}, "SMS_PROVIDER=outbox is for development"},
		{"production refuses calls in the outbox", map[string]string{"VOICE_PROVIDER": ""}, "VOICE_PROVIDER=outbox is for development"},
		{"Twilio can send the texts too", map[string]string{"SMS_PROVIDER": "twilio"}, ""},
		{"an unknown SMS provider is refused", map[string]string{"SMS_PROVIDER": "pigeon"}, `SMS_PROVIDER must be outbox, notify or twilio, not "pigeon"`},
		{"Notify has no calls", map[string]string{"VOICE_PROVIDER": "notify"}, `VOICE_PROVIDER must be outbox or twilio, not "notify"`},
		{"Notify needs its key", map[string]string{"NOTIFY_API_KEY": ""}, "SMS_PROVIDER=notify needs NOTIFY_API_KEY"},
		{"Notify needs its template", map[string]string{"NOTIFY_SMS_TEMPLATE_ID": ""}, "SMS_PROVIDER=notify needs NOTIFY_SMS_TEMPLATE_ID"},
		{"Notify over plain http is refused in production", map[string]string{"NOTIFY_BASE_URL": "http://notify.example"}, "NOTIFY_BASE_URL must use https"},
		{"Twilio needs its account", map[string]string{"TWILIO_ACCOUNT_SID": ""}, "VOICE_PROVIDER=twilio needs TWILIO_ACCOUNT_SID"},
		{"Twilio needs its token", map[string]string{"TWILIO_AUTH_TOKEN": ""}, "VOICE_PROVIDER=twilio needs TWILIO_AUTH_TOKEN"},
		{"Twilio needs a number to call from", map[string]string{"TWILIO_FROM": "", "SMS_PROVIDER": "twilio"},
			"SMS_PROVIDER=twilio and VOICE_PROVIDER=twilio needs TWILIO_FROM"},
		{"Twilio's URL must be absolute", map[string]string{"TWILIO_BASE_URL": "api.twilio.com"}, "TWILIO_BASE_URL must be an absolute URL"},
		{"settings of a provider nobody chose are not needed", map[string]string{"SMS_PROVIDER": "twilio",
			"NOTIFY_API_KEY": "", "NOTIFY_SMS_TEMPLATE_ID": "", "NOTIFY_BASE_URL": "nonsense"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := production()
			for k, v := range tc.change {
				vars[k] = v
			}
			c, err := load(env(vars))
			if err != nil {
				t.Fatal(err)
			}
			// An empty variable takes its default, as in a real environment.
			err = c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestStringRedactsSecrets(t *testing.T) {
	c, _ := load(env(map[string]string{"DATABASE_URL": "postgres://user:hunter2@db/portal", "SMTP_PASSWORD": "sesame-open",
		"NOTIFY_API_KEY": "live-" + uuid + "-f1e2d3c4-0000-4000-8000-123456789abc", "TWILIO_AUTH_TOKEN": "twilio-sesame"}))
	c.SessionKey = RandomKey()
	s := c.String()
	for _, secret := range []string{"hunter2", "sesame-open", "123456789abc", "twilio-sesame", c.SessionKey} {
		if secret != "" && strings.Contains(s, secret) {
			t.Fatalf("config string shows a secret: %s", s)
		}
	}
	if !strings.Contains(s, "DATABASE_URL=[redacted]") {
		t.Fatalf("DATABASE_URL not redacted: %s", s)
	}
}

func TestDevSecretsSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	a, _ := load(env(map[string]string{"DATA_DIR": dir}))
	if err := a.FillDevSecrets(); err != nil {
		t.Fatal(err)
	}
	b, _ := load(env(map[string]string{"DATA_DIR": dir}))
	if err := b.FillDevSecrets(); err != nil {
		t.Fatal(err)
	}
	if a.SessionKey == "" || a.SessionKey != b.SessionKey || a.EncryptionKey != b.EncryptionKey {
		t.Fatal("development secrets changed between two starts")
	}
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestProductionRefusesPlainConnections(t *testing.T) {
	for name, change := range map[string]map[string]string{
		"SMTP_TLS":   {"SMTP_TLS": "none"},
		"S3_USE_TLS": {"S3_ENDPOINT": "s3.example.org", "S3_ACCESS_KEY": "k", "S3_SECRET_KEY": "s", "S3_USE_TLS": "false"},
	} {
		vars := production()
		maps.Copy(vars, change)
		c, _ := load(env(vars))
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("production with %v: %v, want a refusal naming %s", change, err, name)
		}
		vars["APP_ENV"] = "development"
		c, _ = load(env(vars))
		if err := c.Validate(); err != nil && strings.Contains(err.Error(), name) {
			t.Errorf("development with %v is refused: %v", change, err)
		}
	}
}
