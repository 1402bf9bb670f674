package notify

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"portal/app/web"
)

// DevHandler serves the dev outbox: a page and a JSON list of every
// message the outbox provider kept, and a button that answers a call. The
// app mounts it only when APP_ENV=development; it shows recipients and
// codes, so it must never be reachable anywhere else.
type DevHandler struct {
	outbox  *Outbox
	render  *web.Renderer
	baseURL string
	// answered is told when someone answers a call in the outbox and
	// presses digits ("#" unless told otherwise), as a real voice
	// provider's callback would tell it.
	answered AnswerFunc
}

// NewDevHandler returns the dev outbox's handlers. baseURL is BASE_URL, used
// for the answer links in the JSON list; answered is told each answer.
func NewDevHandler(db *gorm.DB, r *web.Renderer, baseURL string, answered AnswerFunc) *DevHandler {
	return &DevHandler{outbox: NewOutbox(db, nil), render: r, baseURL: strings.TrimRight(baseURL, "/"), answered: answered}
}

// Mount adds the dev outbox's routes to r.
func (h *DevHandler) Mount(r fiber.Router) {
	r.Get("/dev/outbox", h.list).Name("notify.outbox")
	r.Get("/dev/outbox.json", h.listJSON).Name("notify.outbox_json")
	r.Post("/dev/outbox/:id<int>/answer", web.CSRFExempt, h.answer).Name("notify.outbox_answer")
}

// answerPath is the route of a message's answer button.
func answerPath(c *fiber.Ctx, id int64) (string, error) {
	return c.GetRouteURL("notify.outbox_answer", fiber.Map{"id": id})
}
