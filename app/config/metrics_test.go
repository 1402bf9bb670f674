package config

import (
	"maps"
	"strings"
	"testing"
)

func TestMetricsAddrIsOffByDefaultAndNeverThePublicPort(t *testing.T) {
	c, _ := load(env(nil))
	if c.MetricsAddr != "" {
		t.Fatalf("METRICS_ADDR defaults to %q, want empty (off)", c.MetricsAddr)
	}
	for _, tc := range []struct {
		addr, port string
		want       string // part of the error; empty: valid
	}{
		{"", "8080", ""},
		{":9091", "8080", ""},
		{"127.0.0.1:0", "3000", ""},
		{"[::1]:9091", "3000", ""},
		{"9091", "8080", "METRICS_ADDR must be host:port"},
		{"metrics.internal", "8080", "METRICS_ADDR must be host:port"},
		{":metrics", "8080", "METRICS_ADDR must be host:port"},
		{":99999", "8080", "METRICS_ADDR must be host:port"},
		{":8080", "8080", "must not use PORT's port"},
		{"0.0.0.0:08080", "8080", "must not use PORT's port"},
	} {
		t.Run("addr="+tc.addr+" port="+tc.port, func(t *testing.T) {
			e := production()
			maps.Copy(e, map[string]string{"METRICS_ADDR": tc.addr, "PORT": tc.port})
			c, err := load(env(e))
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error = %v, want one saying %q", err, tc.want)
			}
		})
	}
}
