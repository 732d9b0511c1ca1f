package engine

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/text/v2"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/scene"
)

// A window of two runs ("mlpviz view A B") shows run B beside run A, or
// the difference B − A in one picture. The timeline steps through A's
// passes; for each, B shows its pass of the same training step, or of the
// nearest earlier one (matchStep), so two runs recorded at different
// intervals still line up in training time. The side bar's probe and
// probabilities are A's; the loss and accuracy plots carry both runs.

// CompareLayout is how a window of two runs shows them; D switches.
type CompareLayout int

const (
	// SideBySide splits the view into two halves, A on the left and B on
	// the right, each a whole network under one shared colour scale, so a
	// colour means the same value on both sides.
	SideBySide CompareLayout = iota
	// Difference draws one network coloured by B − A: weights, biases and
	// activations (scene.Difference).
	Difference
)

func (l CompareLayout) String() string {
	if l == Difference {
		return "B − A"
	}
	return "side by side"
}

// Compare is the second run of a window of two.
type Compare struct {
	B            *Source
	NameA, NameB string // how the titles name the runs (their file names)
	Layout       CompareLayout
}

// Comparable says why two runs cannot be shown together, or nil: their
// heads must have the same layer sizes, value for value.
func Comparable(nameA string, a *collector.Architecture, nameB string, b *collector.Architecture) error {
	same := len(a.Head) == len(b.Head)
	for k := 0; same && k < len(a.Head); k++ {
		same = a.Head[k] == b.Head[k]
	}
	if !same {
		return fmt.Errorf("%s and %s have different heads (%s and %s): they cannot be compared", nameA, nameB, HeadShape(a), HeadShape(b))
	}
	return nil
}

// HeadShape writes a head's layer sizes, input first: "576→24→10".
func HeadShape(a *collector.Architecture) string {
	if len(a.Head) == 0 {
		return "no Linear layers"
	}
	parts := []string{fmt.Sprint(a.Head[0].In)}
	for _, l := range a.Head {
		parts = append(parts, fmt.Sprint(l.Out))
	}
	return strings.Join(parts, "→")
}

// matchStep is the pass of a run with metrics m to show beside a pass of
// another at training step step: the last pass at or before step, else the
// first pass (a run that starts later); -1 when m is empty. Steps grow
// from pass to pass, so the search is binary.
func matchStep(m []Metric, step int) int {
	if len(m) == 0 {
		return -1
	}
	j := sort.Search(len(m), func(i int) bool { return m[i].Step > step }) - 1
	return max(j, 0)
}

// comparison is the window's state for run B.
type comparison struct {
	src    *Source
	names  [2]string
	layout CompareLayout
	net    *network        // B's head, drawn in the side-by-side layout
	pass   *collector.Pass // B's pass matched to A's shown one, or nil
	shown  int             // its index, or -1
	diff   *collector.Pass // B − A of the shown passes (Difference layout)
	err    error           // why there is no difference to show
	probes bool            // the shown passes' probe images differ: their activations are not alike
	set    compareSet      // what the networks were last given
	onB    bool            // the pointer is over B's half
	swap   bool            // g.net is B's network for the moment (asB)

	hist      metricHistory // B's loss and accuracy for the plots
	plotsSide *sidebar      // the side bar the plots were given B's series in
	titleKey  compareTitle
	titles    [2]panelCache
	outRange  float32 // the difference's output range the legend was drawn with
}

// compareSet is what the networks were last built from.
type compareSet struct {
	a, b   *collector.Pass
	layout CompareLayout
	mode   scene.RangeMode
}

// compareTitle is what the title rows above the networks show.
type compareTitle struct {
	size         [2]image.Point
	scale        float64
	layout       CompareLayout
	nameA, nameB string
	stepA, stepB int
	hasA, hasB   bool
	bLen         int
	err          string
	probes       bool
}

