package backup_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/config"
	"portal/app/db"
	"portal/app/rotate"
	"portal/app/seal"
	"portal/storage"
)

// portal is the built binary with an environment: the embedded defaults
// under dataDir, and fixed secrets (as a deployment's would be).
type portal struct {
	bin string
	env []string
}

func (p portal) with(dataDir string, env ...string) portal {
	e := append(append([]string{}, p.env...), "DATA_DIR="+dataDir)
	return portal{bin: p.bin, env: append(e, env...)}
}

// run runs a subcommand to its end.
func (p portal) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(p.bin, args...)
	cmd.Env = p.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// serveOnce starts the portal, waits until it says it is running (it
// has seeded its demo data by then), and stops it as SIGTERM does.
func (p portal) serveOnce(t *testing.T) {
	t.Helper()
	port := apptest.FreePort(t)
	cmd := exec.Command(p.bin)
	cmd.Env = append(p.env, "PORT="+port)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	running := make(chan struct{})
	var out bytes.Buffer
	go func() {
		s := bufio.NewScanner(pr)
		for s.Scan() {
			out.WriteString(s.Text() + "\n")
			if strings.Contains(s.Text(), "is running at") {
				close(running)
				io.Copy(io.Discard, pr)
				return
			}
		}
	}()
	select {
	case <-running:
	case <-time.After(2 * time.Minute): // a bound on start-up, not a wait for time to pass
		cmd.Process.Kill()
		t.Fatalf("the portal did not start:\n%s", &out)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the portal did not stop cleanly: %v", err)
	}
	pw.Close()
}

// connect starts (or finds) the embedded cluster under dataDir and
// connects to the portal's database; the cluster is stopped at cleanup.
func connect(t *testing.T, dataDir string) *db.DB {
	t.Helper()
	e := &db.Embedded{Dir: filepath.Join(dataDir, "postgres")}
	if _, err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.StopAnyway() })
	d, err := db.Connect(context.Background(), e.DSN("portal"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestTheBinaryBacksUpRestoresAndRotates runs the subcommands of the built
// portal on its embedded defaults (its own Postgres, local objects): the
// demo data it seeds is backed up, restored into a new DATA_DIR (refused a
// second time, then forced), and the restored copy's keys rotated.
func TestTheBinaryBacksUpRestoresAndRotates(t *testing.T) {
	bin := apptest.BuildPortal(t)
	// Not t.TempDir: the postgres OS user runs the clusters when the tests
	// run as root, and must reach them.
	base, err := os.MkdirTemp("", "portal-backup-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	oldKey := "dev1:" + config.RandomKey()
	p := portal{bin: bin, env: append(os.Environ(), "APP_ENV=development", "DATABASE_URL=", "S3_ENDPOINT=", "PG_BINDIR=",
		"DEMO_PASSWORD=", "SESSION_KEY="+config.RandomKey(), "ENCRYPTION_KEYS="+oldKey)}
	one, two, dir := filepath.Join(base, "one"), filepath.Join(base, "two"), filepath.Join(base, "backup")

	p.with(one).serveOnce(t)
	// The demo's people have yet to add a phone: give them one, sealed as
	// the sign-in pages seal it.
	from := connect(t, one)
	sealer, err := seal.New(oldKey)
	if err != nil {
		t.Fatal(err)
	}
	var people []int64
	from.Gorm.Raw(`SELECT id FROM people ORDER BY id`).Scan(&people)
	for i, id := range people {
		phone, _ := sealer.Seal("person.phone", []byte(fmt.Sprintf("+44791112345%d", i)))
		if err := accounts.NewStore(from.Gorm).SetPhone(context.Background(), id, phone, "••• 345", true); err != nil {
			t.Fatal(err)
		}
	}
	out, err := p.with(one).run(t, "backup", dir)
	if err != nil || !strings.Contains(out, "Backup written to "+dir) || !strings.Contains(out, "need ENCRYPTION_KEYS key dev1") {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	t.Log(out) // with -v: what the operator reads
	out, err = p.with(two).run(t, "restore", dir)
	if err != nil || !strings.Contains(out, "Restored the backup") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	t.Log(out)
	if out, err := p.with(two).run(t, "restore", dir); err == nil || !strings.Contains(out, "--force") {
		t.Fatalf("a second restore into the same DATA_DIR was not refused: %v\n%s", err, out)
	} else {
		t.Log(out)
	}
	if out, err := p.with(two).run(t, "restore", dir, "--force"); err != nil {
		t.Fatalf("restore --force: %v\n%s", err, out)
	}
	if out, err := p.with(two).run(t, "restore"); err == nil || !strings.Contains(out, "usage: portal restore [--force] DIR") {
		t.Errorf("restore without a directory: %v\n%s", err, out)
	}
	rotated := p.with(two, "ENCRYPTION_KEYS=new:"+config.RandomKey()+","+oldKey)
	out, err = rotated.run(t, "rotate-keys", "--batch", "2")
	if err != nil || !strings.Contains(out, "No value needs dev1 any more") {
		t.Fatalf("rotate-keys: %v\n%s", err, out)
	}
	t.Log(out)

	to := connect(t, two)
	for _, table := range []string{"people", "records", "documents", "forms", "message_types"} {
		var a, b int64
		from.Gorm.Raw(`SELECT count(*) FROM ` + table).Scan(&a)
		to.Gorm.Raw(`SELECT count(*) FROM ` + table).Scan(&b)
		if a == 0 || a != b {
			t.Errorf("%s: %d rows backed up, %d restored", table, a, b)
		}
	}
	inUse, err := rotate.KeysInUse(context.Background(), to.Gorm)
	if err != nil || inUse["dev1"] != 0 || inUse["new"] == 0 {
		t.Errorf("keys in use after rotate-keys: %v, %v", inUse, err)
	}
	var keys []string
	from.Gorm.Raw(`SELECT object_key FROM documents`).Scan(&keys)
	oldObjects, err := storage.NewLocal(filepath.Join(one, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	newObjects, err := storage.NewLocal(filepath.Join(two, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range keys {
		if a, b := read(t, oldObjects, key), read(t, newObjects, key); !bytes.Equal(a, b) || len(a) == 0 {
			t.Errorf("document %s: %d bytes backed up, %d restored", key, len(a), len(b))
		}
	}
}

func read(t *testing.T, s storage.Store, key string) []byte {
	t.Helper()
	rc, _, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
