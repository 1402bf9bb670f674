// Package backup makes and restores a whole copy of the portal (`portal
// backup DIR`, `portal restore [--force] DIR`): the database, dumped by
// pg_dump from one consistent snapshot, and every object of the store.
//
// Invariants:
//   - A backup is a directory: database.dump (pg_dump's custom format),
//     objects/<key>.bin, and manifest.json, written last, with the size and
//     sha256 of the dump and of every object, the row count of every table
//     as the dump saw it, the schema version and the keys its sealed values
//     need. A directory without a manifest is not a backup.
//   - The database is dumped before the objects are copied. The portal
//     stores an object before the row naming it commits, so every object
//     the dump names is in the store when the copy starts; only one deleted
//     in those minutes (an export past its time, a withdrawn document) is
//     missing from the copy.
//   - Restore checks everything before it writes anything: every checksum
//     against the files, the keys against ENCRYPTION_KEYS, and that the
//     database and the store are empty (unless forced). It then puts the
//     objects, checking each checksum again as it streams, restores the
//     database in one transaction, and compares every table's row count
//     with the manifest's.
//   - A backup holds personal data: its files are 0600 and its directories
//     0700. Sealed values stay sealed (ENCRYPTION_KEYS are never in a
//     backup); documents are as the store holds them.
//   - No password reaches a command line (pg_dump and pg_restore get it in
//     PGPASSWORD), and no value of the database is printed or logged.
//   - A backup and a restore each write an audit event (backup.made,
//     backup.restored) naming only counts.
package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"portal/app/audit"
	"portal/app/clock"
	"portal/app/db"
	"portal/app/rotate"
	"portal/storage"
)

// The names inside a backup.
const (
	manifestName = "manifest.json"
	dumpName     = "database.dump"
	objectsDir   = "objects"
	format       = 1
)

// Manifest describes a backup; restore checks the backup against it.
type Manifest struct {
	Format    int       `json:"format"`
	CreatedAt time.Time `json:"created_at"`
	// Schema is the last migration applied to the database.
	Schema int64 `json:"schema_version"`
	// Keys counts the sealed values under each key id: restoring needs
	// each of these keys in ENCRYPTION_KEYS.
	Keys     map[string]int64 `json:"sealed_keys"`
	Database File             `json:"database"`
	// Tables are the row counts of every table, "schema.table", in the
	// dump's snapshot.
	Tables      map[string]int64 `json:"tables"`
	ObjectCount int              `json:"object_count"`
	ObjectBytes int64            `json:"object_bytes"`
	Objects     []Object         `json:"objects"`
}

// File is one file of the backup.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Object is one object of the store, kept as objects/<key>.bin.
type Object struct {
	Key         string `json:"key"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	ContentType string `json:"content_type"`
	FileName    string `json:"file_name,omitempty"`
}

// Options say what to back up or restore into.
type Options struct {
	DSN    string // the database
	BinDir string // PG_BINDIR: where pg_dump and pg_restore are (see tool)
	Store  storage.Store
	// KeyIDs are ENCRYPTION_KEYS' ids: restore refuses a backup whose
	// sealed values need another, unless Force.
	KeyIDs []string
	// Force restores into a database or store that is not empty (pg_restore
	// --clean: what the backup holds replaces what is there) or without a
	// key the backup needs.
	Force bool
	Log   io.Writer // progress, for the operator; nil: none
}

func (o Options) say(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// Backup writes a backup of o.DSN and o.Store into dir, which must be
// missing or empty, and returns its manifest.
func Backup(ctx context.Context, o Options, dir string) (*Manifest, error) {
	if err := emptyDir(dir); err != nil {
		return nil, err
	}
	d, err := db.Connect(ctx, o.DSN, nil)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	m := &Manifest{Format: format, CreatedAt: time.Now().UTC()}
	o.say("Dumping the database (pg_dump)…")
	if err := dump(ctx, o, d, dir, m); err != nil {
		return nil, err
	}
	if m.Keys, err = rotate.KeysInUse(ctx, d.Gorm); err != nil {
		return nil, err
	}
	o.say("Copying the objects…")
	err = o.Store.List(ctx, "", func(info storage.Info) error {
		obj, err := copyOut(ctx, o.Store, dir, info.Key)
		if err != nil {
			return err
		}
		m.Objects = append(m.Objects, obj)
		m.ObjectBytes += obj.Size
		if len(m.Objects)%1000 == 0 {
			o.say("  %d objects", len(m.Objects))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("backup: objects: %w", err)
	}
	slices.SortFunc(m.Objects, func(a, b Object) int { return strings.Compare(a.Key, b.Key) })
	m.ObjectCount = len(m.Objects)
	if err := writeManifest(dir, m); err != nil {
		return nil, err
	}
	err = audit.New(d.Gorm, clock.Real{}).Write(ctx, nil, audit.Event{Action: "backup.made",
		Target: fmt.Sprintf("objects:%d,tables:%d", m.ObjectCount, len(m.Tables))})
	if err != nil {
		return m, fmt.Errorf("backup: written, but not audited: %w", err)
	}
	return m, nil
}

// dump runs pg_dump on a snapshot it holds open, and counts every table's
// rows in that same snapshot.
func dump(ctx context.Context, o Options, d *db.DB, dir string, m *Manifest) error {
	tx, err := d.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("backup: snapshot: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var snapshot string
	if err := tx.QueryRow(ctx, `SELECT pg_export_snapshot()`).Scan(&snapshot); err != nil {
		return fmt.Errorf("backup: snapshot: %w", err)
	}
	path := filepath.Join(dir, dumpName)
	if err := run(ctx, o.BinDir, "pg_dump", o.DSN, "--format=custom", "--snapshot="+snapshot, "--file="+path); err != nil {
		return err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return err
	}
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&m.Schema); err != nil {
		return fmt.Errorf("backup: schema version: %w", err)
	}
	if m.Tables, err = rowCounts(ctx, tx); err != nil {
		return err
	}
	f, err := checksum(path)
	if err != nil {
		return err
	}
	f.Name = dumpName
	m.Database = f
	return nil
}

// querier is a pgx connection, pool or transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// rowCounts counts the rows of every table outside PostgreSQL's own schemas.
func rowCounts(ctx context.Context, q querier) (map[string]int64, error) {
	rows, err := q.Query(ctx, `SELECT schemaname, tablename FROM pg_tables
		WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND schemaname NOT LIKE 'pg\_%' ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("backup: tables: %w", err)
	}
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var t [2]string
		return t, r.Scan(&t[0], &t[1])
	})
	if err != nil {
		return nil, fmt.Errorf("backup: tables: %w", err)
	}
	out := map[string]int64{}
	for _, t := range tables {
		var n int64
		if err := q.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{t[0], t[1]}.Sanitize()).Scan(&n); err != nil {
			return nil, fmt.Errorf("backup: count %s.%s: %w", t[0], t[1], err)
		}
		out[t[0]+"."+t[1]] = n
	}
	return out, nil
}

