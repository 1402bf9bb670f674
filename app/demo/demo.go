// Package demo seeds a development database with a demo service: a team, a
// worker, a portal admin, three child records and a parent who holds two of
// them, with two documents to view on the first (SeedDocuments), so a newcomer can sign in on either side and look around. It never
// runs outside development.
//
// Invariants:
//   - Seeding is idempotent: a second start changes nothing.
//   - The demo password is DEMO_PASSWORD or a generated one, kept in
//     DATA_DIR/demo-password so every start can print it; it is never
//     written into the repository.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/gorm"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/auth"
	"portal/app/clock"
	"portal/app/records"
)

// Emails of the demo accounts: staff, and a parent who already holds two
// children's records (to see "Select an account" and a dashboard at once).
const (
	WorkerEmail = "worker@example.org"
	AdminEmail  = "admin@example.org"
	ParentEmail = "parent@example.org"
)

// Result is what the start-up banner prints.
type Result struct {
	Password string
	Seeded   bool // false when the data was already there
}

// Password returns DEMO_PASSWORD, or the one generated at the first start.
func Password(dataDir, fromEnv string) (string, error) {
	if fromEnv != "" {
		return fromEnv, nil
	}
	path := filepath.Join(dataDir, "demo-password")
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	// Mixed case and digits, so it passes the password rules.
	pw := "Demo-" + base32.StdEncoding.EncodeToString(b)[:12] + "-7x"
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", err
	}
	return pw, os.WriteFile(path, []byte(pw+"\n"), 0o600)
}

// Seed creates the demo data unless the worker already exists.
func Seed(ctx context.Context, db *gorm.DB, hasher *auth.Hasher, password string) (Result, error) {
	res := Result{Password: password}
	people := accounts.NewStore(db)
	if _, err := people.ByEmail(ctx, WorkerEmail); err == nil {
		return res, nil
	} else if !errors.Is(err, accounts.ErrNotFound) {
		return res, err
	}
	hash, err := hasher.Hash(ctx, password)
	if err != nil {
		return res, err
	}
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		team := records.Team{Name: "Children's Services Online – North Locality Team"}
		if err := tx.Create(&team).Error; err != nil {
			return err
		}
		worker := accounts.Person{Email: WorkerEmail, GivenName: "Sam", FamilyName: "Worker", PasswordHash: hash,
			Role: accounts.RoleStaff, StaffRole: accounts.StaffWorker, TeamID: &team.ID, Status: "active", Locale: "en"}
		admin := accounts.Person{Email: AdminEmail, GivenName: "Alex", FamilyName: "Admin", PasswordHash: hash,
			Role: accounts.RoleStaff, StaffRole: accounts.StaffPortalAdmin, Status: "active", Locale: "en"}
		if err := tx.Create(&worker).Error; err != nil {
			return err
		}
		if err := tx.Create(&admin).Error; err != nil {
			return err
		}
		parent := accounts.Person{Email: ParentEmail, GivenName: "Pat", FamilyName: "Example", PasswordHash: hash,
			Role: accounts.RoleCitizen, Status: "active", Locale: "en"}
		if err := tx.Create(&parent).Error; err != nil {
			return err
		}
		for i, child := range []struct{ given, family string }{{"Mia", "Example"}, {"Noah", "Example"}, {"Ava", "Sample"}} {
			dob := time.Date(2014+i*2, time.Month(3+i), 10+i, 0, 0, 0, 0, time.UTC)
			r := records.Record{Kind: records.KindChild, CaseReference: fmt.Sprintf("DEMO-%04d", i+1),
				GivenName: child.given, FamilyName: child.family, DateOfBirth: &dob, TeamID: team.ID,
				AllocatedWorkerID: &worker.ID}
			if err := tx.Create(&r).Error; err != nil {
				return err
			}
			if child.family == "Example" {
				g := access.Grant{PersonID: parent.ID, RecordID: r.ID, Relationship: access.Parent, GrantedBy: &worker.ID}
				if err := access.NewStore(tx, clock.Real{}).Give(ctx, tx, []access.Grant{g}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("demo: seed: %w", err)
	}
	res.Seeded = true
	return res, nil
}
