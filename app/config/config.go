// Package config reads the portal's settings from the environment into one
// typed Config.
//
// Invariants:
//   - Configuration comes only from environment variables; there is no file.
//   - In production (APP_ENV=production) Validate refuses to start without
//     DATABASE_URL, BASE_URL, every secret and a real provider for email,
//     texts and calls (the dev outbox is refused for each); development
//     generates secrets kept in DATA_DIR/dev-secrets (see FillDevSecrets).
//   - String never prints a secret: every field tagged secret is redacted.
package config

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Environments the portal knows.
const (
	Development = "development"
	Production  = "production"
	Test        = "test"
)

// Config is every setting of the portal. The env tag names the variable, the
// default tag its value when unset, and secret marks values String redacts.
type Config struct {
	Env     string `env:"APP_ENV" default:"development" doc:"development, test or production"`
	Port    string `env:"PORT" default:"3000" doc:"HTTP port"`
	BaseURL string `env:"BASE_URL" doc:"public URL used in every emailed link (required in production; default http://localhost:PORT)"`
	DataDir string `env:"DATA_DIR" default:"./data" doc:"holds the embedded Postgres cluster and local objects"`

	// MetricsAddr is never the public port: Validate refuses PORT's.
	MetricsAddr string `env:"METRICS_ADDR" doc:"host:port of a second listener serving only /metrics (Prometheus), such as :9091; empty: no metrics"`

	DatabaseURL string `env:"DATABASE_URL" secret:"true" doc:"Postgres URL; empty starts an embedded cluster under DATA_DIR/postgres"`
	PGBinDir    string `env:"PG_BINDIR" doc:"where initdb and postgres live, for the embedded cluster"`

	S3Endpoint  string `env:"S3_ENDPOINT" doc:"host:port of an S3-compatible store; empty uses DATA_DIR/objects"`
	S3AccessKey string `env:"S3_ACCESS_KEY" secret:"true" doc:"S3 access key"`
	S3SecretKey string `env:"S3_SECRET_KEY" secret:"true" doc:"S3 secret key"`
	S3Bucket    string `env:"S3_BUCKET" default:"portal" doc:"bucket, created if missing"`
	S3Region    string `env:"S3_REGION" default:"us-east-1" doc:"S3 region"`
	S3UseTLS    bool   `env:"S3_USE_TLS" default:"true" doc:"use https to reach S3"`

	SessionKey    string `env:"SESSION_KEY" secret:"true" doc:"32+ random bytes (base64) keying token and code hashes"`
	EncryptionKey string `env:"ENCRYPTION_KEYS" secret:"true" doc:"AES-256 keys for data at rest as id:base64key, comma separated; the first encrypts"`

	MailProvider string `env:"MAIL_PROVIDER" default:"outbox" doc:"outbox (development) or smtp"`
	SMTPHost     string `env:"SMTP_HOST" doc:"SMTP server host"`
	SMTPPort     int    `env:"SMTP_PORT" default:"587" doc:"SMTP server port"`
	SMTPUser     string `env:"SMTP_USER" doc:"SMTP user name"`
	SMTPPassword string `env:"SMTP_PASSWORD" secret:"true" doc:"SMTP password"`
	SMTPTLS      string `env:"SMTP_TLS" default:"starttls" doc:"starttls, tls or none (none only for local testing)"`
	MailFrom     string `env:"MAIL_FROM" default:"Children's Services Online <no-reply@example.org>" doc:"From address of every email"`

	SMSProvider         string `env:"SMS_PROVIDER" default:"outbox" doc:"outbox (development), notify (GOV.UK Notify) or twilio"`
	VoiceProvider       string `env:"VOICE_PROVIDER" default:"outbox" doc:"outbox (development) or twilio"`
	NotifyAPIKey        string `env:"NOTIFY_API_KEY" secret:"true" doc:"GOV.UK Notify API key (key name, service id, secret key)"`
	NotifySMSTemplateID string `env:"NOTIFY_SMS_TEMPLATE_ID" doc:"id of the Notify text message template whose whole content is ((body))"`
	NotifyBaseURL       string `env:"NOTIFY_BASE_URL" default:"https://api.notifications.service.gov.uk" doc:"GOV.UK Notify API"`
	TwilioAccountSID    string `env:"TWILIO_ACCOUNT_SID" doc:"Twilio account SID"`
	TwilioAuthToken     string `env:"TWILIO_AUTH_TOKEN" secret:"true" doc:"Twilio auth token; also checks the signature of call callbacks"`
	TwilioFrom          string `env:"TWILIO_FROM" doc:"number texts and calls come from, such as +441632960000"`
	TwilioBaseURL       string `env:"TWILIO_BASE_URL" default:"https://api.twilio.com" doc:"Twilio (or Twilio-compatible) API"`

	ServiceName   string `env:"SERVICE_NAME" doc:"the service's name in emails and texts; default Children's Services Online (guide 003's council says My Norfolk Social Care)"`
	ServiceNameCy string `env:"SERVICE_NAME_CY" doc:"the same in Welsh; default Gwasanaethau Plant Ar-lein"`
	ServicePhone  string `env:"SERVICE_PHONE" doc:"the number pages give for urgent matters, as people read it; default 0344 800 8020 (guide 000)"`
	ServiceTel    string `env:"SERVICE_PHONE_TEL" doc:"the same number for tel: links, international form; default +443448008020"`

	PhoneCountries string `env:"PHONE_COUNTRIES" default:"GB" doc:"regions whose phone numbers may sign in, comma separated (GB, IE)"`

	TrustFlyClientIP bool          `env:"TRUST_FLY_CLIENT_IP" default:"false" doc:"take the client IP from Fly-Client-IP (only behind Fly's proxy)"`
	StaffPasskeys    bool          `env:"STAFF_PASSKEYS" default:"false" doc:"staff must sign in with a passkey (phishing-resistant); citizens keep the phone code"`
	RecordingsKept   int           `env:"RECORDINGS_KEPT_DAYS" default:"30" doc:"days a foster carer still reads the recordings they sent after a placement ends"`
	DemoPassword     string        `env:"DEMO_PASSWORD" secret:"true" doc:"password of the demo accounts; generated and printed when empty"`
	LogLevel         string        `env:"LOG_LEVEL" default:"info" doc:"debug, info, warn or error"`
	ShutdownTimeout  time.Duration `env:"SHUTDOWN_TIMEOUT" default:"10s" doc:"how long graceful stop waits"`
	JobRescueAfter   time.Duration `env:"JOB_RESCUE_AFTER" default:"1h" doc:"how long a job may seem to run before another machine runs it again (its own stopped mid-job); each job's time limit is at most half of it"`
}

