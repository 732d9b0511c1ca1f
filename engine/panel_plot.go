package engine

import (
	"image"
	"image/color"
	"math"
	"slices"
	"strconv"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/text/v2"
	"github.com/hajimehoshi/ebiten/v2/vector"
)

// PlotPanel draws one training metric (loss, accuracy) over the captured
// passes: x is the training step, y the value. NaN values are gaps, not
// zeros, because a missing or diverged measurement must not look like a
// perfect loss. The pass the window is showing is marked with a vertical
// cursor, and its value is written beside the title. In a window of two
// runs it draws the second run's series too (SetOther): both lines in the
// theme's run colours, with a key of their values beside the title.
type PlotPanel struct {
	title string
	color color.RGBA
	th    *Theme
	f     *Fonts
	cache panelCache

	steps  []int
	values []float32
	cursor int
	other  plotSeries // the second run's, when two is set
	two    bool

	// floor and ceil bound the y axis where the metric has natural bounds
	// (accuracy 0..1, loss from 0), so noise in a flat run does not
	// fill the plot; NaN leaves that end to the data.
	floor, ceil float64
}

// NewPlotPanel makes an empty plot titled title whose line is drawn in c.
func NewPlotPanel(title string, c color.RGBA, th *Theme, f *Fonts) *PlotPanel {
	return &PlotPanel{title: title, color: c, th: th, f: f, cursor: -1, floor: math.NaN(), ceil: math.NaN()}
}

// Bounds fixes the y axis to start at floor and end at ceil; NaN leaves an
// end to the data. Values outside still widen the axis, so none is hidden.
func (p *PlotPanel) Bounds(floor, ceil float64) {
	p.floor, p.ceil = floor, ceil
	p.cache.invalidate()
}

// Set gives the series: values[i] was measured at steps[i] (when steps is
// shorter than values, x is the index instead). cursor is the index of the
// pass on screen, or -1 for none. The slices are copied only when they
// differ from what is drawn, so the caller can pass its growing history
// every frame.
func (p *PlotPanel) Set(steps []int, values []float32, cursor int) {
	if cursor < -1 || cursor >= len(values) {
		cursor = -1
	}
	if len(steps) > len(values) {
		steps = steps[:len(values)]
	}
	if cursor == p.cursor && slices.Equal(steps, p.steps) && sameFloats(values, p.values) {
		return
	}
	p.steps = append(p.steps[:0], steps...)
	p.values = append(p.values[:0], values...)
	p.cursor = cursor
	p.cache.invalidate()
}

// plotSeries is one run's values, at steps, and the index of its pass on
// screen (-1: none).
type plotSeries struct {
	steps  []int
	values []float32
	cursor int
}

// SetOther gives a second run's series, as Set gives the first; from then
// on the panel draws two runs.
func (p *PlotPanel) SetOther(steps []int, values []float32, cursor int) {
	if cursor < -1 || cursor >= len(values) {
		cursor = -1
	}
	if len(steps) > len(values) {
		steps = steps[:len(values)]
	}
	o := &p.other
	if p.two && cursor == o.cursor && slices.Equal(steps, o.steps) && sameFloats(values, o.values) {
		return
	}
	o.steps = append(o.steps[:0], steps...)
	o.values = append(o.values[:0], values...)
	o.cursor, p.two = cursor, true
	p.cache.invalidate()
}

// newLossPlot is the loss plot: its axis starts at 0.
func newLossPlot(th *Theme, f *Fonts) *PlotPanel {
	p := NewPlotPanel("Loss", th.Positive, th, f)
	p.Bounds(0, math.NaN())
	return p
}

// newAccuracyPlot is the accuracy plot: its axis is 0..1.
func newAccuracyPlot(th *Theme, f *Fonts) *PlotPanel {
	p := NewPlotPanel("Accuracy", th.Good, th, f)
	p.Bounds(0, 1)
	return p
}

// Draw draws the panel into r of dst.
func (p *PlotPanel) Draw(dst *ebiten.Image, r image.Rectangle) {
	p.cache.draw(dst, r, p.render)
}

// x is the x coordinate (step) of value i.
func (p *PlotPanel) x(i int) float64 { return stepAt(p.steps, i) }

// stepAt is the x coordinate of value i of a series measured at steps: its
// step, or i where steps has none.
func stepAt(steps []int, i int) float64 {
	if i < len(steps) {
		return float64(steps[i])
	}
	return float64(i)
}

// series are the runs drawn, the first run first, each with its colour.
func (p *PlotPanel) series() []plotSeries {
	s := []plotSeries{{p.steps, p.values, p.cursor}}
	if p.two {
		s = append(s, p.other)
	}
	return s
}

