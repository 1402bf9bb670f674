// Package invitations is how a person comes to hold an account for a
// record (guides 000, 001, 003): a worker invites an email address to one
// or more records; the person reads back the emailed code; the worker
// confirms it with the named checks and sends the invitation; the person
// accepts it at "Account setup"; the worker activates it, which grants
// access (package access).
//
// Invariants:
//   - The code (8 characters of Crockford base32, never like a 6-digit
//     sign-in code) and the link's token (256 bits) are stored only as
//     keyed hashes; five wrong code entries void the invitation.
//   - Every expiry is in the queries: a code or link past expires_at (14
//     days) does nothing, whatever a job has or has not done.
//   - Staff reach an invitation only through their team (every staff
//     method takes the team id); a person only through their own email.
//   - An invitation is accepted only by the account with the invited email
//     (signed in at AAL2), and the link is used once.
package invitations

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
	"unicode"

	"gorm.io/gorm"

	"portal/app/clock"
	"portal/app/db"
	"portal/app/keyhash"
	"portal/app/web"
)

// Numbers of the lifecycle.
const (
	Lifetime      = 14 * 24 * time.Hour // a code, then a link, works this long
	MaxCodeErrors = 5                   // wrong code entries before the invitation is void
	codeLength    = 8
)

// States an invitation moves through.
const (
	CodeSent       = "code_sent"
	CodeConfirmed  = "code_confirmed"
	InvitationSent = "invitation_sent"
	Accepted       = "accepted"
	Active         = "active"
	Declined       = "declined"
	Withdrawn      = "withdrawn"
	Void           = "void"
)

// Errors of the lifecycle.
var (
	ErrNotFound  = fmt.Errorf("invitations: %w", db.ErrNotFound)
	ErrWrongCode = errors.New("invitations: wrong code")
	ErrVoid      = errors.New("invitations: void after too many wrong codes")
)

// Invitation is one invitation of an email address to records.
type Invitation struct {
	ID                   int64
	Email                string
	Lang                 string // the emails' language while the person has no account ("en", "cy")
	TeamID               int64
	InvitedBy            int64
	State                string
	CodeHash             string
	CodeFailures         int
	TokenHash            *string
	PersonID             *int64
	CheckIdentity        bool
	CheckResponsibility  bool
	CheckConfidentiality bool
	CreatedAt            time.Time
	ExpiresAt            time.Time
	CodeConfirmedAt      *time.Time
	SentAt               *time.Time
	AcceptedAt           *time.Time
	ActivatedAt          *time.Time
	EndedAt              *time.Time

	Records []Item `gorm:"-"`
}

// TableName keeps GORM on the invitations table.
func (Invitation) TableName() string { return "invitations" }

// Item is one record of an invitation.
type Item struct {
	InvitationID int64
	RecordID     int64
	Relationship string
	Accepted     bool
	// Of the record, for pages: its name is shown to staff and to the
	// invited person, who is being given access to it.
	GivenName, FamilyName, CaseReference string
}

// Name is the record's name.
func (i Item) Name() string { return strings.TrimSpace(i.GivenName + " " + i.FamilyName) }

// Expired reports whether the code or link has stopped working.
func (inv Invitation) Expired(now time.Time) bool {
	switch inv.State {
	case CodeSent, CodeConfirmed, InvitationSent:
		return !now.Before(inv.ExpiresAt)
	}
	return false
}

// Status is the state as a page shows it: expired when it has.
func (inv Invitation) Status(now time.Time) string {
	if inv.Expired(now) {
		return "expired"
	}
	return inv.State
}

// Store keeps invitations.
type Store struct {
	db    *gorm.DB
	clock clock.Clock
	key   []byte
}

// NewStore returns the store; key keys the code and token hashes.
func NewStore(db *gorm.DB, clk clock.Clock, key []byte) *Store {
	return &Store{db: db, clock: clk, key: key}
}

func (s *Store) hash(kind, v string) string {
	return keyhash.Hex(s.key, "invitation:"+kind, v)
}

// crockford is Crockford's base32 alphabet: no I, L, O or U.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewCode returns a code of 8 Crockford base32 characters, shown as
// "ABCD-EFGH" so it never looks like a 6-digit sign-in code.
func NewCode() (string, error) {
	var b strings.Builder
	for i := 0; i < codeLength; i++ {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(crockford))))
		if err != nil {
			return "", err
		}
		if i == codeLength/2 {
			b.WriteByte('-')
		}
		b.WriteByte(crockford[n.Int64()])
	}
	return b.String(), nil
}

