// Package accounts holds the people who use the portal: citizens and staff.
//
// Invariants:
//   - Emails are unique without regard to case and stored as typed; lookups
//     lower-case both sides.
//   - The password hash never leaves this package and auth: Person values
//     handed to templates carry names and roles only (see web.Viewer).
//   - The postal address is sealed at rest ("person.address"), like the
//     phone number ("person.phone"); pages show the number only masked.
//   - A person changes only their own profile (the session's person); the
//     email address changes only through auth's checked journey.
package accounts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"portal/app/db"
	"portal/app/seal"
)

// Roles and staff roles.
const (
	RoleCitizen = "citizen"
	RoleStaff   = "staff"

	StaffWorker      = "worker"
	StaffTeamManager = "team_manager"
	StaffPortalAdmin = "portal_admin"
)

// Statuses of an account. Only an active account signs in, and only an
// active account's grants are in force (package access).
const (
	StatusActive      = "active"
	StatusDeactivated = "deactivated"
)

// ErrNotFound is returned for a missing person.
var ErrNotFound = fmt.Errorf("accounts: %w", db.ErrNotFound)

// Person is someone who signs in.
type Person struct {
	ID              int64
	Email           string
	GivenName       string
	FamilyName      string
	PasswordHash    string
	Role            string
	StaffRole       string
	TeamID          *int64
	Status          string
	Locale          string
	PhoneSealed     string // the number, sealed for "person.phone"
	PhoneMobile     bool
	PhoneHint       string // masked, for the page
	PhoneRemovedAt  *time.Time
	AddressSealed   string // the postal address as JSON, sealed for "person.address"
	TermsAcceptedAt *time.Time
	UpdatesOptIn    bool
	LastSignInAt    *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// TableName keeps GORM on the people table.
func (Person) TableName() string { return "people" }

// FullName is the name the header shows.
func (p Person) FullName() string { return strings.TrimSpace(p.GivenName + " " + p.FamilyName) }

// IsStaff reports whether the person works for the council.
func (p Person) IsStaff() bool { return p.Role == RoleStaff }

// Store reads and writes people.
type Store struct{ db *gorm.DB }

// NewStore returns the store.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

// Get returns the person with id.
func (s *Store) Get(ctx context.Context, id int64) (*Person, error) {
	var p Person
	err := s.db.WithContext(ctx).Take(&p, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("accounts: get: %w", err)
	}
	return &p, nil
}

// TeamMembers lists the active staff of team, by name.
func (s *Store) TeamMembers(ctx context.Context, teamID int64) ([]Person, error) {
	var out []Person
	err := s.db.WithContext(ctx).Where("team_id = ? AND role = ? AND status = ?", teamID, RoleStaff, StatusActive).
		Order("family_name, given_name, id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("accounts: team members: %w", err)
	}
	return out, nil
}

// ByEmail returns the person with email, compared without regard to case.
func (s *Store) ByEmail(ctx context.Context, email string) (*Person, error) {
	var p Person
	err := s.db.WithContext(ctx).Where("lower(email) = lower(?)", strings.TrimSpace(email)).Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("accounts: by email: %w", err)
	}
	return &p, nil
}

// Create inserts p.
func (s *Store) Create(ctx context.Context, p *Person) error {
	if err := s.db.WithContext(ctx).Create(p).Error; err != nil {
		return fmt.Errorf("accounts: create: %w", err)
	}
	return nil
}

// SetPassword replaces a person's password hash.
func (s *Store) SetPassword(ctx context.Context, id int64, hash string) error {
	return s.db.WithContext(ctx).Model(&Person{}).Where("id = ?", id).
		Updates(map[string]any{"password_hash": hash, "updated_at": gorm.Expr("now()")}).Error
}

// SetPhone stores a verified phone number (already sealed) on a person.
func (s *Store) SetPhone(ctx context.Context, id int64, sealed, hint string, mobile bool) error {
	return s.db.WithContext(ctx).Model(&Person{}).Where("id = ?", id).Updates(map[string]any{
		"phone_sealed": sealed, "phone_hint": hint, "phone_mobile": mobile, "phone_removed_at": nil,
		"updated_at": gorm.Expr("now()")}).Error
}

