package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"portal/app/db"
)

// tool finds a PostgreSQL program (pg_dump, pg_restore): in binDir
// (PG_BINDIR) when it is there, else beside the server binaries the
// embedded cluster uses (db.FindBinDir), else on PATH.
func tool(binDir, name string) (string, error) {
	has := func(dir string) bool {
		fi, err := os.Stat(filepath.Join(dir, name))
		return dir != "" && err == nil && !fi.IsDir()
	}
	if has(binDir) {
		return filepath.Join(binDir, name), nil
	}
	if dir, err := db.FindBinDir(binDir); err == nil && has(dir) {
		return filepath.Join(dir, name), nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("backup: %s not found: install PostgreSQL's client programs of the server's major version "+
		"or newer (apt-get install postgresql-client), or set PG_BINDIR to where they are", name)
}

// run runs a PostgreSQL program against the database dsn, which it gets
// as --dbname without its password: that goes in PGPASSWORD, so no
// process listing shows it.
func run(ctx context.Context, binDir, name, dsn string, args ...string) error {
	path, err := tool(binDir, name)
	if err != nil {
		return err
	}
	conninfo, password, err := splitPassword(dsn)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, path, append(args, "--no-password", "--dbname="+conninfo)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	if password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+password)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("backup: %s: %w: %s", name, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// splitPassword takes the password out of a libpq connection string, a
// URL (postgres://user:password@host/db?…) or key=value pairs, and returns
// the rest as a string libpq reads the same way.
func splitPassword(dsn string) (conninfo, password string, err error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", "", errors.New("backup: the database URL cannot be read")
		}
		if u.User != nil {
			if p, ok := u.User.Password(); ok {
				password = p
				u.User = url.User(u.User.Username())
			}
		}
		q := u.Query()
		if q.Has("password") {
			password = q.Get("password")
			q.Del("password")
			u.RawQuery = q.Encode()
		}
		return u.String(), password, nil
	}
	pairs, err := parseKeywords(dsn)
	if err != nil {
		return "", "", err
	}
	var parts []string
	for _, kv := range pairs {
		if kv[0] == "password" {
			password = kv[1]
			continue
		}
		v := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(kv[1])
		parts = append(parts, kv[0]+"='"+v+"'")
	}
	return strings.Join(parts, " "), password, nil
}

// parseKeywords reads "key=value key2='quoted \' value'" as libpq does.
func parseKeywords(s string) ([][2]string, error) {
	var out [][2]string
	bad := errors.New("backup: the database connection string cannot be read")
	i := 0
	space := func() {
		for i < len(s) && strings.ContainsRune(" \t\n\r\f\v", rune(s[i])) {
			i++
		}
	}
	for {
		space()
		if i == len(s) {
			return out, nil
		}
		start := i
		for i < len(s) && s[i] != '=' && !strings.ContainsRune(" \t\n\r\f\v", rune(s[i])) {
			i++
		}
		key := s[start:i]
		space()
		if key == "" || i == len(s) || s[i] != '=' {
			return nil, bad
		}
		i++
		space()
		var v strings.Builder
		if i < len(s) && s[i] == '\'' {
			i++
			for {
				if i == len(s) {
					return nil, bad // no closing quote
				}
				c := s[i]
				i++
				if c == '\'' {
					break
				}
				if c == '\\' && i < len(s) {
					c = s[i]
					i++
				}
				v.WriteByte(c)
			}
		} else {
			for i < len(s) && !strings.ContainsRune(" \t\n\r\f\v", rune(s[i])) {
				c := s[i]
				i++
				if c == '\\' && i < len(s) {
					c = s[i]
					i++
				}
				v.WriteByte(c)
			}
		}
		out = append(out, [2]string{key, v.String()})
	}
}
