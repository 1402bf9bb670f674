package web

import (
	"context"
	"encoding/json"

	"github.com/gofiber/fiber/v2"
)

// Flash is a one-time message shown on the next page: Key is a message id.
type Flash struct {
	Kind string // "success" or "important"
	Key  string
}

// AddFlash queues a message for the next page this browser renders.
func (s *Sessions) AddFlash(c *fiber.Ctx, kind, key string) error {
	sess, err := s.Ensure(c)
	if err != nil {
		return err
	}
	var flashes []Flash
	_ = json.Unmarshal(sess.Flash, &flashes)
	flashes = append(flashes, Flash{Kind: kind, Key: key})
	b, err := json.Marshal(flashes)
	if err != nil {
		return err
	}
	sess.Flash = b
	return s.db.WithContext(c.UserContext()).Model(&Session{}).Where("id = ?", sess.ID).Update("flash", b).Error
}

// PopFlashes returns and clears the session's queued messages.
func (s *Sessions) PopFlashes(ctx context.Context, sess *Session) ([]Flash, error) {
	if len(sess.Flash) == 0 || string(sess.Flash) == "null" {
		return nil, nil
	}
	var flashes []Flash
	if err := json.Unmarshal(sess.Flash, &flashes); err != nil {
		return nil, err
	}
	sess.Flash = nil
	err := s.db.WithContext(ctx).Model(&Session{}).Where("id = ?", sess.ID).Update("flash", nil).Error
	return flashes, err
}
