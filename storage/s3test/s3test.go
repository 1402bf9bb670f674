// Package s3test starts a real S3 server for tests: versitygw's posix
// gateway, on loopback, with a directory of its own. A test may stop it
// (an outage) and start it again on the same address and directory. It checks request
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

	t    testing.TB
	bin  string
	mu   sync.Mutex
	stop func() // ends the running process; nil when stopped
}

// Start starts versitygw on a free loopback port with its own directory,
// waits until it accepts connections and stops it at cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{Dir: t.TempDir(), AccessKey: AccessKey, SecretKey: SecretKey, t: t, bin: versityGWBinary(t)}
	t.Cleanup(s.Stop)
	// The free port is found before versitygw takes it, so another process
	// may take it first: then versitygw exits at once, and a new port is tried.
	for range 3 {
		s.Addr = freeAddr(t)
		if !s.run() {
			return s
		}
	}
	t.Fatal("versitygw found no free port in three tries")
	return nil
}

// Stop ends the server, as an outage would: connections are refused until
// Start. Its directory (every bucket and object) stays. Stopping a stopped
// server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
}

// Start starts a stopped server again on the same address and directory,
// so clients made before the outage reach it with what it held; it returns
// once the server accepts connections. Starting a running server does
// nothing.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	running := s.stop != nil
	s.mu.Unlock()
	if running {
		return
	}
	if s.run() {
		s.t.Fatalf("versitygw could not listen on %s again: the address was taken meanwhile", s.Addr)
	}
}

// run starts versitygw on s.Addr; inUse says it exited because the address
// was taken.
func (s *Server) run() (inUse bool) {
	t := s.t
	t.Helper()

	var out bytes.Buffer
	cmd := exec.Command(s.bin, "--access", AccessKey, "--secret", SecretKey,
		"--port", s.Addr, "--quiet", "posix", s.Dir)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", s.bin, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Kill()
		<-exited
	}

	// Poll for readiness, bounded.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			if strings.Contains(out.String(), "address already in use") {
				return true
			}
			t.Fatalf("versitygw exited before listening: %s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("versitygw did not listen on %s within 30s: %s", s.Addr, out.String())
		}
	}
	s.mu.Lock()
	s.stop = stop
	s.mu.Unlock()
	return false
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
