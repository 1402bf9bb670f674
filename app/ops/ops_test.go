package ops_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"portal/app"
	"portal/app/apptest"
	"portal/storage"
)

func TestMain(m *testing.M) { apptest.Main(m) }

func TestReadyWhenDatabaseAndStorageAnswer(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	res := a.Client(t).Get("/readyz")
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Body, `"status":"ready"`) {
		t.Fatalf("readyz = %d %s", res.StatusCode, res.Body)
	}
	if res := a.Client(t).Get("/healthz"); res.StatusCode != http.StatusOK {
		t.Fatalf("healthz = %d", res.StatusCode)
	}
}

func TestNotReadyWhenStorageIsGone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "objects")
	a := apptest.NewApp(t, apptest.Options{Tune: func(d *app.Deps) {
		s, err := storage.NewLocal(dir)
		if err != nil {
			t.Fatal(err)
		}
		d.Store = s
	}})
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	res := a.Client(t).Get("/readyz")
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(res.Body, `"storage":"unavailable"`) {
		t.Fatalf("readyz = %d %s", res.StatusCode, res.Body)
	}
	if strings.Contains(res.Body, dir) {
		t.Fatal("readyz reveals a path")
	}
}

func TestNotReadyWhenTheDatabaseIsClosed(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	c := a.Client(t)
	a.DB.Pool.Close()
	res := c.Get("/readyz")
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(res.Body, `"database":"unavailable"`) {
		t.Fatalf("readyz = %d %s", res.StatusCode, res.Body)
	}
}
