package overview

import (
	"math"
	"unicode/utf8"
)

// Chart is a bar chart as shapes in a viewBox Width × Height, for
// views/staff/_overview_chart.html to draw as an inline SVG: no script, and
// html/template escapes every label. It holds no words of its own: the
// caller gives the labels, in the page's language. Text sits in a viewBox
// 320 units wide, about a phone's width, so it reads at 320 px; the style
// sheet keeps the chart from growing much past that.
type Chart struct {
	Width, Height float64
	Groups        []Group // a day (Columns) or a category (Rows)
	Lines         []Line  // the baseline and the scale's top
	Labels        []Label // the scale and the first and last day
}

// Group is one day's or one category's bars, with a tooltip (its SVG
// title) saying its numbers.
type Group struct {
	Class  string // app-chart__day or app-chart__row
	Tip    string
	Bars   []Bar
	Labels []Label
}

// Bar is one rectangle; Series (1-based) picks its colour class.
type Bar struct {
	X, Y, W, H float64
	Series     int
}

// Line is a rule across the chart.
type Line struct {
	X1, Y1, X2, Y2 float64
	Class          string
}

// Label is a piece of text; Anchor is start, middle or end.
type Label struct {
	X, Y   float64
	Anchor string
	Text   string
}

// The column chart's frame, in viewBox units.
const (
	chartWidth  = 320
	colHeight   = 170
	colLeft     = 34 // room for the scale's numbers
	colRight    = 4
	colTop      = 12
	colBottom   = 24 // room for the first and last day
	labelOffset = 4
)

// Columns draws d as a bar per day: the series stacked on each other
// (stacked), or side by side. tips are the days' tooltips and first, last
// the labels under the first and last day; scale formats the scale's
// numbers.
func Columns(d *Daily, stacked bool, tips []string, first, last string, scale func(int64) string) Chart {
	c := Chart{Width: chartWidth, Height: colHeight}
	plotW, plotH := float64(chartWidth-colLeft-colRight), float64(colHeight-colTop-colBottom)
	baseline := float64(colHeight - colBottom)
	var most int64
	for _, row := range d.Counts {
		var sum int64
		for _, n := range row {
			sum += n
			most = max(most, n)
		}
		if stacked {
			most = max(most, sum)
		}
	}
	top := niceTop(most)
	slot := plotW / float64(max(len(d.Days), 1))
	width := slot * 0.8
	if !stacked {
		width /= float64(max(len(d.Series), 1))
	}
	for i, row := range d.Counts {
		g := Group{Class: "app-chart__day"}
		if i < len(tips) {
			g.Tip = tips[i]
		}
		x := colLeft + float64(i)*slot + slot*0.1
		y := baseline
		for s, n := range row {
			h := float64(n) / float64(top) * plotH
			bx := x
			if !stacked {
				bx = x + float64(s)*width
			}
			if n > 0 {
				if stacked {
					y -= h
					g.Bars = append(g.Bars, Bar{X: round(bx), Y: round(y), W: round(width), H: round(h), Series: s + 1})
				} else {
					g.Bars = append(g.Bars, Bar{X: round(bx), Y: round(baseline - h), W: round(width), H: round(h), Series: s + 1})
				}
			}
		}
		c.Groups = append(c.Groups, g)
	}
	c.Lines = []Line{
		{X1: colLeft, Y1: colTop, X2: chartWidth - colRight, Y2: colTop, Class: "app-chart__grid"},
		{X1: colLeft, Y1: baseline, X2: chartWidth - colRight, Y2: baseline, Class: "app-chart__axis"},
	}
	c.Labels = []Label{
		{X: colLeft - labelOffset, Y: colTop + labelOffset, Anchor: "end", Text: scale(top)},
		{X: colLeft - labelOffset, Y: baseline + labelOffset, Anchor: "end", Text: scale(0)},
		{X: colLeft, Y: colHeight - 6, Anchor: "start", Text: first},
		{X: chartWidth - colRight, Y: colHeight - 6, Anchor: "end", Text: last},
	}
	return c
}

// The row chart's frame, in viewBox units.
const (
	rowHeight   = 44
	rowBar      = 16
	rowValueGap = 48 // room after the longest bar for its number
	rowLabelMax = 40 // runes of a label before it is cut (the table has it whole)
)

// Rows draws one horizontal bar per category, its label above it and its
// number (values, already formatted: texts) after it.
func Rows(labels []string, values []int64, texts []string) Chart {
	c := Chart{Width: chartWidth, Height: float64(len(labels)*rowHeight + 4)}
	var most int64
	for _, v := range values {
		most = max(most, v)
	}
	most = max(most, 1)
	for i, label := range labels {
		y := float64(i * rowHeight)
		w := float64(values[i]) / float64(most) * (chartWidth - rowValueGap)
		g := Group{Class: "app-chart__row", Tip: label + ": " + texts[i],
			Labels: []Label{
				{X: 0, Y: y + 14, Anchor: "start", Text: cut(label)},
				{X: round(w + 6), Y: y + 20 + 13, Anchor: "start", Text: texts[i]},
			}}
		if values[i] > 0 {
			g.Bars = []Bar{{X: 0, Y: y + 20, W: round(w), H: rowBar, Series: 1}}
		}
		c.Groups = append(c.Groups, g)
	}
	return c
}

// niceTop is the scale's top for a largest value of most: most itself up to
// ten, else the next of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten.
func niceTop(most int64) int64 {
	if most <= 10 {
		return max(most, 1)
	}
	for p := int64(10); ; p *= 10 {
		for _, f := range []float64{1, 1.5, 2, 2.5, 3, 4, 5, 6, 8} {
			if top := int64(f * float64(p)); top >= most {
				return top
			}
		}
	}
}

// round keeps a coordinate to two decimals, so the SVG stays short.
func round(x float64) float64 { return math.Round(x*100) / 100 }

// cut shortens a label to rowLabelMax runes.
func cut(s string) string {
	if utf8.RuneCountInString(s) <= rowLabelMax {
		return s
	}
	return string([]rune(s)[:rowLabelMax-1]) + "…"
}
