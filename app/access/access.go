// Package access decides who may reach which record, and serves the
// record holder's own pages of a record (the dashboard shell).
//
// Invariants:
//   - A citizen reaches a record only through a grant in force: not
//     revoked, started, not past its end, and the person's account active.
//     That rule is one SQL fragment (inForce) used by every query here, so
//     an end of access needs no job to take effect.
//   - A record the person may not reach is ErrNotFound, exactly as one that
//     does not exist; handlers answer both with the same 404.
//   - Holders of one record never see each other: nothing here lists a
//     record's holders to a citizen (HoldersOf is for staff only).
//   - A placement's end keeps access to 23:59:59 Europe/London on the 7th
//     day after it (guide 002): ends_at is the midnight that follows.
package access

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"portal/app/clock"
	"portal/app/db"
	"portal/app/live"
	"portal/app/records"
)

// Relationships a holder can have to a record.
const (
	Parent      = "parent"
	Guardian    = "guardian"
	FosterCarer = "foster_carer"
	Self        = "self"
	Network     = "network" // another member of the child's network
)

// Relationships lists them in the order forms offer them.
var Relationships = []string{Parent, Guardian, FosterCarer, Self, Network}

// Fits reports whether relationship makes sense for a record of kind: a
// foster carer holds children's records, "their own record" is a carer's
// or an adult's, family and network hold a child's or an adult's.
// Security: so a slip in the invite form cannot give a family a foster
// carer's own record.
func Fits(relationship, kind string) bool {
	switch relationship {
	case FosterCarer:
		return kind == records.KindChild
	case Self:
		return kind == records.KindFosterCarer || kind == records.KindAdult
	case Parent, Guardian, Network:
		return kind == records.KindChild || kind == records.KindAdult
	}
	return false
}

// GraceDays is how long a foster carer keeps a child's record after the
// placement ends, to finish outstanding forms and recordings (guide 002).
const GraceDays = 7

// ErrNotFound is returned for a record the person may not reach.
var ErrNotFound = fmt.Errorf("access: %w", db.ErrNotFound)

// GraceEnd is when access ends for a placement that ended on day: the
// midnight (Europe/London) after the 7th day after it, so the last moment
// of access is 23:59:59 that day.
func GraceEnd(day time.Time) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d+GraceDays+1, 0, 0, 0, 0, clock.London).UTC()
}

// Grant lets one person reach one record.
type Grant struct {
	ID               int64
	PersonID         int64
	RecordID         int64
	Relationship     string
	InvitationID     *int64
	GrantedBy        *int64
	StartsAt         time.Time
	PlacementEndedOn *time.Time
	EndsAt           *time.Time
	EndNoticeSentAt  *time.Time
	RevokedAt        *time.Time
}

// TableName keeps GORM on the grants table.
func (Grant) TableName() string { return "grants" }

// Held is a record as its holder reaches it, with how.
type Held struct {
	records.Record
	GrantID      int64
	Relationship string
	EndsAt       *time.Time // access ends then (a placement ended), or nil
}

// inForce is the whole rule of access, for grants g of people p at @now.
const inForce = `g.revoked_at IS NULL AND g.starts_at <= @now AND (g.ends_at IS NULL OR g.ends_at > @now)
	AND p.status = 'active'`

// Store reads and writes grants.
type Store struct {
	db    *gorm.DB
	clock clock.Clock
}

// NewStore returns the store.
func NewStore(db *gorm.DB, clk clock.Clock) *Store { return &Store{db: db, clock: clk} }

const heldColumns = `r.*, g.id AS grant_id, g.relationship, g.ends_at`

// RecordsOf lists the records person may reach now, by name.
func (s *Store) RecordsOf(ctx context.Context, personID int64) ([]Held, error) {
	var out []Held
	err := s.db.WithContext(ctx).Raw(`SELECT `+heldColumns+` FROM grants g
		JOIN records r ON r.id = g.record_id JOIN people p ON p.id = g.person_id
		WHERE g.person_id = @person AND `+inForce+` ORDER BY r.given_name, r.family_name, r.id`,
		map[string]any{"person": personID, "now": s.clock.Now()}).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("access: records of: %w", err)
	}
	return out, nil
}

// KeptCopies lists the records whose own copies (a carer's recordings)
// person may still read: held now, or held until a placement ended less
// than keep ago. A grant a worker ended at once (revoked) keeps nothing:
// ending access is the worker's decision that the person reads no more.
func (s *Store) KeptCopies(ctx context.Context, personID int64, keep time.Duration) ([]int64, error) {
	now := s.clock.Now()
	var out []int64
	err := s.db.WithContext(ctx).Raw(`SELECT DISTINCT g.record_id FROM grants g JOIN people p ON p.id = g.person_id
		WHERE g.person_id = @person AND g.revoked_at IS NULL AND g.starts_at <= @now
		AND (g.ends_at IS NULL OR g.ends_at > @cutoff) AND p.status = 'active'`,
		map[string]any{"person": personID, "now": now, "cutoff": now.Add(-keep)}).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("access: kept copies: %w", err)
	}
	return out, nil
}

// Holding returns record recordID as person reaches it now, or ErrNotFound.
func (s *Store) Holding(ctx context.Context, personID, recordID int64) (*Held, error) {
	var out []Held
	err := s.db.WithContext(ctx).Raw(`SELECT `+heldColumns+` FROM grants g
		JOIN records r ON r.id = g.record_id JOIN people p ON p.id = g.person_id
		WHERE g.person_id = @person AND g.record_id = @record AND `+inForce+` LIMIT 1`,
		map[string]any{"person": personID, "record": recordID, "now": s.clock.Now()}).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("access: holding: %w", err)
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return &out[0], nil
}