// seriesColour is the colour of series i: the panel's own for one run,
// the runs' colours for two.
func (p *PlotPanel) seriesColour(i int) color.RGBA {
	if !p.two {
		return p.color
	}
	return p.th.runColour(i)
}

// plotLayout is the geometry of a plot panel for its current data; Draw and
// the tests share it.
type plotLayout struct {
	title, plot   image.Rectangle
	lo, hi, yStep float64 // y axis range and grid spacing
	x0, x1        float64 // x axis range
	ok            bool    // some value is finite
	xLabels       bool    // room for the step labels under the plot
	yLabels       bool    // room for the value labels left of it
}

// toScreen maps a data point into the plot rectangle.
func (l *plotLayout) toScreen(x, y float64) (float32, float32) {
	sx := float64(l.plot.Min.X) + (x-l.x0)/(l.x1-l.x0)*float64(l.plot.Dx())
	sy := float64(l.plot.Max.Y) - (y-l.lo)/(l.hi-l.lo)*float64(l.plot.Dy())
	return float32(sx), float32(sy)
}

func (p *PlotPanel) layout(size image.Point) plotLayout {
	f := p.f
	var l plotLayout
	var content image.Rectangle
	l.title, content = frameLayout(image.Rectangle{Max: size}, true, f)
	lo, hi, ok := finiteRange(p.values)
	if p.two {
		if olo, ohi, ook := finiteRange(p.other.values); ook {
			lo, hi, ok = min(lo, olo), max(hi, ohi), true
		}
	}
	if !ok {
		return l
	}
	l.ok = true
	if !math.IsNaN(p.floor) {
		lo = min(lo, p.floor)
	}
	if !math.IsNaN(p.ceil) {
		hi = max(hi, p.ceil)
	}
	l.lo, l.hi, l.yStep = niceAxis(lo, hi, 5)
	l.x0, l.x1 = math.Inf(1), math.Inf(-1)
	for _, s := range p.series() {
		for i := range s.values {
			l.x0, l.x1 = min(l.x0, stepAt(s.steps, i)), max(l.x1, stepAt(s.steps, i))
		}
	}
	if l.x0 == l.x1 { // one pass: the axis runs from step 0 to it
		l.x0 = min(l.x0, 0)
		if l.x0 == l.x1 {
			l.x1 = l.x0 + 1
		}
	}
	dec := stepDecimals(l.yStep)
	gutter := int(max(text.Advance(formatTick(l.hi, dec), f.Small), text.Advance(formatTick(l.lo, dec), f.Small)) + f.px(6))
	sh := lineHeight(f.Small)
	// A short panel (the window gives the plots what the other panels
	// leave) spends its height on the line: the step labels go first, then
	// the value labels, which would overlap.
	l.xLabels = float64(content.Dy()) >= 4*sh
	axisH := 0
	if l.xLabels {
		axisH = int(sh + f.px(4))
	}
	top := int(sh / 2)
	l.plot = image.Rect(content.Min.X+gutter, content.Min.Y+top, content.Max.X-int(f.px(2)), content.Max.Y-max(axisH, top))
	l.yLabels = float64(l.plot.Dy()) >= 1.5*sh
	if !l.yLabels {
		l.plot.Min.X = content.Min.X
	}
	if l.plot.Dx() <= 0 || l.plot.Dy() <= 0 {
		l.ok = false
	}
	return l
}