func newComparison(c *Compare, a *collector.Architecture, mode scene.RangeMode) (*comparison, error) {
	if c.B == nil {
		return nil, fmt.Errorf("compare: no second run")
	}
	if err := Comparable(c.NameA, a, c.NameB, c.B.Architecture()); err != nil {
		return nil, err
	}
	net, err := newNetwork(c.B.Architecture())
	if err != nil {
		return nil, err
	}
	net.mode = mode
	return &comparison{src: c.B, names: [2]string{c.NameA, c.NameB}, layout: c.Layout, net: net, shown: -1,
		hist: metricHistory{plotsFor: -1}}, nil
}

// compareAreas are the parts of the view above the legend: each run's
// title row and the rectangle its network is fitted into. In the
// Difference layout only the first pair is used.
type compareAreas struct {
	half, title, net [2]image.Rectangle
	divider          image.Rectangle
}

func (g *Game) compareAreas() compareAreas {
	v := g.viewRect()
	v.Max.Y = g.legendRect().Min.Y
	var a compareAreas
	titleH := int(math.Ceil(lineHeight(g.fonts.Body))) + g.px(10)
	split := func(r image.Rectangle) (image.Rectangle, image.Rectangle) {
		t := r
		t.Max.Y = min(r.Min.Y+titleH, r.Max.Y)
		r.Min.Y = t.Max.Y
		return t, r
	}
	if g.cmp.layout == Difference {
		a.half[0] = v
		a.title[0], a.net[0] = split(v)
		return a
	}
	// Two halves of the same width, so that both heads get the same
	// layout and one camera serves both.
	gap := max(g.px(1), 1)
	w := (v.Dx() - gap) / 2
	a.half[0] = image.Rect(v.Min.X, v.Min.Y, v.Min.X+w, v.Max.Y)
	a.half[1] = image.Rect(v.Max.X-w, v.Min.Y, v.Max.X, v.Max.Y)
	a.divider = image.Rect(a.half[0].Max.X, v.Min.Y, a.half[1].Min.X, v.Max.Y)
	for i := range 2 {
		a.title[i], a.net[i] = split(a.half[i])
	}
	return a
}

// compareNetRect is the rectangle g.net is fitted into: A's half, the
// whole view in the Difference layout, or B's half while g.net is B's
// network (asB).
func (g *Game) compareNetRect() image.Rectangle {
	a := g.compareAreas()
	if g.cmp.swap {
		return a.net[1]
	}
	return a.net[0]
}

// asB runs f with B's network and pass standing in for A's, so that the
// code that draws one network's labels and tooltip draws B's.
func (g *Game) asB(f func()) {
	c := g.cmp
	swap := func() {
		g.net, c.net = c.net, g.net
		g.pass, c.pass = c.pass, g.pass
		c.swap = !c.swap
	}
	swap()
	defer swap()
	shown := g.shown
	g.shown = -2 - c.shown // never one of A's, so the tooltip's cache tells them apart
	defer func() { g.shown = shown }()
	f()
}

// setNetPass shows pass p of A: on A's network, and in a window of two on
// both (side by side) or as the difference with B's matched pass.
func (g *Game) setNetPass(p *collector.Pass) {
	if g.cmp == nil {
		g.net.setPass(p)
		return
	}
	g.syncCompare()
}

// syncCompare matches B's pass to A's shown one and gives the networks
// what the layout draws, when any of that changed. It reports whether it
// did.
func (g *Game) syncCompare() bool {
	c := g.cmp
	if g.pass != nil {
		if j := matchStep(c.src.Metrics(), g.pass.Step); j >= 0 && j != c.shown {
			if p, err := c.src.Pass(j); err == nil {
				c.pass, c.shown = p, j
			}
		}
	}
	c.net.mode = g.net.mode
	s := compareSet{a: g.pass, b: c.pass, layout: c.layout, mode: g.net.mode}
	if s == c.set {
		return false
	}
	c.set = s
	if c.layout == SideBySide {
		g.net.setPass(g.pass)
		c.net.setPass(c.pass)
		return true
	}
	c.diff, c.err = nil, nil
	c.probes = g.pass != nil && c.pass != nil && !slices.Equal(g.pass.Image, c.pass.Image)
	switch {
	case g.pass == nil:
	case c.pass == nil:
		c.err = fmt.Errorf("%s has no passes yet", c.names[1])
	default:
		// B − A, with B as the pass and A as the reference.
		d, err := scene.Derive(scene.ViewChange, c.pass, nil, g.pass)
		c.diff, c.err = d.Pass, err
	}
	g.net.setPass(c.diff)
	g.legend.cache.invalidate()
	return true
}

