package accounts

import (
	"github.com/gofiber/fiber/v2"

	"portal/app/web"
)

const actorKey = "accounts.actor"

// Actor is the signed-in person of the request, whole, read once however
// many handlers ask (and not at all by a request that needs no more than
// the session's web.Viewer: most pages).
func (s *Store) Actor(c *fiber.Ctx) (*Person, error) {
	if p, ok := c.Locals(actorKey).(*Person); ok {
		return p, nil
	}
	p, err := s.Get(c.UserContext(), *web.CurrentSession(c).PersonID)
	if err != nil {
		return nil, err
	}
	c.Locals(actorKey, p)
	return p, nil
}
