package rotate_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"portal/app/apptest"
	"portal/app/rotate"
)

// sealCall is a call to seal.Sealer.Seal (not cipher.AEAD's Seal), with
// its first argument, the purpose.
var sealCall = regexp.MustCompile(`[sS]ealer\.Seal\(([^,]+),`)

// known is every call to Sealer.Seal outside tests, by file and purpose,
// with the column of rotate.Columns its value goes to.
var known = map[string]string{
	"app/accounts/accounts.go: addressPurpose":        "people.address_sealed",
	`app/auth/confirm.go: "person.phone"`:             "people.phone_sealed", // and sessions.data.enrol_phone, until the code is typed
	`app/apptest/app.go: "person.phone"`:              "people.phone_sealed",
	"app/export/export.go: keyPurpose(e.ID)":          "data_exports.sealed_key",
	"app/factors/totp.go: sealTOTP":                   "totp_secrets.secret_sealed", // and sessions.data.app_secret, while it is set up
	"app/forms/forms.go: purpose(f.ID)":               "forms.answers",
	`app/idempotency/idempotency.go: "idempotency"`:   "idempotency_keys.body_sealed",
	"app/messages/drafts.go: draftPurpose(personID)":  "message_drafts.content",
	"app/messages/messages.go: subjectPurpose(th.ID)": "threads.subject",
	"app/messages/messages.go: bodyPurpose(th.ID)":    "messages.body",
	"app/notify/notifier.go: sealPurpose":             "river_job.args.sealed",
}

// TestEverySealedValueIsOneRotationKnows: a new call to Sealer.Seal
// fails here until its column is in rotate.Columns (so rotate-keys
// re-seals it) and in the list above. Otherwise an old key, removed after
// a rotation, would take that column's values with it.
func TestEverySealedValueIsOneRotationKnows(t *testing.T) {
	root := apptest.RepoRoot(t)
	var found []string
	err := filepath.WalkDir(filepath.Join(root, "app"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		if filepath.Base(filepath.Dir(p)) == "rotate" {
			return nil // rotation seals again what it opened, for the same purpose
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		for _, m := range sealCall.FindAllStringSubmatch(string(src), -1) {
			found = append(found, filepath.ToSlash(rel)+": "+strings.TrimSpace(m[1]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range rotate.Columns {
		names = append(names, c.Name)
	}
	for _, call := range found {
		column, ok := known[call]
		switch {
		case !ok:
			t.Errorf("%s seals a value rotate-keys does not know: add its column to rotate.Columns, and the call to this test's list", call)
		case !slices.Contains(names, column):
			t.Errorf("%s seals into %s, which is not in rotate.Columns", call, column)
		}
	}
	for call := range known {
		if !slices.Contains(found, call) {
			t.Errorf("%s is in this test's list but no longer in the code: take it out (and its column, if nothing else seals into it)", call)
		}
	}
}
