// Package records holds the social-care records a portal account is about:
// a child, a foster carer or an adult, each belonging to a team.
//
// Invariants:
//   - Staff reach a record only through their team: every staff query here
//     takes the team and filters by it; a portal admin has no team and so
//     reaches no record content. Citizens reach records only through
//     package access (a grant in force).
//   - Any id outside the actor's reach is ErrNotFound, the same as a
//     missing one.
package records

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"portal/app/db"
)

// Kinds of record.
const (
	KindChild       = "child"
	KindFosterCarer = "foster_carer"
	KindAdult       = "adult"
)

// Kinds lists the kinds in the order forms offer them.
var Kinds = []string{KindChild, KindFosterCarer, KindAdult}

// ErrNotFound is returned for a record that is missing or out of reach.
var ErrNotFound = fmt.Errorf("records: %w", db.ErrNotFound)

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

// FullName is how pages name the record ("Viewing: Ellie Smith").
func (r Record) FullName() string { return strings.TrimSpace(r.GivenName + " " + r.FamilyName) }

// Contact is who works with a record, as its holders are told: the
// allocated worker's name ("" when none) and the team's.
type Contact struct {
	Worker string
	Team   string
}

// ContactOf is record id's worker and team.
func (s *Store) ContactOf(ctx context.Context, id int64) (Contact, error) {
	var c Contact
	err := s.db.WithContext(ctx).Raw(`SELECT coalesce(p.given_name || ' ' || p.family_name, '') AS worker, t.name AS team
		FROM records r JOIN teams t ON t.id = r.team_id LEFT JOIN people p ON p.id = r.allocated_worker_id
		WHERE r.id = ?`, id).Scan(&c).Error
	if err != nil {
		return Contact{}, fmt.Errorf("records: contact: %w", err)
	}
	return c, nil
}

// Team is a team of council staff; records and staff belong to one.
type Team struct {
	ID        int64
	Name      string
	CreatedAt time.Time
}

// Store reads and writes records and teams.
type Store struct{ db *gorm.DB }

// NewStore returns the store.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

// ForTeam lists a team's records, by name, matching q (a name or a case
// reference, any part, any case) when q is not empty. At most limit rows.
func (s *Store) ForTeam(ctx context.Context, teamID int64, q string, limit int) ([]Record, error) {
	var out []Record
	db := s.db.WithContext(ctx).Where("team_id = ?", teamID)
	if q = strings.TrimSpace(q); q != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(q)) + "%"
		db = db.Where("lower(given_name || ' ' || family_name) LIKE ? OR lower(case_reference) LIKE ?", like, like)
	}
	if err := db.Order("family_name, given_name, id").Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("records: for team: %w", err)
	}
	return out, nil
}

// InTeam returns record id if it belongs to team teamID.
func (s *Store) InTeam(ctx context.Context, teamID, id int64) (*Record, error) {
	var r Record
	err := s.db.WithContext(ctx).Where("id = ? AND team_id = ?", id, teamID).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("records: in team: %w", err)
	}
	return &r, nil
}

// ErrReferenceTaken says another record has the case reference.
var ErrReferenceTaken = errors.New("records: case reference taken")

// Create adds a record.
func (s *Store) Create(ctx context.Context, r *Record) error {
	err := s.db.WithContext(ctx).Create(r).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return ErrReferenceTaken
	}
	return err
}

// Teams lists every team by name.
func (s *Store) Teams(ctx context.Context) ([]Team, error) {
	var out []Team
	return out, s.db.WithContext(ctx).Order("name, id").Find(&out).Error
}
