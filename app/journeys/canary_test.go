package journeys_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/notify"
	"portal/app/records"
)

// TestLogsCarryNoPersonalData pushes a known email, phone number, code and
// child's name through requests, a record, an email and failing requests,
// then reads every log line the app wrote.
func TestLogsCarryNoPersonalData(t *testing.T) {
	const (
		email = "canary.parent@example.net"
		phone = "07700 900461"
		code  = "482913"
		child = "Zephyrine Canarywood"
	)
	logs := &apptest.Output{}
	a := apptest.NewApp(t, apptest.Options{Log: logs})
	ctx := context.Background()

	person := a.NewPerson(t, email, accounts.RoleCitizen, "")
	team := records.Team{Name: "Canary team"}
	a.DB.Gorm.Create(&team)
	given, family, _ := strings.Cut(child, " ")
	a.DB.Gorm.Create(&records.Record{Kind: records.KindChild, CaseReference: "CAN-1", GivenName: given,
		FamilyName: family, TeamID: team.ID})

	c := a.Client(t)
	q := url.Values{"email": {email}, "phone": {phone}, "code": {code}, "name": {child}}.Encode()
	c.Get("/?" + q)
	c.Get("/help?" + q)
	c.PostForm("/sign-out?"+q, url.Values{"email": {email}, "code": {code}}) // refused: not signed in
	c.PostForm("/session/extend", url.Values{"_csrf": {"forged-" + code}, "name": {child}})
	a.SignIn(t, c, person)
	c.Get("/account?" + q)
	c.Get("/no-such-page/" + url.PathEscape(email)) // 404 with the email in the path
	c.PostForm("/sign-out", url.Values{"phone": {phone}})

	if err := a.Notifier.Send(ctx, nil, notify.Message{Channel: notify.Email, To: email, Lang: "en",
		Template: "email_verification_code", Data: map[string]string{"Code": code}}); err != nil {
		t.Fatal(err)
	}
	if err := a.Notifier.Drain(ctx); err != nil {
		t.Fatal(err)
	}

	out := logs.String()
	if !strings.Contains(out, `"route"`) {
		t.Fatalf("the app logged no requests, so the canary proves nothing:\n%s", out)
	}
	compact := strings.ReplaceAll(phone, " ", "")
	for _, leak := range []string{email, phone, compact, "447700900461", code, given, family, url.QueryEscape(email)} {
		if strings.Contains(out, leak) {
			t.Errorf("the logs contain %q", leak)
		}
	}
}
