package notify

import (
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
)

// outboxJSON is one message in /dev/outbox.json; tests and browser journeys
// read codes and links from it, so its shape is fixed.
type outboxJSON struct {
	ID        int64     `json:"id"`
	Channel   Channel   `json:"channel"`
	To        string    `json:"to"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	AnswerURL string    `json:"answer_url"` // calls only, else ""
}

// listJSON returns every message the outbox kept, newest first. The answer
// token itself is not listed: answering goes through answer_url.
func (h *DevHandler) listJSON(c *fiber.Ctx) error {
	msgs, err := h.outbox.List(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]outboxJSON, 0, len(msgs))
	for _, m := range msgs {
		j := outboxJSON{ID: m.ID, Channel: m.Channel, To: m.Recipient, Subject: m.Subject, Body: m.Body,
			CreatedAt: m.CreatedAt}
		if m.Channel == Voice {
			path, err := answerPath(c, m.ID)
			if err != nil {
				return fmt.Errorf("notify: route: %w", err)
			}
			// BASE_URL, never the request's Host: the same rule as emails.
			j.AnswerURL = h.baseURL + path
		}
		out = append(out, j)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(out)
}
