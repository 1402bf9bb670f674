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
