package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"gorm.io/gorm"

	"portal/app/audit"
	"portal/app/clock"
	"portal/app/keyhash"
	"portal/app/live"
)

// Session lifetimes, from the council's guides and ARCHITECTURE.md.
const (
	IdleTimeout      = 15 * time.Minute // signed out after this long without activity
	IdleWarning      = 10 * time.Minute // the countdown banner appears after this long
	AbsoluteLifetime = 12 * time.Hour   // signed out this long after signing in, whatever happens
	anonymousLife    = 2 * time.Hour    // an anonymous session carries a journey's state (a code sent, an address)
	activityGrain    = 10 * time.Second // last activity is written at most this often
	// FinalSaveGrace is how long after a session's end a final save of a
	// draft is still taken: the countdown sends it 30 seconds before the
	// end, and on a slow mobile line it may arrive late. It opens nothing
	// but the draft routes (LateDraft).
	FinalSaveGrace = time.Minute
)

// Authentication assurance levels (Kratos vocabulary).
const (
	AALNone = 0 // anonymous
	AAL1    = 1 // password checked
	AAL2    = 2 // password and phone factor checked
)

// Session is one browser's session row. The token itself is never stored.
type Session struct {
	ID           int64
	TokenHash    []byte
	PersonID     *int64
	AAL          int16
	CSRFToken    string
	Data         json.RawMessage `gorm:"type:jsonb;default:'{}'"`
	Flash        json.RawMessage `gorm:"type:jsonb"`
	CreatedAt    time.Time
	LastActiveAt time.Time
	ExpiresAt    time.Time
	// CheckedAt is when the person last proved it was them in this session:
	// signing in (a session made at AAL2), or a fresh check (MarkChecked).
	CheckedAt *time.Time
	// grace marks an ended session let through for one final draft save.
	grace bool `gorm:"-"`
	// Viewer is the session's person as pages and route guards see them,
	// read with the session in one round trip (Load); nil when anonymous.
	Viewer *Viewer `gorm:"-"`
}

// loadSQL reads a session and the few columns of its person that every
// signed-in request needs (the layout's name, the staff guard's role, the
// terms guard's date), by primary key: one round trip, where the person
// was read again by each of them.
// It runs on every request, so it goes straight to pgx: through GORM and
// database/sql it cost twice the time and seventeen times the allocations
// (the one query that does; all others go through GORM).
const loadSQL = `SELECT s.id, s.token_hash, s.person_id, s.aal, s.csrf_token, s.data, s.flash, s.created_at,
		s.last_active_at, s.expires_at, s.checked_at, p.given_name, p.family_name, p.role, p.staff_role, p.terms_accepted_at
	FROM sessions s LEFT JOIN people p ON p.id = s.person_id WHERE s.token_hash = $1`

// SignedIn reports whether the session belongs to a person at AAL2.
func (s *Session) SignedIn() bool { return s != nil && s.PersonID != nil && s.AAL >= AAL2 }

// IdleDeadline is when the session ends unless there is activity. An
// anonymous session holds only a CSRF token, so it simply lasts its two
// hours: a sign-in form left open for a while must still submit.
func (s *Session) IdleDeadline() time.Time {
	if s.PersonID == nil {
		return s.ExpiresAt
	}
	d := s.LastActiveAt.Add(IdleTimeout)
	if s.ExpiresAt.Before(d) {
		return s.ExpiresAt
	}
	return d
}

// Sessions stores sessions in Postgres so any app machine serves any request.
//
// Security: tokens carry 256 random bits; the table holds only
// HMAC-SHA256(key, token), so a database leak yields no usable session.
type Sessions struct {
	db         *gorm.DB
	pool       *pgxpool.Pool // Load's, straight to pgx
	key        []byte
	clock      clock.Clock
	CookieName string
	secure     bool
}

// NewSessions returns the session store. secure selects the __Host- cookie
// with the Secure flag (production); plain-http development drops both.
func NewSessions(db *gorm.DB, pool *pgxpool.Pool, key []byte, clk clock.Clock, secure bool) *Sessions {
	name := "portal_session"
	if secure {
		name = "__Host-portal_session"
	}
	return &Sessions{db: db, pool: pool, key: key, clock: clk, CookieName: name, secure: secure}
}

func (s *Sessions) hash(token string) []byte { return keyhash.Sum(s.key, "session", token) }

