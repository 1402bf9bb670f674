package live_test

import (
	"testing"

	"portal/app/apptest"
	"portal/app/live"
)

// TestOpenStreamsCountsStreamsWhileTheyRun: the hub counts a stream from
// before its first frame to the end of its writer (before its OnClose),
// so the live streams gauge (app/metrics) reads what is open now.
func TestOpenStreamsCountsStreamsWhileTheyRun(t *testing.T) {
	m := newMachine(t, apptest.NewDatabase(t), nil)
	s := serve(t, m, 4, func() live.StreamOptions {
		return live.StreamOptions{Authorize: allow, Render: renderThreads(nil)}
	})
	if n := m.hub.OpenStreams(); n != 0 {
		t.Fatalf("open streams before any = %d", n)
	}
	first, second := connect(t, s.url, nil), connect(t, s.url, nil)
	first.expectOpen(t)
	second.expectOpen(t)
	if n := m.hub.OpenStreams(); n != 2 {
		t.Fatalf("open streams with two pages open = %d, want 2", n)
	}
	// Ended by the hub (as on shutdown): each writer ends and is uncounted.
	m.hub.Stop()
	s.waitClosed(t)
	s.waitClosed(t)
	if n := m.hub.OpenStreams(); n != 0 {
		t.Fatalf("open streams after both ended = %d, want 0", n)
	}
}
