package engine

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/mlpviz/mlpviz/scene"
)

// TestMatchStep: a pass of A is matched with B's pass of the same step,
// else of the nearest earlier one, else B's first.
func TestMatchStep(t *testing.T) {
	m := []Metric{{Step: 40}, {Step: 80}, {Step: 120}, {Step: 120}, {Step: 160}}
	for _, c := range []struct{ step, want int }{
		{0, 0}, {39, 0}, {40, 0}, {79, 0}, {80, 1}, {100, 1}, {120, 3}, {159, 3}, {160, 4}, {1000, 4},
	} {
		if got := matchStep(m, c.step); got != c.want {
			t.Errorf("step %d: pass %d, want %d", c.step, got, c.want)
		}
	}
	if got := matchStep(nil, 50); got != -1 {
		t.Errorf("no passes: %d, want -1", got)
	}
}

// TestComparable: two heads of other sizes are refused in one line that
// names both runs and both shapes; equal heads pass.
func TestComparable(t *testing.T) {
	cnn, large := headArchitecture("cnn"), headArchitecture("cnn_large")
	err := Comparable("a.mlpv", cnn, "b.mlpv", large)
	want := "a.mlpv and b.mlpv have different heads (576→24→24→24→24→10 and 6272→128→64→10): they cannot be compared"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	if err := Comparable("a", cnn, "b", headArchitecture("cnn")); err != nil {
		t.Errorf("equal heads refused: %v", err)
	}
	fewer := headArchitecture("cnn")
	fewer.Head = fewer.Head[1:]
	if err := Comparable("a", cnn, "b", fewer); err == nil {
		t.Error("a head with a layer less passed")
	}
}

// compareGame is a window of two cnn runs in memory: A at steps 50 and
// 100, B at 40, 80 and 120, showing A's second pass, ready to draw.
func compareGame(t *testing.T, layout CompareLayout) *Game {
	t.Helper()
	a := layoutSource(t, "cnn", 1)
	b := stepSource(t, "cnn", 7, 1, 40, 80, 120)
	t.Cleanup(func() { a.Close(); b.Close() })
	g, err := New(a, Options{Width: 1280, Height: 800, Scale: 1, Pass: 2,
		Compare: &Compare{B: b, NameA: "a.mlpv", NameB: "b.mlpv", Layout: layout}})
	if err != nil {
		t.Fatal(err)
	}
	settle(t, g)
	return g
}