// Load finds the live session for the request's cookie, or nil. A session
// past its end is ErrSessionExpired; within its FinalSaveGrace it is
// returned too (for Middleware to let a final draft save through), after
// that it is deleted on sight.
func (s *Sessions) Load(ctx context.Context, token string) (*Session, error) {
	if token == "" {
		return nil, nil
	}
	var sess Session
	var given, family, role, staffRole *string
	var terms *time.Time
	var data, flash []byte
	err := s.pool.QueryRow(ctx, loadSQL, s.hash(token)).Scan(&sess.ID, &sess.TokenHash, &sess.PersonID,
		&sess.AAL, &sess.CSRFToken, &data, &flash, &sess.CreatedAt, &sess.LastActiveAt, &sess.ExpiresAt,
		&sess.CheckedAt, &given, &family, &role, &staffRole, &terms)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("session: load: %w", err)
	}
	sess.Data, sess.Flash = data, flash
	if sess.PersonID != nil && role != nil {
		sess.Viewer = &Viewer{ID: *sess.PersonID, Name: strings.TrimSpace(*given + " " + *family),
			Staff: *role == "staff", StaffRole: *staffRole, TermsAccepted: terms != nil}
	}
	now := s.clock.Now()
	if now.Before(sess.IdleDeadline()) {
		return &sess, nil
	}
	if sess.PersonID != nil && now.Before(sess.IdleDeadline().Add(FinalSaveGrace)) {
		return &sess, ErrSessionExpired
	}
	if err := s.db.WithContext(ctx).Delete(&Session{}, sess.ID).Error; err != nil {
		return nil, fmt.Errorf("session: expire: %w", err)
	}
	return nil, ErrSessionExpired
}

// ErrSessionExpired says a session was found but had timed out.
var ErrSessionExpired = errors.New("session expired")

// Touch records activity; passive requests (polling, status checks) never call it.
func (s *Sessions) Touch(ctx context.Context, sess *Session) error {
	if r := s.touch(sess); r != nil {
		return s.db.WithContext(ctx).Exec(r.SQL, r.Args...).Error
	}
	return nil
}

// touch marks sess active now and returns the write that records it, or
// nil when it was recorded less than activityGrain ago.
func (s *Sessions) touch(sess *Session) *audit.Rider {
	now := s.clock.Now()
	if now.Sub(sess.LastActiveAt) < activityGrain {
		return nil
	}
	sess.LastActiveAt = now
	return &audit.Rider{SQL: `UPDATE sessions SET last_active_at = ? WHERE id = ?`, Args: []any{now, sess.ID}}
}

// create inserts a new session and returns it with its token. csrf is
// its CSRF token, or "" for a new one.
func (s *Sessions) create(ctx context.Context, personID *int64, aal int16, data json.RawMessage, csrf string) (*Session, string, error) {
	token, err := RandomToken()
	if err != nil {
		return nil, "", err
	}
	if csrf == "" {
		if csrf, err = RandomToken(); err != nil {
			return nil, "", err
		}
	}
	now := s.clock.Now()
	life := AbsoluteLifetime
	if personID == nil {
		life = anonymousLife
	}
	if len(data) == 0 {
		data = json.RawMessage(`{}`)
	}
	sess := &Session{TokenHash: s.hash(token), PersonID: personID, AAL: aal, CSRFToken: csrf,
		Data: data, CreatedAt: now, LastActiveAt: now, ExpiresAt: now.Add(life)}
	if aal >= AAL2 {
		sess.CheckedAt = &now // signing in is a check
	}
	if err := s.db.WithContext(ctx).Create(sess).Error; err != nil {
		return nil, "", fmt.Errorf("session: create: %w", err)
	}
	return sess, token, nil
}

// Start creates a session for a person outside a request and returns its
// token (the test harness signs people in with it).
func (s *Sessions) Start(ctx context.Context, personID int64, aal int16) (string, error) {
	_, token, err := s.create(ctx, &personID, aal, nil, "")
	return token, err
}

// Ensure returns the request's session, creating an anonymous one when
// there is none: a journey's first step keeps its state in it (a code
// sent to an address), a flash waits in it. It takes the visitor's CSRF
// token (CSRFToken), so the forms already on their pages still post.
func (s *Sessions) Ensure(c *fiber.Ctx) (*Session, error) {
	if sess := CurrentSession(c); sess != nil {
		return sess, nil
	}
	sess, token, err := s.create(c.UserContext(), nil, AALNone, nil, visitorToken(c))
	if err != nil {
		return nil, err
	}
	s.setCookie(c, token)
	c.Locals(sessionKey, sess)
	return sess, nil
}

