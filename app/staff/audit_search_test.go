package staff_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/audit"
	"portal/app/clock"
)

// seed writes an event at the time at (the app's clock is moved there:
// the log stamps events itself) and returns its id.
func seed(t *testing.T, a *apptest.TestApp, at time.Time, e audit.Event) int64 {
	t.Helper()
	a.Clock.Set(at)
	if err := a.Audit.Write(context.Background(), nil, e); err != nil {
		t.Fatal(err)
	}
	var id int64
	a.DB.Gorm.Raw(`SELECT max(id) FROM audit_events`).Scan(&id)
	return id
}

func ptr(n int64) *int64 { return &n }

// london is a time of a London day.
func london(day string, hour, minute int) time.Time {
	d, err := time.ParseInLocation(time.DateOnly, day, clock.London)
	if err != nil {
		panic(err)
	}
	return time.Date(d.Year(), d.Month(), d.Day(), hour, minute, 0, 0, clock.London)
}

// shown lists the ids of the events a page of results shows, in order.
func shown(t *testing.T, page *apptest.Response) []int64 {
	t.Helper()
	var ids []int64
	page.Doc.Find("#events tbody tr").Each(func(_ int, row *goquery.Selection) {
		id, _ := row.Attr("id")
		var n int64
		if _, err := fmt.Sscanf(id, "event-%d", &n); err != nil {
			t.Fatalf("a row without its event's id: %q", id)
		}
		ids = append(ids, n)
	})
	return ids
}

// searchPath is the search page with query q.
func searchPath(q url.Values) string { return "/staff/admin/audit?" + q.Encode() }

// TestAuditSearchFilters proves each filter of the admin's audit search,
// alone and together: by person (id or email), record, action (exact or
// a prefix) and London days, newest first.
func TestAuditSearchFilters(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	worker := a.NewPerson(t, "worker@example.org", accounts.RoleStaff, accounts.StaffWorker)
	parent := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	adm := admin(t, a)

	opened := seed(t, a, london("2026-11-01", 10, 0), audit.Event{ActorID: &worker.ID, Action: "record.opened", RecordID: ptr(501)})
	sent := seed(t, a, london("2026-11-02", 9, 0), audit.Event{ActorID: &parent.ID, Action: "message.sent", RecordID: ptr(502), Target: "thread:7"})
	read := seed(t, a, london("2026-11-02", 11, 0), audit.Event{ActorID: &parent.ID, Action: "message.read", RecordID: ptr(501), Target: "thread:8"})
	doc := seed(t, a, london("2026-11-03", 8, 0), audit.Event{ActorID: &worker.ID, Action: "document.sent", RecordID: ptr(502)})
	// 00:30 on 1 July in London is still 30 June in UTC (summer time).
	summer := seed(t, a, time.Date(2026, 6, 30, 23, 30, 0, 0, time.UTC), audit.Event{ActorID: &worker.ID, Action: "session.signed_in"})
	june := seed(t, a, time.Date(2026, 6, 30, 22, 30, 0, 0, time.UTC), audit.Event{Action: "account.deleted_unused"})
	a.Clock.Set(apptest.Start) // now: after every seeded event
	c := signedIn(t, a, adm)

	for _, tc := range []struct {
		name  string
		query url.Values
		want  []int64
	}{
		{"person by id", url.Values{"person": {fmt.Sprint(worker.ID)}}, []int64{doc, opened, summer}},
		{"person by email, any case", url.Values{"person": {" Worker@Example.org "}}, []int64{doc, opened, summer}},
		{"record", url.Values{"record": {"501"}}, []int64{read, opened}},
		{"action", url.Values{"action": {"message.sent"}}, []int64{sent}},
		{"action prefix", url.Values{"action": {"message."}}, []int64{read, sent}},
		{"one London day", url.Values{"from": {"2026-11-02"}, "to": {"2026-11-02"}}, []int64{read, sent}},
		{"from a day on", url.Values{"from": {"2026-11-02"}, "to": {"2026-11-22"}}, []int64{doc, read, sent}},
		{"a summer day in London, not in UTC", url.Values{"from": {"2026-07-01"}, "to": {"2026-07-01"}}, []int64{summer}},
		{"to the day before", url.Values{"to": {"2026-06-30"}}, []int64{june}},
		{"all together", url.Values{"person": {parent.Email}, "record": {"501"}, "action": {"message."},
			"from": {"2026-11-01"}, "to": {"2026-11-30"}}, []int64{read}},
		{"nothing found", url.Values{"person": {fmt.Sprint(worker.ID)}, "action": {"message."}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := c.Get(searchPath(tc.query))
			if page.StatusCode != http.StatusOK {
				t.Fatalf("status %d", page.StatusCode)
			}
			if got := shown(t, page); !slices.Equal(got, tc.want) {
				t.Fatalf("events %v, want %v", got, tc.want)
			}
			if tc.want == nil && page.Doc.Find("#events-none").Length() != 1 {
				t.Fatal("no word that nothing was found")
			}
		})
	}

	t.Run("a row names its actor and translates its action", func(t *testing.T) {
		page := c.Get(searchPath(url.Values{"record": {"501"}, "action": {"record.opened"}}))
		row := page.Text(fmt.Sprintf("#event-%d", opened))
		for _, want := range []string{worker.FullName(), a.T("staff.admin.audit.person_id", "ID", worker.ID),
			a.T("staff.audit.record.opened"), "record.opened", "501", "1 " + a.T("time.month_11") + " 2026, 10:00:00"} {
			if !strings.Contains(row, want) {
				t.Fatalf("the row says %q, without %q", row, want)
			}
		}
		if got := page.Doc.Find(fmt.Sprintf(`#event-%d a[href="/staff/admin/people/%d"]`, opened, worker.ID)).Length(); got != 1 {
			t.Fatal("the actor is not a link to their account")
		}
		page = c.Get(searchPath(url.Values{"action": {"account.deleted_unused"}}))
		if row := page.Text(fmt.Sprintf("#event-%d", june)); !strings.Contains(row, a.T("staff.admin.audit.system")) {
			t.Fatalf("an event of no one says %q", row)
		}
	})

	t.Run("the select offers the trail's actions and their kinds", func(t *testing.T) {
		page := c.Get("/staff/admin/audit")
		for _, v := range []string{"", "message.", "message.sent", "message.read", "record.opened", "session."} {
			if page.Doc.Find(fmt.Sprintf(`select#action option[value=%q]`, v)).Length() != 1 {
				t.Fatalf("no choice %q", v)
			}
		}
		page = c.Get(searchPath(url.Values{"action": {"message."}}))
		if v, _ := page.Doc.Find("select#action option[selected]").Attr("value"); v != "message." {
			t.Fatalf("the search's action is not selected: %q", v)
		}
	})
}

