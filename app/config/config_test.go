package config

import (
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
	for _, name := range []string{"DATABASE_URL", "BASE_URL", "SESSION_KEY", "ENCRYPTION_KEYS", "MAIL_PROVIDER"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestProductionWithEverythingValidates(t *testing.T) {
	c, _ := load(env(map[string]string{"APP_ENV": "production", "DATABASE_URL": "postgres://x/y",
		"BASE_URL": "https://portal.example.org", "SESSION_KEY": RandomKey(), "ENCRYPTION_KEYS": "k1:" + RandomKey(),
		"MAIL_PROVIDER": "smtp", "SMTP_HOST": "smtp.example.org"}))
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestStringRedactsSecrets(t *testing.T) {
	c, _ := load(env(map[string]string{"DATABASE_URL": "postgres://user:hunter2@db/portal", "SMTP_PASSWORD": "sesame-open"}))
	c.SessionKey = RandomKey()
	s := c.String()
	for _, secret := range []string{"hunter2", "sesame-open", c.SessionKey} {
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