func (p *PlotPanel) render(dst *ebiten.Image) {
	th, f := p.th, p.f
	content := DrawPanelFrame(dst, dst.Bounds(), p.title, th, f)
	l := p.layout(dst.Bounds().Size())
	if !l.ok {
		drawTextMiddle(dst, "no data yet", f.Body, float64(content.Min.X+content.Max.X)/2, content, th.TextDim, text.AlignCenter)
		return
	}

	p.drawValues(dst, l.title)

	// Light grid: a line per y tick and a few x ticks.
	grid := mix(th.Panel, th.Border, 0.8)
	pr := l.plot
	hair := max(1, f.px(1))
	// In a short plot every tick would be a stripe; keep grid lines at
	// least 8 px apart by skipping ticks.
	// Counting ticks (at most a dozen) rather than adding steps keeps the
	// loops finite whatever the floating point does.
	gridStep := l.yStep * math.Ceil(f.px(8)/(float64(pr.Dy())*l.yStep/(l.hi-l.lo)))
	for i := 0; i <= 12; i++ {
		v := l.lo + float64(i)*gridStep
		if v > l.hi+l.yStep/2 {
			break
		}
		_, y := l.toScreen(l.x0, v)
		fillRect(dst, float64(pr.Min.X), math.Min(math.Round(float64(y)), float64(pr.Max.Y)-hair), float64(pr.Dx()), hair, grid)
	}
	_, _, xStep := niceAxis(l.x0, l.x1, 4)
	for i := 0; i <= 12; i++ {
		v := (math.Ceil(l.x0/xStep) + float64(i)) * xStep
		if v > l.x1 {
			break
		}
		x, _ := l.toScreen(v, l.lo)
		fillRect(dst, math.Min(math.Round(float64(x)), float64(pr.Max.X)-hair), float64(pr.Min.Y), hair, float64(pr.Dy()), grid)
	}

	// Axis labels: the y range at the ends of the gutter, the first and
	// last step under the plot.
	sh := lineHeight(f.Small)
	if l.yLabels {
		dec := stepDecimals(l.yStep)
		gx := float64(pr.Min.X) - f.px(6)
		drawText(dst, formatTick(l.hi, dec), f.Small, gx, float64(pr.Min.Y)-sh/2, th.TextDim, text.AlignEnd)
		drawText(dst, formatTick(l.lo, dec), f.Small, gx, float64(pr.Max.Y)-sh/2, th.TextDim, text.AlignEnd)
	}
	if l.xLabels {
		ay := float64(pr.Max.Y) + f.px(3)
		drawText(dst, formatStep(l.x0), f.Small, float64(pr.Min.X), ay, th.TextDim, text.AlignStart)
		drawText(dst, formatStep(l.x1), f.Small, float64(pr.Max.X), ay, th.TextDim, text.AlignEnd)
	}

	// The series, the second run's under the first's.
	lw := float32(max(1.5, 1.5*f.Scale))
	all := p.series()
	for i := len(all) - 1; i >= 0; i-- {
		drawSeries(dst, &l, all[i], p.seriesColour(i), !p.two, lw)
	}

	// The cursor: a vertical hairline at the pass on screen and a ringed
	// dot where it meets the line.
	if p.cursor >= 0 {
		x, _ := l.toScreen(p.x(p.cursor), l.lo)
		fillRect(dst, math.Round(float64(x)), float64(pr.Min.Y), hair, float64(pr.Dy()), fade(th.Text, 0.4))
	}
	for i := len(all) - 1; i >= 0; i-- { // a ringed dot where each run's shown pass meets its line, A's on top
		s := all[i]
		if s.cursor < 0 || !finite(s.values[s.cursor]) {
			continue
		}
		x, y := l.toScreen(stepAt(s.steps, s.cursor), float64(s.values[s.cursor]))
		r := float32(f.px(3.5))
		vector.FillCircle(dst, x, y, r+float32(f.px(1.5)), th.Panel, true)
		vector.FillCircle(dst, x, y, r, p.seriesColour(i), true)
	}
}

// drawSeries draws one run's values: each run of finite values a line
// (over a faint area when fill is set); a lone value between gaps a dot.
func drawSeries(dst *ebiten.Image, l *plotLayout, s plotSeries, c color.RGBA, fill bool, lw float32) {
	var line, area vector.Path
	base := float32(l.plot.Max.Y)
	for start := 0; start < len(s.values); {
		if !finite(s.values[start]) {
			start++
			continue
		}
		end := start
		for end < len(s.values) && finite(s.values[end]) {
			end++
		}
		if end-start == 1 {
			x, y := l.toScreen(stepAt(s.steps, start), float64(s.values[start]))
			vector.FillCircle(dst, x, y, lw*1.2, c, true)
		} else {
			for i := start; i < end; i++ {
				x, y := l.toScreen(stepAt(s.steps, i), float64(s.values[i]))
				if i == start {
					line.MoveTo(x, y)
					area.MoveTo(x, base)
				} else {
					line.LineTo(x, y)
				}
				area.LineTo(x, y)
			}
			x, _ := l.toScreen(stepAt(s.steps, end-1), l.lo)
			area.LineTo(x, base)
			area.Close()
		}
		start = end
	}
	if fill {
		fillOp := &vector.DrawPathOptions{AntiAlias: true}
		fillOp.ColorScale.ScaleWithColor(fade(c, 0.12))
		vector.FillPath(dst, &area, nil, fillOp)
	}
	lineOp := &vector.DrawPathOptions{AntiAlias: true}
	lineOp.ColorScale.ScaleWithColor(c)
	vector.StrokePath(dst, &line, &vector.StrokeOptions{Width: lw, LineJoin: vector.LineJoinRound, LineCap: vector.LineCapRound}, lineOp)
}

// shownValue is the index of the value a series writes beside the title:
// its cursor's (an infinite one too: a diverged pass says so), else its
// latest finite one; -1 for none.
func (s plotSeries) shownValue() int {
	if s.cursor >= 0 && !math.IsNaN(float64(s.values[s.cursor])) {
		return s.cursor
	}
	return lastFinite(s.values)
}