// PhoneRegions is PHONE_COUNTRIES as a list: "GB, ie" gives [GB IE].
func (c Config) PhoneRegions() []string {
	var out []string
	for _, r := range strings.Split(c.PhoneCountries, ",") {
		if r = strings.ToUpper(strings.TrimSpace(r)); r != "" {
			out = append(out, r)
		}
	}
	return out
}

// Load reads Config from the environment and fills development defaults.
// It does not validate; call Validate.
func Load() (Config, error) {
	return load(os.Getenv)
}

func load(getenv func(string) string) (Config, error) {
	var c Config
	v := reflect.ValueOf(&c).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		raw := getenv(f.Tag.Get("env"))
		if raw == "" {
			raw = f.Tag.Get("default")
		}
		if raw == "" {
			continue
		}
		if err := setField(v.Field(i), raw); err != nil {
			return c, fmt.Errorf("config: %s: %w", f.Tag.Get("env"), err)
		}
	}
	if c.BaseURL == "" && c.Env != Production {
		c.BaseURL = "http://localhost:" + c.Port
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	return c, nil
}

// FillDevSecrets gives a development or test run the secrets it lacks. They
// are kept in DATA_DIR/dev-secrets so that a restart keeps sessions and can
// still decrypt what it stored. Production never calls this.
func (c *Config) FillDevSecrets() error {
	if c.IsProduction() || (c.SessionKey != "" && c.EncryptionKey != "") {
		return nil
	}
	path := filepath.Join(c.DataDir, "dev-secrets")
	saved := map[string]string{}
	if b, err := os.ReadFile(path); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				saved[k] = v
			}
		}
	}
	if saved["SESSION_KEY"] == "" {
		saved["SESSION_KEY"] = randomKey()
	}
	if saved["ENCRYPTION_KEYS"] == "" {
		saved["ENCRYPTION_KEYS"] = "dev1:" + randomKey()
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("config: data dir: %w", err)
	}
	body := "SESSION_KEY=" + saved["SESSION_KEY"] + "\nENCRYPTION_KEYS=" + saved["ENCRYPTION_KEYS"] + "\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		return fmt.Errorf("config: dev secrets: %w", err)
	}
	if c.SessionKey == "" {
		c.SessionKey = saved["SESSION_KEY"]
	}
	if c.EncryptionKey == "" {
		c.EncryptionKey = saved["ENCRYPTION_KEYS"]
	}
	return nil
}

