package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"portal/app/accounts"
	"portal/app/clock"
	"portal/app/keyhash"
	"portal/app/notify"
	"portal/app/web"
)

// DeviceCookieLife is how long a browser is remembered as a person's
// device: about 13 months, the longest browsers keep a cookie.
const DeviceCookieLife = 400 * 24 * time.Hour

// Devices remembers the browsers each person has signed in from, so that a
// sign-in from another one is told to them by email (the help and privacy
// pages promise it).
//
// Security: the browser holds a random 256-bit token in a long-lived
// cookie; the table holds only HMAC-SHA256(key, "device:"+token), per
// person, so a copied table recognises nobody and a token copied from one
// person's browser means nothing for another. The alert says when, and
// which browser on which system from a closed list (deviceOf), never the
// User-Agent's text, a place or an address, and links to reset the
// password. Every way of signing in ends in completeSignIn, which calls
// recogniseDevice: a passkey, an app code or a recovery code alike.
type Devices struct {
	db    *gorm.DB
	clock clock.Clock
	key   []byte
}

// NewDevices returns the store; key keys the token hashes.
func NewDevices(db *gorm.DB, clk clock.Clock, key []byte) *Devices {
	return &Devices{db: db, clock: clk, key: key}
}

func (d *Devices) hash(token string) string {
	return keyhash.Hex(d.key, "device", token)
}

// Seen records that person signed in from the browser holding token and
// reports whether it is new to them, and whether they had any device
// before (a first sign-in is not news to anybody).
func (d *Devices) Seen(ctx context.Context, personID int64, token string) (isNew, hadOthers bool, err error) {
	now := d.clock.Now()
	var known int64
	err = d.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE known_devices SET last_seen_at = ? WHERE person_id = ? AND token_hash = ?`, now, personID, d.hash(token))
		if res.Error != nil || res.RowsAffected > 0 {
			return res.Error
		}
		isNew = true
		if err := tx.Raw(`SELECT count(*) FROM known_devices WHERE person_id = ?`, personID).Scan(&known).Error; err != nil {
			return err
		}
		return tx.Exec(`INSERT INTO known_devices (person_id, token_hash, created_at, last_seen_at) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, personID, d.hash(token), now, now).Error
	})
	if err != nil {
		return false, false, fmt.Errorf("auth: devices: %w", err)
	}
	return isNew, known > 0, nil
}

// deviceCookie names the cookie; __Host- in production.
func (h *Handler) deviceCookie() string {
	if h.Secure {
		return "__Host-portal_device"
	}
	return "portal_device"
}

// recogniseDevice is part of completing a sign-in: the browser's device
// token (made now if it has none) is recorded, and a sign-in from a
// browser the person has not used before, when they have used others,
// emails them "New sign-in to your … account".
func (h *Handler) recogniseDevice(c *fiber.Ctx, p *accounts.Person) error {
	token := c.Cookies(h.deviceCookie())
	if len(token) != 43 { // 256 bits, base64url: anything else is not ours
		var err error
		if token, err = web.RandomToken(); err != nil {
			return err
		}
	}
	c.Cookie(&fiber.Cookie{Name: h.deviceCookie(), Value: token, Path: "/", HTTPOnly: true, Secure: h.Secure,
		SameSite: fiber.CookieSameSiteLaxMode, Expires: h.Clock.Now().Add(DeviceCookieLife)})
	isNew, hadOthers, err := h.Devices.Seen(c.UserContext(), p.ID, token)
	if err != nil || !isNew || !hadOthers {
		return err
	}
	browser, system := deviceOf(c.Get(fiber.HeaderUserAgent))
	return h.Notifier.Send(c.UserContext(), nil, notify.Message{Channel: notify.Email, To: p.Email, Lang: p.Locale,
		Template: "email_new_device", Data: map[string]string{notify.DataLink: h.Render.Path("auth.reset"),
			notify.DataTime: h.Clock.Now().UTC().Format(time.RFC3339), notify.DataBrowser: browser, notify.DataSystem: system}})
}
