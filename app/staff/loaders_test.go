package staff_test

import (
	"context"
	"net/http"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/messages"
)

// objectParam is an object's id in a route's path.
var objectParam = regexp.MustCompile(`:(record|thread|invitation|document|form)\b`)

// loaders name the middleware that finds each object for its reader: the
// staff group's loaders, scoped to the worker's team, and the holder's,
// scoped to their grants.
var loaders = map[string]string{
	"/staff record":     "staff.(*Handler).loadRecord-fm",
	"/staff thread":     "staff.(*Handler).loadThread-fm",
	"/staff invitation": "staff.(*Handler).loadInvitation-fm",
	"/staff document":   "staff.(*Handler).loadDocument-fm",
	"/staff form":       "staff.(*Handler).loadSubmission-fm",
	"/records record":   "access.(*Handler).requireHolding-fm",
}

// TestEveryObjectRouteHasItsLoader walks the route table: every object id
// in a staff route's path (a record, a thread, an invitation, a document,
// a form) and the record of a holder's has a loader before the handler
// that finds the object for the actor, so no handler can forget to.
func TestEveryObjectRouteHasItsLoader(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	// Every route, group middleware included (Fiber lists a group's under
	// each method), to find loaders in; the routes themselves, to check.
	all := a.GetRoutes()
	checked := 0
	for _, r := range a.GetRoutes(true) {
		area := "/records"
		if strings.HasPrefix(r.Path, "/staff/") {
			area = "/staff"
		}
		for _, m := range objectParam.FindAllStringSubmatchIndex(r.Path, -1) {
			object := r.Path[m[2]:m[3]]
			want, ok := loaders[area+" "+object]
			if !ok && area == "/records" {
				continue // a holder's thread, document or form: read through their record's grant
			}
			if !ok {
				t.Errorf("%s %s: no loader is known for its %s", r.Method, r.Path, object)
				continue
			}
			prefix := r.Path[:m[1]] // up to and including the object's id
			found := false
			for _, u := range all {
				if !strings.HasPrefix(u.Path, prefix) || !strings.HasPrefix(r.Path, u.Path) {
					continue
				}
				for _, h := range u.Handlers {
					found = found || strings.HasSuffix(runtime.FuncForPC(reflect.ValueOf(h).Pointer()).Name(), want)
				}
			}
			if !found {
				t.Errorf("%s %s sits outside its %s loader %s", r.Method, r.Path, object, want)
			}
			checked++
		}
	}
	if checked < 30 {
		t.Fatalf("only %d routes with an object id", checked)
	}
}

// TestAnotherTeamReachesNothingByID: every staff route (GET and POST) that
// an id of a record, a thread or an invitation reaches is the 404 of a
// missing one for a worker of another team.
func TestAnotherTeamReachesNothingByID(t *testing.T) {
	w := newWorld(t)
	a := w.a
	_, invitation := w.invite(t, "parent@example.net")
	mum := a.NewPerson(t, "mum@example.net", accounts.RoleCitizen, "")
	store := messages.NewStore(a.DB.Gorm, a.Clock, a.Sealer, nil, nil)
	var team int64
	a.DB.Gorm.Raw(`SELECT team_id FROM records WHERE id = ?`, w.recID).Scan(&team)
	typ := &messages.Type{NameEN: "Message your worker", NameCY: "Anfon neges", TeamID: team, Active: true}
	if err := store.SaveType(context.Background(), typ); err != nil {
		t.Fatal(err)
	}
	th := &messages.Thread{RecordID: w.recID, HolderID: mum.ID, TypeID: typ.ID, TeamID: team, Subject: "Hello", StartedBy: mum.ID}
	if err := store.Start(context.Background(), th, &messages.Message{AuthorID: mum.ID, Body: "Hello"}); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{"record": strconv.FormatInt(w.recID, 10), "thread": strconv.FormatInt(th.ID, 10),
		"invitation": invitation, "grant": "1", "form": "1", "document": "1", "file": "1"}
	param := regexp.MustCompile(`:([a-z]+)(<[^>]+>)?`)

	other := a.Client(t)
	a.SignIn(t, other, a.NewWorker(t, "elsewhere@example.org", a.NewTeam(t, "Another Team")))
	other.Get("/staff")
	tried := 0
	for _, r := range a.GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/staff/") || !objectParam.MatchString(r.Path) ||
			(r.Method != http.MethodGet && r.Method != http.MethodPost) {
			continue
		}
		path := param.ReplaceAllStringFunc(r.Path, func(p string) string { return ids[param.FindStringSubmatch(p)[1]] })
		var res *apptest.Response
		if r.Method == http.MethodGet {
			res = other.Get(path)
		} else {
			res = other.PostForm(path, nil)
		}
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("another team's worker: %s %s = %d, want 404", r.Method, path, res.StatusCode)
		}
		tried++
	}
	if tried < 20 {
		t.Fatalf("only %d staff routes with an id", tried)
	}
	// The team's own worker still reaches them.
	if res := w.worker.Get("/staff/inbox/" + ids["thread"]); res.StatusCode != http.StatusOK {
		t.Fatalf("the team's worker: the thread = %d", res.StatusCode)
	}
}
