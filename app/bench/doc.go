// Package bench is the load run behind `make bench`: it builds the portal
// and the bare baseline (bench/baseline), starts both on one Postgres
// cluster with fsync on, signs in hundreds of sessions, seeds tables from
// a thousand rows to a million, drives concurrent clients at both in
// turns, and prints one table of figures and ratios.
//
// Invariants:
//   - Every figure that depends on the machine is printed as a ratio to
//     one measured in the same run (the baseline, the portal's own quiet
//     state, a direct read of the same file), measured in alternation so a
//     noisy neighbour hits both sides alike.
//   - Nothing here ships: sessions are minted from this process through
//     the portal's own session store and keys (the harness's way in), never
//     through a route of the portal.
//   - It is a benchmark, not a test: `go test ./...` does not run it, and
//     no test asserts a time.
package bench
