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
