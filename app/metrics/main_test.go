package metrics_test

import (
	"testing"

	"portal/app/apptest"
	"portal/app/config"
)

func TestMain(m *testing.M) { apptest.Main(m) }

// newApp is the real portal with its metrics listener on a free loopback
// port, as main starts it when METRICS_ADDR is set.
func newApp(t *testing.T) *apptest.TestApp {
	t.Helper()
	a := apptest.NewApp(t, apptest.Options{Configure: func(c *config.Config) { c.MetricsAddr = "127.0.0.1:0" }})
	if a.MetricsURL == "" {
		t.Fatal("METRICS_ADDR set, but no metrics listener")
	}
	return a
}