// switchCompare changes the layout of a window of two (the D key).
func (g *Game) switchCompare() {
	c := g.cmp
	if c == nil {
		return
	}
	c.layout = 1 - c.layout
	g.syncCompare()
	g.net.fit()
	g.tooltip.invalidate()
	g.legend.cache.invalidate()
}

// updateCompare does a frame's work for run B: new passes and metrics,
// the matched pass, B's view following A's camera, the shared colour
// scale and the plots. It reports whether the picture changed.
func (g *Game) updateCompare(now time.Time) bool {
	c := g.cmp
	if c == nil {
		return false
	}
	c.src.Refresh(now)
	c.src.LoadMetrics(2 * time.Millisecond)
	changed := g.syncCompare()
	if c.net.poll() {
		changed = true
	}
	if c.layout == SideBySide {
		areas := g.compareAreas()
		b := areas.net[1]
		c.net.setView(scene.Rect{MinX: float32(b.Min.X), MinY: float32(b.Min.Y), MaxX: float32(b.Max.X), MaxY: float32(b.Max.Y)}, 1)
		// B's camera is A's, moved by the offset between the halves: one
		// zoom and pan for both pictures.
		*c.net.cam = *g.net.cam
		d := b.Min.Sub(areas.net[0].Min)
		c.net.cam.PanBy(float32(d.X), float32(d.Y))
		c.net.fitZoom = g.net.fitZoom
		c.net.setHover(g.ptr.hovered, g.ptr.pinned)
		shareRanges(g.net, c.net)
	} else if r := g.net.ranges[len(g.net.layout.Layers)-1]; r != c.outRange {
		c.outRange = r // the legend keys the output's difference too
		g.legend.cache.invalidate()
	}
	if g.updateComparePlots() {
		changed = true
	}
	return changed || c.net.building
}

// shareRanges gives both networks the larger of their colour ranges and
// weight scales, layer by layer, so that a colour is the same value on
// both sides and the one legend reads for both.
func shareRanges(a, b *network) {
	share := func(ua, ub, ra, rb []float32) {
		for k := range ua {
			switch {
			case k < len(ra) && k < len(rb):
				ua[k] = max(ra[k], rb[k])
			case k < len(ra):
				ua[k] = ra[k]
			case k < len(rb):
				ua[k] = rb[k]
			}
			ub[k] = ua[k]
		}
	}
	share(a.ranges, b.ranges, passRanges(a), passRanges(b))
	share(a.scales, b.scales, a.geom.WeightScales, b.geom.WeightScales)
}

// passRanges are a network's own colour ranges, none before its first
// pass (a geometry built without one has ranges of 1 and no weights).
func passRanges(n *network) []float32 {
	if len(n.geom.WeightScales) == 0 {
		return nil
	}
	return n.geom.Ranges
}

// updateComparePlots gives the loss and accuracy plots B's series when B's
// metrics or matched pass changed, or the side bar is new (a new UI
// scale), and reports whether it did.
func (g *Game) updateComparePlots() bool {
	c := g.cmp
	m := c.src.Metrics()
	if len(m) == c.hist.plotsFor && c.shown == c.hist.cursor && c.plotsSide == g.side {
		return false
	}
	h := &c.hist
	for _, x := range m[len(h.steps):] {
		h.steps = append(h.steps, x.Step)
		h.loss = append(h.loss, x.Loss)
		h.acc = append(h.acc, x.Accuracy)
	}
	g.side.loss.SetOther(h.steps, h.loss, c.shown)
	g.side.acc.SetOther(h.steps, h.acc, c.shown)
	h.plotsFor, h.cursor, c.plotsSide = len(m), c.shown, g.side
	return true
}

