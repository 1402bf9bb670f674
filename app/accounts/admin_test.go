package accounts_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"portal/app/accounts"
	"portal/app/apptest"
)

func TestNewStaffCheck(t *testing.T) {
	team := int64(1)
	ok := accounts.NewStaff{Email: "robin@example.org", GivenName: "Robin", FamilyName: "Quinlan",
		StaffRole: accounts.StaffWorker, TeamID: &team}
	for _, tc := range []struct {
		name   string
		change func(*accounts.NewStaff)
		fields string // the fields in error, in order
	}{
		{"a worker in a team", func(*accounts.NewStaff) {}, ""},
		{"a team manager in a team", func(n *accounts.NewStaff) { n.StaffRole = accounts.StaffTeamManager }, ""},
		{"a portal admin in no team", func(n *accounts.NewStaff) { n.StaffRole, n.TeamID = accounts.StaffPortalAdmin, nil }, ""},
		{"a portal admin in a team", func(n *accounts.NewStaff) { n.StaffRole = accounts.StaffPortalAdmin }, "team"},
		{"a worker in no team", func(n *accounts.NewStaff) { n.TeamID = nil }, "team"},
		{"an unknown role", func(n *accounts.NewStaff) { n.StaffRole = "citizen" }, "staff_role"},
		{"a name and an address", func(n *accounts.NewStaff) { n.Email = "Robin <robin@example.org>" }, "email"},
		{"no at sign", func(n *accounts.NewStaff) { n.Email = "robin" }, "email"},
		{"blank names", func(n *accounts.NewStaff) { n.GivenName, n.FamilyName = " ", "" }, "given_name family_name"},
		{"a 101-character surname", func(n *accounts.NewStaff) { n.FamilyName = strings.Repeat("é", 101) }, "family_name"},
		{"a 100-character surname", func(n *accounts.NewStaff) { n.FamilyName = strings.Repeat("é", 100) }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := ok
			tc.change(&n)
			var fields []string
			for _, e := range n.Check() {
				fields = append(fields, e.Field)
			}
			if got := strings.Join(fields, " "); got != tc.fields {
				t.Fatalf("fields in error %q, want %q", got, tc.fields)
			}
		})
	}
}

func TestCreateStaff(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	ctx := context.Background()
	people := accounts.NewStore(a.DB.Gorm)
	a.NewPerson(t, "parent@example.net", accounts.RoleCitizen, "")
	team := a.NewTeam(t, "North")

	p, err := people.CreateStaff(ctx, accounts.NewStaff{Email: "Robin@Example.org", GivenName: " Robin ",
		FamilyName: "Quinlan", StaffRole: accounts.StaffTeamManager, TeamID: &team.ID})
	if err != nil {
		t.Fatal(err)
	}
	got, err := people.Get(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "Robin@Example.org" || got.GivenName != "Robin" || got.Role != accounts.RoleStaff ||
		got.StaffRole != accounts.StaffTeamManager || *got.TeamID != team.ID || got.Status != accounts.StatusActive ||
		got.PasswordHash != "" || got.PhoneSealed != "" || got.Locale != "en" {
		t.Fatalf("created %+v", got)
	}
	for _, email := range []string{"robin@example.org", "PARENT@example.net"} {
		t.Run("email="+email, func(t *testing.T) {
			_, err := people.CreateStaff(ctx, accounts.NewStaff{Email: email, GivenName: "A", FamilyName: "B",
				StaffRole: accounts.StaffPortalAdmin})
			if !errors.Is(err, accounts.ErrEmailTaken) {
				t.Fatalf("err %v, want ErrEmailTaken", err)
			}
		})
	}
	if _, err := people.CreateStaff(ctx, accounts.NewStaff{Email: "x@example.org", GivenName: "A", FamilyName: "B",
		StaffRole: accounts.StaffWorker}); !errors.Is(err, accounts.ErrInvalidStaff) {
		t.Fatalf("a worker without a team: err %v, want ErrInvalidStaff", err)
	}
}
