package db

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// queryLogger logs failed and slow statements without a single value:
// GORM inlines values into the SQL it logs for raw queries, and Postgres
// quotes them in its error messages, so neither is logged. What is logged
// is the statement with every literal replaced, the SQLSTATE and the time.
type queryLogger struct {
	log  *slog.Logger
	slow time.Duration
}

var literal = regexp.MustCompile(`'(?:[^']|'')*'|\$\d+\$|\b\d+\b`)

func (l queryLogger) LogMode(logger.LogLevel) logger.Interface { return l }

func (l queryLogger) Info(context.Context, string, ...any)  {}
func (l queryLogger) Warn(context.Context, string, ...any)  {}
func (l queryLogger) Error(context.Context, string, ...any) {}

func (l queryLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	elapsed := time.Since(begin)
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		sql, _ := fc()
		code := "unknown"
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			code = pgErr.Code
		}
		l.log.ErrorContext(ctx, "sql failed", "statement", literal.ReplaceAllString(sql, "?"), "sqlstate", code, "ms", elapsed.Milliseconds())
		return
	}
	if elapsed > l.slow {
		sql, _ := fc()
		l.log.WarnContext(ctx, "sql slow", "statement", literal.ReplaceAllString(sql, "?"), "ms", elapsed.Milliseconds())
	}
}