// TestAuditSearchPages walks a search of more than two pages by its
// "Older events" link: every event once, newest first, ties on the time
// newest id first. The events are written out of time order (as a slow
// request's may be), so a page that continued by id alone would skip or
// repeat some.
func TestAuditSearchPages(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	adm := admin(t, a)
	type event struct {
		id int64
		at time.Time
	}
	var events []event
	for i := range 120 {
		// 37 and 60 have no common factor: every minute of an hour, out
		// of order, twice (the same time for two events).
		at := apptest.Start.Add(-time.Duration(1+i*37%60) * time.Minute)
		events = append(events, event{seed(t, a, at, audit.Event{ActorID: &adm.ID, Action: "test.paged"}), at})
	}
	slices.SortFunc(events, func(x, y event) int {
		if c := y.at.Compare(x.at); c != 0 {
			return c
		}
		return int(y.id - x.id)
	})
	var want []int64
	for _, e := range events {
		want = append(want, e.id)
	}
	a.Clock.Set(apptest.Start)
	c := signedIn(t, a, adm)

	var got []int64
	path, pages := searchPath(url.Values{"action": {"test.paged"}}), 0
	for path != "" {
		page := c.Get(path)
		pages++
		ids := shown(t, page)
		if len(ids) > 50 {
			t.Fatalf("page %d shows %d events", pages, len(ids))
		}
		if pages > 1 && page.Doc.Find("#audit-newest").Length() != 1 {
			t.Fatalf("page %d has no link to the newest", pages)
		}
		got = append(got, ids...)
		path, _ = page.Doc.Find("#audit-older").Attr("href")
		if pages > 5 {
			t.Fatal("the pages never end")
		}
	}
	if pages != 3 || !slices.Equal(got, want) {
		t.Fatalf("%d pages showed %v\nwant %v", pages, got, want)
	}
}

