package apptest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/records"
)

// NewTeam creates a team.
func (a *TestApp) NewTeam(t testing.TB, name string) *records.Team {
	t.Helper()
	team, err := records.NewStore(a.DB.Gorm).AddTeam(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return team
}

// NewWorker creates a worker of team.
func (a *TestApp) NewWorker(t testing.TB, email string, team *records.Team) *accounts.Person {
	t.Helper()
	w := a.NewPerson(t, email, accounts.RoleStaff, accounts.StaffWorker)
	if err := a.DB.Gorm.Exec(`UPDATE people SET team_id = ? WHERE id = ?`, team.ID, w.ID).Error; err != nil {
		t.Fatal(err)
	}
	w.TeamID = &team.ID
	return w
}

var recordCount atomic.Int64

// NewRecord creates a child's record in team.
func (a *TestApp) NewRecord(t testing.TB, team *records.Team, given, family string) *records.Record {
	t.Helper()
	r := &records.Record{Kind: records.KindChild, CaseReference: fmt.Sprintf("TEST-%05d", recordCount.Add(1)),
		GivenName: given, FamilyName: family, TeamID: team.ID}
	if err := records.NewStore(a.DB.Gorm).Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

// Grant gives person access to record, as an activated invitation would.
func (a *TestApp) Grant(t testing.TB, person *accounts.Person, record *records.Record, relationship string) {
	t.Helper()
	g := []access.Grant{{PersonID: person.ID, RecordID: record.ID, Relationship: relationship}}
	if err := access.NewStore(a.DB.Gorm, a.Clock).Give(context.Background(), a.DB.Gorm, g); err != nil {
		t.Fatal(err)
	}
}

// NewWorkerOf creates a worker of the team of record recordID.
func (a *TestApp) NewWorkerOf(t testing.TB, email string, recordID int64) *accounts.Person {
	t.Helper()
	var team records.Team
	if err := a.DB.Gorm.Raw(`SELECT t.* FROM teams t JOIN records r ON r.team_id = t.id WHERE r.id = ?`, recordID).Scan(&team).Error; err != nil {
		t.Fatal(err)
	}
	return a.NewWorker(t, email, &team)
}