// bannerArea is where the banner of a read problem goes: the view, below
// the title rows of a window of two, which name the runs.
func (g *Game) bannerArea() image.Rectangle {
	v := g.viewRect()
	if g.cmp != nil {
		v.Min.Y = g.compareAreas().title[0].Max.Y
	}
	return v
}

// runErr is the read problem the banner shows: A's, else B's (whose
// messages name its file).
func (g *Game) runErr() error {
	err := g.src.Err()
	if err == nil && g.cmp != nil {
		err = g.cmp.src.Err()
	}
	return err
}

// compareReady reports whether run B shows what it will show for the
// shown pass of A: for a screenshot.
func (g *Game) compareReady() bool {
	c := g.cmp
	if c == nil {
		return true
	}
	if c.src.Len() > 0 && (len(c.src.Metrics()) < c.src.Len() || c.shown < 0) {
		return false
	}
	return !c.net.building
}

// viewPoint maps a screen point over B's half to the same place over A's,
// where A's network picks neurons, so that a neuron hovered or clicked in
// either half is lit in both.
func (g *Game) viewPoint(x, y int) (float32, float32) {
	c := g.cmp
	if c == nil || c.layout != SideBySide {
		return float32(x), float32(y)
	}
	a := g.compareAreas()
	c.onB = image.Pt(x, y).In(a.half[1])
	if c.onB {
		d := a.net[0].Min.Sub(a.net[1].Min)
		x, y = x+d.X, y+d.Y
	}
	return float32(x), float32(y)
}

// drawNets draws the network, or in a window of two both runs (or their
// difference) with a title row each.
func (g *Game) drawNets(screen *ebiten.Image) {
	c := g.cmp
	if c == nil {
		g.net.draw(screen)
		return
	}
	a := g.compareAreas()
	// Each picture is clipped to its half: panned or zoomed in, A's must
	// not run into B's.
	g.net.draw(screen.SubImage(a.half[0]).(*ebiten.Image))
	if c.layout == SideBySide {
		c.net.draw(screen.SubImage(a.half[1]).(*ebiten.Image))
		d := a.divider
		fillRect(screen, float64(d.Min.X), float64(d.Min.Y), float64(d.Dx()), float64(d.Dy()), g.theme.Border)
		g.asB(func() { g.drawNetLabels(screen) })
	}
	g.drawCompareTitles(screen, a)
}

// drawTooltips draws the tooltip of the lit neuron: A's, B's where the
// pointer is over B's half, or both runs' values and their difference in
// the Difference layout.
func (g *Game) drawTooltips(screen *ebiten.Image) {
	c := g.cmp
	switch {
	case c == nil:
		g.drawTooltip(screen)
	case c.layout == Difference:
		g.drawDiffTooltip(screen)
	case c.onB && g.ptr.hovered >= 0:
		g.asB(func() { g.drawTooltip(screen) })
	default:
		g.drawTooltip(screen)
	}
}

// drawDiffTooltip says, for the lit neuron, its value in A, in B and the
// difference: activation, pre-activation and bias, one column each.
func (g *Game) drawDiffTooltip(screen *ebiten.Image) {
	c := g.cmp
	id := g.litNeuron()
	if id < 0 || g.pass == nil || c.pass == nil {
		return
	}
	t, f := &g.tooltip, g.fonts
	key := -3 - g.shown - 1_000_000*c.shown // one per pair of passes, never one of A's
	if !t.valid || t.id != id || t.pass != key {
		a, okA := scene.Describe(g.net.layout, g.pass, id, 0)
		b, okB := scene.Describe(g.net.layout, c.pass, id, 0)
		if !okA || !okB {
			return
		}
		t.id, t.pass, t.valid = id, key, true
		t.lines = diffTooltipLines(a, b, g.arch.ClassNames)
		w := 0.0
		for _, l := range t.lines {
			w = math.Max(w, text.Advance(l, f.Mono))
		}
		t.size = image.Pt(int(w)+g.px(20), int((lineHeight(f.Mono)+f.px(2))*float64(len(t.lines)))+g.px(14))
		t.cache.invalidate()
	}
	at := g.tooltipAt(id, t.size)
	t.cache.draw(screen, image.Rectangle{Min: at, Max: at.Add(t.size)}, g.renderTooltip)
}

