package auth

import (
	"github.com/gofiber/fiber/v2"

	"portal/app/web"
)

// MountPublic adds the routes anyone may reach. The sign-in phone check
// refuses anyone who has not passed the password step (AAL1).
func (h *Handler) MountPublic(r fiber.Router) {
	r.Get("/session/status", web.PassiveRoute, h.sessionStatus).Name("session.status")
	r.Get("/session/timeout", web.PassiveRoute, h.sessionTimeout).Name("session.timeout")
	r.Get("/signed-out", h.signedOut).Name("session.signed_out")
	r.Get("/sign-in", h.signInForm).Name("auth.sign_in")
	r.Post("/sign-in", h.signIn).Name("auth.sign_in.post")
	mountPhoneCheck(r, h.signInCheck(), "auth.confirm")
	r.Post("/sign-in/confirm/email/send", h.reenrolSend).Name("auth.confirm.email.send")
	r.Post("/sign-in/confirm/email/verify", h.reenrolVerify).Name("auth.confirm.email.verify")
	r.Post("/sign-in/passkey/options", h.passkeyLoginOptions).Name("auth.passkey.options")
	r.Post("/sign-in/passkey", h.passkeySignIn).Name("auth.passkey")
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
	r.Post("/session/extend", web.BeforeTerms, web.Repeatable, h.sessionExtend).Name("session.extend")
	r.Post("/sign-out", web.BeforeTerms, h.signOut).Name("session.sign_out")
	r.Get("/session/device-key", web.PassiveRoute, h.deviceKey).Name("session.device_key")
	mountPhoneCheck(r, h.emailChangeCheck(), "auth.email_change")
	r.Get("/profile/email/new", h.emailChangeForm).Name("auth.email_change.new")
	r.Post("/profile/email/new/send", h.emailChangeSend).Name("auth.email_change.new.send")
	r.Post("/profile/email/new/verify", h.emailChangeVerify).Name("auth.email_change.new.verify")
	h.mountMethods(r)
}

// mountMethods adds "Sign-in methods" and its changes.
func (h *Handler) mountMethods(r fiber.Router) {
	r.Get("/profile/sign-in-methods", h.methodsShow).Name("auth.methods")
	mountPhoneCheck(r, h.methodsCheck(), "auth.methods_check")
	mountPhoneCheck(r, h.phoneChange(), "auth.methods.phone")
	r.Get("/profile/sign-in-methods/app", h.appForm).Name("auth.methods.app")
	r.Get("/profile/sign-in-methods/app/qr.png", h.appQR).Name("auth.methods.app_qr")
	r.Post("/profile/sign-in-methods/app", h.appAdd).Name("auth.methods.app.add")
	r.Post("/profile/sign-in-methods/app/remove", h.appRemove).Name("auth.methods.app.remove")
	r.Post("/profile/sign-in-methods/recovery-codes", h.recoveryCodesNew).Name("auth.methods.recovery")
	r.Get("/profile/sign-in-methods/passkeys/new", h.passkeyForm).Name("auth.methods.passkey")
	r.Post("/profile/sign-in-methods/passkeys/options", h.passkeyRegisterOptions).Name("auth.methods.passkey.options")
	r.Post("/profile/sign-in-methods/passkeys", h.passkeyAdd).Name("auth.methods.passkey.add")
	r.Post("/profile/sign-in-methods/passkeys/:passkey<int>/remove", h.passkeyRemove).Name("auth.methods.passkey.remove")
}

// mountPhoneCheck adds a phone check's pages under its base path.
func mountPhoneCheck(r fiber.Router, pc *phoneCheck, name string) {
	r.Get(pc.base, pc.show).Name(name)
	r.Post(pc.base+"/send", pc.send).Name(name + ".send")
	r.Post(pc.base+"/send/status", web.Repeatable, pc.textStatus).Name(name + ".send.status")
	r.Post(pc.base+"/verify", pc.verify).Name(name + ".verify")
	r.Post(pc.base+"/call", pc.call).Name(name + ".call")
	r.Post(pc.base+"/call/continue", web.Repeatable, pc.callContinue).Name(name + ".call.continue")
	r.Post(pc.base+"/app", pc.app).Name(name + ".app")
	r.Post(pc.base+"/passkey/options", pc.h.passkeyLoginOptions).Name(name + ".passkey.options")
	r.Post(pc.base+"/passkey", pc.passkey).Name(name + ".passkey")
	if pc.recovery {
		r.Get(pc.base+"/recovery", pc.recoveryForm).Name(name + ".recovery")
		r.Post(pc.base+"/recovery", pc.recoveryUse).Name(name + ".recovery.use")
	}
}