// drawValues writes the shown values at the right end of the title row:
// the one run's in its colour, or for two "A 0.231  B 0.198", each in its
// run's colour, which doubles as the key to the lines. Where the title
// leaves too little room the values give way to the bare key "A B".
func (p *PlotPanel) drawValues(dst *ebiten.Image, title image.Rectangle) {
	f := p.f
	all := p.series()
	if !p.two {
		if i := all[0].shownValue(); i >= 0 {
			drawTextMiddle(dst, formatValue(float64(all[0].values[i])), f.Mono, float64(title.Max.X), title, p.color, text.AlignEnd)
		}
		return
	}
	texts := make([]string, len(all))
	keys := []string{"A", "B"}
	width := 0.0
	gap := f.px(10)
	for i, s := range all {
		texts[i] = keys[i]
		if j := s.shownValue(); j >= 0 {
			texts[i] += " " + formatValue(float64(s.values[j]))
		}
		width += text.Advance(texts[i], f.Mono) + gap
	}
	room := float64(title.Dx()) - text.Advance(p.title, f.Bold) - f.px(8)
	if width-gap > room {
		copy(texts, keys)
	}
	x := float64(title.Max.X)
	for i := len(all) - 1; i >= 0; i-- {
		drawTextMiddle(dst, texts[i], f.Mono, x, title, p.seriesColour(i), text.AlignEnd)
		x -= text.Advance(texts[i], f.Mono) + gap
	}
}

// finite reports whether v is a number that can be plotted.
func finite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

// finiteRange is the smallest and largest finite value; ok is false when
// there is none.
func finiteRange(values []float32) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range values {
		if finite(v) {
			lo, hi = min(lo, float64(v)), max(hi, float64(v))
			ok = true
		}
	}
	return lo, hi, ok
}

// lastFinite is the index of the last finite value, or -1.
func lastFinite(values []float32) int {
	for i := len(values) - 1; i >= 0; i-- {
		if finite(values[i]) {
			return i
		}
	}
	return -1
}

// niceAxis widens [lo, hi] to multiples of a round step (1, 2, 2.5 or 5
// times a power of ten) giving about ticks intervals, so grid lines and axis
// labels fall on numbers a reader takes in at a glance (0 to 2.5, not 0.213
// to 2.297). An empty range is widened around its value.
func niceAxis(lo, hi float64, ticks int) (min, max, step float64) {
	if lo > hi {
		lo, hi = hi, lo
	}
	if hi == lo {
		d := math.Abs(lo) * 0.1
		if d == 0 {
			d = 1
		}
		lo, hi = lo-d, hi+d
	}
	step = niceStep((hi - lo) / float64(ticks))
	min = math.Floor(lo/step) * step
	max = math.Ceil(hi/step) * step
	// Floating-point division can land a hair past a multiple.
	if lo-min >= step*(1-1e-9) {
		min += step
	}
	if max-hi >= step*(1-1e-9) {
		max -= step
	}
	// 3*0.1 is 0.30000000000000004: never let rounding leave data outside.
	return math.Min(min, lo), math.Max(max, hi), step
}

// niceStep rounds x up to 1, 2, 2.5 or 5 times a power of ten.
func niceStep(x float64) float64 {
	if !(x > 0) || math.IsInf(x, 0) {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(x)))
	switch m := x / e; {
	case m <= 1+1e-9:
		return e
	case m <= 2+1e-9:
		return 2 * e
	case m <= 2.5+1e-9:
		return 2.5 * e
	case m <= 5+1e-9:
		return 5 * e
	default:
		return 10 * e
	}
}

// stepDecimals is the number of decimals that writes multiples of step
// exactly (2.5 needs one, 0.25 two, 5 none).
func stepDecimals(step float64) int {
	for d := 0; d < 10; d++ {
		s := step * math.Pow(10, float64(d))
		if math.Abs(s-math.Round(s)) < 1e-6*math.Max(1, s) {
			return d
		}
	}
	return 10
}

// formatTick writes an axis value with dec decimals; it never writes "-0".
func formatTick(v float64, dec int) string {
	s := strconv.FormatFloat(v, 'f', dec, 64)
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == 0 {
		s = strconv.FormatFloat(0, 'f', dec, 64)
	}
	return s
}

// formatValue writes a metric with four significant digits or so, enough
// to see a loss still moving without a wall of digits.
func formatValue(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return strconv.FormatFloat(v, 'f', -1, 64)
	case a == 0:
		return "0"
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 3, 64)
	case a >= 0.001:
		return strconv.FormatFloat(v, 'f', 4, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

// formatStep writes a step count for the x axis, shortening large ones
// ("12.5k") so the end labels never collide.
func formatStep(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return strconv.FormatFloat(math.Round(v/1e5)/10, 'f', -1, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(math.Round(v/100)/10, 'f', -1, 64) + "k"
	default:
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	}
}