// diffTooltipLines are the Difference layout's tooltip: a name line, a
// header and a row per value, in columns A, B and B − A.
func diffTooltipLines(a, b scene.NeuronInfo, classes []string) []string {
	name := fmt.Sprintf("%s  ·  neuron %d", a.LayerName, a.Index)
	if strings.HasPrefix(a.LayerName, "output") && a.Index < len(classes) {
		name += "  (" + classes[a.Index] + ")"
	}
	row := func(label string, x, y float32) string {
		return fmt.Sprintf("%-10s %+9.4f %+9.4f %+9.4f", label, x, y, y-x)
	}
	lines := []string{name, fmt.Sprintf("%-10s %9s %9s %9s", "", "A", "B", "B − A"), row("activation", a.Activation, b.Activation)}
	if a.Layer > 0 {
		lines = append(lines, row("pre-act", a.PreAct, b.PreAct))
		if a.HasBias && b.HasBias {
			lines = append(lines, row("bias", a.Bias, b.Bias))
		}
	}
	return lines
}

// runColour is the colour that marks run i (0: A, 1: B) in the titles and
// the plots.
func (th *Theme) runColour(i int) color.RGBA {
	if i == 1 {
		return th.RunB
	}
	return th.RunA
}

// drawCompareTitles draws the row above each picture: which run it is and
// at which step, or for the difference which runs it subtracts.
func (g *Game) drawCompareTitles(screen *ebiten.Image, a compareAreas) {
	c := g.cmp
	k := compareTitle{layout: c.layout, scale: g.scale, nameA: c.names[0], nameB: c.names[1], bLen: c.src.Len()}
	k.size[0], k.size[1] = a.title[0].Size(), a.title[1].Size()
	if g.pass != nil {
		k.hasA, k.stepA = true, g.pass.Step
	}
	if c.pass != nil {
		k.hasB, k.stepB = true, c.pass.Step
	}
	if c.layout == Difference {
		if c.err != nil {
			k.err = c.err.Error()
		}
		k.probes = c.probes
	}
	if k != c.titleKey {
		c.titleKey = k
		c.titles[0].invalidate()
		c.titles[1].invalidate()
	}
	c.titles[0].draw(screen, a.title[0], func(dst *ebiten.Image) { g.renderCompareTitle(dst, 0) })
	if c.layout == SideBySide {
		c.titles[1].draw(screen, a.title[1], func(dst *ebiten.Image) { g.renderCompareTitle(dst, 1) })
	}
}

// renderCompareTitle draws title row i: "A  a.mlpv … step 300" on the
// left, or "B − A  b.mlpv minus a.mlpv … step 300" over the difference.
func (g *Game) renderCompareTitle(dst *ebiten.Image, i int) {
	k, th, f := &g.cmp.titleKey, g.theme, g.fonts
	r := dst.Bounds()
	fillRect(dst, 0, 0, float64(r.Dx()), float64(r.Dy()), th.Background)
	fillRect(dst, 0, float64(r.Max.Y)-f.px(1), float64(r.Dx()), f.px(1), th.Border)
	pad := f.px(10)
	// The right end: the step, in the warning colour for B when it is not
	// A's.
	var right string
	rightColour := th.TextDim
	switch {
	case k.layout == Difference && k.probes: // what matters most about the activations' difference
		right = "probe images differ"
		rightColour = th.Warning
	case k.layout == Difference && k.hasA && k.hasB && k.stepA != k.stepB:
		right = fmt.Sprintf("A at step %d, B at step %d", k.stepA, k.stepB)
		rightColour = th.Warning
	case k.layout == Difference && k.hasA:
		right = fmt.Sprintf("step %d", k.stepA)
	case i == 0 && k.hasA:
		right = fmt.Sprintf("step %d", k.stepA)
	case i == 1 && k.hasB:
		right = fmt.Sprintf("step %d", k.stepB)
		if k.hasA && k.stepB != k.stepA {
			rightColour = th.Warning
		}
	case i == 1 && k.bLen == 0:
		right = "no passes yet"
	}
	x := pad
	var lead string
	var name string
	if k.layout == Difference {
		lead = "B − A"
		name = k.nameB + " minus " + k.nameA
		if k.err != "" {
			name, rightColour = k.err, th.Warning
			right = ""
		}
	} else {
		lead = [2]string{"A", "B"}[i]
		name = [2]string{k.nameA, k.nameB}[i]
	}
	leadColour := th.runColour(i)
	if k.layout == Difference {
		leadColour = th.Text
	}
	avail := float64(r.Dx()) - 2*pad
	rightW := 0.0
	if right != "" {
		rightW = text.Advance(right, f.Mono) + f.px(12)
	}
	leadW := text.Advance(lead, f.Bold) + f.px(8)
	if leadW+rightW+f.px(40) > avail { // a narrow half: the step gives way to the name
		right, rightW = "", 0
	}
	drawTextMiddle(dst, fitText(lead, f.Bold, avail), f.Bold, x, r, leadColour, text.AlignStart)
	x += leadW
	if w := avail - leadW - rightW; w > 0 {
		drawTextMiddle(dst, fitText(name, f.Body, w), f.Body, x, r, th.TextDim, text.AlignStart)
	}
	if right != "" {
		drawTextMiddle(dst, right, f.Mono, float64(r.Dx())-pad, r, rightColour, text.AlignEnd)
	}
}

