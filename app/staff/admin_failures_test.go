package staff_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"portal/app/apptest"
	"portal/app/config"
	"portal/app/notify"
)

// TestAdminsSeeTheMessagesGivenUpOn: a text the provider refuses for good
// (Twilio's 400 for a number it cannot text) is given up on at once, and
// the overview lists it with when, how, which message, how often it was
// tried and why, and nothing of whom it was for or what it said.
func TestAdminsSeeTheMessagesGivenUpOn(t *testing.T) {
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"code": 21211, "message": "The 'To' number +447911123456 is not valid.", "status": 400}`))
	}))
	t.Cleanup(refusing.Close)
	a := apptest.NewApp(t, apptest.Options{Configure: func(c *config.Config) {
		c.SMSProvider, c.VoiceProvider, c.TwilioBaseURL = "twilio", "twilio", refusing.URL
		c.TwilioAccountSID, c.TwilioAuthToken, c.TwilioFrom = "ACfake", config.RandomKey(), "+441632960000"
	}})
	adm := admin(t, a)
	c := signedIn(t, a, adm)
	if page := c.Get("/staff/admin/overview"); page.Doc.Find("#failures-none").Length() != 1 ||
		page.Doc.Find("#failures-table").Length() != 0 {
		t.Fatal("the overview lists failures before any")
	}

	ctx := context.Background()
	if err := a.Notifier.Send(ctx, nil, notify.Message{Channel: notify.SMS, To: "+447911123456", Template: "sms_code",
		Data: map[string]string{"Code": "908172"}}); err != nil {
		t.Fatal(err)
	}
	if err := a.Notifier.Drain(ctx); err == nil {
		t.Fatal("a refused text was not reported")
	}
	page := c.Get("/staff/admin/overview")
	if page.StatusCode != http.StatusOK {
		t.Fatalf("the overview = %d", page.StatusCode)
	}
	var rows [][]string
	page.Doc.Find("#failures-table tbody tr").Each(func(_ int, tr *goquery.Selection) {
		row := []string{strings.TrimSpace(tr.Find("th").Text())}
		tr.Find("td").Each(func(_ int, td *goquery.Selection) { row = append(row, strings.TrimSpace(td.Text())) })
		rows = append(rows, row)
	})
	want := []string{"23 November 2026, 09:00", a.T("staff.admin.overview.channel_sms"), "sms_code", "1",
		a.T("staff.admin.failures.reason_refused")}
	if len(rows) != 1 || strings.Join(rows[0], "|") != strings.Join(want, "|") {
		t.Fatalf("failures %q, want one row %q", rows, want)
	}
	for _, secret := range []string{"7911", "908172"} {
		if strings.Contains(page.Body, secret) {
			t.Errorf("the overview shows %q", secret)
		}
	}
}