// NormaliseCode reads a code as a person says it and a worker types it:
// any case, with or without the hyphen or spaces, I and L for 1, O for 0.
func NormaliseCode(typed string) string {
	// Every kind of space goes, not only " ": a code copied from an email
	// can carry a no-break space or a tab, and a space left inside made
	// the right code count as a wrong one (found by FuzzNormaliseCode).
	typed = strings.Map(func(r rune) rune {
		if r == '-' || unicode.IsSpace(r) {
			return -1
		}
		return r
	}, typed)
	r := strings.NewReplacer("I", "1", "L", "1", "O", "0")
	return r.Replace(strings.ToUpper(typed))
}

// Create records a new invitation of email (its emails in lang until the
// person has an account) to items for team, by invitedBy,
// and returns it with its code (to email, never to keep).
func (s *Store) Create(ctx context.Context, email, lang string, teamID, invitedBy int64, items []Item) (*Invitation, string, error) {
	code, err := NewCode()
	if err != nil {
		return nil, "", err
	}
	now := s.clock.Now()
	inv := &Invitation{Email: strings.TrimSpace(email), Lang: lang, TeamID: teamID, InvitedBy: invitedBy, State: CodeSent,
		CodeHash: s.hash("code", NormaliseCode(code)), CreatedAt: now, ExpiresAt: now.Add(Lifetime)}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(inv).Error; err != nil {
			return err
		}
		for _, it := range items {
			if err := tx.Exec(`INSERT INTO invitation_records (invitation_id, record_id, relationship) VALUES (?, ?, ?)`,
				inv.ID, it.RecordID, it.Relationship).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("invitations: create: %w", err)
	}
	return inv, code, nil
}

// Checks are the named checks a worker makes before sending an invitation.
type Checks struct {
	Identity, Responsibility, Confidentiality bool
}

// All reports whether every check was made.
func (c Checks) All() bool { return c.Identity && c.Responsibility && c.Confidentiality }

// ConfirmCode checks the code the person read back. A wrong one counts; the
// fifth voids the invitation (ErrVoid). The right one, with every check
// made, moves the invitation to code_confirmed.
func (s *Store) ConfirmCode(ctx context.Context, teamID, id int64, code string, checks Checks) (remaining int, err error) {
	now := s.clock.Now()
	// outcome is returned after the commit: a wrong entry must be counted,
	// and returning it from the transaction would roll the count back.
	var outcome error
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var inv Invitation
		if err := tx.Raw(`SELECT * FROM invitations WHERE id = ? AND team_id = ? AND state = ? AND expires_at > ? FOR UPDATE`,
			id, teamID, CodeSent, now).Scan(&inv).Error; err != nil {
			return err
		}
		if inv.ID == 0 {
			return ErrNotFound
		}
		if !hmac.Equal([]byte(inv.CodeHash), []byte(s.hash("code", NormaliseCode(code)))) { // Security: constant time
			remaining = MaxCodeErrors - inv.CodeFailures - 1
			outcome = ErrWrongCode
			if remaining <= 0 {
				outcome = ErrVoid
				return tx.Exec(`UPDATE invitations SET code_failures = code_failures + 1, state = ?, ended_at = ? WHERE id = ?`,
					Void, now, id).Error
			}
			return tx.Exec(`UPDATE invitations SET code_failures = code_failures + 1 WHERE id = ?`, id).Error
		}
		remaining = MaxCodeErrors - inv.CodeFailures
		return tx.Exec(`UPDATE invitations SET state = ?, code_confirmed_at = ?, check_identity = ?, check_responsibility = ?,
			check_confidentiality = ? WHERE id = ?`, CodeConfirmed, now, checks.Identity, checks.Responsibility,
			checks.Confidentiality, id).Error
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return 0, err
		}
		return 0, fmt.Errorf("invitations: confirm code: %w", err)
	}
	return remaining, outcome
}

