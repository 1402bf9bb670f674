package records

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// ErrTeamNameTaken says another team has the name, in any case.
var ErrTeamNameTaken = errors.New("records: team name taken")

// AddTeam adds a team whose name no other team has, compared without
// regard to case (a portal admin's "Add a team"); the unique index on
// lower(name) decides, so two machines cannot both add "North".
func (s *Store) AddTeam(ctx context.Context, name string) (*Team, error) {
	t := &Team{Name: strings.TrimSpace(name)}
	err := s.db.WithContext(ctx).Create(t).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return nil, ErrTeamNameTaken
	}
	if err != nil {
		return nil, fmt.Errorf("records: add team: %w", err)
	}
	return t, nil
}

// Team returns team id.
func (s *Store) Team(ctx context.Context, id int64) (*Team, error) {
	var t Team
	err := s.db.WithContext(ctx).Take(&t, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("records: team: %w", err)
	}
	return &t, nil
}

// RecordsPerTeam counts the records of each team, by team id: a number
// only, for portal admins, who never see the records themselves.
func (s *Store) RecordsPerTeam(ctx context.Context) (map[int64]int64, error) {
	var rows []struct{ TeamID, N int64 }
	err := s.db.WithContext(ctx).Model(&Record{}).Select("team_id, count(*) AS n").Group("team_id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("records: records per team: %w", err)
	}
	out := map[int64]int64{}
	for _, r := range rows {
		out[r.TeamID] = r.N
	}
	return out, nil
}
