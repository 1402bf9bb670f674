// Package clock gives features the time through a value they are handed, so
// tests move it instead of sleeping: every expiry (codes, sessions, lockouts,
// grants) is decided against a Clock.
package clock

import (
	"sync"
	"time"
)

// London is the council's time zone: the days and times people read, and
// the days that end things (a placement's grace, a form's due date), are
// London's. main embeds time/tzdata, so it loads in any image.
var London = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err) // time/tzdata is embedded by main; tests have the system's
	}
	return loc
}()

// Today is c's time in London, for rules about calendar days.
func Today(c Clock) time.Time { return c.Now().In(London) }

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// Real is the wall clock, in UTC.
type Real struct{}

// Now returns the current UTC time.
func (Real) Now() time.Time { return time.Now().UTC() }

// Fake is a clock tests set and move. It is safe for concurrent use.
type Fake struct {
	mu  sync.Mutex
	now time.Time
}

// NewFake returns a Fake standing at t.
func NewFake(t time.Time) *Fake { return &Fake{now: t.UTC()} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the clock forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// Set puts the clock at t.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = t.UTC()
}
