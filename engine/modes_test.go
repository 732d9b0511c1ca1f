package engine

import (
	"errors"
	"image"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/collector/runfile"
	"github.com/mlpviz/mlpviz/scene"
)

// modeSource is a three-pass cnn run (steps 50, 100, 150) in memory, with
// gradients and neuron health when asked for.
func modeSource(t *testing.T, gradients, health bool) *Source {
	t.Helper()
	a := headArchitecture("cnn")
	a.Gradients = gradients
	if health {
		a.HealthBatch = 256
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var passes []*collector.Pass
	for _, step := range []int{50, 100, 150} {
		p := randomPass(a, step, rng)
		for k := range p.Layers {
			l := &p.Layers[k]
			for i := range l.Bias {
				l.Bias[i] = float32(rng.NormFloat64()) * 0.1
			}
			if gradients {
				l.GradWeight, l.GradBias = make([]float32, len(l.Weight)), make([]float32, len(l.Bias))
				for i := range l.GradWeight {
					l.GradWeight[i] = float32(rng.NormFloat64()) * 1e-3
				}
				for i := range l.GradBias {
					l.GradBias[i] = float32(rng.NormFloat64()) * 1e-3
				}
			}
		}
		passes = append(passes, p)
	}
	data, err := runfile.Encode(a, passes, runfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := runfile.OpenBytes("modes.mlpv", data)
	if err != nil {
		t.Fatal(err)
	}
	return NewSource(r, nil)
}

// neuronValues are the values the shown geometry colours the neurons by.
func neuronValues(g *Game) []float32 {
	v := g.net.geom.NeuronVerts
	out := make([]float32, len(v)/4)
	for i := range out {
		out[i] = v[4*i].Custom0
	}
	return out
}

// textsIn are the texts drawn inside r.
func textsIn(texts []drawnText, r image.Rectangle) []string {
	var s []string
	for _, x := range texts {
		if x.box.In(r) {
			s = append(s, x.s)
		}
	}
	return s
}

func hasText(texts []string, part string) bool {
	return slices.ContainsFunc(texts, func(s string) bool { return strings.Contains(s, part) })
}

// TestViewModesDraw: each view mode draws its own quantity on the neurons,
// says so in the legend and the mode bar, and keeps the health marks; the
// change view compares with the first pass until B pins another.
func TestViewModesDraw(t *testing.T) {
	src := modeSource(t, true, true)
	defer src.Close()
	g, err := New(src, Options{Width: 1280, Height: 800, Scale: 1, Pass: 3})
	if err != nil {
		t.Fatal(err)
	}
	texts, _ := drawWindow(t, g, 1280, 800)
	acts := neuronValues(g)
	legend := textsIn(texts, g.legendRect())
	if !hasText(legend, "activation") || !hasText(legend, "27 dead") && !hasText(legend, "dead") {
		t.Fatalf("activations legend %q: want the activation scale and the health marks", legend)
	}
	hidden := g.net.layout.Layers[1]
	want := map[scene.ViewMode][]string{
		scene.ViewGradients: {"∂L/∂b", "∂L/∂w"},
		scene.ViewUpdates:   {"1e-6", "1e-3", "1e0", "since step 100"},
		scene.ViewBiases:    {"bias"},
		scene.ViewChange:    {"since step 50"},
	}
	for _, mode := range scene.ViewModes()[1:] {
		g.setViewMode(mode)
		texts, _ = drawWindow(t, g, 1280, 800)
		s := &g.net.shown
		if s.mode != mode || s.err != nil {
			t.Fatalf("%v: the view shows %v (%v)", mode, s.mode, s.err)
		}
		vals := neuronValues(g)
		if slices.Equal(vals[hidden.First:hidden.First+hidden.N], acts[hidden.First:hidden.First+hidden.N]) {
			t.Errorf("%v: the hidden neurons are coloured by their activations", mode)
		}
		legend := textsIn(texts, g.legendRect())
		for _, w := range want[mode] {
			if !hasText(legend, w) {
				t.Errorf("%v: the legend %q does not say %q", mode, legend, w)
			}
		}
		if !hasText(legend, "dead") || g.net.geom.Dead == 0 {
			t.Errorf("%v: no health marks (%d dead) or no key for them in %q", mode, g.net.geom.Dead, legend)
		}
		bar := textsIn(texts, g.modeBarRect())
		if !hasText(bar, mode.String()) || len(bar) < len(modeShort)+1 {
			t.Errorf("%v: the mode bar says %q; want every mode and a note", mode, bar)
		}
	}
	// The updates view: every connection on the fixed scale, the input on
	// its own range.
	g.setViewMode(scene.ViewUpdates)
	drawWindow(t, g, 1280, 800)
	for _, w := range g.net.geom.EdgeVerts {
		if w.Custom0 < -scene.UpdateDecades || w.Custom0 > scene.UpdateDecades {
			t.Fatalf("an update %v off the scale ±%d", w.Custom0, scene.UpdateDecades)
		}
	}
	if g.net.ranges[1] != scene.UpdateDecades || g.net.ranges[0] == scene.UpdateDecades {
		t.Errorf("ranges %v: the hidden layers on ±%d decades, the input on its own", g.net.ranges[:3], scene.UpdateDecades)
	}

	// B pins the shown pass: the change view then shows no change.
	g.pinReference()
	texts, _ = drawWindow(t, g, 1280, 800)
	if g.net.shown.mode != scene.ViewChange || g.modes.ref != 2 {
		t.Fatalf("after B: mode %v, reference %d; want change against pass 3", g.net.shown.mode, g.modes.ref)
	}
	for _, v := range neuronValues(g)[hidden.First : hidden.First+hidden.N] {
		if v != 0 {
			t.Fatalf("change against itself: a hidden neuron changed by %v", v)
		}
	}
	if bar := textsIn(texts, g.modeBarRect()); !hasText(bar, "step 150") {
		t.Errorf("the mode bar %q does not name the reference step 150", bar)
	}
	g.tl.setIndex(0, src.Len())
	texts, _ = drawWindow(t, g, 1280, 800)
	if legend := textsIn(texts, g.legendRect()); !hasText(legend, "since step 150") {
		t.Errorf("stepping back from the reference: legend %q", legend)
	}
}

// TestViewModeUnavailable: a run without gradients marks the gradients
// view unavailable and, asked for it, draws activations and says why; the
// first pass has no updates; the window stays usable.
func TestViewModeUnavailable(t *testing.T) {
	src := modeSource(t, false, false)
	defer src.Close()
	g, err := New(src, Options{Width: 1280, Height: 800, Scale: 1, Pass: 1, ViewMode: scene.ViewGradients})
	if err != nil {
		t.Fatal(err)
	}
	texts, _ := drawWindow(t, g, 1280, 800)
	s := &g.net.shown
	if !errors.Is(s.err, scene.ErrNoGradients) || s.mode != scene.ViewActivations || s.pass != g.pass {
		t.Fatalf("gradients without any: shown %v, err %v; want activations and ErrNoGradients", s.mode, s.err)
	}
	if g.modes.key.gradients {
		t.Error("the gradients segment is not marked unavailable")
	}
	bar := textsIn(texts, g.modeBarRect())
	if !hasText(bar, "recorded no gradients (train with --gradients)") {
		t.Errorf("the mode bar %q does not say the run recorded no gradients", bar)
	}
	if legend := textsIn(texts, g.legendRect()); !hasText(legend, "activation") || hasText(legend, "dead") {
		t.Errorf("legend %q: want the activation keys of what is drawn, and no health key for a run without health", legend)
	}
	g.setViewMode(scene.ViewUpdates)
	texts, _ = drawWindow(t, g, 800, 600)
	if g.net.shown.err == nil || !hasText(textsIn(texts, g.modeBarRect()), "no pass before") {
		t.Errorf("updates of the first pass: err %v, bar %q", g.net.shown.err, textsIn(texts, g.modeBarRect()))
	}
	g.tl.setIndex(1, src.Len())
	drawWindow(t, g, 800, 600)
	if g.net.shown.err != nil || g.net.shown.mode != scene.ViewUpdates {
		t.Errorf("updates of the second pass: %v, %v", g.net.shown.mode, g.net.shown.err)
	}
}

// TestModeBarClick: a click on a segment of the control selects its mode;
// one beside the segments selects none.
func TestModeBarClick(t *testing.T) {
	if len(modeShort) != len(scene.ViewModes()) {
		t.Fatalf("%d short names for %d view modes", len(modeShort), len(scene.ViewModes()))
	}
	src := modeSource(t, true, true)
	defer src.Close()
	g, err := New(src, Options{Width: 1280, Height: 800, Scale: 1, Pass: 2})
	if err != nil {
		t.Fatal(err)
	}
	drawWindow(t, g, 1280, 800)
	centre := func(r image.Rectangle) image.Point { return r.Min.Add(r.Size().Div(2)) }
	for _, mode := range []scene.ViewMode{scene.ViewBiases, scene.ViewGradients, scene.ViewActivations} {
		if !g.clickModeBar(centre(g.modes.bar.segs[mode])) {
			t.Fatalf("a click on the %v segment missed it", mode)
		}
		drawWindow(t, g, 1280, 800)
		if g.modes.mode != mode || g.net.shown.mode != mode {
			t.Errorf("clicked %v: mode %v, shown %v", mode, g.modes.mode, g.net.shown.mode)
		}
	}
	if g.clickModeBar(centre(g.modes.bar.note)) || g.clickModeBar(centre(g.netRect())) {
		t.Error("a click beside the control selected a mode")
	}
}

// TestHealthSummaryAndTooltip: the summary counts each hidden layer's dead
// and saturated neurons; the tooltip of a dead one says so with its figures.
func TestHealthSummaryAndTooltip(t *testing.T) {
	src := modeSource(t, true, true)
	defer src.Close()
	g, err := New(src, Options{Width: 1920, Height: 1080, Scale: 1, Pass: 1})
	if err != nil {
		t.Fatal(err)
	}
	texts, _ := drawWindow(t, g, 1920, 1080)
	counts := regexp.MustCompile(`^dead( per hidden layer)? +1( ·)? 1( ·)? 1`)
	satCount := regexp.MustCompile(`^sat(\.|urated)( per hidden layer)? +1( ·)? 1`)
	if side := textsIn(texts, g.sideRect()); !slices.ContainsFunc(side, counts.MatchString) || !slices.ContainsFunc(side, satCount.MatchString) {
		t.Errorf("the side bar %q does not count the hidden layers' dead and saturated neurons", side)
	}
	dead := g.net.layout.Layers[1].First // the first neuron of every hidden layer is dead (randomPass)
	info, ok := scene.Describe(g.net.layout, g.pass, dead, 5)
	if !ok {
		t.Fatal("no description of a hidden neuron")
	}
	lines := tooltipLines(info, nil, 256)
	var all []string
	for _, l := range lines {
		all = append(all, l.s)
	}
	if !hasText(all, "active for 0 % of 256 images  · dead") || !hasText(all, "mean act") {
		t.Errorf("tooltip of a dead neuron: %q", all)
	}
	sat, _ := scene.Describe(g.net.layout, g.pass, dead+1, 5)
	if l := tooltipLines(sat, nil, 256); !slices.ContainsFunc(l, func(l tipLine) bool {
		return strings.Contains(l.s, "active for 100 % of 256 images  · saturated") && l.tone == tipWarn
	}) {
		t.Errorf("tooltip of a saturated neuron: %v", l)
	}
	healthy, _ := scene.Describe(g.net.layout, g.pass, dead+2, 5)
	for _, l := range tooltipLines(healthy, nil, 256) {
		if strings.Contains(l.s, "dead") || strings.Contains(l.s, "saturated") {
			t.Errorf("a healthy neuron's tooltip says %q", l.s)
		}
	}
}
