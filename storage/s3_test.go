package storage

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testAccessKey = "portal-test-access"
	testSecretKey = "portal-test-secret-0123456789"
	versitygwPkg  = "github.com/versity/versitygw/cmd/versitygw@v1.8.0"
)

func TestS3(t *testing.T) {
	gw := startVersityGW(t)
	s, err := NewS3(t.Context(), gw.config("contract"))
	if err != nil {
		t.Fatal(err)
	}
	testStore(t, s)
}

func TestS3CreatesAMissingBucket(t *testing.T) {
	gw := startVersityGW(t)
	bucketDir := filepath.Join(gw.dir, "fresh-bucket")
	if _, err := os.Stat(bucketDir); !os.IsNotExist(err) {
		t.Fatalf("bucket exists before NewS3: %v", err)
	}
	if _, err := NewS3(t.Context(), gw.config("fresh-bucket")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(bucketDir); err != nil || !fi.IsDir() {
		t.Fatalf("bucket was not created: %v", err)
	}
	s, err := NewS3(t.Context(), gw.config("fresh-bucket"))
	if err != nil {
		t.Fatalf("NewS3 on an existing bucket: %v", err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Error(err)
	}
}

func TestS3WrongCredentialsFailClearly(t *testing.T) {
	gw := startVersityGW(t)
	for _, tt := range []struct{ name, access, secret string }{
		{"wrong secret", testAccessKey, "not-the-secret"},
		{"unknown access key", "nobody", testSecretKey},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := gw.config("creds")
			cfg.AccessKey, cfg.SecretKey = tt.access, tt.secret
			_, err := NewS3(t.Context(), cfg)
			if err == nil || !strings.Contains(err.Error(), "credentials rejected") {
				t.Errorf("NewS3 = %v, want an error saying the credentials were rejected", err)
			}
			t.Log(err) // shown with -v: what an operator would read
			if _, err := os.Stat(filepath.Join(gw.dir, "creds")); !os.IsNotExist(err) {
				t.Errorf("bucket was created with wrong credentials: %v", err)
			}
		})
	}
}

func TestS3PingFailsWhenTheServerIsGone(t *testing.T) {
	gw := startVersityGW(t)
	s, err := NewS3(t.Context(), gw.config("ping"))
	if err != nil {
		t.Fatal(err)
	}
	gw.stop()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping succeeded against a stopped server")
	}
}

// versityGW is a real S3 server (versitygw's posix gateway) on loopback.
type versityGW struct {
	addr string
	dir  string // one subdirectory per bucket
	stop func()
}

func (g versityGW) config(bucket string) S3Config {
	return S3Config{Endpoint: g.addr, AccessKey: testAccessKey, SecretKey: testSecretKey, Bucket: bucket}
}

// startVersityGW starts versitygw on a free loopback port with its own
// directory, waits until it accepts connections and stops it at cleanup.
func startVersityGW(t *testing.T) versityGW {
	t.Helper()
	bin := versityGWBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)

	var out bytes.Buffer
	cmd := exec.Command(bin, "--access", testAccessKey, "--secret", testSecretKey,
		"--port", addr, "--quiet", "posix", dir)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cmd.Process.Kill()
			<-exited
		})
	}
	t.Cleanup(stop)

	// Poll for readiness, bounded.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			t.Fatalf("versitygw exited before listening: %s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("versitygw did not listen on %s within 30s: %s", addr, out.String())
		}
	}
	return versityGW{addr: addr, dir: dir, stop: stop}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

var versityGWOnce = sync.OnceValues(findOrInstallVersityGW)

// versityGWBinary finds versitygw: $VERSITYGW, then PATH, then
// $(go env GOPATH)/bin; failing those it runs go install (about 2 minutes cold).
func versityGWBinary(t *testing.T) string {
	t.Helper()
	bin, err := versityGWOnce()
	if err != nil {
		t.Fatalf("versitygw is needed for the S3 tests: %v", err)
	}
	return bin
}

func findOrInstallVersityGW() (string, error) {
	if bin := os.Getenv("VERSITYGW"); bin != "" {
		return bin, nil
	}
	if bin, err := exec.LookPath("versitygw"); err == nil {
		return bin, nil
	}
	gobin, err := goEnvBin()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(gobin, "versitygw")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", versitygwPkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", &installError{err: err, out: string(out)}
	}
	return bin, nil
}

// goEnvBin is where go install puts binaries: GOBIN, else GOPATH's first entry + /bin.
func goEnvBin() (string, error) {
	out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		return "", err
	}
	gobin, gopath, _ := strings.Cut(string(out), "\n")
	if gobin = strings.TrimSpace(gobin); gobin != "" {
		return gobin, nil
	}
	return filepath.Join(filepath.SplitList(strings.TrimSpace(gopath))[0], "bin"), nil
}

type installError struct {
	err error
	out string
}

func (e *installError) Error() string {
	return "go install " + versitygwPkg + ": " + e.err.Error() + "\n" + e.out
}
