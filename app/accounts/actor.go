package accounts

import (
	"github.com/gofiber/fiber/v2"

	"portal/app/web"
)

const actorKey = "accounts.actor"

// Actor is the signed-in person of a request that passed LoadActor: every
// handler, middleware and the layout read it there, so a request loads
// the person once. Nil elsewhere.
func Actor(c *fiber.Ctx) *Person {
	p, _ := c.Locals(actorKey).(*Person)
	return p
}

// LoadActor loads the signed-in person once for the whole request (the
// signed-in group puts it right after auth.RequireSignedIn) and gives the
// layout its viewer.
func (s *Store) LoadActor() fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := s.Get(c.UserContext(), *web.CurrentSession(c).PersonID)
		if err != nil {
			return err
		}
		c.Locals(actorKey, p)
		web.SetViewer(c, viewerOf(p))
		return c.Next()
	}
}
