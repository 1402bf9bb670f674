package web_test

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/messages"
	"portal/app/uploads/uploadtest"
)

// TestNoPageShowsAMessageKey walks every GET route of the table, with real
// ids of a record that has a document, a form and a thread, as each kind
// of visitor, in English and in Welsh, and fails on any page that shows a
// message id instead of its words (a translation that failed: go-i18n
// took "Count" for a plural and found no Welsh "two"). apptest.Client
// checks every page for that; this test makes sure every page is fetched.
func TestNoPageShowsAMessageKey(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	ctx := context.Background()
	team := a.NewTeam(t, "North Locality Team")
	worker := a.NewWorker(t, "worker@example.org", team)
	admin := a.NewPerson(t, "admin@example.org", accounts.RoleStaff, accounts.StaffPortalAdmin)
	ellie := a.NewRecord(t, team, "Ellie", "Smith")
	mum := a.NewPerson(t, "mum@example.net", accounts.RoleCitizen, "")
	a.Grant(t, mum, ellie, access.Parent)
	record := strconv.FormatInt(ellie.ID, 10)

	staff := a.Client(t)
	a.SignIn(t, staff, worker)
	staff.Get("/staff/records/" + record + "/documents/new")
	res := staff.PostMultipart("/staff/records/"+record+"/documents", apptest.Part{Name: "title", Value: "Plan"},
		apptest.Part{Name: "kind", Value: "plan"}, apptest.Part{Name: "recipients", Value: strconv.FormatInt(mum.ID, 10)},
		apptest.Part{Name: "file", FileName: "plan.pdf", Body: uploadtest.PDF(1000, "")})
	document := strings.TrimPrefix(res.Header.Get("Location"), "/staff/records/"+record+"#document-")
	latest, err := a.Forms.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sent, err := a.Forms.Send(ctx, a.DB.Gorm, latest[0].ID, ellie.ID, []int64{mum.ID}, nil, worker.ID)
	if err != nil {
		t.Fatal(err)
	}
	store := messages.NewStore(a.DB.Gorm, a.Clock, a.Sealer, nil, nil)
	ty := &messages.Type{NameEN: "Message your worker", NameCY: "Anfon neges at eich gweithiwr", TeamID: team.ID, Active: true}
	if err := store.SaveType(ctx, ty); err != nil {
		t.Fatal(err)
	}
	th := &messages.Thread{RecordID: ellie.ID, HolderID: mum.ID, TypeID: ty.ID, TeamID: team.ID, Subject: "Tuesday", StartedBy: mum.ID}
	if err := store.Start(ctx, th, &messages.Message{AuthorID: mum.ID, Body: "Hello"}); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{"record": record, "document": document, "form": strconv.FormatInt(sent[0].ID, 10),
		"page": "1", "thread": strconv.FormatInt(th.ID, 10), "id": strconv.FormatInt(mum.ID, 10)}
	param := regexp.MustCompile(`:([a-z]+)(<[^>]+>)?`)
	var paths []string
	for _, r := range a.GetRoutes(true) {
		if r.Method != http.MethodGet || strings.HasSuffix(r.Path, "/stream") || strings.HasSuffix(r.Path, ".json") {
			continue
		}
		paths = append(paths, param.ReplaceAllStringFunc(r.Path, func(p string) string {
			return ids[param.FindStringSubmatch(p)[1]]
		}))
	}
	if len(paths) < 50 {
		t.Fatalf("only %d GET routes", len(paths))
	}
	for _, lang := range []string{"en", "cy"} {
		for _, who := range []*accounts.Person{nil, mum, worker, admin} {
			c := a.Client(t)
			if who != nil {
				a.SignIn(t, c, who)
			}
			c.Get("/?lang=" + lang)
			for _, p := range paths {
				c.Get(p) // the client fails the test on any message id shown
			}
		}
	}
}
