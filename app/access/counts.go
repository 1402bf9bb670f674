package access

import (
	"context"
	"fmt"
)

// Counts for a portal admin's page of a person. Security: numbers only;
// admins manage accounts and never learn which records a person holds.

// GrantCount counts person's grants, in force or not (revoked, ended, or
// waiting on a deactivated account).
func (s *Store) GrantCount(ctx context.Context, personID int64) (int64, error) {
	var n int64
	if err := s.db.WithContext(ctx).Model(&Grant{}).Where("person_id = ?", personID).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("access: grant count: %w", err)
	}
	return n, nil
}

// PendingInvitationCount counts the invitations still on their way to
// person (to their address, or accepted by them): not yet activated, not
// ended, and, before acceptance, not past expires_at. It belongs with the
// invitations feature once that has a package; the rule is the table's.
func (s *Store) PendingInvitationCount(ctx context.Context, personID int64, email string) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Raw(`SELECT count(*) FROM invitations
		WHERE (person_id = @person OR lower(email) = lower(@email))
		AND (state = 'accepted' OR (state IN ('code_sent', 'code_confirmed', 'invitation_sent') AND expires_at > @now))`,
		map[string]any{"person": personID, "email": email, "now": s.clock.Now()}).Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("access: pending invitations: %w", err)
	}
	return n, nil
}
