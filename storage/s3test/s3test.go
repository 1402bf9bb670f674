// Package s3test starts a real S3 server for tests: versitygw's posix
// gateway, on loopback, with a directory of its own. It checks request
// signatures, so a test against it proves what production will see. The
// binary is found ($VERSITYGW, PATH, GOPATH/bin); only .ci/install (make
// test) installs it, and a test without it fails at once saying how: a
// test never builds a tool, which could stall a run for minutes.
package s3test

import (
	"bytes"
	"errors"
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

// The test server's credentials.
const (
	AccessKey = "portal-test-access"
	SecretKey = "portal-test-secret-0123456789"
)

// installHint is what a machine without versitygw runs (.ci/install test does).
const installHint = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0 (or: .ci/install test)"

// Server is a real S3 server (versitygw's posix gateway) on loopback.
type Server struct {
	Addr      string // host:port
	Dir       string // one subdirectory per bucket
	AccessKey string
	SecretKey string
	// Stop ends the server before the test does (it also stops at cleanup).
	Stop func()
}

// Start starts versitygw on a free loopback port with its own directory,
// waits until it accepts connections and stops it at cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := versityGWBinary(t)
	dir := t.TempDir()
	// The free port is found before versitygw takes it, so another process
	// may take it first: then versitygw exits at once, and a new port is tried.
	for range 3 {
		if s, inUse := start(t, bin, dir, freeAddr(t)); !inUse {
			return s
		}
	}
	t.Fatal("versitygw found no free port in three tries")
	return nil
}

// start runs versitygw on addr; inUse says it exited because addr was taken.
func start(t testing.TB, bin, dir, addr string) (s *Server, inUse bool) {
	t.Helper()

	var out bytes.Buffer
	cmd := exec.Command(bin, "--access", AccessKey, "--secret", SecretKey,
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
			if strings.Contains(out.String(), "address already in use") {
				return nil, true
			}
			t.Fatalf("versitygw exited before listening: %s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("versitygw did not listen on %s within 30s: %s", addr, out.String())
		}
	}
	return &Server{Addr: addr, Dir: dir, AccessKey: AccessKey, SecretKey: SecretKey, Stop: stop}, false
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

var versityGWOnce = sync.OnceValues(findVersityGW)

// versityGWBinary finds versitygw: $VERSITYGW, then PATH, then
// $(go env GOPATH)/bin; without it the test fails at once with how to
// install it.
func versityGWBinary(t testing.TB) string {
	t.Helper()
	bin, err := versityGWOnce()
	if err != nil {
		t.Fatalf("versitygw is needed for the S3 tests: %v; install it: %s", err, installHint)
	}
	return bin
}

func findVersityGW() (string, error) {
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
	if _, err := os.Stat(bin); err != nil {
		return "", errors.New("not on PATH, nor in " + gobin)
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