// Rotate replaces the request's session with a new one for personID at aal,
// with a new token, a new CSRF token and no data: nothing a journey kept
// before (a half-done check, a pending address) crosses a privilege
// change. Call it at sign-in, at each factor and at every privilege change
// (session fixation).
func (s *Sessions) Rotate(c *fiber.Ctx, personID int64, aal int16) (*Session, error) {
	if old := CurrentSession(c); old != nil {
		if err := s.end(c.UserContext(), watched(old), "id = ?", old.ID); err != nil {
			return nil, fmt.Errorf("session: rotate: %w", err)
		}
	}
	sess, token, err := s.create(c.UserContext(), &personID, aal, nil, "")
	if err != nil {
		return nil, err
	}
	s.setCookie(c, token)
	c.Locals(sessionKey, sess)
	return sess, nil
}

// MarkChecked records that the session's person has just proved it was
// them again (a fresh check before a change to how they sign in).
func (s *Sessions) MarkChecked(ctx context.Context, sess *Session) error {
	now := s.clock.Now()
	if err := s.db.WithContext(ctx).Model(sess).Update("checked_at", now).Error; err != nil {
		return fmt.Errorf("session: checked: %w", err)
	}
	sess.CheckedAt = &now
	return nil
}

// CheckedWithin reports whether the session's person proved it was them
// less than d ago.
func (s *Sessions) CheckedWithin(sess *Session, d time.Duration) bool {
	return sess != nil && sess.CheckedAt != nil && s.clock.Now().Sub(*sess.CheckedAt) < d
}

// Destroy ends the request's session and clears the cookie.
func (s *Sessions) Destroy(c *fiber.Ctx) error {
	if sess := CurrentSession(c); sess != nil {
		if err := s.end(c.UserContext(), watched(sess), "id = ?", sess.ID); err != nil {
			return fmt.Errorf("session: destroy: %w", err)
		}
	}
	c.Locals(sessionKey, nil)
	s.clearCookie(c)
	return nil
}

// DestroyAll ends every session of a person (password reset, email change,
// "Log out of all devices").
func (s *Sessions) DestroyAll(ctx context.Context, personID int64) error {
	return s.end(ctx, &personID, "person_id = ?", personID)
}

// watched is the person whose open pages may stream through sess (only a
// signed-in session opens streams), or nil.
func watched(sess *Session) *int64 {
	if !sess.SignedIn() {
		return nil
	}
	return sess.PersonID
}

// end deletes the sessions that match where and, given a person, tells
// that person's open pages in the same transaction.
// Security: a live stream re-authorises at once on its viewer's "person"
// event and ends; without it, it would learn of the sign-out only at its
// next heartbeat (live's bound).
func (s *Sessions) end(ctx context.Context, personID *int64, where string, args ...any) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where(where, args...).Delete(&Session{}).Error; err != nil {
			return err
		}
		if personID == nil {
			return nil
		}
		return live.Notify(ctx, tx, live.Event{Topic: "person", ID: *personID})
	})
}

// SetData stores small values in the session (a journey's step, a pending email).
func (s *Sessions) SetData(ctx context.Context, sess *Session, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	sess.Data = b
	return s.db.WithContext(ctx).Model(&Session{}).Where("id = ?", sess.ID).Update("data", b).Error
}

// DeleteExpired removes sessions past their idle or absolute end (and,
// for a person's, past its FinalSaveGrace too); the clean-up job calls
// it. Access never depends on it: Load checks expiry.
func (s *Sessions) DeleteExpired(ctx context.Context) (int64, error) {
	now := s.clock.Now()
	res := s.db.WithContext(ctx).Where("(person_id IS NULL AND expires_at <= ?) OR expires_at <= ? OR (person_id IS NOT NULL AND last_active_at <= ?)",
		now, now.Add(-FinalSaveGrace), now.Add(-IdleTimeout-FinalSaveGrace)).Delete(&Session{})
	return res.RowsAffected, res.Error
}

// CSRFToken is the token the request's forms carry: its session's, or,
// for a visitor without one, the token of the visitor's CSRF cookie, set
// now when missing. Security: a visitor's pages need no session row (a
// crawler's GET writes nothing); the token is still 256 random bits only
// this browser holds (an HttpOnly, SameSite cookie, __Host- in
// production), checked against the form's copy (CSRF), and the session
// the first post makes keeps it (Ensure).
func (s *Sessions) CSRFToken(c *fiber.Ctx) (string, error) {
	if sess := CurrentSession(c); sess != nil {
		return sess.CSRFToken, nil
	}
	if token := visitorToken(c); token != "" {
		return token, nil
	}
	token, err := RandomToken()
	if err != nil {
		return "", err
	}
	c.Cookie(&fiber.Cookie{Name: s.csrfCookie(), Value: token, Path: "/", HTTPOnly: true,
		Secure: s.secure, SameSite: fiber.CookieSameSiteLaxMode})
	c.Locals(visitorKey, token)
	return token, nil
}

