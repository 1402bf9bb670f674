package jobs_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/records"
)

func TestMain(m *testing.M) { apptest.Main(m) }

var ctx = context.Background()

// newApp is the real portal on a fresh database; its Jobs are not started.
func newApp(t *testing.T) *apptest.TestApp { return apptest.NewApp(t, apptest.Options{}) }

// person makes an account with a name no email may carry, created age ago
// by the app's clock.
func person(t *testing.T, a *apptest.TestApp, email, role string, age time.Duration) *accounts.Person {
	t.Helper()
	staffRole := ""
	if role == accounts.RoleStaff {
		staffRole = "worker"
	}
	p := a.NewPerson(t, email, role, staffRole)
	exec(t, a, `UPDATE people SET given_name = 'Wilhelmina', family_name = 'Quartermaine', created_at = ? WHERE id = ?`,
		a.Clock.Now().Add(-age), p.ID)
	return p
}

func citizen(t *testing.T, a *apptest.TestApp, email string, age time.Duration) *accounts.Person {
	return person(t, a, email, accounts.RoleCitizen, age)
}

var refs atomic.Int64

// record makes a child's record, with its team.
func record(t *testing.T, a *apptest.TestApp) *records.Record {
	t.Helper()
	store := records.NewStore(a.DB.Gorm)
	team := a.NewTeam(t, fmt.Sprintf("Fostering South %d", refs.Add(1)))
	r := &records.Record{Kind: records.KindChild, CaseReference: fmt.Sprintf("CASE-%d", 4400+refs.Add(1)),
		GivenName: "Ellie", FamilyName: "Zebedee", TeamID: team.ID}
	if err := store.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	return r
}

// grant gives p access to r now and returns the grant's id.
func grant(t *testing.T, a *apptest.TestApp, p *accounts.Person, r *records.Record) int64 {
	t.Helper()
	err := access.NewStore(a.DB.Gorm, a.Clock).Give(ctx, a.DB.Gorm,
		[]access.Grant{{PersonID: p.ID, RecordID: r.ID, Relationship: access.FosterCarer}})
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	a.DB.Gorm.Raw(`SELECT id FROM grants WHERE person_id = ? AND record_id = ? ORDER BY id DESC LIMIT 1`, p.ID, r.ID).Scan(&id)
	return id
}

// invite records an invitation to email in state, from a worker of team
// r.TeamID; personID is who accepted it (0 for nobody).
func invite(t *testing.T, a *apptest.TestApp, email, state string, personID int64) int64 {
	t.Helper()
	var worker int64
	a.DB.Gorm.Raw(`SELECT id FROM people WHERE role = 'staff' ORDER BY id LIMIT 1`).Scan(&worker)
	if worker == 0 {
		worker = a.NewPerson(t, fmt.Sprintf("worker%d@example.org", refs.Add(1)), accounts.RoleStaff, "worker").ID
	}
	team := a.NewTeam(t, fmt.Sprintf("Children in Need %d", refs.Add(1))).ID
	var by *int64
	if personID != 0 {
		by = &personID
	}
	now := a.Clock.Now()
	var id int64
	err := a.DB.Gorm.Raw(`INSERT INTO invitations (email, team_id, invited_by, state, code_hash, person_id, created_at, expires_at)
		VALUES (?, ?, ?, ?, 'not a real hash', ?, ?, ?) RETURNING id`, email, team, worker, state, by, now, now.Add(14*24*time.Hour)).Scan(&id).Error
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func exec(t *testing.T, a *apptest.TestApp, sql string, args ...any) {
	t.Helper()
	if err := a.DB.Gorm.Exec(sql, args...).Error; err != nil {
		t.Fatal(err)
	}
}

// emailsTo works the notify queue and returns every email to addr, oldest
// first.
func emailsTo(t *testing.T, a *apptest.TestApp, addr string) []apptest.Sent {
	t.Helper()
	if err := a.Notifier.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	var out []apptest.Sent
	err := a.DB.Gorm.Raw(`SELECT recipient AS "to", subject, body FROM outbox_messages WHERE channel = 'email'
		AND recipient = ? ORDER BY id`, addr).Scan(&out).Error
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func exists(t *testing.T, a *apptest.TestApp, table string, id int64) bool {
	t.Helper()
	var n int64
	a.DB.Gorm.Raw(`SELECT count(*) FROM `+table+` WHERE id = ?`, id).Scan(&n)
	return n == 1
}

const day = 24 * time.Hour

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
