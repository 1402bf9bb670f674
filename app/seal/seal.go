// Package seal encrypts sensitive values at rest (message bodies, drafts,
// form answers, phone numbers) with AES-256-GCM.
//
// Invariants:
//   - A sealed value is "keyid:base64(nonce|ciphertext)"; the key id travels
//     with the value, so keys rotate by putting a new key first in
//     ENCRYPTION_KEYS and keeping the old ones after it until re-sealed.
//   - Nonces are 96 random bits per value; a value is bound to its purpose
//     (additional data), so a phone number cannot be replayed as a message.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrCannotOpen hides why a value could not be opened (unknown key,
// tampered value, wrong purpose).
var ErrCannotOpen = errors.New("seal: cannot open value")

// Sealer seals with the first key and opens with any.
type Sealer struct {
	current string
	keys    map[string]cipher.AEAD
	ids     []string // in ENCRYPTION_KEYS order
}

// New parses "id:base64key,id2:base64key2"; the first key seals.
func New(spec string) (*Sealer, error) {
	s := &Sealer{keys: map[string]cipher.AEAD{}}
	for _, part := range strings.Split(spec, ",") {
		id, b64, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || id == "" {
			return nil, errors.New("seal: ENCRYPTION_KEYS must be id:base64key[,id:base64key]")
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("seal: key %q must be 32 bytes, base64 encoded", id)
		}
		block, _ := aes.NewCipher(key)
		aead, _ := cipher.NewGCM(block)
		if s.keys[id] == nil {
			s.ids = append(s.ids, id)
		}
		s.keys[id] = aead
		if s.current == "" {
			s.current = id
		}
	}
	return s, nil
}

// Seal encrypts plain for purpose ("message.body", "person.phone").
func (s *Sealer) Seal(purpose string, plain []byte) (string, error) {
	aead := s.keys[s.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := aead.Seal(nonce, nonce, plain, []byte(purpose))
	return s.current + ":" + base64.StdEncoding.EncodeToString(out), nil
}

// Open decrypts a value sealed for purpose.
func (s *Sealer) Open(purpose, sealed string) ([]byte, error) {
	id, b64, ok := strings.Cut(sealed, ":")
	aead := s.keys[id]
	if !ok || aead == nil {
		return nil, ErrCannotOpen
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) < aead.NonceSize() {
		return nil, ErrCannotOpen
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(purpose))
	if err != nil {
		return nil, ErrCannotOpen
	}
	return plain, nil
}

// KeyIDs lists the ids of the keys, in ENCRYPTION_KEYS order: the first
// seals, the others only open (app/rotate re-seals their values).
func (s *Sealer) KeyIDs() []string { return slices.Clone(s.ids) }

// KeyID is the id of the key a value was sealed with, to find values to re-seal.
func KeyID(sealed string) string {
	id, _, _ := strings.Cut(sealed, ":")
	return id
}
