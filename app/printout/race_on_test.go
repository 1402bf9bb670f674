//go:build race

package printout

// raceDetector is true under -race, which slows gopdf's writing about tenfold.
const raceDetector = true