// RandomKey returns 32 random bytes, base64 encoded, for tests and tooling.
func RandomKey() string { return randomKey() }

func setField(f reflect.Value, raw string) error {
	switch f.Kind() {
	case reflect.String:
		f.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return err
		}
		f.SetBool(b)
	case reflect.Int:
		n, err := strconv.Atoi(raw)
		if err != nil {
			return err
		}
		f.SetInt(int64(n))
	case reflect.Int64: // time.Duration
		d, err := time.ParseDuration(raw)
		if err != nil {
			return err
		}
		f.SetInt(int64(d))
	}
	return nil
}

// Validate reports every problem at once, so a deploy fails with the whole list.
func (c Config) Validate() error {
	var errs []error
	switch c.Env {
	case Development, Test, Production:
	default:
		errs = append(errs, fmt.Errorf("APP_ENV must be development, test or production, not %q", c.Env))
	}
	if _, err := strconv.Atoi(c.Port); err != nil {
		errs = append(errs, errors.New("PORT must be a number"))
	}
	errs = append(errs, c.validateMetricsAddr()...)
	if u, err := url.Parse(c.BaseURL); c.BaseURL != "" && (err != nil || u.Scheme == "" || u.Host == "") {
		errs = append(errs, errors.New("BASE_URL must be an absolute URL such as https://portal.example.org"))
	}
	if c.Env == Production {
		for _, need := range []struct{ name, val string }{
			{"DATABASE_URL", c.DatabaseURL},
			{"BASE_URL", c.BaseURL},
			{"SESSION_KEY", c.SessionKey},
			{"ENCRYPTION_KEYS", c.EncryptionKey},
		} {
			if need.val == "" {
				errs = append(errs, fmt.Errorf("%s is required in production", need.name))
			}
		}
		if c.MailProvider == "outbox" {
			errs = append(errs, errors.New("MAIL_PROVIDER=outbox is for development; set MAIL_PROVIDER=smtp in production"))
		}
		// Security: the outbox would keep real people's codes in a table and
		// send nothing; production needs a real gateway for every channel.
		if c.SMSProvider == "outbox" || c.SMSProvider == "" {
			errs = append(errs, errors.New("SMS_PROVIDER=outbox is for development; set SMS_PROVIDER=notify or twilio in production"))
		}
		if c.VoiceProvider == "outbox" || c.VoiceProvider == "" {
			errs = append(errs, errors.New("VOICE_PROVIDER=outbox is for development; set VOICE_PROVIDER=twilio in production"))
		}
		if strings.HasPrefix(c.BaseURL, "http://") {
			errs = append(errs, errors.New("BASE_URL must use https in production"))
		}
		// Security: emails carry codes and invitation links, and stored
		// files are children's records: neither travels in the clear.
		if c.MailProvider == "smtp" && c.SMTPTLS == "none" {
			errs = append(errs, errors.New("SMTP_TLS=none is for local testing; set SMTP_TLS=starttls or tls in production"))
		}
		if c.S3Endpoint != "" && !c.S3UseTLS {
			errs = append(errs, errors.New("S3_USE_TLS=false is for local testing; S3 must be reached over https in production"))
		}
	}
	if c.SessionKey != "" {
		if k, err := base64.StdEncoding.DecodeString(c.SessionKey); err != nil || len(k) < 32 {
			errs = append(errs, errors.New("SESSION_KEY must be at least 32 bytes, base64 encoded"))
		}
	}
	if c.S3Endpoint != "" && (c.S3AccessKey == "" || c.S3SecretKey == "") {
		errs = append(errs, errors.New("S3_ENDPOINT needs S3_ACCESS_KEY and S3_SECRET_KEY"))
	}
	if c.MailProvider == "smtp" && c.SMTPHost == "" {
		errs = append(errs, errors.New("MAIL_PROVIDER=smtp needs SMTP_HOST"))
	}
	errs = append(errs, c.validatePhoneProviders()...)
	return errors.Join(errs...)
}

