package backup

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestThePasswordLeavesTheConnectionString: pg_dump and pg_restore get the
// database without its password (it goes in PGPASSWORD, which no process
// listing shows), and everything else as libpq reads it.
func TestThePasswordLeavesTheConnectionString(t *testing.T) {
	for _, tc := range []struct{ name, dsn, password string }{
		{"url with a password", "postgres://portal:s3cr%40t@db.internal:5433/portal?sslmode=require", "s3cr@t"},
		{"url without one", "postgresql://portal@db.internal/portal?sslmode=disable", ""},
		{"url with the password as a parameter", "postgres://portal@db.internal/portal?password=pw&sslmode=disable", "pw"},
		{"key=value pairs", "host=/run/pg port=5432 user=postgres password=pw dbname=portal sslmode=disable", "pw"},
		{"spaces around =", `host = db.internal password = pw\ with\ spaces dbname = portal`, "pw with spaces"},
		{"a quoted value with spaces", `host=db.internal password='with spaces \' and quote' dbname='my db'`, `with spaces ' and quote`},
		{"no password", "host=/run/pg user=postgres dbname=portal", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conninfo, password, err := splitPassword(tc.dsn)
			if err != nil {
				t.Fatal(err)
			}
			if password != tc.password {
				t.Errorf("password = %q, want %q", password, tc.password)
			}
			if tc.password != "" && strings.Contains(conninfo, tc.password) {
				t.Errorf("the password is still in %q", conninfo)
			}
			// The rest means what it meant: the same server, user, database
			// and TLS, as pgx (which reads libpq's syntax) sees it.
			want, err := pgconn.ParseConfig(tc.dsn)
			if err != nil {
				t.Fatal(err)
			}
			if want.Password != tc.password {
				t.Fatalf("pgx reads the password as %q: the test's case is wrong", want.Password)
			}
			got, err := pgconn.ParseConfig(conninfo)
			if err != nil {
				t.Fatalf("%q does not parse: %v", conninfo, err)
			}
			if got.Host != want.Host || got.Port != want.Port || got.User != want.User || got.Database != want.Database ||
				(got.TLSConfig == nil) != (want.TLSConfig == nil) || got.Password != "" {
				t.Errorf("%q reads as %s:%d %s/%s tls=%v, want %s:%d %s/%s tls=%v", conninfo, got.Host, got.Port, got.User,
					got.Database, got.TLSConfig != nil, want.Host, want.Port, want.User, want.Database, want.TLSConfig != nil)
			}
		})
	}
}

func TestAConnectionStringThatCannotBeReadIsRefused(t *testing.T) {
	for _, dsn := range []string{"host", "=x", "password='open", "postgres://%zz"} {
		if _, _, err := splitPassword(dsn); err == nil {
			t.Errorf("splitPassword(%q) did not refuse", dsn)
		}
	}
}
