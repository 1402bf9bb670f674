package notify

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/gofiber/fiber/v2"

	"portal/app/web"
)

// digitsRE is what a phone keypad can send.
var digitsRE = regexp.MustCompile(`^[0-9*#]{1,32}$`)

// answerInput is the answer form, or the same as JSON.
type answerInput struct {
	Digits string `json:"digits" form:"digits"`
}

// answer simulates the person picking up a call from the outbox and
// pressing digits (default "#"): it hands the call's answer token to the
// VoiceAnswered hook, as a voice provider's callback would. It answers 204,
// so a browser's form post leaves the page as it is.
func (h *DevHandler) answer(c *fiber.Ctx) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return web.NotFound()
	}
	var in answerInput
	if len(c.Body()) > 0 {
		if err := c.BodyParser(&in); err != nil {
			return web.BadRequest("notify.outbox.bad_digits")
		}
	}
	if in.Digits == "" {
		in.Digits = "#"
	}
	if !digitsRE.MatchString(in.Digits) {
		return web.BadRequest("notify.outbox.bad_digits")
	}
	msg, err := h.outbox.Get(c.UserContext(), int64(id))
	if errors.Is(err, ErrNotFound) || (err == nil && msg.Channel != Voice) {
		return web.NotFound()
	}
	if err != nil {
		return err
	}
	if h.answered != nil {
		if err := h.answered(c.UserContext(), msg.AnswerToken, in.Digits); err != nil {
			return fmt.Errorf("notify: voice answered: %w", err)
		}
	}
	return c.SendStatus(fiber.StatusNoContent)
}
