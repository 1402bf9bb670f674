package auth

import (
	"github.com/gofiber/fiber/v2"

	"portal/app/accounts"
	"portal/app/metrics"
)

// count counts a second step's outcome by its way (viaText …) when the
// check signs in; a check before a change is not a sign-in.
// Security: the metrics learn the way and the outcome, never who.
func (pc *phoneCheck) count(via, outcome string) {
	if pc.purpose == purposePhone {
		pc.h.Metrics.SignIn(via, outcome)
	}
}

// wrongCode is phoneCodeFailed (a wrong texted code), counted.
func (pc *phoneCheck) wrongCode(c *fiber.Ctx, p *accounts.Person, via string) (locked bool, err error) {
	locked, err = pc.h.phoneCodeFailed(c, p)
	if err == nil {
		pc.count(via, wrongOutcome(locked))
	}
	return locked, err
}

// wrongTry is Handler.wrongTry (a wrong app or recovery code), counted.
func (pc *phoneCheck) wrongTry(c *fiber.Ctx, p *accounts.Person, via string) (locked bool, err error) {
	locked, err = pc.h.wrongTry(c, p)
	if err == nil {
		pc.count(via, wrongOutcome(locked))
	}
	return locked, err
}

// wrongOutcome is a wrong code's outcome: failed, or locked when it was
// the one that locked the email.
func wrongOutcome(locked bool) string {
	if locked {
		return metrics.SignInLocked
	}
	return metrics.SignInFailed
}
