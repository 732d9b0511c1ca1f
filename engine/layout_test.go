package engine

import (
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hajimehoshi/ebiten/v2"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/collector/runfile"
	"github.com/mlpviz/mlpviz/scene"
)

// layoutSizes are the window sizes the layout must hold at: logical size
// and UI scale (3840x2160 device pixels is 1920x1080 at scale 2).
var layoutSizes = []struct {
	w, h  int
	scale float64
}{{800, 600, 1}, {1280, 800, 1}, {1920, 1080, 1}, {1920, 1080, 2}, {640, 400, 2}}

// headArchitecture is a run's architecture for one of the catalogue's
// models: the conv stack that ends in channels feature maps, then the head.
func headArchitecture(model string) *collector.Architecture {
	a := cnnArchitecture()
	a.Model = model
	var dims []int
	var channels int
	switch model {
	case "cnn":
		return a
	case "cnn_large":
		dims, channels = []int{6272, 128, 64, 10}, 128
	case "cifar10_cnn":
		dims, channels = []int{4096, 1024, 512, 10}, 256
		a.Dataset, a.InputShape = "cifar10", [3]int{3, 32, 32}
		a.ClassNames = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}
	}
	a.Modules = []collector.Module{{Kind: "Conv2d", Settings: []collector.Setting{
		{Key: "in_channels", Value: fmt.Sprint(a.InputShape[0])}, {Key: "out_channels", Value: fmt.Sprint(channels)},
		{Key: "kernel_size", Value: "(3, 3)"}}}, {Kind: "ReLU"}, {Kind: "Flatten"}}
	a.Head = nil
	for i := 0; i+1 < len(dims); i++ {
		a.Modules = append(a.Modules, collector.Module{Kind: "Linear", Settings: []collector.Setting{
			{Key: "in_features", Value: fmt.Sprint(dims[i])}, {Key: "out_features", Value: fmt.Sprint(dims[i+1])}}})
		a.Head = append(a.Head, collector.LinearShape{In: dims[i], Out: dims[i+1]})
	}
	a.FullHead = append([]collector.LinearShape(nil), a.Head...)
	return a
}

// randomPass is a pass of a with ReLU-like activations and small weights.
func randomPass(a *collector.Architecture, step int, rng *rand.Rand) *collector.Pass {
	p := sevenPass()
	p.Step = step
	n := a.InputShape[0] * a.InputShape[1] * a.InputShape[2]
	p.Image = make([]float32, n)
	for i := range p.Image {
		p.Image[i] = rng.Float32()
	}
	for _, s := range a.Head {
		lp := collector.LayerPass{Input: make([]float32, s.In), Output: make([]float32, s.Out),
			Weight: make([]float32, s.In*s.Out), Bias: make([]float32, s.Out)}
		for i := range lp.Input {
			lp.Input[i] = max(0, float32(rng.NormFloat64()))
		}
		for i := range lp.Output {
			lp.Output[i] = float32(rng.NormFloat64())
		}
		for i := range lp.Weight {
			lp.Weight[i] = float32(rng.NormFloat64()) * 0.05
		}
		p.Layers = append(p.Layers, lp)
	}
	if a.HealthBatch > 0 { // the health of each hidden layer: its first neuron dead, its second saturated
		for _, s := range a.Head[:len(a.Head)-1] {
			h := collector.LayerHealth{Mean: make([]float32, s.Out), Active: make([]float32, s.Out), Std: make([]float32, s.Out)}
			for i := range s.Out {
				h.Mean[i], h.Active[i], h.Std[i] = rng.Float32(), 0.1+0.8*rng.Float32(), 0.5
			}
			h.Active[0], h.Mean[0], h.Std[0] = 0, 0, 0
			h.Active[1], h.Std[1] = 1, 0
			p.Health = append(p.Health, h)
		}
	}
	return p
}

