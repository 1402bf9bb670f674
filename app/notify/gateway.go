package notify

import (
	"fmt"
	"io"
	"net/http"
	"time"
)

// GatewayTimeout bounds one request to an SMS or voice gateway (unless its
// config says otherwise); the worker's own timeout is longer, so a slow
// gateway fails here with a clear error and the message is retried.
const GatewayTimeout = 30 * time.Second

// maxGatewayReply is as much of a gateway's reply as is read, for its error
// code; the rest is discarded.
const maxGatewayReply = 64 * 1024

// newGatewayClient is the HTTP client of every SMS and voice gateway;
// timeout 0 is GatewayTimeout.
func newGatewayClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = GatewayTimeout
	}
	return &http.Client{
		Timeout: timeout,
		// Security: a redirect would replay the credentials to a place we did
		// not choose; a gateway that redirects has failed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// callGateway makes req and returns nil for a 2xx reply. Otherwise the error
// names the gateway, the status and the error code that code finds in the
// reply, as a *ProviderError that says whether to retry (httpFailure). Security: never the reply itself, nor the request: gateways quote
// the number and the words back, and River stores and logs this error.
//
// read, if not nil, is given a 2xx reply's body; its error is the call's.
func callGateway(client *http.Client, req *http.Request, gateway string, code func([]byte) string, read func([]byte) error) error {
	res, err := client.Do(req)
	if err != nil {
		// The URL in this error holds no personal data, only the gateway's.
		return fmt.Errorf("notify: %s: %w", gateway, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxGatewayReply))
	if err != nil {
		return fmt.Errorf("notify: %s: reading reply (status %d): %w", gateway, res.StatusCode, err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return httpFailure(res.StatusCode,
			fmt.Errorf("notify: %s refused the message: status %d, error code %s", gateway, res.StatusCode, code(body)))
	}
	if read != nil {
		if err := read(body); err != nil {
			return fmt.Errorf("notify: %s: unreadable reply (status %d)", gateway, res.StatusCode)
		}
	}
	return nil
}
