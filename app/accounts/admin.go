package accounts

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"portal/app/web"
)

// What portal admins do to accounts: add staff, find people, deactivate
// and reactivate. Security: nothing here reads a record; the staff package
// shows admins counts of grants, never the records behind them.

// StaffRoles lists the staff roles in the order forms offer them.
var StaffRoles = []string{StaffWorker, StaffTeamManager, StaffPortalAdmin}

// NewStaff is a member of staff to add, from the admin's "Add a member of
// staff" or from `portal create-admin`.
type NewStaff struct {
	Email, GivenName, FamilyName string
	StaffRole                    string
	TeamID                       *int64 // a worker's or team manager's team; nil for a portal admin
}

// ErrInvalidStaff says a NewStaff fails its Check.
var ErrInvalidStaff = errors.New("accounts: invalid member of staff")

// Check lists what is wrong with n, by form field ("email", "given_name",
// "family_name", "staff_role", "team"), as message ids; none when n can be
// added. Whether the team exists is the caller's to check (records.Store).
func (n NewStaff) Check() []web.FieldError {
	var out []web.FieldError
	// Only a bare address: mail.ParseAddress also takes "Name <address>".
	if a, err := mail.ParseAddress(n.Email); err != nil || a.Address != n.Email || utf8.RuneCountInString(n.Email) > 254 {
		out = append(out, web.FieldError{Field: "email", Key: "staff.admin.staff.error_email"})
	}
	for _, f := range []web.FieldError{
		{Field: "given_name", Key: "staff.admin.staff.error_given_name"},
		{Field: "family_name", Key: "staff.admin.staff.error_family_name"},
	} {
		v := map[string]string{"given_name": n.GivenName, "family_name": n.FamilyName}[f.Field]
		switch {
		case strings.TrimSpace(v) == "":
			out = append(out, f)
		case utf8.RuneCountInString(v) > 100:
			out = append(out, web.FieldError{Field: f.Field, Key: "staff.admin.error_too_long"})
		}
	}
	switch {
	case !slices.Contains(StaffRoles, n.StaffRole):
		out = append(out, web.FieldError{Field: "staff_role", Key: "staff.admin.staff.error_role"})
	case n.StaffRole == StaffPortalAdmin && n.TeamID != nil:
		// Security: a team would let an admin reach its records.
		out = append(out, web.FieldError{Field: "team", Key: "staff.admin.staff.error_admin_team"})
	case n.StaffRole != StaffPortalAdmin && n.TeamID == nil:
		out = append(out, web.FieldError{Field: "team", Key: "staff.admin.staff.error_team"})
	}
	return out
}

// CreateStaff adds a member of staff with no password. Sign-in refuses an
// empty hash, so the account opens only when its holder sets a password
// with "Forgot your password?", which proves the address is theirs; their
// first sign-in then adds their phone. An address that already has an
// account, of any role, is ErrEmailTaken.
func (s *Store) CreateStaff(ctx context.Context, n NewStaff) (*Person, error) {
	if len(n.Check()) > 0 {
		return nil, ErrInvalidStaff
	}
	if _, err := s.ByEmail(ctx, n.Email); err == nil {
		return nil, ErrEmailTaken
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	p := &Person{Email: n.Email, GivenName: strings.TrimSpace(n.GivenName), FamilyName: strings.TrimSpace(n.FamilyName),
		Role: RoleStaff, StaffRole: n.StaffRole, TeamID: n.TeamID, Status: StatusActive, Locale: "en"}
	err := s.db.WithContext(ctx).Create(p).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) { // added since ByEmail looked: the unique index on lower(email)
		return nil, ErrEmailTaken
	}
	if err != nil {
		return nil, fmt.Errorf("accounts: create staff: %w", err)
	}
	return p, nil
}

// Staff lists every member of staff by name.
func (s *Store) Staff(ctx context.Context) ([]Person, error) {
	var out []Person
	err := s.db.WithContext(ctx).Where("role = ?", RoleStaff).Order("family_name, given_name, id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("accounts: staff: %w", err)
	}
	return out, nil
}

// StaffPerTeam counts the members of staff of each team, by team id.
func (s *Store) StaffPerTeam(ctx context.Context) (map[int64]int64, error) {
	var rows []struct{ TeamID, N int64 }
	err := s.db.WithContext(ctx).Model(&Person{}).Select("team_id, count(*) AS n").
		Where("role = ? AND team_id IS NOT NULL", RoleStaff).Group("team_id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("accounts: staff per team: %w", err)
	}
	out := map[int64]int64{}
	for _, r := range rows {
		out[r.TeamID] = r.N
	}
	return out, nil
}

// Search finds people, citizens and staff, whose email address or name
// holds q (any case), by name; at most limit. An empty q finds no one.
func (s *Store) Search(ctx context.Context, q string, limit int) ([]Person, error) {
	if q = strings.TrimSpace(q); q == "" {
		return nil, nil
	}
	like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(q)) + "%"
	var out []Person
	err := s.db.WithContext(ctx).Where("lower(email) LIKE ? OR lower(given_name || ' ' || family_name) LIKE ?", like, like).
		Order("family_name, given_name, id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("accounts: search: %w", err)
	}
	return out, nil
}

// SetStatus makes an account active or deactivated. Deactivation ends
// every grant at once (the access query wants an active account) and
// sign-in refuses the account; the caller ends its sessions.
func (s *Store) SetStatus(ctx context.Context, id int64, status string, at time.Time) error {
	if status != StatusActive && status != StatusDeactivated {
		return fmt.Errorf("accounts: no status %q", status)
	}
	res := s.db.WithContext(ctx).Model(&Person{}).Where("id = ?", id).
		Updates(map[string]any{"status": status, "updated_at": at})
	if res.Error != nil {
		return fmt.Errorf("accounts: set status: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}
