package accounts

import (
	"context"
	"fmt"
)

// Names returns the full names of the people with ids, by id, in one
// query (the audit search names each page's actors). An id with no
// person (an account deleted since) is absent; a person who gave no name
// is there with "".
func (s *Store) Names(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var people []Person
	err := s.db.WithContext(ctx).Select("id", "given_name", "family_name").Where("id IN ?", ids).Find(&people).Error
	if err != nil {
		return nil, fmt.Errorf("accounts: names: %w", err)
	}
	for _, p := range people {
		out[p.ID] = p.FullName()
	}
	return out, nil
}
