package notify

import (
	"context"
	"errors"
	"net"
	"net/http"
)

// Why a message was not delivered, as notify_deliveries keeps it for the
// admins (a closed list: never a provider's own words, which may quote the
// recipient).
const (
	// ReasonRefused: the provider refused this message for good (an invalid
	// number, a mailbox that does not exist, credentials it does not
	// accept): it is not tried again.
	ReasonRefused = "refused"
	// ReasonUnavailable: the provider answered that it could not take the
	// message now (HTTP 5xx, 408 or 429; an SMTP refusal other than the
	// recipient's).
	ReasonUnavailable = "unavailable"
	// ReasonTimeout: no answer within the client's timeout.
	ReasonTimeout = "timeout"
	// ReasonUnreachable: no connection (refused, no route, no such host).
	ReasonUnreachable = "unreachable"
	// ReasonExpired: a text or call still unsent when its code ran out.
	ReasonExpired = "expired"
	// ReasonInvalid: the queued message could not be opened or rendered.
	ReasonInvalid = "invalid"
	// ReasonUnconfigured: no provider for the channel.
	ReasonUnconfigured = "unconfigured"
	// ReasonOther: anything else.
	ReasonOther = "other"
)

// Reasons are every reason, in the order the admins' page explains them.
var Reasons = []string{ReasonRefused, ReasonUnavailable, ReasonTimeout, ReasonUnreachable, ReasonExpired,
	ReasonInvalid, ReasonUnconfigured, ReasonOther}

// ProviderError is a provider's answer that says whether trying again can
// help. Its text is the provider's status and error code, never the reply
// (Security: replies quote the number and the words).
type ProviderError struct {
	Reason    string // one of Reasons
	Permanent bool   // the same message will be refused again: do not retry
	Err       error
}

func (e *ProviderError) Error() string { return e.Err.Error() }
func (e *ProviderError) Unwrap() error { return e.Err }

// httpFailure classifies a gateway's HTTP status: a 4xx is the message's
// own fault and permanent, except 408 (the gateway timed out) and 429 (too
// many requests), which like every 5xx are worth retrying.
func httpFailure(status int, err error) *ProviderError {
	if status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests {
		return &ProviderError{Reason: ReasonRefused, Permanent: true, Err: err}
	}
	return &ProviderError{Reason: ReasonUnavailable, Err: err}
}

// IsPermanent reports whether err says the provider will never take this
// message, so the queue gives up at once instead of retrying.
func IsPermanent(err error) bool {
	var pe *ProviderError
	return errors.As(err, &pe) && pe.Permanent
}

// ReasonOf is the reason a send failed with err.
func ReasonOf(err error) string {
	var pe *ProviderError
	var ne net.Error
	var op *net.OpError
	var dns *net.DNSError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &pe):
		return pe.Reason
	case errors.Is(err, ErrNoProvider):
		return ReasonUnconfigured
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return ReasonTimeout
	case errors.As(err, &op), errors.As(err, &dns):
		return ReasonUnreachable
	}
	return ReasonOther
}
