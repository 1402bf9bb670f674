package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/crypto/argon2"

	"portal/app/web"
)

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// ProductionParams follow OWASP's first argon2id recommendation
// (19 MiB, 2 passes, 1 lane): strong, and cheap enough for small machines.
var ProductionParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// TestParams keep test suites fast; never used outside tests.
var TestParams = Params{Memory: 64, Time: 1, Threads: 1}

// Hasher hashes and checks passwords with argon2id. Hashing is bounded to
// one at a time per slot (give it as many as there are cores), with as many
// again waiting; beyond that a check is refused at once with ErrBusy. So a
// storm of sign-ins neither exhausts memory (each hash holds Params.Memory)
// nor starves every other page, and nobody waits long for an answer.
type Hasher struct {
	params Params
	slots  chan struct{}
	queue  chan struct{} // places in line for a slot
	// dummy is checked for unknown accounts, so they cost the same work as
	// known ones (no enumeration by timing).
	dummy string
}

// HashSlots is how many passwords are hashed at once: half the cores, at
// least one. Each hash keeps a core busy (one lane), and the other half
// keep serving everybody else's pages through a storm of sign-ins.
func HashSlots() int { return max(1, runtime.NumCPU()/2) }

// NewHasher returns a Hasher allowing concurrent hashes at once, and as
// many waiting.
func NewHasher(p Params, concurrent int) *Hasher {
	h := &Hasher{params: p, slots: make(chan struct{}, concurrent), queue: make(chan struct{}, concurrent)}
	h.dummy, _ = h.hash([]byte("dummy password for unknown accounts"))
	return h
}

// Hash returns the PHC-style encoded argon2id hash of password.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return h.hash([]byte(password))
}

func (h *Hasher) hash(password []byte) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	p := h.params
	key := argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify reports whether password matches encoded. An empty encoded hash
// (unknown account) checks against a dummy hash and returns false, taking
// the same time as a real check.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	known := encoded != ""
	if !known {
		encoded = h.dummy
	}
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return known && subtle.ConstantTimeCompare(got, want) == 1, nil
}

// NeedsRehash reports whether encoded was made with other parameters.
func (h *Hasher) NeedsRehash(encoded string) bool {
	p, _, _, err := decode(encoded)
	return err != nil || p != h.params
}

var errBadHash = errors.New("auth: malformed password hash")

func decode(encoded string) (Params, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return Params{}, nil, nil, errBadHash
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return Params{}, nil, nil, errBadHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return Params{}, nil, nil, errBadHash
	}
	return p, salt, key, nil
}

// ErrBusy says every slot is hashing and the line is full: the person is
// asked to try again in a moment (503 with Retry-After), at once.
var ErrBusy error = &web.Error{Status: fiber.StatusServiceUnavailable, Key: "errors.busy.body"}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case h.queue <- struct{}{}:
	default:
		return ErrBusy
	}
	defer func() { <-h.queue }()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }

// Occupy takes every slot and every place in line until release is called,
// as a storm would: tests use it to see what a person is told then.
func (h *Hasher) Occupy() (release func()) {
	for i := 0; i < cap(h.slots); i++ {
		h.slots <- struct{}{}
		h.queue <- struct{}{}
	}
	return func() {
		for i := 0; i < cap(h.slots); i++ {
			<-h.queue
			<-h.slots
		}
	}
}