// settle runs updates until both runs show their passes.
func settle(t *testing.T, g *Game) {
	t.Helper()
	onLoop(t, func() {
		g.Layout(1280, 800)
		for i := 0; i < 2 || g.net.building || !g.compareReady(); i++ {
			if err := g.Update(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
		g.ptr.hovered, g.ptr.pinned = -1, -1
	})
}

// TestCompareMatchesSteps: B shows its pass of A's step or the nearest
// earlier one, the HUD says which step when it is not A's, and the plots
// carry B's series with its shown pass.
func TestCompareMatchesSteps(t *testing.T) {
	g := compareGame(t, SideBySide)
	c := g.cmp
	if g.pass.Step != 100 || c.pass == nil || c.pass.Step != 80 || c.shown != 1 {
		t.Fatalf("A at step %d shows B's pass %d (%v); want B's step 80, pass 1", g.pass.Step, c.shown, c.pass)
	}
	if h := g.hudCompareNow(); !h.differs || h.stepB != 80 || h.layout != SideBySide {
		t.Errorf("HUD %+v; want B at step 80, side by side", h)
	}
	if c.net.in.p != c.pass || g.net.in.p != g.pass {
		t.Error("side by side: each network must draw its own run's pass")
	}
	if o := g.side.loss.other; !g.side.loss.two || len(o.values) != 3 || o.cursor != 1 || o.steps[2] != 120 {
		t.Errorf("loss plot's second series %+v; want B's three passes with pass 1 shown", o)
	}
	g.tl.setIndex(0, g.src.Len())
	settle(t, g)
	if g.pass.Step != 50 || c.pass.Step != 40 {
		t.Errorf("A at step %d shows B at step %d; want 50 and 40", g.pass.Step, c.pass.Step)
	}
}

// TestCompareSharesScale: side by side, both networks colour with the
// larger of their ranges, layer by layer, so one legend keys both.
func TestCompareSharesScale(t *testing.T) {
	g := compareGame(t, SideBySide)
	a, b := g.net, g.cmp.net
	for k := range a.geom.Ranges {
		want := max(a.geom.Ranges[k], b.geom.Ranges[k])
		if a.ranges[k] != want || b.ranges[k] != want {
			t.Errorf("layer %d: ranges %g and %g, want both %g", k, a.ranges[k], b.ranges[k], want)
		}
	}
	for k := range a.geom.WeightScales {
		want := max(a.geom.WeightScales[k], b.geom.WeightScales[k])
		if a.scales[k] != want || b.scales[k] != want {
			t.Errorf("pair %d: weight scales %g and %g, want both %g", k, a.scales[k], b.scales[k], want)
		}
	}
}

// TestCompareSwitchLayouts: D (switchCompare) goes from side by side to
// B − A and back; the difference's geometry holds b − a for weights and
// neurons, the legend says so, and side by side again draws each run.
func TestCompareSwitchLayouts(t *testing.T) {
	g := compareGame(t, SideBySide)
	c := g.cmp
	onLoop(t, func() { g.switchCompare() })
	settle(t, g)
	if c.layout != Difference || g.hudCompareNow().layout != Difference {
		t.Fatalf("layout %v after D; want B − A", c.layout)
	}
	pa, pb, d := g.pass, c.pass, g.net.in.p
	if d == nil || d == pa || d == pb {
		t.Fatalf("the network draws %p; want the difference of A's %p and B's %p", d, pa, pb)
	}
	for k := range pa.Layers {
		for _, j := range []int{0, len(pa.Layers[k].Weight) / 2, len(pa.Layers[k].Weight) - 1} {
			if got, want := d.Layers[k].Weight[j], pb.Layers[k].Weight[j]-pa.Layers[k].Weight[j]; got != want {
				t.Errorf("layer %d weight %d: %g, want b − a = %g", k, j, got, want)
			}
		}
	}
	// What is drawn: the neurons' values in the vertex data are b − a.
	l := g.net.layout
	for k := 1; k < len(l.Layers)-1; k++ {
		for _, i := range []int{0, l.Layers[k].N - 1} {
			id := l.Layers[k].First + i
			got := g.net.geom.NeuronVerts[4*id].Custom0
			want := pb.Layers[k].Input[i] - pa.Layers[k].Input[i]
			if math.Abs(float64(got-want)) > 1e-6 {
				t.Errorf("%s neuron %d drawn with %g, want b − a = %g", l.Layers[k].Name, i, got, want)
			}
		}
	}
	out := len(l.Layers) - 1
	id := l.Layers[out].First + 3
	if got, want := g.net.geom.NeuronVerts[4*id].Custom0, pb.Layers[out-1].Output[3]-pa.Layers[out-1].Output[3]; math.Abs(float64(got-want)) > 1e-6 {
		t.Errorf("output neuron 3 drawn with %g, want the logits' b − a = %g", got, want)
	}
	if !c.probes {
		t.Error("the runs' probe images differ, and the difference's title must say so")
	}
	for _, it := range g.legendItems(g.legendNow()) {
		if !strings.HasPrefix(it.caption, "B − A ") || strings.Contains(it.caption, "probability") {
			t.Errorf("legend caption %q over the difference; want one that says B − A", it.caption)
		}
	}
	onLoop(t, func() { g.switchCompare() })
	settle(t, g)
	if c.layout != SideBySide || g.net.in.p != g.pass || c.net.in.p != c.pass {
		t.Errorf("after D again: layout %v, networks draw %p and %p; want side by side with A's %p and B's %p",
			c.layout, g.net.in.p, c.net.in.p, g.pass, c.pass)
	}
	if items := g.legendItems(g.legendNow()); strings.HasPrefix(items[0].caption, "B − A") {
		t.Errorf("side by side, the legend says %q", items[0].caption)
	}
}

// TestCompareHoverBothHalves: a neuron pointed at in B's half is the same
// neuron in A's, and the two halves show it at the same place in each.
func TestCompareHoverBothHalves(t *testing.T) {
	g := compareGame(t, SideBySide)
	a := g.compareAreas()
	l := g.net.layout
	id := l.Layers[2].First + 5
	x, y := g.net.cam.ToScreen(l.Pos(2, 5))
	d := a.net[1].Min.Sub(a.net[0].Min)
	bx, by := int(math.Round(float64(x)))+d.X, int(math.Round(float64(y)))+d.Y
	if got := g.cmp.net.hover(float32(bx), float32(by)); got != id {
		t.Errorf("B's network picks %d at the point of neuron %d in its half", got, id)
	}
	vx, vy := g.viewPoint(bx, by)
	if !g.cmp.onB {
		t.Error("a point in B's half is not seen as over B")
	}
	if got := g.net.hover(vx, vy); got != id {
		t.Errorf("a point over neuron %d in B's half maps to neuron %d in A's", id, got)
	}
}

// TestCompareRefusesOtherHeads: a window of two runs whose heads differ
// is not made.
func TestCompareRefusesOtherHeads(t *testing.T) {
	a := layoutSource(t, "cnn", 1)
	b := layoutSource(t, "cnn_large", 1)
	defer a.Close()
	defer b.Close()
	var err error
	onLoop(t, func() {
		_, err = New(a, Options{Compare: &Compare{B: b, NameA: "a.mlpv", NameB: "b.mlpv"}})
	})
	if err == nil || !strings.Contains(err.Error(), "different heads") {
		t.Errorf("got %v; want a refusal naming the different heads", err)
	}
}

// TestCompareFollowsViewMode: a view mode chosen in a window of two
// reaches both runs' networks side by side, and the difference is of what
// the mode shows.
func TestCompareFollowsViewMode(t *testing.T) {
	g := compareGame(t, SideBySide)
	c := g.cmp
	onLoop(t, func() { g.setViewMode(scene.ViewBiases) })
	settle(t, g)
	if g.net.in.mode != scene.ViewBiases || c.net.in.mode != scene.ViewBiases {
		t.Fatalf("side by side in the biases view: A draws %v, B %v", g.net.in.mode, c.net.in.mode)
	}
	onLoop(t, func() { g.switchCompare() })
	settle(t, g)
	d := g.net.in.p
	if d == nil || !g.net.in.ready {
		t.Fatalf("B − A in the biases view draws %p (ready %v)", d, g.net.in.ready)
	}
	// A hidden neuron's value is B's bias less A's.
	want := c.pass.Layers[0].Bias[0] - g.pass.Layers[0].Bias[0]
	if got := d.Layers[1].Input[0]; got != want {
		t.Errorf("B − A of the biases: hidden neuron 0 is %v, want %v", got, want)
	}
}