// addProbes gives p a probe set of k probes in all (its own and k-1
// more) with random images, labels and activations, every third probe
// misclassified; a must say so (Architecture.Probes).
func addProbes(a *collector.Architecture, p *collector.Pass, k int, rng *rand.Rand) {
	classes := len(a.ClassNames)
	for j := 1; j < k; j++ {
		pr := collector.Probe{Image: make([]float32, len(p.Image)), TrueLabel: j % classes, Prediction: j % classes}
		if j%3 == 0 {
			pr.Prediction = (j + 1) % classes
		}
		for i := range pr.Image {
			pr.Image[i] = rng.Float32()
		}
		pr.Probs = make([]float32, classes)
		for i := range pr.Probs {
			pr.Probs[i] = 0.02
		}
		pr.Probs[pr.Prediction] = 1 - 0.02*float32(classes-1)
		for _, l := range p.Layers {
			pl := collector.ProbeLayer{Input: make([]float32, len(l.Input)), Output: make([]float32, len(l.Output))}
			for i := range pl.Input {
				pl.Input[i] = max(0, float32(rng.NormFloat64()))
			}
			for i := range pl.Output {
				pl.Output[i] = float32(rng.NormFloat64())
			}
			pr.Layers = append(pr.Layers, pl)
		}
		p.Probes = append(p.Probes, pr)
	}
}

// layoutSource is a two-pass run of model in memory, with neuron health,
// no gradients and probes probes per pass (1: the pass's own alone, as
// older runs).
func layoutSource(t *testing.T, model string, probes int) *Source {
	return stepSource(t, model, 1, probes, 50, 100)
}

