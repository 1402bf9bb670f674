package rotate_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"portal/app"
	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/clock"
	"portal/app/config"
	"portal/app/export"
	"portal/app/factors"
	"portal/app/formdef"
	"portal/app/forms"
	"portal/app/messages"
	"portal/app/notify"
	"portal/app/records"
	"portal/app/rotate"
	"portal/app/seal"
	"portal/storage"
)

func TestMain(m *testing.M) { apptest.Main(m) }

// keys are two ENCRYPTION_KEYS entries: a, the key in use, and b, the new one.
type keys struct{ a, b string }

func newKeys() keys { return keys{a: "a:" + config.RandomKey(), b: "b:" + config.RandomKey()} }

// appWith starts the portal on dsn (a fresh database when empty) sealing
// with spec, sharing objects when given.
func appWith(t *testing.T, dsn, spec string, objects storage.Store) *apptest.TestApp {
	t.Helper()
	return apptest.NewApp(t, apptest.Options{DSN: dsn,
		Configure: func(c *config.Config) { c.EncryptionKey = spec },
		Tune: func(d *app.Deps) {
			if objects != nil {
				d.Store = objects
			}
		}})
}

// world is what the portal sealed with key a, through its own code
// wherever a test can reach it: every sealed column holds three values.
type world struct {
	a       *apptest.TestApp
	team    *records.Team
	record  *records.Record
	holders []*accounts.Person
	clients []*apptest.Client
	threads []int64
	forms   []forms.Form
	exports []string // each holder's download link
	apps    []string // each holder's authenticator app's secret
}

