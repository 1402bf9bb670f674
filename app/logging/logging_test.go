package logging

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestPersonalDataIsRedacted(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, "debug")
	log.Info("sent code 123456 to parent@example.com", "email", "parent@example.com",
		"to", "+44 7700 900123", "err", errors.New("smtp: rejected parent@example.com"),
		"given_name", "Mia", "route", "/sign-in")
	out := buf.String()
	for _, leak := range []string{"parent@example.com", "7700 900123", "123456", "Mia"} {
		if strings.Contains(out, leak) {
			t.Errorf("log contains %q: %s", leak, out)
		}
	}
	if !strings.Contains(out, `"route":"/sign-in"`) {
		t.Errorf("ordinary attributes were lost: %s", out)
	}
}

// TestTheRequestIDIsKeptWhole: error pages ask people to quote the id, so
// the log must keep it even when it looks like a number or a code.
func TestTheRequestIDIsKeptWhole(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, "info").Info("request", "request_id", "2345672345672345", "route", "/")
	if !strings.Contains(buf.String(), `"request_id":"2345672345672345"`) {
		t.Errorf("the request id was masked: %s", buf.String())
	}
}