// Send makes the link's token for a confirmed invitation (or a new one for
// an invitation already sent: "Resend") and returns it; the link works for
// Lifetime from now.
func (s *Store) Send(ctx context.Context, teamID, id int64) (string, error) {
	token, err := web.RandomToken()
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	res := s.db.WithContext(ctx).Exec(`UPDATE invitations SET state = ?, token_hash = ?, sent_at = ?, expires_at = ?
		WHERE id = ? AND team_id = ? AND (state = ? OR state = ?)`, InvitationSent, s.hash("token", token), now,
		now.Add(Lifetime), id, teamID, CodeConfirmed, InvitationSent)
	if res.Error != nil {
		return "", fmt.Errorf("invitations: send: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return "", ErrNotFound
	}
	return token, nil
}

// NewCodeFor replaces the code of an invitation still at the code step
// ("Resend" there) and gives it another Lifetime; wrong entries so far stay.
func (s *Store) NewCodeFor(ctx context.Context, teamID, id int64) (*Invitation, string, error) {
	code, err := NewCode()
	if err != nil {
		return nil, "", err
	}
	now := s.clock.Now()
	res := s.db.WithContext(ctx).Exec(`UPDATE invitations SET code_hash = ?, expires_at = ? WHERE id = ? AND team_id = ? AND state = ?`,
		s.hash("code", NormaliseCode(code)), now.Add(Lifetime), id, teamID, CodeSent)
	if res.Error != nil {
		return nil, "", fmt.Errorf("invitations: new code: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, "", ErrNotFound
	}
	inv, err := s.InTeam(ctx, teamID, id)
	return inv, code, err
}

// Withdraw ends an invitation that is not yet active.
func (s *Store) Withdraw(ctx context.Context, teamID, id int64) error {
	res := s.db.WithContext(ctx).Exec(`UPDATE invitations SET state = ?, ended_at = ? WHERE id = ? AND team_id = ?
		AND state IN (?, ?, ?, ?)`, Withdrawn, s.clock.Now(), id, teamID, CodeSent, CodeConfirmed, InvitationSent, Accepted)
	if res.Error != nil {
		return fmt.Errorf("invitations: withdraw: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// InTeam returns invitation id of team teamID, with its records.
func (s *Store) InTeam(ctx context.Context, teamID, id int64) (*Invitation, error) {
	var inv Invitation
	err := s.db.WithContext(ctx).Where("id = ? AND team_id = ?", id, teamID).Take(&inv).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("invitations: in team: %w", err)
	}
	list := []Invitation{inv}
	if err := s.withItems(ctx, list); err != nil {
		return nil, err
	}
	return &list[0], nil
}

// ForRecord lists the invitations that include record recordID, newest
// first (the record page's history; the caller checked the team).
func (s *Store) ForRecord(ctx context.Context, recordID int64) ([]Invitation, error) {
	var out []Invitation
	err := s.db.WithContext(ctx).Raw(`SELECT i.* FROM invitations i WHERE EXISTS (SELECT 1 FROM invitation_records ir
		WHERE ir.invitation_id = i.id AND ir.record_id = ?) ORDER BY i.created_at DESC, i.id DESC`, recordID).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("invitations: for record: %w", err)
	}
	return out, s.withItems(ctx, out)
}

// AwaitingActivation lists the team's accepted invitations, oldest first.
func (s *Store) AwaitingActivation(ctx context.Context, teamID int64) ([]Invitation, error) {
	var out []Invitation
	err := s.db.WithContext(ctx).Where("team_id = ? AND state = ?", teamID, Accepted).
		Order("accepted_at, id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("invitations: awaiting activation: %w", err)
	}
	return out, s.withItems(ctx, out)
}

// ByToken returns the invitation a link's token opens: sent, not yet
// accepted, not expired. Anything else is ErrNotFound.
func (s *Store) ByToken(ctx context.Context, token string) (*Invitation, error) {
	var inv Invitation
	err := s.db.WithContext(ctx).Where("token_hash = ? AND state = ? AND expires_at > ?",
		s.hash("token", token), InvitationSent, s.clock.Now()).Take(&inv).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("invitations: by token: %w", err)
	}
	return &inv, nil
}

// PendingFor lists the invitations sent to email that can be accepted now
// (account setup), with their records.
func (s *Store) PendingFor(ctx context.Context, email string) ([]Invitation, error) {
	var out []Invitation
	err := s.db.WithContext(ctx).Where("lower(email) = lower(?) AND state = ? AND expires_at > ?",
		strings.TrimSpace(email), InvitationSent, s.clock.Now()).Order("created_at, id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("invitations: pending: %w", err)
	}
	return out, s.withItems(ctx, out)
}

// PendingCount counts the invitations still on their way to a person (to
// their address, or accepted by them): not yet active, not ended, and
// before acceptance not expired. For an admin's page: a number only.
func (s *Store) PendingCount(ctx context.Context, personID int64, email string) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Raw(`SELECT count(*) FROM invitations
		WHERE (person_id = @person OR lower(email) = lower(@email))
		AND (state = @accepted OR (state IN (@code, @confirmed, @sent) AND expires_at > @now))`,
		map[string]any{"person": personID, "email": strings.TrimSpace(email), "now": s.clock.Now(), "accepted": Accepted,
			"code": CodeSent, "confirmed": CodeConfirmed, "sent": InvitationSent}).Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("invitations: pending count: %w", err)
	}
	return n, nil
}