func (s *Sessions) csrfCookie() string {
	if s.secure {
		return "__Host-portal_csrf"
	}
	return "portal_csrf"
}

const visitorKey = "web.visitorCSRF"

// visitorToken is the visitor's CSRF token from their cookie (Middleware
// reads it), or "".
func visitorToken(c *fiber.Ctx) string {
	t, _ := c.Locals(visitorKey).(string)
	return t
}

func (s *Sessions) setCookie(c *fiber.Ctx, token string) {
	c.Cookie(&fiber.Cookie{Name: s.CookieName, Value: token, Path: "/", HTTPOnly: true,
		Secure: s.secure, SameSite: fiber.CookieSameSiteLaxMode})
}

func (s *Sessions) clearCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: s.CookieName, Value: "", Path: "/", HTTPOnly: true,
		Secure: s.secure, SameSite: fiber.CookieSameSiteLaxMode, MaxAge: -1, Expires: time.Unix(1, 0)})
}

const sessionKey = "web.session"

// CurrentSession is the request's live session, or nil.
func CurrentSession(c *fiber.Ctx) *Session {
	s, _ := c.Locals(sessionKey).(*Session)
	return s
}

// Passive reports whether the browser marked a request as not activity:
// polling, and saves made while signing out. Routes marked PassiveRoute
// never count either, whoever calls them.
func Passive(c *fiber.Ctx) bool {
	return c.Get("X-Portal-Passive") == "1"
}

// Middleware loads the session for every request and records activity,
// except on a passive request or route (PassiveRoute: the countdown's own
// status check; the page it opens at zero, which must see the session as
// it was, not as this very request would leave it; live streams, opened
// by EventSource, which sends no headers of its own). Only a final draft
// save (a LateDraft route, FinalSaveHeader) may use a session in its
// FinalSaveGrace.
func (s *Sessions) Middleware(routes *Routes) fiber.Handler {
	return func(c *fiber.Ctx) error {
		sess, err := s.Load(c.UserContext(), c.Cookies(s.CookieName))
		if errors.Is(err, ErrSessionExpired) {
			if sess != nil && c.Get(FinalSaveHeader) == "1" && routes.On(c, LateDraft) {
				// Security: an ended session, for this one draft save only:
				// it is not touched, so it stays ended.
				sess.grace = true
				c.Locals(sessionKey, sess)
				return c.Next()
			}
			s.clearCookie(c)
			c.Locals(sessionExpiredKey, true)
			sess, err = nil, nil
		}
		if err != nil {
			return err
		}
		if t := c.Cookies(s.csrfCookie()); len(t) == tokenLength {
			c.Locals(visitorKey, t)
		}
		if sess == nil {
			return c.Next()
		}
		c.Locals(sessionKey, sess)
		rider := (*audit.Rider)(nil)
		if !Passive(c) && !routes.On(c, PassiveRoute) {
			rider = s.touch(sess)
		}
		if rider == nil {
			return c.Next()
		}
		// The activity rides on the page's audit event if it writes one
		// (one round trip), else it is written after the handler.
		c.SetUserContext(audit.WithRider(c.UserContext(), rider))
		err = c.Next()
		if !rider.Taken() {
			if terr := s.db.WithContext(c.UserContext()).Exec(rider.SQL, rider.Args...).Error; terr != nil && err == nil {
				err = terr
			}
		}
		return err
	}
}

// InGrace reports whether the request is a final draft save that arrived
// after its session ended (FinalSaveGrace): it may keep a draft and do
// nothing else.
func InGrace(c *fiber.Ctx) bool { return CurrentSession(c) != nil && CurrentSession(c).grace }

// FinalSaveHeader marks a draft save sent by the idle countdown before the
// session ends (static/js/app.js sets it while signing out).
const FinalSaveHeader = "X-Portal-Final-Save"

const sessionExpiredKey = "web.sessionExpired"

// SessionJustExpired reports whether this request arrived with a session
// that had timed out, so the sign-in page can say why.
func SessionJustExpired(c *fiber.Ctx) bool {
	v, _ := c.Locals(sessionExpiredKey).(bool)
	return v
}

// tokenLength is the length of a RandomToken.
const tokenLength = 43

// RandomToken returns 256 random bits, base64url: the one way the portal
// makes session and CSRF tokens, call challenges and invitation links.
func RandomToken() (string, error) {
	b := make([]byte, 32) // Security: 256 bits
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
