package audit

// SignedIn is the action of a completed sign-in (both steps passed). Its
// Target names how the second step passed, "method:" and one of
// SignInMethods, so the admin's service overview can count sign-ins by
// way without reading anything else. Events written before the way was
// recorded have an empty Target.
const SignedIn = "session.signed_in"

// The ways a sign-in's second step passes.
const (
	MethodText     = "text"     // a code texted to the phone
	MethodCall     = "call"     // "Call Me", answered with #
	MethodPasskey  = "passkey"  // a passkey, after the password or in its place
	MethodApp      = "app"      // a code from an authenticator app
	MethodRecovery = "recovery" // a recovery code
)

// SignInMethods lists the ways, in the order the overview shows them.
var SignInMethods = []string{MethodText, MethodCall, MethodPasskey, MethodApp, MethodRecovery}

// SignInTarget is the Target of a SignedIn event for method.
func SignInTarget(method string) string { return "method:" + method }
