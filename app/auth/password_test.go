package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestProductionParametersAreOWASPs(t *testing.T) {
	// OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1 at least.
	if ProductionParams.Memory < 19*1024 || ProductionParams.Time < 2 || ProductionParams.Threads < 1 {
		t.Fatalf("production argon2id parameters too weak: %+v", ProductionParams)
	}
	h := NewHasher(ProductionParams, 1)
	enc, err := h.Hash(context.Background(), "Correct-Horse-9")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash does not record the production parameters: %s", enc)
	}
}

func TestVerify(t *testing.T) {
	h := NewHasher(TestParams, 2)
	ctx := context.Background()
	enc, _ := h.Hash(ctx, "Correct-Horse-9")
	for _, tc := range []struct {
		name, encoded, password string
		want                    bool
	}{
		{"the right password matches", enc, "Correct-Horse-9", true},
		{"a wrong password does not", enc, "correct-horse-9", false},
		{"an unknown account never matches, even with the dummy's password", "", "dummy password for unknown accounts", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := h.Verify(ctx, tc.encoded, tc.password)
			if err != nil || ok != tc.want {
				t.Fatalf("Verify = %v, %v; want %v", ok, err, tc.want)
			}
		})
	}
}

func TestHashesAreSalted(t *testing.T) {
	h := NewHasher(TestParams, 1)
	a, _ := h.Hash(context.Background(), "same")
	b, _ := h.Hash(context.Background(), "same")
	if a == b {
		t.Fatal("two hashes of one password are equal")
	}
	if h.NeedsRehash(a) || !NewHasher(ProductionParams, 1).NeedsRehash(a) {
		t.Fatal("NeedsRehash does not compare parameters")
	}
}

func TestHashingIsBounded(t *testing.T) {
	h := NewHasher(TestParams, 1)
	h.slots <- struct{}{} // the only slot is taken
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "x"); err == nil {
		t.Fatal("hash ran past the concurrency bound")
	}
	h.queue <- struct{}{} // and the only place in line
	if _, err := h.Verify(context.Background(), "", "x"); !errors.Is(err, ErrBusy) {
		t.Fatalf("a check beyond slots and line = %v, want ErrBusy at once", err)
	}
	<-h.queue
	<-h.slots
	if _, err := h.Verify(context.Background(), "", "x"); err != nil {
		t.Fatalf("a check with a slot free = %v", err)
	}
}
