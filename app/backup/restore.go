package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"portal/app/audit"
	"portal/app/clock"
	"portal/app/db"
	"portal/storage"
)

// ErrNotEmpty means the database or the store to restore into holds
// something already.
var ErrNotEmpty = errors.New("backup: not empty")

// Restore restores the backup in dir into o.DSN and o.Store, which must be
// empty unless o.Force, and returns its manifest.
func Restore(ctx context.Context, o Options, dir string) (*Manifest, error) {
	o.say("Checking the backup against its manifest…")
	m, err := Verify(dir)
	if err != nil {
		return nil, err
	}
	o.say("The backup of %s checks: database, %d objects.", m.CreatedAt.Format("2006-01-02 15:04:05 MST"), m.ObjectCount)
	if missing := missingKeys(m, o.KeyIDs); len(missing) > 0 {
		if !o.Force {
			return nil, fmt.Errorf("backup: its sealed values need key %s, which ENCRYPTION_KEYS lacks: add it (after the key that seals), "+
				"or restore with --force and lose what it sealed", strings.Join(missing, ", "))
		}
		o.say("Restoring without key %s: what it sealed will not open.", strings.Join(missing, ", "))
	}
	d, err := db.Connect(ctx, o.DSN, nil)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if !o.Force {
		if err := empty(ctx, d, o.Store); err != nil {
			return nil, err
		}
	}
	o.say("Putting %d objects…", m.ObjectCount)
	for i, obj := range m.Objects {
		if err := copyIn(ctx, o.Store, dir, obj); err != nil {
			return nil, err
		}
		if (i+1)%1000 == 0 {
			o.say("  %d objects", i+1)
		}
	}
	o.say("Restoring the database (pg_restore)…")
	args := []string{"--format=custom", "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges"}
	if o.Force {
		args = append(args, "--clean", "--if-exists")
	}
	if err := run(ctx, o.BinDir, "pg_restore", o.DSN, append(args, filepath.Join(dir, dumpName))...); err != nil {
		// One transaction: the database is as it was, the objects are in.
		return nil, fmt.Errorf("%w (the database is as it was and the objects are in the store: mend the cause, then restore again with --force)", err)
	}
	counts, err := rowCounts(ctx, d.Pool)
	if err != nil {
		return nil, err
	}
	for _, t := range slices.Sorted(maps.Keys(m.Tables)) {
		if counts[t] != m.Tables[t] {
			return nil, fmt.Errorf("backup: restored %s has %d rows, the backup %d", t, counts[t], m.Tables[t])
		}
	}
	err = audit.New(d.Gorm, clock.Real{}).Write(ctx, nil, audit.Event{Action: "backup.restored",
		Target: fmt.Sprintf("objects:%d,tables:%d", m.ObjectCount, len(m.Tables))})
	if err != nil {
		return m, fmt.Errorf("backup: restored, but not audited: %w", err)
	}
	return m, nil
}

// missingKeys are the keys m's sealed values need that ids lacks.
func missingKeys(m *Manifest, ids []string) []string {
	var out []string
	for _, id := range slices.Sorted(maps.Keys(m.Keys)) {
		if m.Keys[id] > 0 && !slices.Contains(ids, id) {
			out = append(out, id)
		}
	}
	return out
}

// empty checks that the database has no table, sequence or view of its
// own, and the store no object.
func empty(ctx context.Context, d *db.DB, store storage.Store) error {
	var n int64
	err := d.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'`).Scan(&n)
	if err != nil {
		return fmt.Errorf("backup: is the database empty: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("%w: the database holds tables already: restore into an empty one, or use --force to replace what the backup holds", ErrNotEmpty)
	}
	errFound := errors.New("found")
	err = store.List(ctx, "", func(storage.Info) error { return errFound })
	if errors.Is(err, errFound) {
		return fmt.Errorf("%w: the object store holds objects already: restore into an empty one, or use --force", ErrNotEmpty)
	}
	if err != nil {
		return fmt.Errorf("backup: is the store empty: %w", err)
	}
	return nil
}

// copyIn puts obj from the backup into store, checking its checksum as it
// streams; an object that does not match is deleted again.
func copyIn(ctx context.Context, store storage.Store, dir string, obj Object) error {
	path, err := objectPath(dir, obj.Key)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	info, err := store.Put(ctx, obj.Key, io.TeeReader(f, h), obj.Size,
		storage.Meta{ContentType: obj.ContentType, FileName: obj.FileName})
	if err != nil {
		return fmt.Errorf("backup: object %s: %w", obj.Key, err)
	}
	if info.Size != obj.Size || hex.EncodeToString(h.Sum(nil)) != obj.SHA256 {
		_ = store.Delete(context.WithoutCancel(ctx), obj.Key)
		return fmt.Errorf("%w: object %s changed while it was restored", ErrDamaged, obj.Key)
	}
	return nil
}
