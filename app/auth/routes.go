package auth

import "github.com/gofiber/fiber/v2"

// MountPublic adds the routes anyone may reach.
func (h *Handler) MountPublic(r fiber.Router) {
	r.Get("/session/status", h.sessionStatus).Name("session.status")
	r.Get("/session/timeout", h.sessionTimeout).Name("session.timeout")
	r.Get("/signed-out", h.signedOut).Name("session.signed_out")
	r.Get("/sign-in", h.signInForm).Name("auth.sign_in")
	r.Post("/sign-in", h.signIn).Name("auth.sign_in.post")
	r.Get("/sign-in/confirm", h.confirmIdentity).Name("auth.confirm")
	r.Post("/sign-in/confirm/send", h.confirmSend).Name("auth.confirm.send")
	r.Post("/sign-in/confirm/verify", h.confirmVerify).Name("auth.confirm.verify")
	r.Get("/sign-up", h.signUpForm).Name("auth.sign_up")
	r.Post("/sign-up/send", h.signUpSend).Name("auth.sign_up.send")
	r.Post("/sign-up/verify", h.signUpVerify).Name("auth.sign_up.verify")
	r.Get("/sign-up/details", h.signUpDetails).Name("auth.sign_up.details")
	r.Post("/sign-up/details", h.signUpCreate).Name("auth.sign_up.create")
	r.Get("/forgot-password", h.resetForm).Name("auth.reset")
	r.Post("/forgot-password/send", h.resetSend).Name("auth.reset.send")
	r.Post("/forgot-password/verify", h.resetVerify).Name("auth.reset.verify")
	r.Post("/forgot-password/password", h.resetPassword).Name("auth.reset.password")
}

// MountSignedIn adds the routes that need a signed-in session.
func (h *Handler) MountSignedIn(r fiber.Router) {
	r.Post("/session/extend", h.sessionExtend).Name("session.extend")
	r.Post("/sign-out", h.signOut).Name("session.sign_out")
}
