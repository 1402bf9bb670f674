package db

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoPostgres is returned when no PostgreSQL server binaries can be found.
var ErrNoPostgres = errors.New("no PostgreSQL server binaries found: install them with `apt-get install postgresql` or set PG_BINDIR (or set DATABASE_URL)")

// Embedded is a private PostgreSQL cluster in a directory of ours, reachable
// only through a unix socket. When the process runs as root, the cluster is
// owned and run by the `postgres` OS user, because initdb refuses root.
type Embedded struct {
	Dir    string // the cluster's data directory
	BinDir string // where initdb, pg_ctl and postgres live; found when empty
	// Fast turns off fsync and synchronous commit: for throwaway test clusters only.
	Fast bool
	// Settings are more server settings, name=value (the load run preloads
	// pg_stat_statements to count writes).
	Settings []string

	started bool // whether Start started the server (Stop stops only that)
	sockDir string
	cred    *syscall.Credential
}

// Start creates the cluster if it does not exist, starts the server unless it
// is already running, and returns a DSN for the `postgres` superuser.
func (e *Embedded) Start(ctx context.Context) (string, error) {
	if e.BinDir == "" {
		dir, err := FindBinDir(os.Getenv("PG_BINDIR"))
		if err != nil {
			return "", err
		}
		e.BinDir = dir
	}
	abs, err := filepath.Abs(e.Dir)
	if err != nil {
		return "", err
	}
	e.Dir = abs
	if err := e.prepareOwner(); err != nil {
		return "", err
	}
	e.sockDir = socketDir(e.Dir)
	if err := e.mkdirOwned(e.sockDir); err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(e.Dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := e.initdb(ctx); err != nil {
			return "", err
		}
	}
	if !e.running(ctx) {
		if err := e.start(ctx); err != nil {
			return "", err
		}
		e.started = true
	}
	return e.DSN("postgres"), nil
}

// DSN is the connection string for a database in this cluster.
func (e *Embedded) DSN(dbname string) string {
	return fmt.Sprintf("host=%s port=5432 user=postgres dbname=%s sslmode=disable", e.sockDir, dbname)
}

// Started reports whether this process started the server.
func (e *Embedded) Started() bool { return e.started }

// Stop stops the server if, and only if, Start started it.
func (e *Embedded) Stop() error {
	if !e.started {
		return nil
	}
	e.started = false
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return e.run(ctx, "pg_ctl", "stop", "-D", e.Dir, "-m", "fast", "-w")
}

// Crash stops the server as a power cut would (pg_ctl stop -m immediate:
// no checkpoint, connections dropped mid-statement; the next Start runs
// crash recovery). Only tests of an outage use it.
func (e *Embedded) Crash() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return e.run(ctx, "pg_ctl", "stop", "-D", e.Dir, "-m", "immediate", "-w")
}

// StopAnyway stops the server whoever started it (tests clean up with it).
func (e *Embedded) StopAnyway() error {
	e.started = true
	return e.Stop()
}

func (e *Embedded) initdb(ctx context.Context) error {
	if err := e.mkdirOwned(e.Dir); err != nil {
		return err
	}
	args := []string{"-D", e.Dir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"}
	if e.Fast {
		args = append(args, "--no-sync")
	}
	if err := e.run(ctx, "initdb", args...); err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	// Security: trust is safe only because the server listens on a private
	// socket directory (0700, ours) and on no TCP address.
	return nil
}

func (e *Embedded) start(ctx context.Context) error {
	opts := fmt.Sprintf("-c listen_addresses='' -k %s -c unix_socket_permissions=0700", e.sockDir)
	if e.Fast {
		opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	}
	for _, kv := range e.Settings {
		opts += " -c " + kv
	}
	logFile := filepath.Join(e.Dir, "server.log")
	if err := e.run(ctx, "pg_ctl", "start", "-D", e.Dir, "-w", "-t", "60", "-l", logFile, "-o", opts); err != nil {
		tail, _ := os.ReadFile(logFile)
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return fmt.Errorf("start postgres: %w\n%s", err, tail)
	}
	return nil
}

// running reports whether a server already serves this cluster, for instance
// one left by a process that was killed: we reuse it and never stop it.
func (e *Embedded) running(ctx context.Context) bool {
	return e.run(ctx, "pg_ctl", "status", "-D", e.Dir) == nil
}

func (e *Embedded) run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(e.BinDir, name), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Own process group: a Ctrl-C in the terminal reaches the portal, which
	// then stops the server in order, rather than killing both at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: e.cred}
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// prepareOwner decides which OS user runs the server. As root it is
// `postgres`, and every parent of the cluster must be searchable by it.
func (e *Embedded) prepareOwner() error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root needs the postgres OS user (apt-get install postgresql): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	e.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	for dir := filepath.Dir(e.Dir); dir != "/"; dir = filepath.Dir(dir) {
		if err := os.MkdirAll(dir, 0o711); err != nil {
			return err
		}
		fi, err := os.Stat(dir)
		if err != nil {
			return err
		}
		// Search (x) only: postgres may pass through, not list.
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(dir, fi.Mode().Perm()|0o011); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e *Embedded) mkdirOwned(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if e.cred != nil {
		return os.Chown(dir, int(e.cred.Uid), int(e.cred.Gid))
	}
	return nil
}

// socketDir keeps the socket path under the ~107-byte limit of unix sockets:
// inside the cluster's parent when short enough, else in the temp directory
// under a name derived from the cluster path.
func socketDir(clusterDir string) string {
	near := filepath.Join(filepath.Dir(clusterDir), "run")
	if len(near)+len("/.s.PGSQL.5432") < 100 {
		return near
	}
	sum := sha256.Sum256([]byte(clusterDir))
	return filepath.Join(os.TempDir(), "portal-pg-"+hex.EncodeToString(sum[:6]))
}

// FindBinDir finds the PostgreSQL server binaries: the given directory, then
// `pg_config --bindir`, then the newest /usr/lib/postgresql/*/bin.
func FindBinDir(hint string) (string, error) {
	has := func(dir string) bool {
		_, err := os.Stat(filepath.Join(dir, "initdb"))
		return dir != "" && err == nil
	}
	if has(hint) {
		return hint, nil
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); has(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, dir := range dirs {
		if has(dir) {
			return dir, nil
		}
	}
	return "", ErrNoPostgres
}

func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}
