package db_test

import (
	"context"
	"testing"

	"portal/app/apptest"
	"portal/app/db"
)

func TestMain(m *testing.M) { apptest.Main(m) }

func TestMigrationsAreRecordedAndIdempotent(t *testing.T) {
	dsn := apptest.NewDatabase(t)
	ctx := context.Background()
	before, err := db.Versions(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) == 0 || before[0] != 1 {
		t.Fatalf("applied versions = %v, want to start at 1", before)
	}
	if err := db.Migrate(ctx, dsn); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	after, _ := db.Versions(ctx, dsn)
	if len(after) != len(before) {
		t.Fatalf("versions changed on a second run: %v → %v", before, after)
	}
}

func TestAuditTrailIsAppendOnly(t *testing.T) {
	d, err := db.Connect(context.Background(), apptest.NewDatabase(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	g := d.Gorm
	if err := g.Exec(`INSERT INTO audit_events (at, action) VALUES (now(), 'test.event')`).Error; err != nil {
		t.Fatalf("insert: %v", err)
	}
	for name, stmt := range map[string]string{
		"update":   `UPDATE audit_events SET action = 'changed'`,
		"delete":   `DELETE FROM audit_events`,
		"truncate": `TRUNCATE audit_events`,
	} {
		t.Run(name+" is refused", func(t *testing.T) {
			if err := g.Exec(stmt).Error; err == nil {
				t.Fatalf("%s succeeded on the audit trail", name)
			}
		})
	}
	var n int
	g.Raw(`SELECT count(*) FROM audit_events`).Scan(&n)
	if n != 1 {
		t.Fatalf("audit events = %d, want 1", n)
	}
}
