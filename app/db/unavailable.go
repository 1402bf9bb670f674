package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrUnavailable is what the answer to a request says when Postgres
// cannot be reached: the error handler answers any error for which
// Unavailable is true with a 503 and a page that says work is kept.
var ErrUnavailable = errors.New("db: database unavailable")

// Unavailable reports whether err says the database could not be reached
// or went away mid-statement (stopped, restarting, in crash recovery, out
// of connections), rather than that a statement was wrong. Such a request
// may succeed when tried again; nothing it asked for was done unless its
// transaction committed, which a 503 never follows.
//
// Security: this only changes the answer's status and words. An
// authorisation check that fails for this reason has already failed: the
// handler returned its error, and nothing was shown.
func Unavailable(err error) bool {
	// A request given up (its client gone, its time up) is not an outage,
	// whatever pgx wrapped it in.
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, ErrUnavailable) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) {
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case strings.HasPrefix(pg.Code, "08"): // connection exception
			return true
		case pg.Code == "57P01", pg.Code == "57P02", pg.Code == "57P03": // shutdown, crash, cannot connect now
			return true
		case pg.Code == "53300": // too many connections
			return true
		}
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	// A connection pgx had closed under the request, or a statement
	// refused before it was sent.
	return errors.Is(err, pgconn.ErrConnClosed) || pgconn.SafeToRetry(err)
}
