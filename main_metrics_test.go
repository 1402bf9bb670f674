package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"portal/app/apptest"
	"portal/app/db"
)

// TestMetricsAreServedOnMetricsAddrOnly: with METRICS_ADDR the binary
// serves /metrics on that address, not on PORT, and stops it with the app.
func TestMetricsAreServedOnMetricsAddrOnly(t *testing.T) {
	bin := apptest.BuildPortal(t)
	base, err := os.MkdirTemp("", "portal-metrics-")
	if err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(base, "data")
	t.Cleanup(func() {
		e := &db.Embedded{Dir: filepath.Join(dataDir, "postgres")}
		if _, err := e.Start(context.Background()); err == nil {
			_ = e.StopAnyway()
		}
		os.RemoveAll(base)
	})
	port, metricsPort := apptest.FreePort(t), apptest.FreePort(t)
	t.Setenv("METRICS_ADDR", "127.0.0.1:"+metricsPort)
	cmd, out := start(t, bin, dataDir, port)

	get := func(url string) (int, string) {
		t.Helper()
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	// start asked /readyz until it answered: those requests are counted.
	code, body := get("http://127.0.0.1:" + metricsPort + "/metrics")
	if code != http.StatusOK || !strings.Contains(body, `portal_http_requests_total{method="GET",route="ops.readyz",status="200"}`) {
		t.Fatalf("METRICS_ADDR's /metrics = %d:\n%.500s\n%s", code, body, out)
	}
	for _, want := range []string{"portal_db_pool_max_conns", "portal_live_streams_open", "go_sql_max_open_connections"} {
		if !strings.Contains(body, want) {
			t.Errorf("the binary's metrics lack %s", want)
		}
	}
	if code, body := get("http://127.0.0.1:" + port + "/metrics"); strings.Contains(body, "# TYPE") {
		t.Fatalf("the public port serves metrics (%d)", code)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the portal did not stop cleanly: %v\n%s", err, out)
	}
	if res, err := http.Get("http://127.0.0.1:" + metricsPort + "/metrics"); err == nil {
		res.Body.Close()
		t.Fatal("the metrics listener outlived the app")
	}
}