// Choice is what the person ticked at account setup: record ids per
// invitation.
type Choice map[int64][]int64

// Accept records account setup for personID (whose email is email): each
// pending invitation with a ticked record becomes accepted with those
// records; one with none ticked is declined. It returns the accepted ids.
func (s *Store) Accept(ctx context.Context, personID int64, email string, ticked Choice) ([]int64, error) {
	pending, err := s.PendingFor(ctx, email)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	var accepted []int64
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, inv := range pending {
			state := Declined
			for _, rid := range ticked[inv.ID] {
				res := tx.Exec(`UPDATE invitation_records SET accepted = true WHERE invitation_id = ? AND record_id = ?`, inv.ID, rid)
				if res.Error != nil {
					return res.Error
				}
				if res.RowsAffected > 0 {
					state = Accepted
				}
			}
			// Security: the link is used once: its token goes with the acceptance.
			if err := tx.Exec(`UPDATE invitations SET state = ?, person_id = ?, accepted_at = ?, token_hash = NULL,
				ended_at = CASE WHEN ? = 'declined' THEN ?::timestamptz END WHERE id = ? AND state = ?`,
				state, personID, now, state, now, inv.ID, InvitationSent).Error; err != nil {
				return err
			}
			if state == Accepted {
				accepted = append(accepted, inv.ID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("invitations: accept: %w", err)
	}
	return accepted, nil
}

// Decline records "No" at account setup: every pending invitation for
// email is declined.
func (s *Store) Decline(ctx context.Context, personID int64, email string) error {
	return s.db.WithContext(ctx).Exec(`UPDATE invitations SET state = ?, person_id = ?, ended_at = ?, token_hash = NULL
		WHERE lower(email) = lower(?) AND state = ? AND expires_at > ?`, Declined, personID, s.clock.Now(),
		strings.TrimSpace(email), InvitationSent, s.clock.Now()).Error
}

// Activate marks an accepted invitation of team active inside tx (the
// caller grants access in the same transaction) and returns it.
func (s *Store) Activate(ctx context.Context, tx *gorm.DB, teamID, id int64) (*Invitation, error) {
	res := tx.WithContext(ctx).Exec(`UPDATE invitations SET state = ?, activated_at = ? WHERE id = ? AND team_id = ? AND state = ?`,
		Active, s.clock.Now(), id, teamID, Accepted)
	if res.Error != nil {
		return nil, fmt.Errorf("invitations: activate: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, ErrNotFound
	}
	var inv Invitation
	if err := tx.WithContext(ctx).Take(&inv, id).Error; err != nil {
		return nil, err
	}
	list := []Invitation{inv}
	if err := withItems(ctx, tx, list); err != nil {
		return nil, err
	}
	return &list[0], nil
}

func (s *Store) withItems(ctx context.Context, list []Invitation) error {
	return withItems(ctx, s.db, list)
}

// withItems fills each invitation's records.
func withItems(ctx context.Context, db *gorm.DB, list []Invitation) error {
	if len(list) == 0 {
		return nil
	}
	ids := make([]int64, len(list))
	for i, inv := range list {
		ids[i] = inv.ID
	}
	var items []Item
	err := db.WithContext(ctx).Raw(`SELECT ir.invitation_id, ir.record_id, ir.relationship, ir.accepted,
		r.given_name, r.family_name, r.case_reference FROM invitation_records ir JOIN records r ON r.id = ir.record_id
		WHERE ir.invitation_id IN ? ORDER BY r.given_name, r.family_name, r.id`, ids).Scan(&items).Error
	if err != nil {
		return fmt.Errorf("invitations: records: %w", err)
	}
	for i := range list {
		for _, it := range items {
			if it.InvitationID == list[i].ID {
				list[i].Records = append(list[i].Records, it)
			}
		}
	}
	return nil
}