// TestAuditSearchIsAudited: each page of results writes "audit.searched"
// by the admin, naming the filter by ids (a person given by email too)
// and no record, so the record's own history is unchanged; the form
// alone writes nothing.
func TestAuditSearchIsAudited(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	parent := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	seed(t, a, apptest.Start.Add(-time.Hour), audit.Event{ActorID: &parent.ID, Action: "record.viewed", RecordID: ptr(77)})
	a.Clock.Set(apptest.Start)
	adm := admin(t, a)
	c := signedIn(t, a, adm)
	count := func(where string, args ...any) int64 {
		var n int64
		a.DB.Gorm.Table("audit_events").Where(where, args...).Count(&n)
		return n
	}

	c.Get("/staff/admin/audit")
	if n := count("action = 'audit.searched'"); n != 0 {
		t.Fatalf("the empty form wrote %d searches", n)
	}
	page := c.Get(searchPath(url.Values{"person": {parent.Email}, "record": {"77"}, "from": {"2026-11-01"}}))
	if len(shown(t, page)) != 1 {
		t.Fatal("the search found nothing")
	}
	wantTarget := fmt.Sprintf("filter:actor=%d,record=77,from=2026-11-01", parent.ID)
	if n := count("action = 'audit.searched' AND actor_id = ? AND target = ? AND record_id IS NULL", adm.ID, wantTarget); n != 1 {
		var targets []string
		a.DB.Gorm.Table("audit_events").Where("action = 'audit.searched'").Pluck("target", &targets)
		t.Fatalf("searches audited: %q, want one %q by the admin", targets, wantTarget)
	}
	if n := count("target LIKE '%@%'"); n != 0 {
		t.Fatal("an email address is in the trail")
	}
	if n := count("record_id = 77"); n != 1 {
		t.Fatalf("the record's history has %d events, want its own 1", n)
	}
}

// TestAuditSearchRefusesBadInput: each bad field is a 422 with its
// message in the error summary and at the field, on the page and for the
// download, and nothing is searched or audited.
func TestAuditSearchRefusesBadInput(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	c := signedIn(t, a, admin(t, a))
	for _, tc := range []struct {
		name  string
		query url.Values
		field string
		key   string
	}{
		{"not a date", url.Values{"from": {"2026-02-30"}}, "from", "staff.admin.audit.error_from"},
		{"not a date either", url.Values{"to": {"yesterday"}}, "to", "staff.admin.audit.error_to"},
		{"to before from", url.Values{"from": {"2026-11-02"}, "to": {"2026-11-01"}}, "to", "staff.admin.audit.error_to_before"},
		{"an unknown email", url.Values{"person": {"nobody@example.org"}}, "person", "staff.admin.audit.error_person_unknown"},
		{"neither id nor email", url.Values{"person": {"Smith"}}, "person", "staff.admin.audit.error_person"},
		{"a record that is no id", url.Values{"record": {"12a"}}, "record", "staff.admin.audit.error_record"},
		{"an action that is no action", url.Values{"action": {"message.sent' OR 1=1"}}, "action", "staff.admin.audit.error_action"},
	} {
		for _, path := range []string{"/staff/admin/audit?", "/staff/admin/audit.csv?"} {
			t.Run(tc.name+" path="+path, func(t *testing.T) {
				res := c.Get(path + tc.query.Encode())
				if res.StatusCode != http.StatusUnprocessableEntity || res.Text(".govuk-error-summary a") != a.T(tc.key) {
					t.Fatalf("= %d %q, want 422 saying %q", res.StatusCode, res.Text(".govuk-error-summary"), a.T(tc.key))
				}
				if !strings.Contains(res.Text("#"+tc.field+"-error"), a.T(tc.key)) {
					t.Fatalf("the %s field does not say what is wrong", tc.field)
				}
				if res.Doc.Find("#events").Length() != 0 {
					t.Fatal("a refused search shows results")
				}
			})
		}
	}
	var n int64
	a.DB.Gorm.Table("audit_events").Where("action LIKE 'audit.%'").Count(&n)
	if n != 0 {
		t.Fatalf("refused searches wrote %d audit events", n)
	}
}