var totpOpts = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totpOpts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sealedWorld(t *testing.T, k keys) *world {
	t.Helper()
	ctx := context.Background()
	a := appWith(t, "", k.a, nil)
	w := &world{a: a, team: a.NewTeam(t, "North Locality Team")}
	w.record = a.NewRecord(t, w.team, "Ellie", "Smith")
	worker := a.NewWorker(t, "worker@example.org", w.team)
	msgs := messages.NewStore(a.DB.Gorm, a.Clock, a.Sealer, nil, nil)
	ty := &messages.Type{NameEN: "Message your worker", NameCY: "Anfon neges", TeamID: w.team.ID, Active: true}
	if err := msgs.SaveType(ctx, ty); err != nil {
		t.Fatal(err)
	}
	people := accounts.NewStore(a.DB.Gorm)
	fac := factors.NewStore(a.DB.Gorm, a.Clock, a.Sealer, a.Config.SessionKeyBytes())
	var templateID int64
	if err := a.DB.Gorm.Raw(`INSERT INTO form_templates (key, version, digest, definition, created_at)
		VALUES ('check', 1, 'digest', '{}', now()) RETURNING id`).Scan(&templateID).Error; err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		p := a.NewPerson(t, fmt.Sprintf("holder%d@example.net", i), accounts.RoleCitizen, "")
		a.Grant(t, p, w.record, access.Parent)
		w.holders = append(w.holders, p)
		a.GivePhone(t, p, fmt.Sprintf("+44791112345%d", i), true)
		if err := people.UpdateProfile(ctx, a.Sealer, p.ID, accounts.Profile{GivenName: "Test", FamilyName: "Person",
			Address: accounts.Address{Line1: fmt.Sprintf("%d High Street", i+1), Town: "Norwich"}, Locale: "en"}, a.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		th := &messages.Thread{RecordID: w.record.ID, HolderID: p.ID, TypeID: ty.ID, TeamID: w.team.ID, StartedBy: p.ID,
			Subject: fmt.Sprintf("Contact %d", i)}
		if err := msgs.Start(ctx, th, &messages.Message{AuthorID: p.ID, Body: fmt.Sprintf("first words %d", i)}); err != nil {
			t.Fatal(err)
		}
		if err := msgs.Reply(ctx, th, &messages.Message{AuthorID: worker.ID, FromStaff: true, Body: fmt.Sprintf("reply %d", i)}); err != nil {
			t.Fatal(err)
		}
		w.threads = append(w.threads, th.ID)
		if err := msgs.SaveDraft(ctx, p.ID, w.record.ID, th.ID, messages.Draft{Body: fmt.Sprintf("draft %d", i)}); err != nil {
			t.Fatal(err)
		}
		sent, err := a.Forms.Send(ctx, a.DB.Gorm, templateID, w.record.ID, []int64{p.ID}, nil, worker.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Forms.Save(ctx, &sent[0], 0, formdef.Answers{"name": {fmt.Sprintf("answer %d", i)}}, 0); err != nil {
			t.Fatal(err)
		}
		w.forms = append(w.forms, sent[0])
		key, err := factors.NewAppKey("Portal", p.Email)
		if err != nil {
			t.Fatal(err)
		}
		appSealed, err := fac.SealAppSecret(key.Secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := fac.AddApp(ctx, p.ID, appSealed, code(t, key.Secret, a.Clock.Now())); err != nil {
			t.Fatal(err)
		}
		w.apps = append(w.apps, key.Secret)
		// What the sign-in pages keep in a session: a number being added, an app being set up.
		for field, purpose := range map[string]string{"enrol_phone": "person.phone", "app_secret": "factors.totp"} {
			if _, err := a.Sessions.Start(ctx, p.ID, 1); err != nil {
				t.Fatal(err)
			}
			v, _ := a.Sealer.Seal(purpose, []byte("kept in a session "+field))
			if err := a.DB.Gorm.Exec(`UPDATE sessions SET data = jsonb_build_object(?::text, ?::text)
				WHERE id = (SELECT max(id) FROM sessions WHERE person_id = ?)`, field, v, p.ID).Error; err != nil {
				t.Fatal(err)
			}
		}
		body, _ := a.Sealer.Seal("idempotency", []byte(fmt.Sprintf("<p>kept answer %d</p>", i)))
		if err := a.DB.Gorm.Exec(`INSERT INTO idempotency_keys (key_hash, created_at, done, status, headers, body_sealed)
			VALUES (?, now(), true, 200, '{}', ?)`, fmt.Sprintf("hash-%d", i), body).Error; err != nil {
			t.Fatal(err)
		}
		c := a.Client(t)
		a.SignIn(t, c, p)
		w.clients = append(w.clients, c)
		c.Get("/account/data")
		if res := c.PostForm("/account/data", nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("asking for an export = %d", res.StatusCode)
		}
	}
	// The exports are made by the queue, as in the portal; then it stops,
	// so the emails queued next wait in river_job, sealed.
	if err := a.Queue.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Queue.Drain(ctx, export.Queue); err != nil {
		t.Fatal(err)
	}
	if err := a.Queue.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for i, c := range w.clients {
		href, _ := c.Get("/account/data").Doc.Find(`a[href^="/account/data/"][href$="/download"]`).Attr("href")
		if href == "" {
			t.Fatalf("holder %d has no export to download", i)
		}
		w.exports = append(w.exports, href)
		err := a.Notifier.Send(ctx, nil, notify.Message{Channel: notify.Email, To: w.holders[i].Email,
			Template: "email_new_message", Lang: "en", Data: map[string]string{"Link": "/sign-in"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// counts is how many values each column holds under each key id.
func counts(t *testing.T, a *apptest.TestApp) map[string]map[string]int {
	t.Helper()
	out := map[string]map[string]int{}
	for _, c := range rotate.Columns {
		out[c.Name] = map[string]int{}
		for _, v := range values(t, a, c) {
			out[c.Name][seal.KeyID(v[0])]++
		}
	}
	return out
}

// values are c's sealed values with their purposes.
func values(t *testing.T, a *apptest.TestApp, c rotate.Column) [][2]string {
	t.Helper()
	q := fmt.Sprintf(`SELECT %s, %s FROM %s WHERE %s IS NOT NULL AND %s <> ''`, c.Value, c.Purpose, c.Table, c.Value, c.Value)
	if c.Where != "" {
		q += " AND " + c.Where
	}
	rows, err := a.DB.Gorm.Raw(q).Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var v [2]string
		if err := rows.Scan(&v[0], &v[1]); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// TestRotationReSealsEveryColumnSoTheOldKeyCanGo: with ENCRYPTION_KEYS
// "b,a", a run in batches of two moves every value of every sealed column
// to key b; then the portal with key b alone opens all of it through its
// own code: subjects, messages, drafts, answers, addresses, an app's
// codes, a "Download my data" zip and the queued emails.
func TestRotationReSealsEveryColumnSoTheOldKeyCanGo(t *testing.T) {
	ctx := context.Background()
	k := newKeys()
	w := sealedWorld(t, k)
	a := w.a
	before := counts(t, a)
	for _, c := range rotate.Columns {
		if n := before[c.Name]["a"]; n < 3 || len(before[c.Name]) != 1 {
			t.Fatalf("%s holds %v before the run; the test needs three or more values, all under a", c.Name, before[c.Name])
		}
	}

	both, err := seal.New(k.b + "," + k.a)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := rotate.Run(ctx, rotate.Options{DB: a.DB.Gorm, Sealer: both, Audit: a.Audit, Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if r.Resealed != before[r.Column]["a"] || r.Unopened != 0 {
			t.Errorf("%s: %+v, want %d re-sealed", r.Column, r, before[r.Column]["a"])
		}
	}
	after := counts(t, a)
	for _, c := range rotate.Columns {
		if len(after[c.Name]) != 1 || after[c.Name]["b"] != before[c.Name]["a"] {
			t.Errorf("%s holds %v after the run, want every value under b", c.Name, after[c.Name])
		}
	}
	inUse, err := rotate.KeysInUse(ctx, a.DB.Gorm)
	if err != nil || inUse["a"] != 0 || inUse["b"] == 0 {
		t.Errorf("KeysInUse = %v, %v", inUse, err)
	}
	var tables []string
	a.DB.Gorm.Raw(`SELECT target FROM audit_events WHERE action = 'keys.rotated' ORDER BY id`).Scan(&tables)
	distinct := map[string]bool{}
	for _, c := range rotate.Columns {
		distinct[c.Table] = true
	}
	people := fmt.Sprintf("table:people,rows:%d", before["people.phone_sealed"]["a"]+before["people.address_sealed"]["a"])
	if len(tables) != len(distinct) || tables[0] != people {
		t.Errorf("audit events %q, want one per table, the first %q", tables, people)
	}

	// Again: nothing left to do.
	again, err := rotate.Run(ctx, rotate.Options{DB: a.DB.Gorm, Sealer: both, Batch: 2})
	if err != nil || again.Resealed() != 0 {
		t.Errorf("a second run re-sealed %d (%v), want 0", again.Resealed(), err)
	}

	// The portal with key b alone.
	onlyB, err := seal.New(k.b)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rotate.Columns {
		for _, v := range values(t, a, c) {
			if _, err := onlyB.Open(v[1], v[0]); err != nil {
				t.Errorf("%s: a value does not open with b under %q", c.Name, v[1])
			}
		}
	}
	b := appWith(t, a.DSN, k.b, a.Store)
	msgs := messages.NewStore(b.DB.Gorm, b.Clock, b.Sealer, nil, nil)
	fac := factors.NewStore(b.DB.Gorm, clock.NewFake(apptest.Start.Add(2*time.Minute)), b.Sealer, b.Config.SessionKeyBytes())
	for i, p := range w.holders {
		threads, err := msgs.ForHolder(ctx, p.ID, w.record.ID)
		if err != nil || len(threads) != 1 || threads[0].Subject != fmt.Sprintf("Contact %d", i) {
			t.Fatalf("holder %d's threads with b: %+v, %v", i, threads, err)
		}
		posted, _, err := msgs.Messages(ctx, &threads[0], 0)
		if err != nil || len(posted) != 2 {
			t.Fatalf("holder %d's messages with b: %d, %v", i, len(posted), err)
		}
		if d, err := msgs.DraftOf(ctx, p.ID, w.record.ID, w.threads[i]); err != nil || d.Body != fmt.Sprintf("draft %d", i) {
			t.Errorf("holder %d's draft with b: %+v, %v", i, d, err)
		}
		if ans, err := b.Forms.AnswersOf(formOf(t, b, w.forms[i].ID)); err != nil || ans["name"][0] != fmt.Sprintf("answer %d", i) {
			t.Errorf("holder %d's answers with b: %v, %v", i, ans, err)
		}
		person, err := accounts.NewStore(b.DB.Gorm).Get(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if addr, err := accounts.OpenAddress(b.Sealer, person); err != nil || addr.Line1 != fmt.Sprintf("%d High Street", i+1) {
			t.Errorf("holder %d's address with b: %+v, %v", i, addr, err)
		}
		if phone, err := b.Sealer.Open("person.phone", person.PhoneSealed); err != nil || !strings.HasPrefix(string(phone), "+44791112345") {
			t.Errorf("holder %d's phone with b: %v", i, err)
		}
		if err := fac.CheckApp(ctx, p.ID, code(t, w.apps[i], apptest.Start.Add(2*time.Minute))); err != nil {
			t.Errorf("holder %d's authenticator app with b: %v", i, err)
		}
		c := b.Client(t)
		b.SignIn(t, c, p)
		res := c.Get(w.exports[i])
		if res.StatusCode != http.StatusOK {
			t.Fatalf("holder %d's export with b = %d", i, res.StatusCode)
		}
		if _, err := zip.NewReader(bytes.NewReader([]byte(res.Body)), int64(len(res.Body))); err != nil {
			t.Errorf("holder %d's export with b is not a zip: %v", i, err)
		}
	}
	// The queued emails, opened by b's worker.
	if err := b.Notifier.Drain(ctx); err != nil {
		t.Fatalf("the queued emails with b: %v", err)
	}
	for _, p := range w.holders {
		if got := b.LastSent(t, "email", p.Email); got.Subject != b.T("email_new_message.subject") {
			t.Errorf("the email to %s: %q", p.Email, got.Subject)
		}
	}
}

func formOf(t *testing.T, a *apptest.TestApp, id int64) *forms.Form {
	t.Helper()
	var f forms.Form
	if err := a.DB.Gorm.Take(&f, id).Error; err != nil {
		t.Fatal(err)
	}
	return &f
}

// TestAStoppedRotationCarriesOnWhenRunAgain: a run stopped after its
// first batch keeps that batch (and audits it); run again, it re-seals
// the rest and nothing twice. A value no key opens is left, counted and
// reported, and does not stop the others.
func TestAStoppedRotationCarriesOnWhenRunAgain(t *testing.T) {
	ctx := context.Background()
	k := newKeys()
	a := appWith(t, "", k.a, nil)
	for i := range 5 {
		a.GivePhone(t, a.NewPerson(t, fmt.Sprintf("p%d@example.net", i), accounts.RoleCitizen, ""), fmt.Sprintf("+44791112345%d", i), true)
	}
	lost, _ := seal.New("x:" + config.RandomKey()) // a key nobody has any more
	stray, _ := lost.Seal("person.phone", []byte("+447911123459"))
	a.GivePhone(t, a.NewPerson(t, "stray@example.net", accounts.RoleCitizen, ""), "+447911123458", true)
	a.DB.Gorm.Exec(`UPDATE people SET phone_sealed = ? WHERE email = 'stray@example.net'`, stray)
	both, _ := seal.New(k.b + "," + k.a)
	phones := []rotate.Column{rotate.Columns[0]}
	under := func() map[string]int {
		m := map[string]int{}
		for _, v := range values(t, a, phones[0]) {
			m[seal.KeyID(v[0])]++
		}
		return m
	}

	stop := errors.New("stopped")
	first, err := rotate.Run(ctx, rotate.Options{DB: a.DB.Gorm, Sealer: both, Audit: a.Audit, Batch: 2, Columns: phones,
		AfterBatch: func(string, int) error { return stop }})
	if !errors.Is(err, stop) || first.Resealed() != 2 {
		t.Fatalf("the stopped run: %d re-sealed, %v", first.Resealed(), err)
	}
	if got := under(); got["b"] != 2 || got["a"] != 3 || got["x"] != 1 {
		t.Fatalf("after one batch: %v, want b 2, a 3, x 1", got)
	}
	var audited int64
	a.DB.Gorm.Raw(`SELECT count(*) FROM audit_events WHERE action = 'keys.rotated' AND target = 'table:people,rows:2'`).Scan(&audited)
	if audited != 1 {
		t.Error("the stopped run's batch is not in the audit trail")
	}

	rest, err := rotate.Run(ctx, rotate.Options{DB: a.DB.Gorm, Sealer: both, Audit: a.Audit, Batch: 2, Columns: phones})
	if !errors.Is(err, rotate.ErrUnopened) || rest.Resealed() != 3 || rest.Results[0].Unopened != 1 {
		t.Fatalf("the second run: %+v, %v; want 3 re-sealed, the stray's value unopened", rest.Results, err)
	}
	if got := under(); got["b"] != 5 || got["a"] != 0 || got["x"] != 1 {
		t.Fatalf("after the second run: %v", got)
	}
	if last, _ := rotate.Run(ctx, rotate.Options{DB: a.DB.Gorm, Sealer: both, Batch: 2, Columns: phones}); last.Resealed() != 0 {
		t.Errorf("a third run re-sealed %d", last.Resealed())
	}
}
