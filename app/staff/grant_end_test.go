package staff_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
)

// TestAWorkerEndsOneHoldersAccessToOneRecord: "End access" on the record
// page, with a reason and a confirmation step; the holder loses that
// record at once (and only that one), is emailed without names, and the
// trail keeps it. Another team's worker cannot.
func TestAWorkerEndsOneHoldersAccessToOneRecord(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	team := a.NewTeam(t, "North Locality Team")
	worker := a.NewWorker(t, "worker@example.org", team)
	ellie, sam := a.NewRecord(t, team, "Ellie", "Smith"), a.NewRecord(t, team, "Sam", "Smith")
	dad := a.NewPerson(t, "dad@example.net", accounts.RoleCitizen, "")
	a.Grant(t, dad, ellie, access.Parent)
	a.Grant(t, dad, sam, access.Parent)
	staff, holder := a.Client(t), a.Client(t)
	a.SignIn(t, staff, worker)
	a.SignIn(t, holder, dad)
	record := "/staff/records/" + strconv.FormatInt(ellie.ID, 10)

	page := staff.Get(record)
	end, _ := page.Doc.Find(`a[href*="/grants/"][href$="/end"]`).Attr("href")
	if end == "" {
		t.Fatalf("no End access on the record page: %q", page.Text("main"))
	}
	confirm := staff.Get(end)
	if confirm.StatusCode != http.StatusOK || confirm.Doc.Find("textarea#reason").Length() != 1 {
		t.Fatalf("the confirmation step = %d", confirm.StatusCode)
	}
	if res := staff.PostForm(end, url.Values{"reason": {""}}); res.StatusCode != http.StatusUnprocessableEntity ||
		res.Doc.Find(`.govuk-error-summary a[href="#reason"]`).Length() == 0 {
		t.Fatalf("no reason = %d", res.StatusCode)
	}
	if holder.Get("/records/"+strconv.FormatInt(ellie.ID, 10)).StatusCode != http.StatusOK {
		t.Fatal("access ended before the worker confirmed")
	}

	other := a.Client(t)
	a.SignIn(t, other, a.NewWorker(t, "elsewhere@example.org", a.NewTeam(t, "Another Team")))
	other.Get("/staff")
	if res := other.PostForm(end, url.Values{"reason": {"Not theirs to end"}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("another team's worker ending access = %d, want 404", res.StatusCode)
	}

	staff.Get(end)
	if res := staff.PostForm(end, url.Values{"reason": {"Court order of 1 December"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("End access = %d: %q", res.StatusCode, res.Text(".govuk-error-summary"))
	}
	if res := holder.Get("/records/" + strconv.FormatInt(ellie.ID, 10)); res.StatusCode != http.StatusNotFound {
		t.Errorf("after End access the record = %d, want 404", res.StatusCode)
	}
	if res := holder.Get("/records/" + strconv.FormatInt(sam.ID, 10)); res.StatusCode != http.StatusOK {
		t.Errorf("another record of the same holder = %d, want 200", res.StatusCode)
	}
	mail := a.LastSent(t, "email", dad.Email)
	if !strings.Contains(mail.Subject, "has ended") || strings.Contains(mail.Body, "Ellie") || strings.Contains(mail.Body, "Court order") {
		t.Errorf("the email: %q\n%s", mail.Subject, mail.Body)
	}
	var trail int64
	a.DB.Gorm.Raw(`SELECT count(*) FROM audit_events WHERE action = 'grant.ended' AND record_id = ? AND actor_id = ?`, ellie.ID, worker.ID).Scan(&trail)
	if trail != 1 {
		t.Errorf("%d audit events for the end, want 1", trail)
	}
	if res := staff.Get(end); res.StatusCode != http.StatusNotFound {
		t.Errorf("ending it twice = %d, want 404", res.StatusCode)
	}
}
