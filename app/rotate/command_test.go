package rotate_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"portal/app/config"
	"portal/app/rotate"
)

func TestRotateKeysTakesOnlyAPositiveBatch(t *testing.T) {
	for _, args := range [][]string{{"--batch", "0"}, {"--batch", "-3"}, {"--batch", "many"}, {"extra"}} {
		var out bytes.Buffer
		// No database: the arguments are refused before one is needed.
		err := rotate.Command(context.Background(), nil, "k:"+config.RandomKey(), args, &out)
		if err == nil || !strings.Contains(out.String(), "usage: portal rotate-keys [--batch N]") {
			t.Errorf("rotate-keys %q = %v\n%s", args, err, &out)
		}
	}
}
