package factors

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"gorm.io/gorm"
)

// Passkeys (WebAuthn): discoverable credentials with user verification,
// attestation "none", for the relying party that BASE_URL names. A passkey
// proves both the device and the person (something held, and a PIN or a
// fingerprint on it), so it signs in alone.

// NewRelyingParty is the WebAuthn relying party for baseURL: its host is
// the RP ID, its origin the only origin accepted. WebAuthn takes a domain,
// never an address: a loopback address (a test server) stands for
// localhost, where browsers allow passkeys over plain http; any other
// address is refused.
func NewRelyingParty(baseURL, name string) (*webauthn.WebAuthn, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("factors: BASE_URL %q names no host for passkeys", baseURL)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return nil, fmt.Errorf("factors: BASE_URL must name a domain for passkeys, not the address %s", host)
		}
		host = "localhost"
	}
	origin := u.Scheme + "://" + host
	if port := u.Port(); port != "" {
		origin += ":" + port
	}
	return webauthn.New(&webauthn.Config{RPID: host, RPDisplayName: name, RPOrigins: []string{origin}})
}

// RegistrationOptions are what every new passkey must be: discoverable,
// verified by the person on the device, no attestation asked for.
func RegistrationOptions(existing []webauthn.Credential) []webauthn.RegistrationOption {
	exclude := make([]protocol.CredentialDescriptor, len(existing))
	for i := range existing {
		exclude[i] = existing[i].Descriptor()
	}
	return []webauthn.RegistrationOption{
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification: protocol.VerificationRequired}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithExclusions(exclude), // the same device twice says so
	}
}

// LoginOptions ask the device to verify its person.
var LoginOptions = []webauthn.LoginOption{webauthn.WithUserVerification(protocol.VerificationRequired)}

// PasskeyUser is a person as WebAuthn sees them: a random handle, the
// email address as the name a device lists, their passkeys.
type PasskeyUser struct {
	PersonID    int64
	Handle      []byte
	Email, Name string
	Credentials []webauthn.Credential
}

func (u *PasskeyUser) WebAuthnID() []byte                         { return u.Handle }
func (u *PasskeyUser) WebAuthnName() string                       { return u.Email }
func (u *PasskeyUser) WebAuthnDisplayName() string                { return u.Name }
func (u *PasskeyUser) WebAuthnCredentials() []webauthn.Credential { return u.Credentials }

// PasskeyUserOf is the person as WebAuthn sees them, their handle made
// (random, 32 bytes) if they have none yet.
func (s *Store) PasskeyUserOf(ctx context.Context, personID int64, email, name string) (*PasskeyUser, error) {
	handle := make([]byte, 32)
	if _, err := rand.Read(handle); err != nil {
		return nil, err
	}
	if err := s.db.WithContext(ctx).Exec(`UPDATE people SET webauthn_id = ? WHERE id = ? AND webauthn_id IS NULL`,
		handle, personID).Error; err != nil {
		return nil, fmt.Errorf("factors: passkey user: %w", err)
	}
	u := &PasskeyUser{PersonID: personID, Email: email, Name: name}
	// Row: GORM would read a []byte destination as a list of rows.
	if err := s.db.WithContext(ctx).Raw(`SELECT webauthn_id FROM people WHERE id = ?`, personID).Row().Scan(&u.Handle); err != nil {
		return nil, fmt.Errorf("factors: passkey user: %w", err)
	}
	creds, err := s.credentials(ctx, personID)
	u.Credentials = creds
	return u, err
}

// PasskeyUserByHandle is the person whose handle a passkey gave, with
// their passkeys; ErrWrong when no active person has it.
func (s *Store) PasskeyUserByHandle(ctx context.Context, handle []byte) (*PasskeyUser, error) {
	var row struct {
		ID                       int64
		Email, GivenName, Family string
	}
	err := s.db.WithContext(ctx).Raw(`SELECT id, email, given_name, family_name AS family FROM people
		WHERE webauthn_id = ? AND status = 'active'`, handle).Scan(&row).Error
	if err != nil {
		return nil, fmt.Errorf("factors: passkey user: %w", err)
	}
	if row.ID == 0 || len(handle) == 0 {
		return nil, ErrWrong
	}
	creds, err := s.credentials(ctx, row.ID)
	return &PasskeyUser{PersonID: row.ID, Handle: handle, Email: row.Email,
		Name: strings.TrimSpace(row.GivenName + " " + row.Family), Credentials: creds}, err
}

func (s *Store) credentials(ctx context.Context, personID int64) ([]webauthn.Credential, error) {
	var rows []json.RawMessage
	if err := s.db.WithContext(ctx).Raw(`SELECT credential FROM passkeys WHERE person_id = ? ORDER BY id`, personID).
		Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("factors: passkeys: %w", err)
	}
	out := make([]webauthn.Credential, len(rows))
	for i, r := range rows {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			return nil, fmt.Errorf("factors: passkeys: %w", err)
		}
	}
	return out, nil
}

// AddPasskey keeps a new passkey under the name its person gave it.
func (s *Store) AddPasskey(ctx context.Context, personID int64, name string, cred *webauthn.Credential) error {
	b, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	err = s.db.WithContext(ctx).Exec(`INSERT INTO passkeys (person_id, name, credential_id, credential, created_at)
		VALUES (?, ?, ?, ?, ?)`, personID, name, cred.ID, string(b), s.clock.Now()).Error
	if err != nil {
		return fmt.Errorf("factors: add passkey: %w", err)
	}
	return nil
}

// ErrCloned is a passkey whose signature counter went back: a copy of it
// may exist, so it signs nobody in.
var ErrCloned = errors.New("factors: passkey counter went back")

// PasskeyUsed records a sign-in with cred (its new counter and flags) and
// refuses one the library flagged as possibly cloned.
func (s *Store) PasskeyUsed(ctx context.Context, personID int64, cred *webauthn.Credential) error {
	if cred.Authenticator.CloneWarning {
		return ErrCloned
	}
	b, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE passkeys SET credential = ?, last_used_at = ? WHERE person_id = ? AND credential_id = ?`,
			string(b), s.clock.Now(), personID, cred.ID)
		if res.Error == nil && res.RowsAffected == 0 {
			return ErrWrong
		}
		return res.Error
	})
}

// HasPasskey reports whether the person has a passkey: one indexed
// lookup, for checks on every staff request (STAFF_PASSKEYS).
func (s *Store) HasPasskey(ctx context.Context, personID int64) (bool, error) {
	var ok bool
	err := s.db.WithContext(ctx).Raw(`SELECT EXISTS (SELECT 1 FROM passkeys WHERE person_id = ?)`, personID).Scan(&ok).Error
	if err != nil {
		return false, fmt.Errorf("factors: passkeys: %w", err)
	}
	return ok, nil
}

// RemovePasskey forgets one of the person's passkeys.
func (s *Store) RemovePasskey(ctx context.Context, personID, id int64) error {
	res := s.db.WithContext(ctx).Exec(`DELETE FROM passkeys WHERE person_id = ? AND id = ?`, personID, id)
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrNotFound
	}
	return res.Error
}

// SameHandle reports whether a passkey's handle is the person's.
func SameHandle(a, b []byte) bool { return len(a) > 0 && bytes.Equal(a, b) }
