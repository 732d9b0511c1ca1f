package engine

import (
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

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
	return "A and B"
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
	whole  *collector.Pass // B's pass matched to A's shown one, or nil
	shown  int             // its index, or -1
	probe  int             // the probe pass shows; -1: pass is not made yet
	pass   *collector.Pass // whole as the chosen probe saw it
	diff   *collector.Pass // B − A of the shown passes (Difference layout)
	err    error           // why there is no difference to show
	probes bool            // the shown passes' probe images differ: their activations are not alike
	set    compareSet      // what the networks were last given
	onB    bool            // the pointer is over B's half
	swap   bool            // g.net is B's network for the moment (asB)

	stackFor image.Point // the view size stacked was decided for
	stacked  bool        // the two pictures go one above the other (stackRuns)

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
	view   scene.ViewMode
	ref    int // the change view's reference pass
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
	v.Min.Y, v.Max.Y = g.modeBarRect().Max.Y, g.legendRect().Min.Y
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
	// Two halves of the same size, so that both heads get the same
	// layout and one camera serves both: side by side, or one above the
	// other where that shows the heads larger (a wide view).
	gap := max(g.px(1), 1)
	if g.stackRuns(v, titleH, gap) {
		h := (v.Dy() - gap) / 2
		a.half[0] = image.Rect(v.Min.X, v.Min.Y, v.Max.X, v.Min.Y+h)
		a.half[1] = image.Rect(v.Min.X, v.Max.Y-h, v.Max.X, v.Max.Y)
		a.divider = image.Rect(v.Min.X, a.half[0].Max.Y, v.Max.X, a.half[1].Min.Y)
	} else {
		w := (v.Dx() - gap) / 2
		a.half[0] = image.Rect(v.Min.X, v.Min.Y, v.Min.X+w, v.Max.Y)
		a.half[1] = image.Rect(v.Max.X-w, v.Min.Y, v.Max.X, v.Max.Y)
		a.divider = image.Rect(a.half[0].Max.X, v.Min.Y, a.half[1].Min.X, v.Max.Y)
	}
	for i := range 2 {
		a.title[i], a.net[i] = split(a.half[i])
	}
	return a
}

// stackRuns reports whether the two pictures of area v go one above the
// other rather than side by side: whichever shows the head at the larger
// scale once a layout is made for its halves' shape. Heads are wider than
// tall, so a wide view stacks them. The answer is kept for v's size.
func (g *Game) stackRuns(v image.Rectangle, titleH, gap int) bool {
	c := g.cmp
	if v.Size() == c.stackFor {
		return c.stacked
	}
	scale := func(w, h int) float32 {
		h -= titleH
		if w <= 0 || h <= 0 {
			return 0
		}
		l, err := scene.NewLayout(g.arch.Head, scene.Options{Maps: g.net.maps, Aspect: float32(w) / float32(h)})
		if err != nil {
			return 0
		}
		b := l.Bounds
		return min(float32(w)/(b.MaxX-b.MinX), float32(h)/(b.MaxY-b.MinY))
	}
	c.stackFor = v.Size()
	c.stacked = scale(v.Dx(), (v.Dy()-gap)/2) > scale((v.Dx()-gap)/2, v.Dy())
	return c.stacked
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

// setNetPass draws the shown pass in the chosen view mode: on A's network,
// and in a window of two on both (side by side) or as B − A.
func (g *Game) setNetPass() {
	if g.cmp == nil {
		g.net.setPass(g.viewInput(g.shown, g.pass))
		return
	}
	g.syncCompare() // rebuilds what the mode, reference or passes changed
}

// compareInput is what B's network draws in the chosen view mode: B's
// matched pass, the one before it (updates) and B's pass matched to the
// step of A's reference (change).
func (g *Game) compareInput() viewInput {
	c := g.cmp
	in := viewInput{mode: g.modes.mode, p: c.pass}
	switch {
	case c.pass == nil:
	case in.mode == scene.ViewUpdates && c.shown > 0:
		in.prev, _ = c.src.Pass(c.shown - 1)
	case in.mode == scene.ViewChange:
		if ref := g.referencePass(); ref != nil {
			if j := matchStep(c.src.Metrics(), ref.Step); j >= 0 {
				if p, err := c.src.Pass(j); err == nil {
					in.ref = p.ForProbe(c.probe)
				}
			}
		}
	}
	return in
}

// syncCompare matches B's pass to A's shown one and gives the networks
// what the layout draws, when any of that changed. It reports whether it
// did.
func (g *Game) syncCompare() bool {
	c := g.cmp
	if g.pass != nil {
		if j := matchStep(c.src.Metrics(), g.pass.Step); j >= 0 && j != c.shown {
			if p, err := c.src.Pass(j); err == nil {
				c.whole, c.shown, c.probe = p, j, -1
			}
		}
	}
	if j := g.shownProbe(); c.whole != nil && c.probe != j {
		c.pass, c.probe = c.whole.ForProbe(j), j
	}
	c.net.mode = g.net.mode
	s := compareSet{a: g.pass, b: c.pass, layout: c.layout, mode: g.net.mode, view: g.modes.mode, ref: g.modes.ref}
	if s == c.set {
		return false
	}
	c.set = s
	if c.layout == SideBySide {
		g.net.setPass(g.viewInput(g.shown, g.pass))
		c.net.setPass(g.compareInput())
		return true
	}
	c.diff, c.err = nil, nil
	c.probes = g.pass != nil && c.pass != nil && !slices.Equal(g.pass.Image, c.pass.Image)
	switch {
	case g.pass == nil:
	case c.pass == nil:
		c.err = fmt.Errorf("%s has no passes yet", c.names[1])
	default:
		// B − A of what the view mode shows, with B as the pass and A as
		// the reference.
		a, errA := g.viewInput(g.shown, g.pass).derived()
		b, errB := g.compareInput().derived()
		d, err := scene.Derive(scene.ViewChange, b, nil, a)
		c.diff, c.err = d.Pass, errors.Join(errA, errB, err)
		if c.diff != nil {
			c.diff.Health = nil // a difference has no dead neurons; each run's show side by side
		}
	}
	g.net.setPass(viewInput{mode: g.modes.mode, p: c.diff, ready: true})
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
