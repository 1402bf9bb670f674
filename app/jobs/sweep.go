package jobs

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"portal/app/attachments"
	"portal/app/audit"
	"portal/app/documents"
	"portal/app/export"
	"portal/storage"
)

// SweepAfter is how old an object no row names must be before the sweeper
// deletes it. An object is stored before the row naming it commits, so a
// young one may be a file whose message or document is still on its way;
// a day is far longer than any transaction or job run (workTimeout).
const SweepAfter = 24 * time.Hour

// AuditStorageSwept is the audit action of a sweep that deleted objects;
// its target holds counts per prefix only (keys are random, and name no one).
const AuditStorageSwept = "storage.swept"

// owner is a feature that writes objects under prefix, and says which of
// a batch of keys its rows name.
type owner struct {
	prefix     string
	referenced func(ctx context.Context, keys []string) (map[string]bool, error)
}

// SweepResult counts the orphans one sweep deleted, by prefix (every
// prefix the portal writes is present, 0 when none was deleted).
type SweepResult struct {
	Deleted map[string]int
}

// Total is how many objects the sweep deleted.
func (r SweepResult) Total() int {
	n := 0
	for _, d := range r.Deleted {
		n += d
	}
	return n
}

// String lists the counts, as the audit event and the log keep them:
// "attachments/=0 documents/=1 exports/=0".
func (r SweepResult) String() string {
	var parts []string
	for p, n := range r.Deleted {
		parts = append(parts, fmt.Sprintf("%s=%d", p, n))
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// Sweep deletes the orphans of object storage: objects under a prefix the
// portal writes (documents, the files of messages, exports) that no row
// names and that are older than SweepAfter. They are what a failure leaves
// between storing a file and committing its row (storage or the database
// failing, a machine stopping). Every object a row names is kept, even a
// withdrawn document's or an expired export's row (their own jobs delete
// those objects). A sweep that deleted anything writes one audit event with
// the counts. Storage down: the sweep stops with the error, and the next
// run does the rest.
func (r *Runner) Sweep(ctx context.Context) (SweepResult, error) {
	res := SweepResult{Deleted: map[string]int{}}
	cutoff := r.clock.Now().Add(-SweepAfter)
	for _, o := range r.owners {
		res.Deleted[o.prefix] = 0
		var batchKeys []string
		flush := func() error {
			if len(batchKeys) == 0 {
				return nil
			}
			named, err := o.referenced(ctx, batchKeys)
			if err != nil {
				return err
			}
			for _, k := range batchKeys {
				if named[k] {
					continue
				}
				if err := r.objects.Delete(ctx, k); err != nil {
					return err
				}
				res.Deleted[o.prefix]++
			}
			batchKeys = batchKeys[:0]
			return nil
		}
		err := r.objects.List(ctx, o.prefix, func(info storage.Info) error {
			if !info.ModTime.Before(cutoff) {
				return nil // young: its row may be on its way
			}
			batchKeys = append(batchKeys, info.Key)
			if len(batchKeys) < batch {
				return nil
			}
			return flush()
		})
		if err == nil {
			err = flush()
		}
		if err != nil {
			r.auditSweep(ctx, res)
			return res, fmt.Errorf("jobs: sweep %s: %w", o.prefix, err)
		}
	}
	return res, r.auditSweep(ctx, res)
}

// auditSweep writes the sweep's audit event, if it deleted anything.
func (r *Runner) auditSweep(ctx context.Context, res SweepResult) error {
	if res.Total() == 0 {
		return nil
	}
	return r.audit.Write(context.WithoutCancel(ctx), nil, audit.Event{Action: AuditStorageSwept, Target: res.String()})
}

func (r *Runner) sweepRun(ctx context.Context) error {
	res, err := r.Sweep(ctx)
	if err != nil {
		return err
	}
	r.log.InfoContext(ctx, "jobs: storage sweep done", "documents", res.Deleted[documents.Prefix],
		"attachments", res.Deleted[attachments.Prefix], "exports", res.Deleted[export.Prefix])
	return nil
}
