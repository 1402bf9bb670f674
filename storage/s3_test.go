package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"portal/storage/s3test"
)

const (
	testAccessKey = s3test.AccessKey
	testSecretKey = s3test.SecretKey
)

// startVersityGW starts a real S3 server for t (see s3test).
func startVersityGW(t *testing.T) gateway { return gateway{s3test.Start(t)} }

type gateway struct{ *s3test.Server }

func (g gateway) config(bucket string) S3Config {
	return S3Config{Endpoint: g.Addr, AccessKey: g.AccessKey, SecretKey: g.SecretKey, Bucket: bucket}
}

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
	bucketDir := filepath.Join(gw.Dir, "fresh-bucket")
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
			if _, err := os.Stat(filepath.Join(gw.Dir, "creds")); !os.IsNotExist(err) {
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
	gw.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping succeeded against a stopped server")
	}
}

// TestS3SaysUnavailableWhileTheServerIsStopped: with the server stopped,
// every operation fails with ErrUnavailable (not ErrNotFound: the object
// is there), and once it is started again on the same address and
// directory the same client finds the object and stores again.
func TestS3SaysUnavailableWhileTheServerIsStopped(t *testing.T) {
	gw := startVersityGW(t)
	s, err := NewS3(t.Context(), gw.config("outage"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := s.Put(ctx, "documents/kept", strings.NewReader("kept"), 10, Meta{}); err != nil {
		t.Fatal(err)
	}
	gw.Stop()
	_, err = s.Put(ctx, "documents/new", strings.NewReader("new"), 10, Meta{})
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Put = %v, want ErrUnavailable", err)
	}
	if _, _, err := s.Get(ctx, "documents/kept"); !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotFound) {
		t.Errorf("Get = %v, want ErrUnavailable", err)
	}
	if err := s.List(ctx, "documents/", func(Info) error { return nil }); !errors.Is(err, ErrUnavailable) {
		t.Errorf("List = %v, want ErrUnavailable", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Ping = %v, want ErrUnavailable", err)
	}
	gw.Start()
	if _, err := s.Stat(ctx, "documents/kept"); err != nil {
		t.Errorf("the object after the restart: %v", err)
	}
	if _, err := s.Put(ctx, "documents/new", strings.NewReader("new"), 10, Meta{}); err != nil {
		t.Errorf("Put after the restart: %v", err)
	}
}
