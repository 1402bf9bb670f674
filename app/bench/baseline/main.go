// Command baseline is the load run's yardstick: a bare Fiber + pgx server
// that does what the portal's record dashboard does at the database (the
// same queries: the session by its token's keyed hash, the person, the
// grant in force, an audit row, the worker to contact, three counts) and
// renders an html/template page of the same size, with nothing else: no
// middleware, no ORM, no translation. app/bench starts it beside the
// portal and reports the portal's figures as ratios to it.
//
// It reads DATABASE_URL, PORT, SESSION_KEY (as the portal's) and
// PAGE_BYTES (the size of the portal's dashboard, to pad its page to).
// It is never part of the portal's binary.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"html/template"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/compress"
	"github.com/jackc/pgx/v5/pgxpool"

	"portal/app/keyhash"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(os.Getenv("DATABASE_URL"))
	if err != nil {
		return err
	}
	cfg.MaxConns = 20 // as the portal's pool
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	key, err := base64.StdEncoding.DecodeString(os.Getenv("SESSION_KEY"))
	if err != nil {
		return err
	}
	size, _ := strconv.Atoi(os.Getenv("PAGE_BYTES"))
	s := &server{pool: pool, key: key, pad: padding(size)}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Use(compress.New())
	app.Get("/records/:record", s.dashboard)
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	return app.Listen("127.0.0.1:" + os.Getenv("PORT"))
}

type server struct {
	pool *pgxpool.Pool
	key  []byte
	pad  string
}

// page is the dashboard's shape: a name, four tiles, a contact.
var page = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Name}}</title></head>
<body><main><h1>{{.Name}}</h1>
<ul>{{range .Tiles}}<li><a href="{{.Path}}">{{.Label}}</a> <span>{{.N}}</span></li>{{end}}</ul>
<p>{{.Worker}}, {{.Team}}</p>
<p hidden>{{.Pad}}</p></main></body></html>`))

type tile struct {
	Path, Label string
	N           int64
}

type view struct {
	Name, Worker, Team, Pad string
	Tiles                   []tile
}

// padding makes the page as long as the portal's (the template's own
// bytes and the data make up the rest, near enough).
func padding(size int) string {
	n := size - 600
	if n < 0 {
		n = 0
	}
	return strings.Repeat("x", n)
}

func (s *server) dashboard(c *fiber.Ctx) error {
	ctx := c.UserContext()
	record, err := c.ParamsInt("record")
	if err != nil {
		return fiber.ErrNotFound
	}
	hash := keyhash.Sum(s.key, "session", c.Cookies("portal_session"))
	var sessionID, person int64
	var lastActive time.Time
	err = s.pool.QueryRow(ctx, `SELECT id, person_id, last_active_at FROM sessions
		WHERE token_hash = $1 AND aal >= 2 AND expires_at > now()`, hash).Scan(&sessionID, &person, &lastActive)
	if err != nil {
		return fiber.ErrUnauthorized
	}
	var given, family string
	if err := s.pool.QueryRow(ctx, `SELECT given_name, family_name FROM people WHERE id = $1`, person).Scan(&given, &family); err != nil {
		return err
	}
	v := view{Pad: s.pad}
	err = s.pool.QueryRow(ctx, `SELECT r.given_name || ' ' || r.family_name FROM grants g JOIN records r ON r.id = g.record_id
		WHERE g.person_id = $1 AND g.record_id = $2 AND g.revoked_at IS NULL AND (g.ends_at IS NULL OR g.ends_at > now())`,
		person, record).Scan(&v.Name)
	if err != nil {
		return fiber.ErrNotFound
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO audit_events (at, actor_id, action, record_id, request_id)
		VALUES (now(), $1, 'record.viewed', $2, 'baseline')`, person, record); err != nil {
		return err
	}
	err = s.pool.QueryRow(ctx, `SELECT coalesce(p.given_name || ' ' || p.family_name, ''), t.name
		FROM records r JOIN teams t ON t.id = r.team_id LEFT JOIN people p ON p.id = r.allocated_worker_id
		WHERE r.id = $1`, record).Scan(&v.Worker, &v.Team)
	if err != nil {
		return err
	}
	for _, q := range []struct{ path, label, sql string }{
		{"messages", "New messages", `SELECT count(*) FROM threads WHERE holder_id = $1 AND record_id = $2 AND holder_unread`},
		{"documents", "Items to view", `SELECT count(*) FROM document_recipients WHERE person_id = $1 AND record_id = $2 AND opened_at IS NULL AND NOT withdrawn`},
		{"forms", "Items to complete", `SELECT count(*) FROM forms WHERE person_id = $1 AND record_id = $2 AND submitted_at IS NULL AND withdrawn_at IS NULL`},
	} {
		t := tile{Path: q.path, Label: q.label}
		if err := s.pool.QueryRow(ctx, q.sql, person, record).Scan(&t.N); err != nil {
			return err
		}
		v.Tiles = append(v.Tiles, t)
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, v); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(buf.Bytes())
}
