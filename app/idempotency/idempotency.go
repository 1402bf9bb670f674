// Package idempotency makes a state-changing request safe to send again
// (issue 16): on a phone that loses signal after "Send", the browser, or
// the person, sends the same form again; it must not make a second
// message, recording or submission.
//
// Every form carries a key made when its page was rendered (web.View's
// FormTokens: the hidden field _idem; a script may send the header
// Idempotency-Key instead). The first request with a key claims it, in
// Postgres, so every app machine sees the claim; its answer, if it
// succeeded (2xx or 3xx), is kept with the key. A request with the same key
// gets that answer back, marked Idempotent-Replayed, and no handler runs.
//
// Invariants:
//   - Keys are scoped: keyhash over the signed-in person, the method, the
//     path and the key, so a key never replays another person's answer or
//     another route's. Only signed-in requests (AAL2) take part.
//   - Only a success is kept; a refusal (a form in error, 4xx) or a
//     failure (5xx) releases the key, so the corrected form goes through.
//   - A request that arrives while its twin is still being handled gets
//     409 with Retry-After, never a second run. A claim left by a machine
//     that died is taken over after Abandoned.
//   - Routes whose repeats are harmless and must each run (draft saves,
//     polls, keeping the session) are marked web.LateDraft or
//     web.Repeatable and ignore keys.
//   - A kept body is sealed (seal, purpose "idempotency"): it is a page of
//     someone's data. Keys are deleted after Keep (the clean-up job).
package idempotency

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"portal/app/clock"
	"portal/app/keyhash"
	"portal/app/seal"
	"portal/app/web"
)

// Keep is how long a key's answer is kept; Abandoned, how long a claim
// without an answer is respected before another request may take it.
const (
	Keep      = 24 * time.Hour
	Abandoned = 2 * time.Minute
)

// Field and Header carry the key.
const (
	Field  = web.IdempotencyField
	Header = "Idempotency-Key"
)

// replayed headers are those an answer's meaning depends on.
var replayed = []string{fiber.HeaderLocation, fiber.HeaderContentType, "HX-Redirect", "HX-Location", "HX-Refresh",
	"HX-Retarget", "HX-Reswap"}

// Store keeps the keys.
type Store struct {
	db     *gorm.DB
	sealer *seal.Sealer
	key    []byte
	clock  clock.Clock
}

// NewStore returns the store; key (SESSION_KEY) keys the key hashes.
func NewStore(db *gorm.DB, sealer *seal.Sealer, key []byte, clk clock.Clock) *Store {
	return &Store{db: db, sealer: sealer, key: key, clock: clk}
}

// answer is a kept response.
type answer struct {
	Status  int
	Headers map[string]string
	Body    []byte
}

// Middleware applies keys to signed-in, unsafe requests on every route but
// the web.LateDraft and web.Repeatable ones.
func (s *Store) Middleware(routes *web.Routes) fiber.Handler {
	return func(c *fiber.Ctx) error {
		key := requestKey(c)
		sess := web.CurrentSession(c)
		if key == "" || !sess.SignedIn() || routes.On(c, web.LateDraft) || routes.On(c, web.Repeatable) {
			return c.Next()
		}
		h := keyhash.Hex(s.key, "idempotency", strconv.FormatInt(*sess.PersonID, 10), c.Method(), c.Path(), key)
		claimed, kept, err := s.claim(c.UserContext(), h)
		switch {
		case err != nil:
			return err
		case kept != nil:
			return replay(c, kept)
		case !claimed:
			c.Set(fiber.HeaderRetryAfter, "2")
			return &web.Error{Status: fiber.StatusConflict, Key: "errors.conflict.body"}
		}
		web.SetRequestKey(c, h)
		err = c.Next()
		if status := c.Response().StatusCode(); err != nil || status >= 400 {
			return errors.Join(err, s.release(context.WithoutCancel(c.UserContext()), h))
		}
		return s.keep(context.WithoutCancel(c.UserContext()), h, c)
	}
}

