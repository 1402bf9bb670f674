package db_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"portal/app/apptest"
	"portal/app/db"
)

// A failing query is logged with its SQL, never with its values.
func TestFailingQueriesLogNoValues(t *testing.T) {
	var buf bytes.Buffer
	d, err := db.Connect(context.Background(), apptest.NewDatabase(t), slog.New(slog.NewTextHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var n int
	_ = d.Gorm.Raw(`SELECT ?::int`, "canary-parent@example.net").Scan(&n).Error
	_ = d.Gorm.Exec(`INSERT INTO no_such_table VALUES (?)`, "canary-parent@example.net").Error
	if !strings.Contains(buf.String(), "SQL") && !strings.Contains(buf.String(), "SELECT") {
		t.Fatalf("nothing was logged, so this proves nothing: %q", buf.String())
	}
	if strings.Contains(buf.String(), "canary-parent") {
		t.Fatalf("a query value reached the log: %s", buf.String())
	}
}