// TestAuditExportCSV downloads a search: the CSV's headers, its rows
// (the same filter, newest first), every cell that a spreadsheet would
// run made text, and the download itself audited.
func TestAuditExportCSV(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	// A name is typed by its holder: a formula, here.
	parent := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	a.DB.Gorm.Model(&accounts.Person{}).Where("id = ?", parent.ID).Updates(map[string]any{"given_name": "=HYPERLINK(\"x\")", "family_name": "Jones"})
	seed(t, a, london("2026-11-20", 9, 15), audit.Event{ActorID: &parent.ID, Action: "record.viewed", RecordID: ptr(9),
		Target: "+1+2", IP: "@SUM(A1)", RequestID: "-3"})
	seed(t, a, london("2026-11-21", 16, 45), audit.Event{ActorID: &parent.ID, Action: "message.sent", RecordID: ptr(9),
		Target: "\tthread:1", IP: "\r192.0.2.1", RequestID: "req-2"})
	seed(t, a, london("2026-11-21", 17, 0), audit.Event{ActorID: &parent.ID, Action: "message.sent", RecordID: ptr(10)})
	a.Clock.Set(apptest.Start)
	adm := admin(t, a)
	c := signedIn(t, a, adm)

	page := c.Get(searchPath(url.Values{"record": {"9"}}))
	link, ok := page.Doc.Find("#audit-csv").Attr("href")
	if !ok || !strings.HasPrefix(link, "/staff/admin/audit.csv?") {
		t.Fatalf("the download link is %q", link)
	}
	res := c.Get(link)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("Content-Type %q", ct)
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="audit-events-2026-11-23.csv"`) {
		t.Fatalf("Content-Disposition %q", cd)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q", cc)
	}
	body, bom := strings.CutPrefix(res.Body, "\ufeff")
	if !bom {
		t.Fatal("no byte order mark: a spreadsheet would not read it as UTF-8")
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var head []string
	for _, col := range []string{"time", "actor_id", "actor_name", "action", "action_text", "record", "target", "ip", "request_id"} {
		head = append(head, a.T("staff.admin.audit.csv."+col))
	}
	if len(rows) != 3 || !slices.Equal(rows[0], head) {
		t.Fatalf("the file holds %q, want the headings %q and two events", rows, head)
	}
	id := fmt.Sprint(parent.ID)
	want := [][]string{
		{"2026-11-21T16:45:00Z", id, "'=HYPERLINK(\"x\") Jones", "message.sent", a.T("staff.audit.message.sent"), "9", "'\tthread:1", "'\r192.0.2.1", "req-2"},
		{"2026-11-20T09:15:00Z", id, "'=HYPERLINK(\"x\") Jones", "record.viewed", a.T("staff.audit.record.viewed"), "9", "'+1+2", "'@SUM(A1)", "'-3"},
	}
	for i, w := range want {
		if !slices.Equal(rows[i+1], w) {
			t.Fatalf("row %d is %q, want %q", i+1, rows[i+1], w)
		}
	}

	var n int64
	a.DB.Gorm.Table("audit_events").Where("action = 'audit.exported' AND actor_id = ? AND target = ? AND record_id IS NULL",
		adm.ID, "filter:record=9,rows=2").Count(&n)
	if n != 1 {
		t.Fatalf("%d exports audited, want 1", n)
	}
}

// TestAuditSearchIsForPortalAdminsOnly: the search and its download are
// the admin group's, so everyone else gets what they get on any admin
// page (404 signed in, the sign-in page otherwise), and nothing is
// searched, exported or audited for them.
func TestAuditSearchIsForPortalAdminsOnly(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	north := team(t, a, "North")
	citizen := a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	worker := inTeam(t, a, a.NewPerson(t, "worker@example.org", accounts.RoleStaff, accounts.StaffWorker), north)
	manager := inTeam(t, a, a.NewPerson(t, "manager@example.org", accounts.RoleStaff, accounts.StaffTeamManager), north)
	seed(t, a, apptest.Start, audit.Event{ActorID: &citizen.ID, Action: "record.viewed", RecordID: ptr(1)})
	adm := admin(t, a)
	for _, path := range []string{"/staff/admin/audit", "/staff/admin/audit?person=1", "/staff/admin/audit.csv",
		"/staff/admin/audit.csv?record=1"} {
		for _, v := range []struct {
			role   string
			person *accounts.Person
			want   int
		}{{"anonymous", nil, http.StatusSeeOther}, {"citizen", citizen, http.StatusNotFound},
			{"worker", worker, http.StatusNotFound}, {"team_manager", manager, http.StatusNotFound},
			{"portal_admin", adm, http.StatusOK}} {
			t.Run("path="+path+" role="+v.role, func(t *testing.T) {
				c := a.Client(t)
				if v.person != nil {
					a.SignIn(t, c, v.person)
				}
				res := c.Get(path)
				if res.StatusCode != v.want {
					t.Fatalf("status %d, want %d", res.StatusCode, v.want)
				}
				if v.person == nil && !strings.HasPrefix(res.Header.Get("Location"), "/sign-in") {
					t.Fatalf("anonymous visitor sent to %q", res.Header.Get("Location"))
				}
				if v.want != http.StatusOK && strings.Contains(res.Body, "record.viewed") {
					t.Fatal("the trail shows through")
				}
			})
		}
	}
	var by []int64
	a.DB.Gorm.Table("audit_events").Where("action LIKE 'audit.%'").Distinct().Pluck("actor_id", &by)
	if !slices.Equal(by, []int64{adm.ID}) {
		t.Fatalf("searches and exports audited for %v, want only the admin %d", by, adm.ID)
	}
}

// TestAdminHomeLinksToTheAuditTrail: the admin's index leads to it.
func TestAdminHomeLinksToTheAuditTrail(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	page := signedIn(t, a, admin(t, a)).Get("/staff/admin")
	if got := page.Text(`a[href="/staff/admin/audit"]`); got != a.T("staff.admin.audit.title") {
		t.Fatalf("the admin's index links to the audit trail as %q", got)
	}
}