// RemovePhone takes a person's phone number away (staff do it when the
// holder has a new one). From at, the holder has auth.ReenrolWindow to add
// a new number, after an emailed code.
func (s *Store) RemovePhone(ctx context.Context, id int64, at time.Time) error {
	return s.db.WithContext(ctx).Model(&Person{}).Where("id = ?", id).Updates(map[string]any{
		"phone_sealed": "", "phone_hint": "", "phone_mobile": false, "phone_removed_at": at,
		"updated_at": gorm.Expr("now()")}).Error
}

// ErrEmailTaken says another account already has the email address.
var ErrEmailTaken = errors.New("accounts: email address taken")

// SetEmail changes the address a person signs in with.
func (s *Store) SetEmail(ctx context.Context, id int64, email string) error {
	err := s.db.WithContext(ctx).Model(&Person{}).Where("id = ?", id).Updates(map[string]any{
		"email": strings.TrimSpace(email), "updated_at": gorm.Expr("now()")}).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) { // the unique index on lower(email)
		return ErrEmailTaken
	}
	return err
}

// SignedIn records the time of a completed sign-in.
func (s *Store) SignedIn(ctx context.Context, id int64, at time.Time) error {
	return s.db.WithContext(ctx).Model(&Person{}).Where("id = ?", id).Update("last_sign_in_at", at).Error
}

// AcceptTerms records that a person read the terms and privacy notice, and
// their choice about updates, at the given time.
func (s *Store) AcceptTerms(ctx context.Context, id int64, updates bool, at time.Time) error {
	return s.db.WithContext(ctx).Model(&Person{}).Where("id = ?", id).Updates(map[string]any{
		"terms_accepted_at": at, "updates_opt_in": updates, "updates_chosen_at": at}).Error
}

// Address is a person's postal address. It is personal data (a foster
// carer's address above all), so it is kept sealed.
type Address struct {
	Line1    string `json:"line1,omitempty"`
	Line2    string `json:"line2,omitempty"`
	Town     string `json:"town,omitempty"`
	Postcode string `json:"postcode,omitempty"`
}

// addressPurpose binds sealed addresses to this use.
const addressPurpose = "person.address"

// OpenAddress returns p's address, empty when none was given.
func OpenAddress(sealer *seal.Sealer, p *Person) (Address, error) {
	var a Address
	if p.AddressSealed == "" {
		return a, nil
	}
	plain, err := sealer.Open(addressPurpose, p.AddressSealed)
	if err != nil {
		return a, fmt.Errorf("accounts: address: %w", err)
	}
	return a, json.Unmarshal(plain, &a)
}

// Profile is what a person may change about themselves in "Edit profile".
type Profile struct {
	GivenName, FamilyName string
	Address               Address
	Locale                string
	UpdatesOptIn          bool
}

// UpdateProfile saves a person's own changes, sealing the address; a
// changed updates choice is stamped with at.
func (s *Store) UpdateProfile(ctx context.Context, sealer *seal.Sealer, id int64, pr Profile, at time.Time) error {
	sealed := ""
	if pr.Address != (Address{}) {
		plain, err := json.Marshal(pr.Address)
		if err != nil {
			return err
		}
		if sealed, err = sealer.Seal(addressPurpose, plain); err != nil {
			return fmt.Errorf("accounts: address: %w", err)
		}
	}
	return s.db.WithContext(ctx).Exec(`UPDATE people SET given_name = ?, family_name = ?, address_sealed = ?, locale = ?,
		updates_chosen_at = CASE WHEN updates_opt_in IS DISTINCT FROM ? THEN ?::timestamptz ELSE updates_chosen_at END,
		updates_opt_in = ?, updated_at = ? WHERE id = ?`,
		pr.GivenName, pr.FamilyName, sealed, pr.Locale, pr.UpdatesOptIn, at, pr.UpdatesOptIn, at, id).Error
}
