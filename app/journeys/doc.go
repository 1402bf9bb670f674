// Package journeys holds the tier-4 tests: people's journeys through the
// real portal in headless Chromium, at phone size, with an axe-core check of
// each page they see. It has no code of its own, only tests.
//
// Invariants the tests hold the portal to:
//   - Every page a journey reaches passes axe-core's WCAG 2.0–2.2 A and AA
//     rules, reflows at 320 px without horizontal scrolling, and runs under
//     the portal's Content Security Policy without a violation or a console
//     error.
//   - Timeouts are tested by moving the app's clock (apptest.TestApp.Clock),
//     never by sleeping; the only real waiting is for the browser's own
//     one-second countdown ticks, bounded by a timeout.
//   - Each test has its own app, database and browser context, so no cookie,
//     session or storage leaks from one journey into another.
//
// Run them with `go test ./app/journeys/`; they need Debian's chromium
// (apt-get install chromium) and PostgreSQL, and never skip. Set
// PORTAL_BROWSER_ARTIFACTS to a directory to keep a screenshot and the HTML
// of the page a failed test ended on.
package journeys
