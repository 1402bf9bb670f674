package db_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"portal/app/db"
)

// TestUnavailableTellsAnOutageFromAMistake: the errors of a database that
// is down or restarting are Unavailable (a 503 that keeps the page); a
// statement's own errors, a missing row and a cancelled request are not.
func TestUnavailableTellsAnOutageFromAMistake(t *testing.T) {
	_, connectErr := pgconn.Connect(context.Background(), "host=/nonexistent-portal-socket-dir user=postgres connect_timeout=1")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, cancelledErr := pgconn.Connect(cancelled, "host=/nonexistent-portal-socket-dir user=postgres")
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"no server to connect to", connectErr, true},
		{"shut down by the administrator", &pgconn.PgError{Code: "57P01"}, true},
		{"in crash recovery", &pgconn.PgError{Code: "57P03"}, true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"wrapped by a store", fmt.Errorf("session: load: %w", &pgconn.PgError{Code: "57P01"}), true},
		{"a unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"a syntax error", &pgconn.PgError{Code: "42601"}, false},
		{"a missing row", db.ErrNotFound, false},
		{"a request cancelled", context.Canceled, false},
		{"a request cancelled, as pgx says it", cancelledErr, false},
		{"anything else", errors.New("render: no template"), false},
		{"no error", nil, false},
	} {
		if got := db.Unavailable(c.err); got != c.want {
			t.Errorf("%s (%v): Unavailable = %v, want %v", c.name, c.err, got, c.want)
		}
	}
}
