package staff_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/audit"
	"portal/app/clock"
	"portal/app/messages"
	"portal/app/notify"
	"portal/app/records"
)

// ukTime is a time of 2026 on the council's clock.
func ukTime(month time.Month, day, hour, min int) time.Time {
	return time.Date(2026, month, day, hour, min, 0, 0, clock.London)
}

// table is a chart's table on the overview: each row's cells by the row's
// header (a day, a stage, a team, "Total").
func table(t *testing.T, page *apptest.Response, id string) map[string][]string {
	t.Helper()
	rows := map[string][]string{}
	page.Doc.Find("#" + id + "-table tbody tr").Each(func(_ int, tr *goquery.Selection) {
		var cells []string
		tr.Find("td").Each(func(_ int, td *goquery.Selection) { cells = append(cells, strings.TrimSpace(td.Text())) })
		rows[strings.TrimSpace(tr.Find("th").Text())] = cells
	})
	if len(rows) == 0 {
		t.Fatalf("no table #%s-table", id)
	}
	return rows
}

// wantRows checks that the rows named in want hold exactly those cells, and
// that every other row of a day is all zeros.
func wantRows(t *testing.T, got map[string][]string, want map[string][]string) {
	t.Helper()
	for head, cells := range want {
		if strings.Join(got[head], " ") != strings.Join(cells, " ") {
			t.Errorf("row %q = %v, want %v", head, got[head], cells)
		}
	}
	for head, cells := range got {
		if _, named := want[head]; named {
			continue
		}
		for _, c := range cells {
			if c != "0" {
				t.Errorf("row %q = %v, want nothing counted", head, cells)
				break
			}
		}
	}
}

// signInEvent writes a completed sign-in of person by way at at, as
// app/auth does ("" is an event from before the way was recorded).
func signInEvent(t *testing.T, a *apptest.TestApp, p *accounts.Person, way string, at time.Time) {
	t.Helper()
	a.Clock.Set(at)
	target := ""
	if way != "" {
		target = audit.SignInTarget(way)
	}
	if err := a.Audit.Write(context.Background(), nil, audit.Event{ActorID: &p.ID, Action: audit.SignedIn, Target: target}); err != nil {
		t.Fatal(err)
	}
}