// objectPath is where the object under key is kept in a backup. Keys never
// contain '.', so "a.bin" cannot collide with the directory of key "a/b".
func objectPath(dir, key string) (string, error) {
	// Security: a manifest is read from disk; its keys must be keys.
	if !storage.ValidKey(key) {
		return "", fmt.Errorf("backup: %w: %q", storage.ErrInvalidKey, key)
	}
	return filepath.Join(dir, objectsDir, filepath.FromSlash(key)+".bin"), nil
}

// copyOut copies the object under key into the backup.
func copyOut(ctx context.Context, store storage.Store, dir, key string) (Object, error) {
	path, err := objectPath(dir, key)
	if err != nil {
		return Object{}, err
	}
	rc, info, err := store.Get(ctx, key)
	if err != nil {
		return Object{}, err
	}
	defer rc.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return Object{}, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Object{}, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), storage.ContextReader(ctx, rc))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Object{}, fmt.Errorf("backup: object %s: %w", key, err)
	}
	if n != info.Size {
		return Object{}, fmt.Errorf("backup: object %s: read %d bytes of %d", key, n, info.Size)
	}
	return Object{Key: key, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), ContentType: info.ContentType,
		FileName: info.FileName}, nil
}

// emptyDir makes dir (0700) or checks that it is empty.
func emptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("backup: %s is not empty: back up into a new directory", dir)
	}
	return nil
}

func writeManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, manifestName+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backup: manifest: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, manifestName))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup: manifest: %w", err)
	}
	return nil
}

// checksum is the size and sha256 of the file at path.
func checksum(path string) (File, error) {
	f, err := os.Open(path)
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return File{}, err
	}
	return File{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// ErrDamaged means a backup's files do not match its manifest.
var ErrDamaged = errors.New("backup: the backup does not match its manifest")

// Verify reads dir's manifest and checks every file against it, writing
// nothing.
func Verify(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("backup: %s has no %s: not a backup, or one that did not finish", dir, manifestName)
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrDamaged, manifestName, err)
	}
	if m.Format != format {
		return nil, fmt.Errorf("backup: format %d, this portal reads format %d", m.Format, format)
	}
	if m.Database.Name != dumpName || len(m.Objects) != m.ObjectCount {
		return nil, fmt.Errorf("%w: %s", ErrDamaged, manifestName)
	}
	want := []File{m.Database}
	for _, o := range m.Objects {
		path, err := objectPath("", o.Key)
		if err != nil {
			return nil, err
		}
		want = append(want, File{Name: path, Size: o.Size, SHA256: o.SHA256})
	}
	for _, w := range want {
		got, err := checksum(filepath.Join(dir, w.Name))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrDamaged, w.Name, err)
		}
		if got.Size != w.Size || got.SHA256 != w.SHA256 {
			return nil, fmt.Errorf("%w: %s has changed", ErrDamaged, w.Name)
		}
	}
	return &m, nil
}
