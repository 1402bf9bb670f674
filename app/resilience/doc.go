// Package resilience holds issue 18's tests of the portal with a real
// component stopped and started by the test (no mocks of Postgres or S3):
// what a person sees while it is down, that nothing is half-stored, and
// that the same action succeeds once it is back. It has no code of its own.
package resilience