// Holds reports whether person may reach record recordID now, by the
// same rule as Holding but without reading the record: a live stream's
// re-authorisation.
func (s *Store) Holds(ctx context.Context, personID, recordID int64) (bool, error) {
	var ok bool
	err := s.db.WithContext(ctx).Raw(`SELECT EXISTS (SELECT 1 FROM grants g JOIN people p ON p.id = g.person_id
		WHERE g.person_id = @person AND g.record_id = @record AND `+inForce+`)`,
		map[string]any{"person": personID, "record": recordID, "now": s.clock.Now()}).Scan(&ok).Error
	if err != nil {
		return false, fmt.Errorf("access: holds: %w", err)
	}
	return ok, nil
}

// Give creates grants in tx (the activation's transaction). A person who
// holds the record now keeps that grant; one whose grant has ended (a
// placement's grace passed) gets a new one: the ended grant is closed
// first, so it does not block the new one.
func (s *Store) Give(ctx context.Context, tx *gorm.DB, grants []Grant) error {
	for _, g := range grants {
		if err := tx.WithContext(ctx).Exec(`UPDATE grants SET revoked_at = ends_at WHERE person_id = ? AND record_id = ?
			AND revoked_at IS NULL AND ends_at <= ?`, g.PersonID, g.RecordID, s.clock.Now()).Error; err != nil {
			return fmt.Errorf("access: give: %w", err)
		}
		err := tx.WithContext(ctx).Exec(`INSERT INTO grants (person_id, record_id, relationship, invitation_id, granted_by, starts_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (person_id, record_id) WHERE revoked_at IS NULL DO NOTHING`,
			g.PersonID, g.RecordID, g.Relationship, g.InvitationID, g.GrantedBy, s.clock.Now()).Error
		if err != nil {
			return fmt.Errorf("access: give: %w", err)
		}
	}
	return nil
}

// Holder is one person with access to a record, as staff see them.
type Holder struct {
	GrantID          int64
	PersonID         int64
	GivenName        string
	FamilyName       string
	Email            string
	Relationship     string
	Status           string // the account's: active or deactivated
	LastSignInAt     *time.Time
	StartsAt         time.Time
	PlacementEndedOn *time.Time
	EndsAt           *time.Time
	RevokedAt        *time.Time
	InForce          bool
}

// LastMoment is the last second of access before ends (23:59:59 on the
// 7th day), as pages say it; nil when access has no end.
func LastMoment(ends *time.Time) *time.Time {
	if ends == nil {
		return nil
	}
	t := ends.Add(-time.Second)
	return &t
}

// Until is the last second of this holding, or nil.
func (h Held) Until() *time.Time { return LastMoment(h.EndsAt) }

// Until is the last second of this holder's access, or nil.
func (h Holder) Until() *time.Time { return LastMoment(h.EndsAt) }

// HoldersOf lists everyone who holds or held record recordID, for staff
// of its team (the caller has checked that). Security: never for citizens.
func (s *Store) HoldersOf(ctx context.Context, recordID int64) ([]Holder, error) {
	var out []Holder
	err := s.db.WithContext(ctx).Raw(`SELECT g.id AS grant_id, p.id AS person_id, p.given_name, p.family_name, p.email,
		g.relationship, p.status, p.last_sign_in_at, g.starts_at, g.placement_ended_on, g.ends_at, g.revoked_at,
		(`+inForce+`) AS in_force
		FROM grants g JOIN people p ON p.id = g.person_id WHERE g.record_id = @record
		ORDER BY (g.revoked_at IS NULL) DESC, p.family_name, p.given_name, g.id`,
		map[string]any{"record": recordID, "now": s.clock.Now()}).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("access: holders of: %w", err)
	}
	return out, nil
}

// EndPlacement records that the placement behind foster carer's grant
// grantID (of record recordID) ended on day; access ends GraceDays later
// (GraceEnd). Other grants have no placement: ErrNotFound.
func (s *Store) EndPlacement(ctx context.Context, recordID, grantID int64, day time.Time) (time.Time, error) {
	end := GraceEnd(day)
	res := s.db.WithContext(ctx).Exec(`UPDATE grants SET placement_ended_on = ?, ends_at = ?, end_notice_sent_at = NULL
		WHERE id = ? AND record_id = ? AND revoked_at IS NULL AND relationship = ?`,
		day.Format(time.DateOnly), end, grantID, recordID, FosterCarer)
	if res.Error != nil {
		return time.Time{}, fmt.Errorf("access: end placement: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return time.Time{}, ErrNotFound
	}
	return end, nil
}

// Revoke ends grant grantID of record recordID now: a worker's "End access",
// with who (by) and why (reason, staff-only). It returns the holder.
func (s *Store) Revoke(ctx context.Context, recordID, grantID, by int64, reason string) (personID int64, err error) {
	var byID any = by
	if by == 0 {
		byID = nil // the portal itself
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Raw(`UPDATE grants SET revoked_at = ?, revoked_by = ?, revoked_reason = ?
			WHERE id = ? AND record_id = ? AND revoked_at IS NULL RETURNING person_id`,
			s.clock.Now(), byID, reason, grantID, recordID).Scan(&personID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		// The holder's open pages hear of it at once: their streams
		// re-authorise, find no grant, and end.
		return live.Notify(ctx, tx, live.Event{Topic: "person", ID: personID})
	})
	if errors.Is(err, ErrNotFound) {
		return 0, err
	}
	if err != nil {
		return 0, fmt.Errorf("access: revoke: %w", err)
	}
	return personID, nil
}
