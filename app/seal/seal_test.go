package seal

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
)

func key() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func TestSealOpensWithItsPurposeOnly(t *testing.T) {
	s, err := New("k1:" + key())
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal("person.phone", []byte("+447700900123"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "7700900123") || !strings.HasPrefix(sealed, "k1:") {
		t.Fatalf("sealed value leaks or lacks key id: %s", sealed)
	}
	got, err := s.Open("person.phone", sealed)
	if err != nil || string(got) != "+447700900123" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.Open("message.body", sealed); err != ErrCannotOpen {
		t.Fatalf("opened under another purpose: %v", err)
	}
}

func TestRotationOpensOldValuesAndSealsWithTheNewKey(t *testing.T) {
	old := key()
	s1, _ := New("k1:" + old)
	sealed, _ := s1.Seal("p", []byte("x"))
	s2, err := New("k2:" + key() + ",k1:" + old)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s2.Open("p", sealed); err != nil || string(got) != "x" {
		t.Fatalf("old value after rotation: %q %v", got, err)
	}
	fresh, _ := s2.Seal("p", []byte("y"))
	if KeyID(fresh) != "k2" {
		t.Fatalf("new value sealed with %s", KeyID(fresh))
	}
}

func TestTamperedValuesDoNotOpen(t *testing.T) {
	s, _ := New("k1:" + key())
	sealed, _ := s.Seal("p", []byte("secret"))
	raw := []byte(sealed)
	raw[len(raw)-3] ^= 1
	if _, err := s.Open("p", string(raw)); err == nil {
		t.Fatal("tampered value opened")
	}
	if _, err := s.Open("p", "nokey:AAAA"); err == nil {
		t.Fatal("unknown key opened")
	}
}

func TestBadKeysAreRefused(t *testing.T) {
	for _, spec := range []string{"", "k1", "k1:short", ":" + key()} {
		if _, err := New(spec); err == nil {
			t.Errorf("New(%q) accepted", spec)
		}
	}
}

func TestKeyIDsAreInOrderTheFirstSealing(t *testing.T) {
	s, err := New("new:" + key() + ", old:" + key() + ",older:" + key())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.KeyIDs(), ","); got != "new,old,older" {
		t.Errorf("KeyIDs = %s", got)
	}
	sealed, _ := s.Seal("p", []byte("x"))
	if KeyID(sealed) != s.KeyIDs()[0] {
		t.Errorf("sealed with %q, not the first key", KeyID(sealed))
	}
	s.KeyIDs()[0] = "changed"
	if s.KeyIDs()[0] != "new" {
		t.Error("KeyIDs gave away the sealer's own list")
	}
}