// stepSource is a run of model in memory with a random pass at each of
// steps, drawn from seed, each with probes probes.
func stepSource(t *testing.T, model string, seed uint64, probes int, steps ...int) *Source {
	t.Helper()
	a := headArchitecture(model)
	a.HealthBatch = 256
	a.Probes = probes
	rng := rand.New(rand.NewPCG(seed, 2))
	var passes []*collector.Pass
	for _, s := range steps {
		p := randomPass(a, s, rng)
		addProbes(a, p, probes, rng)
		passes = append(passes, p)
	}
	data, err := runfile.Encode(a, passes, runfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := runfile.OpenBytes(model+".mlpv", data)
	if err != nil {
		t.Fatal(err)
	}
	return NewSource(r, nil)
}

// drawnText is one text the window drew.
type drawnText struct {
	s         string
	box, clip image.Rectangle
}

// TestLayoutFits draws the whole window for each head at each size, alone
// and as a window of two runs in both layouts, and fails when two of its
// regions or panels overlap, when a text crosses the rectangle it is drawn
// into, or when two texts overlap. The runs have neuron health (the legend
// keys the marks, the summary counts them), no gradients and a probe set
// of 10 (the input panel's thumbnail strip, a probe other than the first
// shown) but one; where the panels share a slot some show the weight
// distributions' tab. cnn is drawn in every view mode (the gradients view
// then says why it shows activations), the others at 800x600 in the
// updates view too (a scale with a middle label). MLPVIZ_LAYOUT_PNG names
// a folder to save
// each frame in.
func TestLayoutFits(t *testing.T) {
	if testLoop == nil {
		t.Skip("needs a display (run under xvfb-run)")
	}
	runs := []struct {
		model  string
		probes int
		tab    panelID
	}{{"cnn", 10, panelDist}, {"cnn_large", 10, panelLoss}, {"cifar10_cnn", 10, panelDist}, {"cnn", 1, panelLoss}}
	two := map[string]CompareLayout{"_side": SideBySide, "_diff": Difference}
	for _, run := range runs {
		for i, sz := range layoutSizes {
			c := layoutCase{model: run.model, probes: run.probes, tab: run.tab, w: sz.w, h: sz.h, scale: sz.scale}
			modes := []scene.ViewMode{scene.ViewActivations}
			switch {
			case run.probes == 1: // the strip's absence is all this run adds
			case run.model == "cnn":
				modes = scene.ViewModes()
			case i == 0: // the smallest window, where the updates keys crowd most
				modes = append(modes, scene.ViewUpdates)
			}
			for _, c.mode = range modes {
				layoutFits(t, c)
			}
			if run.probes > 1 {
				c.mode = scene.ViewActivations
				for _, c.cmp = range []string{"_side", "_diff"} {
					c.layout = two[c.cmp]
					layoutFits(t, c)
				}
			}
		}
	}
}

// layoutCase is one window of TestLayoutFits: model with probes probes
// per pass at w x h logical pixels and UI scale, showing tab where the
// panels share a slot, in view mode; with cmp (its name) a window of two
// runs in layout.
type layoutCase struct {
	model  string
	probes int
	tab    panelID
	w, h   int
	scale  float64
	mode   scene.ViewMode
	cmp    string
	layout CompareLayout
}

// layoutFits draws and checks one case of TestLayoutFits.
func layoutFits(t *testing.T, c layoutCase) {
	name := fmt.Sprintf("%s_%dx%d@%g_%v%s", c.model, c.w, c.h, c.scale, c.mode, c.cmp)
	if c.probes == 1 {
		name = "single_" + name
	}
	t.Run(name, func(t *testing.T) {
		src := layoutSource(t, c.model, c.probes)
		defer src.Close()
		opt := Options{Width: c.w, Height: c.h, Scale: c.scale, Pass: 2, ViewMode: c.mode, Probe: 3}
		if c.cmp != "" {
			b := stepSource(t, c.model, 7, c.probes, 40, 80, 120)
			defer b.Close()
			opt.Compare = &Compare{B: b, NameA: "a-run-with-a-long-name.mlpv", NameB: "b.mlpv", Layout: c.layout}
		}
		g, err := New(src, opt)
		if err != nil {
			t.Fatal(err)
		}
		g.side.selected = c.tab
		mode, cmp := c.mode, c.cmp
		texts, shot := drawWindow(t, g, c.w, c.h)
		if dir := os.Getenv("MLPVIZ_LAYOUT_PNG"); dir != "" && shot != nil {
			savePNGTo(t, shot, filepath.Join(dir, name+".png"))
		}
		checkRegions(t, g)
		checkTexts(t, texts, g)
		if !g.net.geom.Health && c.layout != Difference { // a difference has no health
			t.Error("the pass's health is not drawn")
		}
		if g.net.shown.in.mode != mode {
			t.Errorf("the view shows %v, asked for %v", g.net.shown.in.mode, mode)
		}
		if cmp != "" {
			checkCompareRegions(t, g)
		}
	})
}

// checkCompareRegions fails when a window of two runs' title rows and
// network areas leave the view, overlap each other or the legend, or when
// the two halves differ in size (one camera serves both).
func checkCompareRegions(t *testing.T, g *Game) {
	t.Helper()
	a := g.compareAreas()
	rects := map[string]image.Rectangle{"legend": g.legendRect(), "mode bar": g.modeBarRect(), "title A": a.title[0], "network A": a.net[0]}
	if g.cmp.layout == SideBySide {
		rects["title B"], rects["network B"] = a.title[1], a.net[1]
		if a.net[0].Size() != a.net[1].Size() {
			t.Errorf("the halves' networks are %v and %v: they must be the same size", a.net[0].Size(), a.net[1].Size())
		}
	}
	disjoint(t, rects)
	for name, r := range rects {
		if !r.In(g.viewRect()) || r.Empty() {
			t.Errorf("%s %v is empty or not inside the view %v", name, r, g.viewRect())
		}
	}
}

// drawWindow runs g's frames until its pass is drawn and draws the window
// once more, returning every text drawn and, when MLPVIZ_LAYOUT_PNG is
// set, the frame.
func drawWindow(t *testing.T, g *Game, w, h int) (texts []drawnText, shot *image.RGBA) {
	t.Helper()
	var failed error
	onLoop(t, func() {
		sw, sh := g.Layout(w, h)
		screen := ebiten.NewImage(sw, sh)
		defer screen.Deallocate()
		// Until the pass's geometry is built (a large head builds on a
		// goroutine).
		for i := 0; i < 2 || g.net.building || !g.compareReady(); i++ {
			if err := g.Update(); err != nil {
				failed = err
				return
			}
			time.Sleep(time.Millisecond)
		}
		g.ptr.hovered, g.ptr.pinned = -1, -1 // wherever the test's pointer is
		textLog = func(s string, box, clip image.Rectangle) { texts = append(texts, drawnText{s, box, clip}) }
		defer func() { textLog = nil }()
		g.Draw(screen)
		if os.Getenv("MLPVIZ_LAYOUT_PNG") != "" {
			shot = readImage(screen)
		}
	})
	if failed != nil {
		t.Fatal(failed)
	}
	return texts, shot
}

// checkRegions fails when the window's parts overlap: the HUD, the view,
// the side bar and the timeline tile the window, the legend sits in the
// view below the network, and the side bar's panels and tabs do not touch.
func checkRegions(t *testing.T, g *Game) {
	t.Helper()
	screen := image.Rect(0, 0, g.width, g.height)
	regions := map[string]image.Rectangle{"hud": g.hudRect(), "view": g.viewRect(), "side": g.sideRect(), "timeline": g.barRect()}
	disjoint(t, regions)
	for name, r := range regions {
		if !r.In(screen) {
			t.Errorf("%s %v is not inside the window %v", name, r, screen)
		}
	}
	share := 2 // the network gets at least half the view's height, two stacked runs together too
	if g.cmp != nil && g.cmp.layout == SideBySide && g.cmp.stacked {
		share = 4
	}
	if net, leg := g.netRect(), g.legendRect(); !leg.In(g.viewRect()) || net.Overlaps(leg) || net.Dy() < g.viewRect().Dy()/share {
		t.Errorf("network %v and legend %v: the legend must sit inside the view %v below a network area of at least 1/%d of it", net, leg, g.viewRect(), share)
	}
	if bar, net := g.modeBarRect(), g.netRect(); !bar.In(g.viewRect()) || bar.Overlaps(net) || bar.Overlaps(g.legendRect()) || bar.Min.Y != g.viewRect().Min.Y {
		t.Errorf("mode bar %v: it must sit inside the view %v along its top, above the network %v", bar, g.viewRect(), net)
	}
	segs := map[string]image.Rectangle{}
	for i, r := range g.modes.bar.segs {
		segs[scene.ViewMode(i).String()] = r
		if r.Empty() || !r.In(g.modeBarRect()) {
			t.Errorf("mode segment %s %v is not inside the mode bar %v", scene.ViewMode(i).String(), r, g.modeBarRect())
		}
	}
	segs["note"] = g.modes.bar.note
	disjoint(t, segs)
	panels := map[string]image.Rectangle{}
	mins := g.side.minHeights(g.sideRect().Dx()-2*g.px(8), g.px)
	for id, r := range g.side.lay.slots {
		if !r.Empty() {
			panels[panelTabNames[id]] = r
			if !r.In(g.sideRect()) {
				t.Errorf("panel %s %v is outside the side bar %v", panelTabNames[id], r, g.sideRect())
			}
			if r.Dy() < max(g.px(panelMinHeight[id]), mins[id]) {
				t.Errorf("panel %s is %d px high, under its minimum %d", panelTabNames[id], r.Dy(), max(g.px(panelMinHeight[id]), mins[id]))
			}
		}
	}
	checkProbeStrip(t, g)
	checkDistPanel(t, g)
	for _, tab := range g.side.lay.tabs {
		panels["tab "+panelTabNames[tab.id]] = tab.rect
	}
	disjoint(t, panels)
	if g.sideRect().Empty() == (len(panels) > 0) {
		t.Errorf("side bar %v with %d panels", g.sideRect(), len(panels))
	}
}

func disjoint(t *testing.T, rects map[string]image.Rectangle) {
	t.Helper()
	for a, ra := range rects {
		for b, rb := range rects {
			if a < b && ra.Overlaps(rb) {
				t.Errorf("%s %v overlaps %s %v", a, ra, b, rb)
			}
		}
	}
}

// checkTexts fails for a text cut by its rectangle or running from one
// region of the window into another, or two texts on top of each other.
func checkTexts(t *testing.T, texts []drawnText, g *Game) {
	t.Helper()
	if len(texts) < 20 {
		t.Fatalf("%d texts drawn; the window has far more", len(texts))
	}
	regions := []image.Rectangle{g.hudRect(), g.viewRect(), g.sideRect(), g.barRect()}
	for _, x := range texts {
		if !x.box.In(x.clip) {
			t.Errorf("text %q at %v is cut by its rectangle %v", x.s, x.box, x.clip)
		}
		inOne := false
		for _, r := range regions {
			inOne = inOne || x.box.In(r)
		}
		if !inOne {
			t.Errorf("text %q at %v crosses the edge of a region of the window %v", x.s, x.box, regions)
		}
	}
	for i, a := range texts {
		for _, b := range texts[i+1:] {
			if a.box.Overlaps(b.box) {
				t.Errorf("text %q at %v overlaps %q at %v", a.s, a.box, b.s, b.box)
			}
		}
	}
}

// checkProbeStrip fails when the input panel's thumbnail strip is missing
// for a probe set or there for a single probe, when it overlaps the probe
// image or its text, or when a thumbnail is outside it or too small to
// read.
func checkProbeStrip(t *testing.T, g *Game) {
	t.Helper()
	r := g.side.lay.slots[panelInput]
	if r.Empty() {
		return
	}
	in := g.side.input
	l := in.layout(r.Size())
	k := 0
	if g.whole != nil && g.whole.NumProbes() > 1 {
		k = g.whole.NumProbes()
	}
	if len(l.thumbs) != k {
		t.Fatalf("%d thumbnails for a pass of %d probes", len(l.thumbs), k)
	}
	if k == 0 {
		if !l.strip.Empty() {
			t.Errorf("a strip %v for a single probe", l.strip)
		}
		return
	}
	if !l.strip.In(image.Rectangle{Max: r.Size()}) {
		t.Errorf("strip %v is outside the input panel %v", l.strip, r.Size())
	}
	for name, x := range map[string]image.Rectangle{"image": l.image, "label": l.labelRow, "prediction": l.predRow} {
		if x.Overlaps(l.strip) {
			t.Errorf("the probe's %s %v overlaps the strip %v", name, x, l.strip)
		}
	}
	for j, c := range l.thumbs {
		if !c.In(l.strip) || !l.images[j].In(c) || !l.marks[j].In(c) {
			t.Errorf("thumbnail %d: cell %v, image %v, mark %v not nested in the strip %v", j, c, l.images[j], l.marks[j], l.strip)
		}
		if c.Dx() < g.px(minThumb) {
			t.Errorf("thumbnail %d is %d px wide, under %d", j, c.Dx(), g.px(minThumb))
		}
		if j > 0 && c.Overlaps(l.thumbs[j-1]) {
			t.Errorf("thumbnails %d %v and %d %v overlap", j-1, l.thumbs[j-1], j, c)
		}
	}
	if in.set.chosen != g.shownProbe() {
		t.Errorf("the strip frames probe %d, the window shows %d", in.set.chosen, g.shownProbe())
	}
}

// checkDistPanel fails when the weight distributions panel, where shown,
// lacks a strip per layer of the head or puts a strip over its labels.
func checkDistPanel(t *testing.T, g *Game) {
	t.Helper()
	r := g.side.lay.slots[panelDist]
	if r.Empty() {
		return
	}
	d := g.side.dist
	l := d.layout(r.Size())
	if len(l.strips) != len(g.arch.Head) {
		t.Fatalf("%d strips for a head of %d layers", len(l.strips), len(g.arch.Head))
	}
	for k, s := range l.strips {
		if s.Dy() < int(lineHeight(g.fonts.Small)) || s.Dx() < r.Dx()/3 {
			t.Errorf("strip %d is %v, too small", k, s)
		}
		if s.Overlaps(l.names[k]) || s.Overlaps(l.ranges[k]) || s.Overlaps(l.axis) || !s.In(image.Rectangle{Max: r.Size()}) {
			t.Errorf("strip %d %v overlaps its labels %v %v or the axis %v, or leaves the panel %v", k, s, l.names[k], l.ranges[k], l.axis, r.Size())
		}
	}
}
