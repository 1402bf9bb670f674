// Package db opens the portal's Postgres database, runs its migrations and,
// when no DATABASE_URL is given, starts a private embedded cluster.
//
// Invariants:
//   - Schema changes are versioned SQL files embedded in the binary
//     (migrations/NNNNN_name.sql), applied in order and recorded by goose in
//     goose_db_version, then River's job-queue migrations (the default
//     schema, for the one client in app/queue); applying them twice changes
//     nothing.
//   - Every query goes through parameters (GORM or pgx); no SQL is built from
//     input.
//   - Query logs never carry values: failed and slow statements are logged
//     with every literal replaced and only the SQLSTATE of an error (whose
//     text quotes values), so no personal data reaches the logs through SQL.
package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB holds both faces of one database: GORM for feature stores, a pgx pool
// for the job queue and LISTEN/NOTIFY.
type DB struct {
	Gorm *gorm.DB
	Pool *pgxpool.Pool
	// Embedded is the cluster this process started or reused, nil when
	// DATABASE_URL points elsewhere.
	Embedded *Embedded
}

// ErrNotFound is what every store's ErrNotFound wraps: a row the actor
// asked for is not there, or is not theirs to see (the same answer, on
// purpose). The error handler answers it with the 404 of a missing page,
// so a handler returns it as it comes.
var ErrNotFound = errors.New("not found")

// Options says where the database is.
type Options struct {
	URL     string // DATABASE_URL; empty starts an embedded cluster
	DataDir string // parent of the embedded cluster (DATA_DIR)
	BinDir  string // PG_BINDIR
	Logger  *slog.Logger
}

// Open connects (starting the embedded cluster when needed) and migrates.
func Open(ctx context.Context, o Options) (*DB, error) {
	d := &DB{}
	dsn := o.URL
	if dsn == "" {
		d.Embedded = &Embedded{Dir: filepath.Join(o.DataDir, "postgres"), BinDir: o.BinDir}
		if _, err := d.Embedded.Start(ctx); err != nil {
			return nil, err
		}
		if err := CreateDatabase(ctx, d.Embedded.DSN("postgres"), "portal", ""); err != nil {
			d.Close()
			return nil, err
		}
		dsn = d.Embedded.DSN("portal")
	}
	if err := Migrate(ctx, dsn); err != nil {
		d.Close()
		return nil, err
	}
	if err := d.connect(ctx, dsn, o.Logger); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Connect opens an already migrated database by DSN (tests use it per database).
func Connect(ctx context.Context, dsn string, log *slog.Logger) (*DB, error) {
	d := &DB{}
	if err := d.connect(ctx, dsn, log); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *DB) connect(ctx context.Context, dsn string, log *slog.Logger) error {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("db: parse dsn: %w", err)
	}
	cfg.MaxConns = 20
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("db: pool: %w", err)
	}
	d.Pool = pool
	sqlDB := stdlib.OpenDBFromPool(pool)
	if log == nil {
		log = slog.Default()
	}
	g, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{
		// Security: statements are logged without values (see queryLogger).
		Logger:                 queryLogger{log: log, slow: 500 * time.Millisecond},
		NowFunc:                func() time.Time { return time.Now().UTC() },
		TranslateError:         true,
		SkipDefaultTransaction: true,
	})
	if err != nil {
		return fmt.Errorf("db: gorm: %w", err)
	}
	d.Gorm = g
	return d.Ping(ctx)
}

// Ping checks the database answers, for /readyz.
func (d *DB) Ping(ctx context.Context) error {
	if d.Pool == nil {
		return errors.New("db: not connected")
	}
	return d.Pool.Ping(ctx)
}

// Close releases connections and stops the embedded server if we started it.
func (d *DB) Close() error {
	if d.Pool != nil {
		d.Pool.Close()
	}
	if d.Embedded != nil {
		return d.Embedded.Stop()
	}
	return nil
}

// Migrate applies every pending migration. It is idempotent.
func Migrate(ctx context.Context, dsn string) error {
	conn, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer conn.Close()
	sub, _ := fs.Sub(migrations, "migrations")
	p, err := goose.NewProvider(goose.DialectPostgres, conn, sub)
	if err != nil {
		return fmt.Errorf("db: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("db: migrate: %w", err)
	}
	return migrateQueue(ctx, dsn)
}

// migrateQueue applies River's own versioned migrations (the job queue's
// tables), which River ships and records in river_migration, to the
// default schema. (A schema river_jobs, where a second client once ran the
// scheduled jobs, is left alone: its periodic jobs are made again.)
func migrateQueue(ctx context.Context, dsn string) error {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("db: queue migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("db: queue migrate: %w", err)
	}
	return nil
}

// Versions lists the applied migration versions, oldest first.
func Versions(ctx context.Context, dsn string) ([]int64, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT version_id FROM goose_db_version WHERE is_applied AND version_id > 0 ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// CreateDatabase creates name (from template when given) unless it exists.
func CreateDatabase(ctx context.Context, adminDSN, name, template string) error {
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return fmt.Errorf("db: connect: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		stmt += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("db: create database: %w", err)
	}
	return nil
}
