package rotate

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"gorm.io/gorm"

	"portal/app/audit"
	"portal/app/clock"
	"portal/app/seal"
)

// progressEvery is how many batches pass between two progress lines.
const progressEvery = 20

// Command is `portal rotate-keys [--batch N]`: it re-seals every sealed
// value with the first key of encryptionKeys (ENCRYPTION_KEYS) and says
// which keys no value needs any more. Interrupted, it stops after the
// batch in hand; run again, it carries on.
func Command(ctx context.Context, db *gorm.DB, encryptionKeys string, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("rotate-keys", flag.ContinueOnError)
	fs.SetOutput(out)
	batch := fs.Int("batch", DefaultBatch, "values re-sealed per transaction")
	fs.Usage = func() {
		fmt.Fprintln(out, "usage: portal rotate-keys [--batch N]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *batch <= 0 {
		fs.Usage()
		return errors.New("rotate-keys: --batch must be a positive number, and nothing else is taken")
	}
	sealer, err := seal.New(encryptionKeys)
	if err != nil {
		return err
	}
	ids := sealer.KeyIDs()
	fmt.Fprintf(out, "Re-sealing every sealed value with key %q (the first of ENCRYPTION_KEYS), %d a transaction.\n", ids[0], *batch)
	batches := map[string]int{}
	rep, err := Run(ctx, Options{DB: db, Sealer: sealer, Audit: audit.New(db, clock.Real{}), Batch: *batch,
		AfterBatch: func(column string, resealed int) error {
			if batches[column]++; batches[column]%progressEvery == 0 {
				fmt.Fprintf(out, "  %-30s %d so far\n", column, resealed)
			}
			return nil
		}})
	for _, r := range rep.Results {
		line := fmt.Sprintf("  %-30s %d re-sealed", r.Column, r.Resealed)
		if r.Unopened > 0 {
			line += fmt.Sprintf(", %d open with no key of ENCRYPTION_KEYS", r.Unopened)
		}
		fmt.Fprintln(out, line)
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(out, "Stopped. What was re-sealed stays so; run rotate-keys again to carry on.")
	}
	if err != nil && !errors.Is(err, ErrUnopened) {
		return err
	}
	inUse, kerr := KeysInUse(ctx, db)
	if kerr != nil {
		return errors.Join(err, kerr)
	}
	var under []string
	for _, id := range slices.Sorted(maps.Keys(inUse)) {
		under = append(under, fmt.Sprintf("%s %d", id, inUse[id]))
	}
	if len(under) == 0 {
		under = []string{"none"}
	}
	fmt.Fprintf(out, "%d values re-sealed. Sealed values under each key now: %s.\n", rep.Resealed(), strings.Join(under, ", "))
	var unneeded []string
	for _, id := range ids[1:] {
		if inUse[id] == 0 {
			unneeded = append(unneeded, id)
		}
	}
	if len(unneeded) > 0 {
		fmt.Fprintf(out, "No value needs %s any more: remove it from ENCRYPTION_KEYS once no backup you may restore needs it\n"+
			"(a backup's manifest.json lists the keys it needs).\n", strings.Join(unneeded, ", "))
	}
	return err
}