// TestTheOverviewCountsWhatHappened seeds a month of known activity and
// reads every chart's table back, number by number, by London day.
func TestTheOverviewCountsWhatHappened(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	ctx := context.Background()
	team(t, a, "East") // nothing waits for East
	north, south := team(t, a, "North"), team(t, a, "South")
	worker := a.NewWorker(t, "worker@example.org", north)
	mum := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	ellie := a.NewRecord(t, north, "Ellie", "Smith")
	a.Grant(t, mum, ellie, "parent")
	adm := admin(t, a)

	// Sign-ins. The period of 30 days ending 23 November starts on 25
	// October, the day the clocks go back: 00:30 that morning is still the
	// 24th in UTC, and must count on the 25th.
	signInEvent(t, a, mum, audit.MethodText, time.Date(2026, 10, 24, 22, 30, 0, 0, time.UTC)) // 23:30 on the 24th: before the period
	signInEvent(t, a, mum, audit.MethodCall, time.Date(2026, 10, 24, 23, 30, 0, 0, time.UTC)) // 00:30 BST on the 25th
	for _, way := range []string{audit.MethodText, audit.MethodText, audit.MethodCall} {
		signInEvent(t, a, mum, way, ukTime(11, 20, 10, 0))
	}
	signInEvent(t, a, mum, audit.MethodPasskey, ukTime(11, 22, 23, 30))
	for _, way := range []string{audit.MethodApp, audit.MethodRecovery, ""} {
		signInEvent(t, a, mum, way, ukTime(11, 23, 8, 0))
	}
	a.Clock.Set(ukTime(11, 20, 11, 0)) // another action is not a sign-in
	if err := a.Audit.Write(ctx, nil, audit.Event{ActorID: &mum.ID, Action: "session.password_checked"}); err != nil {
		t.Fatal(err)
	}
	// And one real sign-in, by a texted code, through the pages: app/auth
	// names the way. Its text is one of the texts counted below.
	a.Clock.Set(ukTime(11, 23, 9, 0))
	a.GivePhone(t, mum, "+447911123456", true)
	c := a.Client(t)
	a.PasswordStep(t, c, mum)
	c.PostForm("/sign-in/confirm/send", nil)
	if res := c.PostForm("/sign-in/confirm/verify", url.Values{"code": {a.LastSent(t, "sms", "").Code()}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in by text = %d", res.StatusCode)
	}

	// Invitations, each sent (or not) and then taken so far.
	sent := ukTime(11, 10, 12, 0)
	for _, inv := range []struct {
		state                     string
		sent, accepted, activated *time.Time
	}{
		{"invitation_sent", &sent, nil, nil},
		{"accepted", &sent, &sent, nil},
		{"active", &sent, &sent, &sent},
		{"declined", &sent, &sent, nil},  // said no: not accepted
		{"withdrawn", &sent, &sent, nil}, // withdrawn after acceptance: it was accepted
		{"code_sent", nil, nil, nil},     // no link yet
		{"active", ukTimePtr(ukTime(10, 20, 12, 0)), ukTimePtr(ukTime(10, 21, 12, 0)), ukTimePtr(ukTime(11, 2, 12, 0))}, // sent before the period
	} {
		err := a.DB.Gorm.Exec(`INSERT INTO invitations (email, team_id, invited_by, state, code_hash, created_at, expires_at,
			sent_at, accepted_at, activated_at) VALUES ('x@example.net', ?, ?, ?, 'h', ?, ?, ?, ?, ?)`,
			north.ID, worker.ID, inv.state, sent, sent.Add(14*24*time.Hour), inv.sent, inv.accepted, inv.activated).Error
		if err != nil {
			t.Fatal(err)
		}
	}

	// Messages waiting for a reply, written through the messages store.
	store := messages.NewStore(a.DB.Gorm, a.Clock, a.Sealer, nil, nil)
	ty := &messages.Type{NameEN: "General", NameCY: "Cyffredinol", TeamID: north.ID, Active: true}
	if err := store.SaveType(ctx, ty); err != nil {
		t.Fatal(err)
	}
	start := func(tm *records.Team, at time.Time, fromStaff bool) *messages.Thread {
		a.Clock.Set(at)
		author := mum.ID
		if fromStaff {
			author = worker.ID
		}
		th := &messages.Thread{RecordID: ellie.ID, HolderID: mum.ID, TypeID: ty.ID, TeamID: tm.ID, Subject: "Contact",
			StartedBy: author}
		if err := store.Start(ctx, th, &messages.Message{AuthorID: author, FromStaff: fromStaff, Body: "Hello"}); err != nil {
			t.Fatal(err)
		}
		return th
	}
	reply := func(th *messages.Thread, at time.Time, fromStaff bool) {
		a.Clock.Set(at)
		author := mum.ID
		if fromStaff {
			author = worker.ID
		}
		if err := store.Reply(ctx, th, &messages.Message{AuthorID: author, FromStaff: fromStaff, Body: "More"}); err != nil {
			t.Fatal(err)
		}
	}
	handled := func(th *messages.Thread, at time.Time, done bool) {
		a.Clock.Set(at)
		if err := store.SetHandled(ctx, th, done); err != nil {
			t.Fatal(err)
		}
	}
	// North: one waiting since the 20th (read, never answered), one
	// answered then written to again this morning.
	read := start(north, ukTime(11, 20, 9, 0), false)
	reply(read, ukTime(11, 21, 9, 0), false)
	if err := store.ReadByTeam(ctx, read); err != nil {
		t.Fatal(err)
	}
	answered := start(north, ukTime(11, 22, 9, 0), false)
	reply(answered, ukTime(11, 22, 10, 0), true)
	reply(answered, ukTime(11, 23, 8, 30), false)
	start(north, ukTime(11, 22, 9, 0), true) // the council wrote first, and last
	done := start(north, ukTime(11, 19, 9, 0), false)
	handled(done, ukTime(11, 19, 10, 0), true)
	// South: one since the 21st, handled and opened again; one this morning.
	reopened := start(south, ukTime(11, 21, 9, 0), false)
	handled(reopened, ukTime(11, 21, 10, 0), true)
	handled(reopened, ukTime(11, 22, 10, 0), false)
	start(south, ukTime(11, 23, 8, 30), false)
	closedAgain := start(south, ukTime(11, 18, 9, 0), false)
	handled(closedAgain, ukTime(11, 18, 10, 0), true)

	// Forms: two sent on the 20th, one of them submitted on the 22nd; one
	// sent before the period and submitted in it; one a holder started.
	var tmpl int64
	a.DB.Gorm.Raw(`SELECT min(id) FROM form_templates`).Scan(&tmpl)
	if tmpl == 0 {
		t.Fatal("no form template loaded")
	}
	for _, f := range []struct {
		sentBy    *int64
		created   time.Time
		submitted *time.Time
	}{
		{&worker.ID, ukTime(11, 20, 10, 0), ukTimePtr(ukTime(11, 22, 12, 0))},
		{&worker.ID, ukTime(11, 20, 11, 0), nil},
		{&worker.ID, ukTime(10, 20, 10, 0), ukTimePtr(ukTime(11, 21, 12, 0))},
		{nil, ukTime(11, 21, 10, 0), ukTimePtr(ukTime(11, 21, 11, 0))},
	} {
		err := a.DB.Gorm.Exec(`INSERT INTO forms (template_id, record_id, person_id, sent_by, created_at, updated_at, submitted_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, tmpl, ellie.ID, mum.ID, f.sentBy, f.created, f.created, f.submitted).Error
		if err != nil {
			t.Fatal(err)
		}
	}

	// Texts, calls and an email through the notifier; failures as its
	// worker records them (app/notify tests how it decides).
	send := func(at time.Time, m notify.Message) {
		a.Clock.Set(at)
		if err := a.Notifier.Send(ctx, nil, m); err != nil {
			t.Fatal(err)
		}
		if err := a.Notifier.Drain(ctx); err != nil {
			t.Fatal(err)
		}
	}
	text := notify.Message{Channel: notify.SMS, To: "+447911123456", Template: "sms_code", Data: map[string]string{"Code": "123456"}}
	send(ukTime(11, 20, 9, 0), text)
	send(ukTime(11, 20, 9, 5), text)
	send(ukTime(11, 21, 9, 0), notify.Message{Channel: notify.Voice, To: "+442079460001", Template: "voice_sign_in", AnswerToken: "t"})
	send(ukTime(11, 21, 9, 0), notify.Message{Channel: notify.Email, To: "a@example.net", Template: "email_verification_code",
		Data: map[string]string{"Code": "123456"}})
	for _, f := range []struct {
		channel string
		at      time.Time
	}{{"email", ukTime(11, 22, 9, 0)}, {"sms", ukTime(11, 22, 9, 0)}, {"sms", ukTime(11, 22, 23, 59)}, {"voice", ukTime(11, 19, 9, 0)}} {
		if err := a.DB.Gorm.Exec(`INSERT INTO notify_deliveries (channel, status, at) VALUES (?, 'failed', ?)`, f.channel, f.at).Error; err != nil {
			t.Fatal(err)
		}
	}

	a.Clock.Set(ukTime(11, 23, 9, 0))
	page := signedIn(t, a, adm).Get("/staff/admin/overview")
	if page.StatusCode != http.StatusOK {
		t.Fatalf("the overview = %d", page.StatusCode)
	}
	t.Run("sign-ins by day and way", func(t *testing.T) {
		got := table(t, page, "sign-ins")
		if len(got) != 31 {
			t.Fatalf("%d rows, want 30 days and the total", len(got))
		}
		// Text, call, passkey, app, recovery code, not recorded.
		wantRows(t, got, map[string][]string{
			"25 October 2026":  {"0", "1", "0", "0", "0", "0"},
			"20 November 2026": {"2", "1", "0", "0", "0", "0"},
			"22 November 2026": {"0", "0", "1", "0", "0", "0"},
			"23 November 2026": {"1", "0", "0", "1", "1", "1"},
			"Total":            {"3", "2", "1", "1", "1", "1"},
		})
		if _, ok := got["24 October 2026"]; ok {
			t.Error("the day before the period is in the table")
		}
	})
	t.Run("invitations sent, accepted, activated", func(t *testing.T) {
		wantRows(t, table(t, page, "invitations"), map[string][]string{
			a.T("staff.admin.overview.invitations_sent"):      {"5"},
			a.T("staff.admin.overview.invitations_accepted"):  {"3"},
			a.T("staff.admin.overview.invitations_activated"): {"1"},
		})
	})
	t.Run("messages waiting per team and the oldest", func(t *testing.T) {
		got := table(t, page, "waiting")
		want := map[string][]string{
			"East":  {"0", a.T("staff.admin.overview.waiting_none")},
			"North": {"2", "3 days"},
			"South": {"2", "2 days"},
		}
		for head, cells := range want {
			if strings.Join(got[head], "|") != strings.Join(cells, "|") {
				t.Errorf("%s = %v, want %v", head, got[head], cells)
			}
		}
		if len(got) != 3 {
			t.Errorf("%d teams, want 3", len(got))
		}
	})
	t.Run("forms sent and submitted", func(t *testing.T) {
		wantRows(t, table(t, page, "forms"), map[string][]string{
			"20 November 2026": {"2", "0"},
			"21 November 2026": {"0", "1"},
			"22 November 2026": {"0", "1"},
			"Total":            {"2", "2"},
		})
	})
	t.Run("texts and calls", func(t *testing.T) {
		wantRows(t, table(t, page, "texts-calls"), map[string][]string{
			"20 November 2026": {"2", "0"},
			"21 November 2026": {"0", "1"},
			"23 November 2026": {"1", "0"}, // the sign-in's code
			"Total":            {"3", "1"},
		})
	})
	t.Run("failed deliveries", func(t *testing.T) {
		wantRows(t, table(t, page, "failed"), map[string][]string{
			"19 November 2026": {"0", "0", "1"},
			"22 November 2026": {"1", "2", "0"},
			"Total":            {"1", "2", "1"},
		})
	})
	t.Run("the charts are images with a title, a bar group per day", func(t *testing.T) {
		for _, id := range []string{"sign-ins", "forms", "texts-calls", "failed"} {
			svg := page.Doc.Find("svg#" + id + "-chart")
			if svg.AttrOr("role", "") != "img" || svg.AttrOr("aria-labelledby", "") != id+"-title "+id+"-desc" {
				t.Errorf("%s: role %q, labelled by %q", id, svg.AttrOr("role", ""), svg.AttrOr("aria-labelledby", ""))
			}
			title := strings.TrimSpace(svg.Find("#" + id + "-title").Text())
			if title == "" || title != strings.TrimSpace(page.Doc.Find("#"+id+"-caption").Text()) {
				t.Errorf("%s: title %q is not the table's caption", id, title)
			}
			if svg.Find("desc").Text() == "" {
				t.Errorf("%s: no description", id)
			}
			if n := svg.Find("g.app-chart__day").Length(); n != 30 {
				t.Errorf("%s: %d days drawn, want 30", id, n)
			}
		}
		// On the 20th, texts and calls are two bars; an empty day has none.
		days := page.Doc.Find("svg#sign-ins-chart g.app-chart__day")
		if n := days.Eq(26).Find("rect").Length(); n != 2 {
			t.Errorf("20 November has %d bars, want 2 (text, call)", n)
		}
		if n := days.Eq(1).Find("rect").Length(); n != 0 {
			t.Errorf("26 October has %d bars, want none", n)
		}
		if n := page.Doc.Find("svg#invitations-chart g.app-chart__row").Length(); n != 3 {
			t.Errorf("the invitations chart has %d rows, want 3", n)
		}
		if n := page.Doc.Find("svg#waiting-chart g.app-chart__row").Length(); n != 3 {
			t.Errorf("the waiting chart has %d rows, want one per team", n)
		}
	})
	t.Run("counts only", func(t *testing.T) {
		for _, personal := range []string{"parent@example.net", "Ellie", "Smith", "Contact", "+447911123456"} {
			if strings.Contains(page.Body, personal) {
				t.Errorf("the overview shows %q", personal)
			}
		}
	})
	if n := events(t, a, "overview.viewed", "period:30"); n != 1 {
		t.Errorf("%d overview.viewed events, want 1", n)
	}

	week := signedIn(t, a, adm).Get("/staff/admin/overview?days=7")
	got := table(t, week, "sign-ins")
	if len(got) != 8 || strings.Join(got["Total"], " ") != "3 1 1 1 1 1" {
		t.Errorf("the last 7 days: %d rows, total %v; want 8 rows and the call of 25 October left out", len(got), got["Total"])
	}
	if n := week.Doc.Find("svg#sign-ins-chart g.app-chart__day").Length(); n != 7 {
		t.Errorf("%d days drawn for a week", n)
	}
	if week.Doc.Find(`a[href="/staff/admin/overview?days=7"][aria-current="page"]`).Length() != 1 {
		t.Error("the week is not marked as the period shown")
	}
	if events(t, a, "overview.viewed", "period:7") != 1 {
		t.Error("no overview.viewed event for the week")
	}
	quarter := signedIn(t, a, adm).Get("/staff/admin/overview?days=90")
	if n := quarter.Doc.Find("svg#failed-chart g.app-chart__day").Length(); n != 90 {
		t.Errorf("%d days drawn for 90 days", n)
	}
	if odd := signedIn(t, a, adm).Get("/staff/admin/overview?days=100000"); odd.Doc.Find("svg#forms-chart g.app-chart__day").Length() != 30 {
		t.Error("a period not offered is not the default 30 days")
	}
}

func ukTimePtr(t time.Time) *time.Time { return &t }

// TestOnlyPortalAdminsSeeTheOverview: everyone else signed in gets the 404
// of a page that does not exist, and no event is written for them.
func TestOnlyPortalAdminsSeeTheOverview(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	north := team(t, a, "North")
	for _, p := range []*accounts.Person{
		a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, ""),
		a.NewWorker(t, "worker@example.org", north),
		inTeam(t, a, a.NewPerson(t, "manager@example.org", accounts.RoleStaff, accounts.StaffTeamManager), north),
	} {
		t.Run("role="+p.Role+p.StaffRole, func(t *testing.T) {
			if res := signedIn(t, a, p).Get("/staff/admin/overview"); res.StatusCode != http.StatusNotFound {
				t.Fatalf("= %d, want 404", res.StatusCode)
			}
		})
	}
	if res := a.Client(t).Get("/staff/admin/overview"); res.StatusCode != http.StatusSeeOther ||
		!strings.HasPrefix(res.Header.Get("Location"), "/sign-in") {
		t.Fatalf("anonymous = %d %q, want the sign-in page", res.StatusCode, res.Header.Get("Location"))
	}
	var n int64
	a.DB.Gorm.Raw(`SELECT count(*) FROM audit_events WHERE action = 'overview.viewed'`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d overview.viewed events for people refused", n)
	}
	home := signedIn(t, a, admin(t, a)).Get("/staff/admin")
	if home.Doc.Find(`a[href="/staff/admin/overview"]`).Length() != 1 {
		t.Fatal("the admin home does not link to the overview")
	}
}