// hudCompare is what the HUD says about a window of two: its layout and,
// when B shows another step than A, which.
type hudCompare struct {
	on      bool
	layout  CompareLayout
	stepB   int
	differs bool
}

func (g *Game) hudCompareNow() hudCompare {
	c := g.cmp
	if c == nil {
		return hudCompare{}
	}
	h := hudCompare{on: true, layout: c.layout}
	if g.pass != nil && c.pass != nil && c.pass.Step != g.pass.Step {
		h.differs, h.stepB = true, c.pass.Step
	}
	return h
}

// hudCompareItems adds the HUD's items for a window of two through item,
// the HUD's way of placing one from the right.
func (g *Game) hudCompareItems(h hudCompare, item func(string, color.RGBA)) {
	if !h.on {
		return
	}
	if h.differs {
		item(fmt.Sprintf("B at step %d", h.stepB), g.theme.Warning)
	}
	item(h.layout.String()+" (D)", g.theme.TextDim)
}

// compareLegendItems are the legend's keys over the difference: each value
// is B − A on a diverging scale, the output's logits included; nil when
// the window does not show a difference.
func (g *Game) compareLegendItems(k legendKey) []legendItem {
	c := g.cmp
	if c == nil || c.layout != Difference {
		return nil
	}
	layers := g.net.layout.Layers
	diverging := func(t float64) color.RGBA { return toRGBA(scene.Diverging(float32(2*t - 1))) }
	scope, short := "per layer: "+layers[k.actLayer].Name, "layer "+layers[k.actLayer].Short
	if k.mode == scene.Global {
		scope, short = "global, all layers", "global"
	}
	items := []legendItem{{
		caption: "B − A activation · " + scope + " (G)", short: "B − A activation · " + short,
		lo: formatValue(float64(-k.actRange)), hi: formatValue(float64(k.actRange)), paint: diverging,
	}}
	if k.hasOutput {
		out := len(layers) - 1
		r := g.net.ranges[out]
		items = append(items, legendItem{
			caption: "B − A logit · " + layers[out].Name, short: "B − A logit",
			lo: formatValue(float64(-r)), hi: formatValue(float64(r)), paint: diverging,
		})
		th := g.theme
		items = append(items, legendItem{
			caption: "B − A weight · into " + layers[k.pair+1].Name, short: "B − A weight · into " + layers[k.pair+1].Short,
			lo: formatValue(float64(-k.weightEnd)), hi: formatValue(float64(k.weightEnd)),
			paint: func(t float64) color.RGBA {
				r, gg, b, a := scene.WeightColour(float32(2*t - 1))
				return over(th.Panel, r, gg, b, a)
			},
		})
	}
	return items
}
