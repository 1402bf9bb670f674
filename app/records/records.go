// Package records holds the social-care records a portal account is about:
// a child, a foster carer or an adult, each belonging to a team.
//
// Invariants:
//   - A citizen reaches a record only through an active grant; staff through
//     their team. Any other id is treated as missing (web.NotFound).
package records

import "time"

// Kinds of record.
const (
	KindChild       = "child"
	KindFosterCarer = "foster_carer"
	KindAdult       = "adult"
)

// Record is one case-system record.
type Record struct {
	ID                int64
	Kind              string
	CaseReference     string
	GivenName         string
	FamilyName        string
	DateOfBirth       *time.Time
	TeamID            int64
	AllocatedWorkerID *int64
	CreatedAt         time.Time
}

// Team is a team of council staff; records and staff belong to one.
type Team struct {
	ID        int64
	Name      string
	CreatedAt time.Time
}
