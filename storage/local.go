package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Local is a Store on a local directory. The object under key "a/b" is the
// file "a/b.bin" with its metadata in the sidecar "a/b.json". Keys never
// contain '.', so "a.bin" cannot collide with the directory of key "a/b".
//
// An object exists once its sidecar exists: Put renames the data file into
// place first and the sidecar last; Delete removes the sidecar first. A crash
// in between leaves only an invisible data file that the next Put of that key
// replaces.
type Local struct {
	root *os.Root // Security: every file operation is confined to the directory.
	dir  string   // the directory's path, for Ping
}

type sidecar struct {
	ContentType string `json:"content_type"`
	FileName    string `json:"file_name"`
}

// NewLocal opens (creating with mode 0700 if needed) the directory dir as a
// Store. The application's default is ./data/objects.
func NewLocal(dir string) (*Local, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("storage: create %s: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", dir, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return &Local{root: root, dir: abs}, nil
}

// Close releases the directory handle.
func (s *Local) Close() error { return s.root.Close() }

// Put implements Store: it writes to temporary files, syncs them, then
// renames them into place, so readers see the old object or the new one.
func (s *Local) Put(ctx context.Context, key string, r io.Reader, limit int64, meta Meta) (Info, error) {
	if err := checkKey(key); err != nil {
		return Info{}, err
	}
	meta = cleanMeta(meta)
	if dir := path.Dir(key); dir != "." {
		if err := s.root.MkdirAll(dir, 0o700); err != nil {
			return Info{}, unavailable("put", key, err)
		}
	}
	dataTmp, err := s.writeTemp(key+".bin", func(f *os.File) error {
		_, err := copyLimited(ctx, f, r, limit)
		return err
	})
	if err != nil {
		return Info{}, wrapPut(key, err)
	}
	metaTmp, err := s.writeTemp(key+".json", func(f *os.File) error {
		return json.NewEncoder(f).Encode(sidecar{ContentType: meta.ContentType, FileName: meta.FileName})
	})
	if err != nil {
		s.root.Remove(dataTmp)
		return Info{}, wrapPut(key, err)
	}
	if err := s.root.Rename(dataTmp, key+".bin"); err != nil {
		s.root.Remove(dataTmp)
		s.root.Remove(metaTmp)
		return Info{}, wrapPut(key, err)
	}
	if err := s.root.Rename(metaTmp, key+".json"); err != nil {
		s.root.Remove(metaTmp)
		return Info{}, wrapPut(key, err)
	}
	return s.Stat(ctx, key)
}

func wrapPut(key string, err error) error {
	if errors.Is(err, ErrTooLarge) {
		return err
	}
	return unavailable("put", key, err)
}

// writeTemp creates a 0600 temporary file next to name, fills it with write
// and syncs it. On error the temporary file is removed.
func (s *Local) writeTemp(name string, write func(*os.File) error) (string, error) {
	tmp := name + ".tmp-" + NewKey("")
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.root.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// Get implements Store.
func (s *Local) Get(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := checkKey(key); err != nil {
		return nil, Info{}, err
	}
	sc, err := s.readSidecar(key)
	if err != nil {
		return nil, Info{}, err
	}
	f, err := s.root.Open(key + ".bin")
	if err != nil {
		return nil, Info{}, notFound(key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Info{}, fmt.Errorf("storage: get %s: %w", key, err)
	}
	return f, info(key, sc, fi), nil
}

// Stat implements Store.
func (s *Local) Stat(ctx context.Context, key string) (Info, error) {
	if err := checkKey(key); err != nil {
		return Info{}, err
	}
	sc, err := s.readSidecar(key)
	if err != nil {
		return Info{}, err
	}
	fi, err := s.root.Stat(key + ".bin")
	if err != nil {
		return Info{}, notFound(key, err)
	}
	return info(key, sc, fi), nil
}

// Delete implements Store.
func (s *Local) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	for _, name := range []string{key + ".json", key + ".bin"} {
		if err := s.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("storage: delete %s: %w", key, err)
		}
	}
	return nil
}

// Ping implements Store.
func (s *Local) Ping(ctx context.Context) error {
	// The open root survives its directory being removed or replaced, so
	// ask by path, and check it is still the directory we hold.
	byPath, err := os.Stat(s.dir)
	if err != nil {
		return unavailable("ping", s.dir, err)
	}
	held, err := s.root.Stat(".")
	if err != nil {
		return unavailable("ping", s.dir, err)
	}
	if !os.SameFile(byPath, held) {
		return fmt.Errorf("%w: ping: the objects directory was replaced", ErrUnavailable)
	}
	return nil
}

// List implements Store. It walks the directories that can hold keys
// with prefix and reports each object whose sidecar exists (an object
// exists once its sidecar does), skipping temporary files and any file
// that is not an object's. Symbolic links are not followed.
func (s *Local) List(ctx context.Context, prefix string, fn func(Info) error) error {
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	start := "."
	if i := strings.LastIndex(prefix, "/"); i > 0 {
		start = prefix[:i]
	}
	err := fs.WalkDir(s.root.FS(), start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == start && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll // nothing under the prefix
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			// Keys under p start with p+"/": skip a directory that cannot
			// hold one with the prefix.
			if p != start && !strings.HasPrefix(p+"/", prefix) && !strings.HasPrefix(prefix, p+"/") {
				return fs.SkipDir
			}
			return nil
		}
		key, ok := strings.CutSuffix(p, ".json")
		if !ok || !d.Type().IsRegular() || !ValidKey(key) || !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := s.Stat(ctx, key)
		if errors.Is(err, ErrNotFound) {
			return nil // deleted meanwhile
		}
		if err != nil {
			return err
		}
		return fn(info)
	})
	if err != nil {
		return fmt.Errorf("storage: list %q: %w", prefix, err)
	}
	return nil
}

func (s *Local) readSidecar(key string) (sidecar, error) {
	b, err := s.root.ReadFile(key + ".json")
	if err != nil {
		return sidecar{}, notFound(key, err)
	}
	var sc sidecar
	if err := json.Unmarshal(b, &sc); err != nil {
		return sidecar{}, fmt.Errorf("storage: metadata of %s: %w", key, err)
	}
	return sc, nil
}

func info(key string, sc sidecar, fi fs.FileInfo) Info {
	return Info{Key: key, Size: fi.Size(), ContentType: sc.ContentType, FileName: sc.FileName, ModTime: fi.ModTime()}
}

// notFound maps a missing file to ErrNotFound.
func notFound(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return unavailable("read", key, err)
}
