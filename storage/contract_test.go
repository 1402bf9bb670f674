package storage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"strings"
	"testing"
)

// testStore checks the Store contract; every implementation must pass it.
func testStore(t *testing.T, s Store) {
	ctx := t.Context()
	put := func(t *testing.T, key string, data []byte, limit int64, meta Meta) Info {
		t.Helper()
		info, err := s.Put(ctx, key, bytes.NewReader(data), limit, meta)
		if err != nil {
			t.Fatalf("Put(%q): %v", key, err)
		}
		return info
	}
	get := func(t *testing.T, key string) ([]byte, Info) {
		t.Helper()
		rc, info, err := s.Get(ctx, key)
		if err != nil {
			t.Fatalf("Get(%q): %v", key, err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("read %q: %v", key, err)
		}
		return b, info
	}
	wantNotFound := func(t *testing.T, key string) {
		t.Helper()
		if _, err := s.Stat(ctx, key); !errors.Is(err, ErrNotFound) {
			t.Errorf("Stat(%q) = %v, want ErrNotFound", key, err)
		}
		if rc, _, err := s.Get(ctx, key); !errors.Is(err, ErrNotFound) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("Get(%q) = %v, want ErrNotFound", key, err)
		}
	}

	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"put then get round-trips bytes and metadata", func(t *testing.T) {
			key := NewKey("documents/")
			data := []byte("care plan\x00\xff")
			meta := Meta{ContentType: "application/pdf", FileName: "Plan für Ñino.pdf"}
			info := put(t, key, data, 1024, meta)
			want := Info{Key: key, Size: int64(len(data)), ContentType: meta.ContentType, FileName: meta.FileName}
			if info.ModTime.IsZero() {
				t.Error("Put info has no ModTime")
			}
			info.ModTime = want.ModTime
			if info != want {
				t.Errorf("Put info = %+v, want %+v", info, want)
			}
			got, ginfo := get(t, key)
			if !bytes.Equal(got, data) {
				t.Errorf("Get bytes = %q, want %q", got, data)
			}
			ginfo.ModTime = want.ModTime
			if ginfo != want {
				t.Errorf("Get info = %+v, want %+v", ginfo, want)
			}
		}},
		{"stat describes the object without reading it", func(t *testing.T) {
			key := NewKey("")
			put(t, key, []byte("12345"), 10, Meta{ContentType: "text/plain; charset=utf-8", FileName: "notes.txt"})
			info, err := s.Stat(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if info.Key != key || info.Size != 5 || info.ContentType != "text/plain; charset=utf-8" || info.FileName != "notes.txt" || info.ModTime.IsZero() {
				t.Errorf("Stat = %+v", info)
			}
		}},
		{"a missing key is not found", func(t *testing.T) {
			wantNotFound(t, NewKey("missing/"))
		}},
		{"a missing content type becomes the default", func(t *testing.T) {
			key := NewKey("")
			info := put(t, key, []byte("x"), 1, Meta{})
			if info.ContentType != DefaultContentType || info.FileName != "" {
				t.Errorf("Put info = %+v", info)
			}
		}},
		{"an upload over the limit is refused and nothing is stored", func(t *testing.T) {
			key := NewKey("")
			_, err := s.Put(ctx, key, bytes.NewReader(make([]byte, 11)), 10, Meta{FileName: "big.bin"})
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Put = %v, want ErrTooLarge", err)
			}
			wantNotFound(t, key)
		}},
		{"an oversized overwrite leaves the old object intact", func(t *testing.T) {
			key := NewKey("")
			put(t, key, []byte("old"), 10, Meta{FileName: "old.txt"})
			_, err := s.Put(ctx, key, strings.NewReader("much too long"), 10, Meta{FileName: "new.txt"})
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Put = %v, want ErrTooLarge", err)
			}
			if got, info := get(t, key); string(got) != "old" || info.FileName != "old.txt" {
				t.Errorf("Get = %q, %+v; want the old object", got, info)
			}
		}},
		{"an upload exactly at the limit succeeds", func(t *testing.T) {
			key := NewKey("")
			data := bytes.Repeat([]byte("a"), 10)
			if info := put(t, key, data, 10, Meta{}); info.Size != 10 {
				t.Errorf("Size = %d, want 10", info.Size)
			}
			if got, _ := get(t, key); !bytes.Equal(got, data) {
				t.Errorf("Get = %q", got)
			}
		}},
		{"an empty upload with limit zero succeeds", func(t *testing.T) {
			key := NewKey("")
			if info := put(t, key, nil, 0, Meta{}); info.Size != 0 {
				t.Errorf("Size = %d, want 0", info.Size)
			}
		}},
		{"invalid keys are refused by every method", func(t *testing.T) {
			for _, key := range []string{
				"", "/etc/passwd", "../escape", "a/../../b", "a/./b", "Upper", "with space",
				"a//b", "a/", "-dash-first", "dot.ted", "back\\slash", "nul\x00", "é",
				strings.Repeat("a", 202),
			} {
				if _, err := s.Put(ctx, key, strings.NewReader("x"), 10, Meta{}); !errors.Is(err, ErrInvalidKey) {
					t.Errorf("Put(%q) = %v, want ErrInvalidKey", key, err)
				}
				if _, _, err := s.Get(ctx, key); !errors.Is(err, ErrInvalidKey) {
					t.Errorf("Get(%q) = %v, want ErrInvalidKey", key, err)
				}
				if _, err := s.Stat(ctx, key); !errors.Is(err, ErrInvalidKey) {
					t.Errorf("Stat(%q) = %v, want ErrInvalidKey", key, err)
				}
				if err := s.Delete(ctx, key); !errors.Is(err, ErrInvalidKey) {
					t.Errorf("Delete(%q) = %v, want ErrInvalidKey", key, err)
				}
			}
		}},
		{"delete then get is not found", func(t *testing.T) {
			key := NewKey("")
			put(t, key, []byte("gone soon"), 100, Meta{})
			if err := s.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
			wantNotFound(t, key)
		}},
		{"deleting a missing key is not an error", func(t *testing.T) {
			if err := s.Delete(ctx, NewKey("missing/")); err != nil {
				t.Errorf("Delete = %v", err)
			}
		}},
		{"put overwrites an existing object", func(t *testing.T) {
			key := NewKey("")
			put(t, key, []byte("first version"), 100, Meta{ContentType: "text/plain", FileName: "a.txt"})
			put(t, key, []byte("second"), 100, Meta{ContentType: "image/png", FileName: "b.png"})
			got, info := get(t, key)
			if string(got) != "second" || info.Size != 6 || info.ContentType != "image/png" || info.FileName != "b.png" {
				t.Errorf("Get = %q, %+v", got, info)
			}
		}},
		{"a 5 MiB object streams in and out", func(t *testing.T) {
			const size = 5 << 20
			key := NewKey("large/")
			data := make([]byte, size)
			for i := range data {
				data[i] = byte(i * 7 / 3)
			}
			// A reader that is not a *bytes.Reader, so no store can cheat on size.
			info, err := s.Put(ctx, key, io.MultiReader(bytes.NewReader(data[:size/2]), bytes.NewReader(data[size/2:])), size, Meta{})
			if err != nil {
				t.Fatal(err)
			}
			if info.Size != size {
				t.Errorf("Size = %d", info.Size)
			}
			if got, _ := get(t, key); !bytes.Equal(got, data) {
				t.Error("Get returned different bytes")
			}
		}},
		{"list walks every object under a prefix once", func(t *testing.T) {
			p := NewKey("list") + "/"
			want := map[string]int64{p + "a": 1, p + "b/c": 2, p + "b/d": 3, p + "b/e/f": 4}
			for key, size := range want {
				put(t, key, bytes.Repeat([]byte("x"), int(size)), 10, Meta{ContentType: "text/plain", FileName: "n.txt"})
			}
			put(t, NewKey("list")+"/other", []byte("elsewhere"), 10, Meta{}) // shares "list" only
			gone := p + "gone"
			put(t, gone, []byte("deleted"), 10, Meta{})
			if err := s.Delete(ctx, gone); err != nil {
				t.Fatal(err)
			}
			list := func(t *testing.T, prefix string) map[string]int64 {
				t.Helper()
				got := map[string]int64{}
				err := s.List(ctx, prefix, func(info Info) error {
					if _, twice := got[info.Key]; twice {
						t.Errorf("List(%q) gave %q twice", prefix, info.Key)
					}
					if info.ModTime.IsZero() {
						t.Errorf("List(%q) gave %q without ModTime", prefix, info.Key)
					}
					got[info.Key] = info.Size
					return nil
				})
				if err != nil {
					t.Fatalf("List(%q): %v", prefix, err)
				}
				return got
			}
			if got := list(t, p); !maps.Equal(got, want) {
				t.Errorf("List(%q) = %v, want %v", p, got, want)
			}
			under := map[string]int64{p + "b/c": 2, p + "b/d": 3, p + "b/e/f": 4}
			for _, prefix := range []string{p + "b/", p + "b"} {
				if got := list(t, prefix); !maps.Equal(got, under) {
					t.Errorf("List(%q) = %v, want %v", prefix, got, under)
				}
			}
			if got := list(t, p+"b/e/f"); !maps.Equal(got, map[string]int64{p + "b/e/f": 4}) {
				t.Errorf("List of a whole key = %v", got)
			}
			if got := list(t, NewKey("none/")); len(got) != 0 {
				t.Errorf("List of an unused prefix = %v", got)
			}
			all := list(t, "")
			for key := range want {
				if _, ok := all[key]; !ok {
					t.Errorf(`List("") lacks %q`, key)
				}
			}
			if _, ok := all[gone]; ok {
				t.Errorf("List gave the deleted %q", gone)
			}
		}},
		{"an error from list's function stops the walk", func(t *testing.T) {
			p := NewKey("stop") + "/"
			for _, k := range []string{"a", "b", "c"} {
				put(t, p+k, []byte(k), 10, Meta{})
			}
			stop := errors.New("enough")
			calls := 0
			err := s.List(ctx, p, func(Info) error { calls++; return stop })
			if !errors.Is(err, stop) || calls != 1 {
				t.Errorf("List = %v after %d calls, want the function's error after 1", err, calls)
			}
		}},
		{"list refuses a prefix that is not key text", func(t *testing.T) {
			for _, prefix := range []string{"/", "../", "a/../", "a//", "Upper/", "dot.ted/", "/etc"} {
				if err := s.List(ctx, prefix, func(Info) error { return nil }); !errors.Is(err, ErrInvalidKey) {
					t.Errorf("List(%q) = %v, want ErrInvalidKey", prefix, err)
				}
			}
		}},
		{"ping answers", func(t *testing.T) {
			if err := s.Ping(ctx); err != nil {
				t.Error(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func TestValidKey(t *testing.T) {
	for _, key := range []string{"a", "0", "documents/0123abcd", "a_b-c/d", NewKey("x/"), strings.Repeat("a", 201)} {
		if !ValidKey(key) {
			t.Errorf("ValidKey(%q) = false", key)
		}
	}
}

func TestNewKeyIsRandom128BitHex(t *testing.T) {
	a, b := NewKey("p/"), NewKey("p/")
	if a == b || len(a) != len("p/")+32 || !ValidKey(a) {
		t.Errorf("NewKey = %q, %q", a, b)
	}
}

func TestPutHonoursCancelledContext(t *testing.T) {
	s, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Put(ctx, "k", strings.NewReader("x"), 10, Meta{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Put = %v, want context.Canceled", err)
	}
}
