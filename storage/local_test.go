package storage

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestLocal(t *testing.T) {
	s, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	testStore(t, s)
}

func TestLocalFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "objects")
	s, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Put(t.Context(), "a/b/c", bytes.NewReader([]byte("x")), 1, Meta{FileName: "x"}); err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", p, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLocalOversizedPutLeavesNoFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Put(t.Context(), "documents/k", bytes.NewReader(make([]byte, 101)), 100, Meta{})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Put = %v, want ErrTooLarge", err)
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("left behind: %s", p)
		}
		return err
	})
}

func TestLocalDoesNotFollowSymlinksOutOfTheDirectory(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.bin"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "secret.json"), []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "evil")); err != nil {
		t.Fatal(err)
	}
	s, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.Get(t.Context(), "evil/secret"); err == nil {
		t.Error("Get followed a symlink out of the store directory")
	}
}

func TestLocalListSkipsFilesThatAreNotObjects(t *testing.T) {
	dir := t.TempDir()
	s, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, key := range []string{"a", "a/b"} {
		if _, err := s.Put(t.Context(), key, bytes.NewReader([]byte(key)), 10, Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.bin"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "secret.json"), []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"a/c.bin":               "a data file whose sidecar is not there yet",
		"a/d.json.tmp-0123abcd": "a sidecar being written",
		"Upper.json":            "{}", // not a valid key
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(dir, "evil")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret.json"), filepath.Join(dir, "linked.json")); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := s.List(t.Context(), "", func(info Info) error { got = append(got, info.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if want := []string{"a", "a/b"}; !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
}

func TestLocalKeepsAKeyAndAKeyUnderIt(t *testing.T) {
	s, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, key := range []string{"a", "a/b"} {
		if _, err := s.Put(t.Context(), key, bytes.NewReader([]byte(key)), 10, Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{"a", "a/b"} {
		rc, _, err := s.Get(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if string(got) != key {
			t.Errorf("Get(%q) = %q", key, got)
		}
	}
}
