package backup

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"portal/app/config"
	"portal/app/db"
	"portal/app/seal"
	"portal/app/uploads"
	"portal/storage"
)

// Command is `portal backup DIR` or `portal restore [--force] DIR` (name),
// with the portal's own configuration: DATABASE_URL, or the embedded
// cluster under DATA_DIR (started for the command when it is not
// running), and store, the portal's object store.
func Command(ctx context.Context, cfg config.Config, store storage.Store, name string, args []string, out io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	force := fs.Bool("force", false, "restore into a database or store that is not empty, replacing what the backup holds")
	fs.Usage = func() {
		if name == "restore" {
			fmt.Fprintln(out, "usage: portal restore [--force] DIR")
			fs.PrintDefaults()
		} else {
			fmt.Fprintln(out, "usage: portal backup DIR")
		}
	}
	// The directory may come before or after the flag.
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir := fs.Arg(0)
	if fs.NArg() > 0 {
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return err
		}
	}
	if dir == "" || fs.NArg() > 0 || (name == "backup" && *force) {
		fs.Usage()
		return fmt.Errorf("%s: one directory, and nothing else, is taken", name)
	}
	sealer, err := seal.New(cfg.EncryptionKey)
	if err != nil {
		return err
	}
	dsn, binDir, stop, err := database(ctx, cfg, name == "restore")
	if err != nil {
		return err
	}
	defer stop()
	o := Options{DSN: dsn, BinDir: binDir, Store: store, KeyIDs: sealer.KeyIDs(), Force: *force, Log: out}
	switch name {
	case "backup":
		m, err := Backup(ctx, o, dir)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "Backup written to %s: the database (%d tables, schema version %d, %s) and %d objects (%s).\n",
			dir, len(m.Tables), m.Schema, uploads.SizeText(m.Database.Size), m.ObjectCount, uploads.SizeText(m.ObjectBytes))
		if keys := slices.Sorted(maps.Keys(m.Keys)); len(keys) > 0 {
			fmt.Fprintf(out, "Its sealed values need ENCRYPTION_KEYS key %s: keep it as long as this backup.\n", strings.Join(keys, ", "))
		}
		return nil
	case "restore":
		m, err := Restore(ctx, o, dir)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "Restored the backup of %s: %d tables (row counts match) and %d objects (checksums match).\n",
			m.CreatedAt.Format("2006-01-02 15:04:05 MST"), len(m.Tables), m.ObjectCount)
		return nil
	}
	return errors.New("backup: unknown command " + name)
}

// database is the portal's database: DATABASE_URL, or the embedded cluster
// under DATA_DIR, started when it is not running (stop stops it again
// only then). For a restore, the embedded cluster's database is created,
// empty, when it is missing.
func database(ctx context.Context, cfg config.Config, create bool) (dsn, binDir string, stop func(), err error) {
	if cfg.DatabaseURL != "" {
		return cfg.DatabaseURL, cfg.PGBinDir, func() {}, nil
	}
	e := &db.Embedded{Dir: filepath.Join(cfg.DataDir, "postgres"), BinDir: cfg.PGBinDir}
	if _, err := e.Start(ctx); err != nil {
		return "", "", nil, err
	}
	stop = func() { _ = e.Stop() }
	const name = "portal" // as db.Open names it
	if create {
		if err := db.CreateDatabase(ctx, e.DSN("postgres"), name, ""); err != nil {
			stop()
			return "", "", nil, err
		}
	}
	return e.DSN(name), e.BinDir, stop, nil
}