// validatePhoneProviders checks SMS_PROVIDER and VOICE_PROVIDER and the
// settings the chosen gateways need.
func (c Config) validatePhoneProviders() []error {
	var errs []error
	var twilio []string // which settings chose Twilio
	switch c.SMSProvider {
	case "", "outbox":
	case "notify":
		errs = append(errs, missing("SMS_PROVIDER=notify",
			setting{"NOTIFY_API_KEY", c.NotifyAPIKey}, setting{"NOTIFY_SMS_TEMPLATE_ID", c.NotifySMSTemplateID})...)
		errs = append(errs, c.apiURL("NOTIFY_BASE_URL", c.NotifyBaseURL)...)
	case "twilio":
		twilio = append(twilio, "SMS_PROVIDER=twilio")
	default:
		errs = append(errs, fmt.Errorf("SMS_PROVIDER must be outbox, notify or twilio, not %q", c.SMSProvider))
	}
	switch c.VoiceProvider {
	case "", "outbox":
	case "twilio":
		twilio = append(twilio, "VOICE_PROVIDER=twilio")
	default:
		errs = append(errs, fmt.Errorf("VOICE_PROVIDER must be outbox or twilio, not %q", c.VoiceProvider))
	}
	if len(twilio) > 0 {
		errs = append(errs, missing(strings.Join(twilio, " and "),
			setting{"TWILIO_ACCOUNT_SID", c.TwilioAccountSID}, setting{"TWILIO_AUTH_TOKEN", c.TwilioAuthToken},
			setting{"TWILIO_FROM", c.TwilioFrom})...)
		errs = append(errs, c.apiURL("TWILIO_BASE_URL", c.TwilioBaseURL)...)
	}
	return errs
}

// validateMetricsAddr checks METRICS_ADDR: empty, or host:port with a
// port of its own.
// Security: metrics on the public port would show anyone the portal's
// traffic; they get a listener of their own, which Fly does not publish.
func (c Config) validateMetricsAddr() []error {
	if c.MetricsAddr == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(c.MetricsAddr)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || n < 0 || n > 65535 {
		return []error{fmt.Errorf("METRICS_ADDR must be host:port or :port, such as :9091, not %q", c.MetricsAddr)}
	}
	if public, _ := strconv.Atoi(c.Port); n != 0 && n == public {
		return []error{errors.New("METRICS_ADDR must not use PORT's port: metrics are never served on the public port")}
	}
	return nil
}

// setting is a variable's name and value, for messages about it.
type setting struct{ name, val string }

// missing names each empty setting that who needs.
func missing(who string, needs ...setting) []error {
	var errs []error
	for _, need := range needs {
		if need.val == "" {
			errs = append(errs, fmt.Errorf("%s needs %s", who, need.name))
		}
	}
	return errs
}

// apiURL checks a gateway's base URL.
func (c Config) apiURL(name, val string) []error {
	if u, err := url.Parse(val); err != nil || u.Scheme == "" || u.Host == "" {
		return []error{fmt.Errorf("%s must be an absolute URL such as https://api.example.org", name)}
	}
	if c.Env == Production && !strings.HasPrefix(val, "https://") {
		// Security: the request carries the API key and the person's code.
		return []error{fmt.Errorf("%s must use https in production", name)}
	}
	return nil
}

// IsProduction reports whether the portal runs for real users.
func (c Config) IsProduction() bool { return c.Env == Production }

// IsDevelopment reports whether development-only routes (the outbox) exist.
func (c Config) IsDevelopment() bool { return c.Env == Development }

// SessionKeyBytes is the decoded SESSION_KEY.
func (c Config) SessionKeyBytes() []byte {
	k, _ := base64.StdEncoding.DecodeString(c.SessionKey)
	return k
}

// String lists every setting with secrets redacted, for the start-up log.
func (c Config) String() string {
	var b strings.Builder
	v := reflect.ValueOf(c)
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		val := fmt.Sprint(v.Field(i).Interface())
		if f.Tag.Get("secret") == "true" && val != "" {
			val = "[redacted]"
		}
		fmt.Fprintf(&b, "%s=%s\n", f.Tag.Get("env"), val)
	}
	return b.String()
}

// Variables lists each variable with its default and meaning, for the README
// table and `portal env`.
func Variables() [][3]string {
	var rows [][3]string
	t := reflect.TypeOf(Config{})
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		rows = append(rows, [3]string{f.Tag.Get("env"), f.Tag.Get("default"), f.Tag.Get("doc")})
	}
	return rows
}

func randomKey() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.StdEncoding.EncodeToString(b)
}
