package uploadtest

import "testing"

func TestPDFIsExactlyTheSizeAskedFor(t *testing.T) {
	for _, n := range []int{MinPDF, MinPDF + 1, 999, 1000, 1001, 1009, 1010, 1011, 10000, 100000, 1 << 20, 25<<20 + 1} {
		if got := len(PDF(n, "")); got != n {
			t.Errorf("PDF(%d) is %d bytes", n, got)
		}
	}
}