// requestKey is the request's key: the header, else the form field (of an
// upload, its second part, read from the stream without buffering the
// rest). Anything not a token of 16 to 64 characters is no key.
func requestKey(c *fiber.Ctx) string {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return ""
	}
	key := c.Get(Header)
	switch {
	case key != "":
	case web.IsStreamed(c):
		// The part after _csrf, which is still first when the CSRF token
		// came in its header (htmx sends it there).
		web.StreamedField(c, "_csrf")
		key = web.StreamedField(c, Field)
	case strings.HasPrefix(string(c.Request().Header.ContentType()), fiber.MIMEApplicationForm):
		key = c.FormValue(Field)
	}
	if len(key) < 16 || len(key) > 64 {
		return ""
	}
	return key
}

// claim takes the key, or returns the answer kept with it, or neither when
// another request holds it now.
func (s *Store) claim(ctx context.Context, h string) (claimed bool, kept *answer, err error) {
	now := s.clock.Now()
	res := s.db.WithContext(ctx).Exec(`INSERT INTO idempotency_keys (key_hash, created_at) VALUES (?, ?)
		ON CONFLICT (key_hash) DO UPDATE SET created_at = EXCLUDED.created_at
		WHERE NOT idempotency_keys.done AND idempotency_keys.created_at < ?`, h, now, now.Add(-Abandoned))
	if res.Error != nil {
		return false, nil, fmt.Errorf("idempotency: claim: %w", res.Error)
	}
	if res.RowsAffected == 1 {
		return true, nil, nil
	}
	var row struct {
		Done       bool
		Status     int
		Headers    []byte
		BodySealed string
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT done, status, headers, body_sealed FROM idempotency_keys WHERE key_hash = ?`, h).
		Scan(&row).Error; err != nil {
		return false, nil, fmt.Errorf("idempotency: read: %w", err)
	}
	if !row.Done {
		return false, nil, nil
	}
	a := &answer{Status: row.Status}
	if err := json.Unmarshal(row.Headers, &a.Headers); err != nil {
		return false, nil, fmt.Errorf("idempotency: read: %w", err)
	}
	if row.BodySealed != "" {
		if a.Body, err = s.sealer.Open("idempotency", row.BodySealed); err != nil {
			return false, nil, fmt.Errorf("idempotency: read: %w", err)
		}
	}
	return false, a, nil
}

// keep stores the response c is about to send as the key's answer.
func (s *Store) keep(ctx context.Context, h string, c *fiber.Ctx) error {
	headers := map[string]string{}
	for _, name := range replayed {
		if v := c.GetRespHeader(name); v != "" {
			headers[name] = v
		}
	}
	hb, err := json.Marshal(headers)
	if err != nil {
		return err
	}
	sealed := ""
	if body := c.Response().Body(); len(body) > 0 {
		if sealed, err = s.sealer.Seal("idempotency", body); err != nil {
			return err
		}
	}
	return s.db.WithContext(ctx).Exec(`UPDATE idempotency_keys SET done = true, status = ?, headers = ?, body_sealed = ?
		WHERE key_hash = ?`, c.Response().StatusCode(), string(hb), sealed, h).Error
}

// release gives the key back: the request did not succeed.
func (s *Store) release(ctx context.Context, h string) error {
	return s.db.WithContext(ctx).Exec(`DELETE FROM idempotency_keys WHERE key_hash = ? AND NOT done`, h).Error
}

// replay answers with a kept answer.
func replay(c *fiber.Ctx, a *answer) error {
	for name, v := range a.Headers {
		c.Set(name, v)
	}
	c.Set("Idempotent-Replayed", "true")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Status(a.Status)
	return c.Send(a.Body)
}

// DeleteOld deletes keys older than Keep (the clean-up job).
func (s *Store) DeleteOld(ctx context.Context) (int64, error) {
	res := s.db.WithContext(ctx).Exec(`DELETE FROM idempotency_keys WHERE created_at < ?`, s.clock.Now().Add(-Keep))
	return res.RowsAffected, res.Error
}
