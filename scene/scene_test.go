package scene

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mlpviz/mlpviz/collector"
)

var cnnHead = []collector.LinearShape{{In: 576, Out: 24}, {In: 24, Out: 24}, {In: 24, Out: 24}, {In: 24, Out: 24}, {In: 24, Out: 10}}

// randomPass makes a pass of the given head with ReLU-like activations.
func randomPass(head []collector.LinearShape, seed uint64) *collector.Pass {
	rng := rand.New(rand.NewPCG(seed, seed))
	p := &collector.Pass{Probs: make([]float32, head[len(head)-1].Out)}
	for _, s := range head {
		lp := collector.LayerPass{Input: make([]float32, s.In), Output: make([]float32, s.Out),
			Weight: make([]float32, s.In*s.Out), Bias: make([]float32, s.Out)}
		for i := range lp.Input {
			lp.Input[i] = float32(max(0, rng.NormFloat64()))
		}
		for i := range lp.Weight {
			lp.Weight[i] = float32(rng.NormFloat64() * 0.05)
		}
		for i := range lp.Output {
			lp.Output[i] = float32(rng.NormFloat64())
		}
		p.Layers = append(p.Layers, lp)
	}
	p.Probs[3] = 1
	return p
}

func TestLayout(t *testing.T) {
	l, err := NewLayout(cnnHead)
	if err != nil {
		t.Fatal(err)
	}
	if l.Neurons() != 576+24*4+10 || len(l.Layers) != 6 {
		t.Fatalf("%d neurons in %d layers", l.Neurons(), len(l.Layers))
	}
	// 576 inputs wrap into a 9x64 grid: each row one conv channel's 3x3.
	if in := l.Layers[0]; in.Cols != 9 || in.Rows != 64 {
		t.Fatalf("input grid %dx%d, want 9x64", in.Cols, in.Rows)
	}
	for k := 1; k < len(l.Layers); k++ {
		if l.Layers[k].Bounds.MinX <= l.Layers[k-1].Bounds.MaxX {
			t.Fatalf("layer %d overlaps layer %d", k, k-1)
		}
	}
	for id := 0; id < l.Neurons(); id++ {
		k, i, ok := l.Locate(id)
		if !ok || l.Layers[k].First+i != id {
			t.Fatalf("Locate(%d) = %d, %d, %v", id, k, i, ok)
		}
	}
	if _, err := NewLayout([]collector.LinearShape{{In: 5, Out: 4}, {In: 3, Out: 2}}); err == nil {
		t.Fatal("mismatched layer sizes accepted")
	}
}

func TestPicker(t *testing.T) {
	l, _ := NewLayout(cnnHead)
	p := NewPicker(l)
	for id := 0; id < l.Neurons(); id += 7 {
		k, i, _ := l.Locate(id)
		x, y := l.Pos(k, i)
		if got := p.Pick(x+1, y-1, 0); got != id {
			t.Fatalf("Pick at neuron %d gave %d", id, got)
		}
	}
	if got := p.Pick(l.Layers[1].Left+layerGap/2, 0, 0); got != -1 {
		t.Fatalf("empty space picked neuron %d", got)
	}
	if got := p.Pick(-1e6, 0, 0); got != -1 {
		t.Fatalf("far outside picked neuron %d", got)
	}
}

func TestRanges(t *testing.T) {
	layer := make([]float32, 100)
	for i := range layer {
		layer[i] = float32(i) / 100 // 0 .. 0.99
	}
	layer[99] = 1000 // one outlier must not set the range
	r, _ := Ranges([][]float32{layer, {0, 0}, {float32(math.NaN()), 2}}, PerLayer, nil, nil)
	if r[0] < 0.97 || r[0] > 0.99 || r[1] != 1 || r[2] != 2 {
		t.Fatalf("ranges %v", r)
	}
	g, _ := Ranges([][]float32{{1, 2}, {3, 4}, {100}}, Global, nil, nil)
	if g[0] != g[1] || g[0] != 4 {
		t.Fatalf("global ranges %v: the output layer must not set them", g)
	}
}

func TestGeometry(t *testing.T) {
	l, _ := NewLayout(cnnHead)
	g := NewGeometry(l)
	p := randomPass(cnnHead, 1)
	p.Layers[2].Input[5] = float32(math.NaN())
	g.Build(p, PerLayer)
	if g.AllEdges != 15792 || g.Edges != 15792 {
		t.Fatalf("edges %d of %d, want all 15792", g.Edges, g.AllEdges)
	}
	if len(g.NeuronVerts) != 4*l.Neurons() || len(g.EdgeVerts) != 4*g.Edges || len(g.QuadIdx) < 6*g.Edges || !g.Full {
		t.Fatal("vertex or index counts do not match")
	}
	if g.NonFinite != 1 {
		t.Fatalf("NonFinite %d, want 1", g.NonFinite)
	}
	nan := l.Layers[2].First + 5
	if g.NeuronVerts[4*nan].Custom3 != FlagNonFinal {
		t.Fatal("the NaN neuron is not flagged")
	}
	out := l.Layers[5].First + 3
	if v := g.NeuronVerts[4*out]; v.Custom3 != FlagOutput || v.Custom0 != 1 {
		t.Fatalf("output neuron 3: %+v, want probability 1", v)
	}
	cam := NewCamera()
	view := Rect{0, 0, 1000, 700}
	cam.Fit(l.Bounds, view, true)
	edges := g.Visible(cam, view, nil)
	if n := quads(edges); n != 15792 {
		t.Fatalf("a small head fitted to the view draws %d connections, want all 15792", n)
	}
	g.Project(cam, g.VisibleLayers(cam, view, nil), edges, nil)
	// A neuron's quad is centred on its projected position.
	x, y := l.Pos(1, 7)
	sx, sy := cam.ToScreen(x, y)
	id := l.Layers[1].First + 7
	q := g.NeuronVerts[4*id : 4*id+4]
	if cx, cy := (q[0].DstX+q[3].DstX)/2, (q[0].DstY+q[3].DstY)/2; math.Abs(float64(cx-sx)) > 1e-3 || math.Abs(float64(cy-sy)) > 1e-3 {
		t.Fatalf("quad centre (%v,%v), want (%v,%v)", cx, cy, sx, sy)
	}
}

// TestHoverZoomPanDoNotRebuild: moving the camera only re-projects; the
// geometry is built once per pass and projecting allocates nothing.
func TestHoverZoomPanDoNotRebuild(t *testing.T) {
	for _, head := range [][]collector.LinearShape{cnnHead, cifarHead} {
		l, _ := NewLayout(head)
		g := NewGeometry(l)
		g.Build(randomPass(head, 2), PerLayer)
		edges := &g.EdgeVerts[0]
		cam := NewCamera()
		picker := NewPicker(l)
		view := Rect{0, 0, 1000, 700}
		cam.Fit(l.Bounds, view, true)
		var ns, es, bs []Span
		i := 0
		frame := func() {
			f := float32(1.1)
			if i%20 >= 10 {
				f = 1 / 1.1 // zoom in and out, so every level of detail is visited
			}
			i++
			cam.ZoomAt(400, 300, f)
			cam.PanBy(3, -2)
			cam.Step(1.0 / 60)
			ns = g.VisibleLayers(cam, view, ns)
			es = g.Visible(cam, view, es)
			bs = g.VisibleBands(cam, view, bs)
			g.Project(cam, ns, es, bs)
			picker.Pick(10, 10, 2)
		}
		for range 40 { // the span slices reach their size
			frame()
		}
		if allocs := testing.AllocsPerRun(100, frame); allocs != 0 {
			t.Fatalf("head %v: %v allocations per frame", head, allocs)
		}
		if g.Builds != 1 || &g.EdgeVerts[0] != edges {
			t.Fatalf("geometry rebuilt: %d builds", g.Builds)
		}
	}
}

// TestEdgeBudget: a head too big to draw whole keeps the strongest
// connections into every target neuron.
func TestEdgeBudget(t *testing.T) {
	head := []collector.LinearShape{{In: 4096, Out: 1024}, {In: 1024, Out: 512}, {In: 512, Out: 10}}
	l, _ := NewLayout(head)
	g := NewGeometry(l)
	p := randomPass(head, 3)
	g.Build(p, PerLayer)
	if g.Edges > EdgeBudget || g.Edges < EdgeBudget/2 {
		t.Fatalf("%d edges drawn, budget %d", g.Edges, EdgeBudget)
	}
	// Target 0 of layer 1 must keep its strongest contributor.
	lp := p.Layers[0]
	best, bestV := 0, 0.0
	for j := 0; j < 4096; j++ {
		if v := math.Abs(float64(lp.Weight[j] * lp.Input[j])); v > bestV {
			best, bestV = j, v
		}
	}
	// Rank-major: the pair's first quad is target 0's strongest input.
	if v := g.EdgeVerts[4*g.Pairs[0].First]; v.Custom2 != float32(l.Layers[1].First) || v.Custom1 != float32(best) {
		t.Fatalf("first quad joins %v to %v; want the strongest input %d of target 0", v.Custom1, v.Custom2, best)
	}
}

func TestDescribe(t *testing.T) {
	l, _ := NewLayout(cnnHead)
	p := randomPass(cnnHead, 4)
	id := l.Layers[1].First + 2
	info, ok := Describe(l, p, id, 3)
	if !ok || info.Layer != 1 || info.Index != 2 || len(info.Top) != 3 || !info.HasBias {
		t.Fatalf("info %+v", info)
	}
	if info.Activation != p.Layers[1].Input[2] || info.Bias != p.Layers[0].Bias[2] {
		t.Fatal("activation or bias taken from the wrong place")
	}
	for i := 1; i < len(info.Top); i++ {
		if math.Abs(float64(info.Top[i].Value)) > math.Abs(float64(info.Top[i-1].Value)) {
			t.Fatal("contributions not sorted by |w·a|")
		}
	}
	if c := info.Top[0]; c.Value != p.Layers[0].Weight[2*576+c.From]*p.Layers[0].Input[c.From] {
		t.Fatal("contribution is not w·a")
	}
}

func TestCameraZoomAtKeepsPoint(t *testing.T) {
	c := NewCamera()
	c.Fit(Rect{-100, -50, 100, 50}, Rect{0, 0, 800, 600}, true)
	wx, wy := c.ToWorld(300, 200)
	c.ZoomAt(300, 200, 2)
	for i := 0; i < 200; i++ {
		c.Step(1.0 / 60)
	}
	if x, y := c.ToWorld(300, 200); math.Abs(float64(x-wx)) > 1e-2 || math.Abs(float64(y-wy)) > 1e-2 {
		t.Fatalf("point under the cursor moved from (%v,%v) to (%v,%v)", wx, wy, x, y)
	}
}

var benchHeads = []struct {
	name string
	head []collector.LinearShape
}{
	{"cnn", cnnHead},
	{"cnn_large", []collector.LinearShape{{In: 6272, Out: 128}, {In: 128, Out: 64}, {In: 64, Out: 10}}},
	{"cifar10_cnn", cifarHead},
}

// BenchmarkPick times one hover lookup at a random point of each head.
func BenchmarkPick(b *testing.B) {
	for _, c := range benchHeads {
		b.Run(c.name, func(b *testing.B) {
			l, _ := NewLayout(c.head)
			p := NewPicker(l)
			rng := rand.New(rand.NewPCG(1, 2))
			w, h := l.Bounds.MaxX-l.Bounds.MinX, l.Bounds.MaxY-l.Bounds.MinY
			b.ReportAllocs()
			for b.Loop() {
				p.Pick(l.Bounds.MinX+rng.Float32()*w, l.Bounds.MinY+rng.Float32()*h, 2)
			}
		})
	}
}

// BenchmarkBuildPass times building the vertex data of a new pass of each
// head at full size: what stands between a pass switch and its frame.
func BenchmarkBuildPass(b *testing.B) {
	for _, c := range benchHeads {
		b.Run(c.name, func(b *testing.B) {
			l, _ := NewLayout(c.head)
			g := NewGeometry(l)
			p := randomPass(c.head, 5)
			b.ReportAllocs()
			for b.Loop() {
				g.Build(p, PerLayer)
			}
		})
	}
}

func BenchmarkProject(b *testing.B) {
	l, _ := NewLayout(cnnHead)
	g := NewGeometry(l)
	g.Build(randomPass(cnnHead, 6), PerLayer)
	cam := NewCamera()
	view := Rect{0, 0, 1000, 700}
	cam.Fit(l.Bounds, view, true)
	ns, es := g.VisibleLayers(cam, view, nil), g.Visible(cam, view, nil)
	b.ReportAllocs()
	for b.Loop() {
		cam.PanBy(1, 0)
		g.Project(cam, ns, es, nil)
	}
}

func quads(spans []Span) int {
	n := 0
	for _, s := range spans {
		n += s.Hi - s.Lo
	}
	return n
}

var cifarHead = []collector.LinearShape{{In: 4096, Out: 1024}, {In: 1024, Out: 512}, {In: 512, Out: 10}}

// TestLevelOfDetail: a head too big to draw whole shows a few connections
// per target when fitted and more as the user zooms in, as a prefix of the
// same vertex data, over an aggregate of the whole weight mass.
func TestLevelOfDetail(t *testing.T) {
	l, _ := NewLayout(cifarHead)
	g := NewGeometry(l)
	g.Build(randomPass(cifarHead, 7), PerLayer)
	if g.Full || g.AllEdges != 4096*1024+1024*512+5120 {
		t.Fatalf("full=%v all=%d", g.Full, g.AllEdges)
	}
	view := Rect{0, 0, 1280, 720}
	cam := NewCamera()
	cam.Fit(l.Bounds, view, true)
	fitted := g.Visible(cam, view, nil)
	firstK := func(spans []Span) int { // the k drawn into the first target of pair 0 on screen
		for _, sp := range spans {
			if sp.Lo < g.Pairs[0].First+g.Pairs[0].Quads {
				return sp.Hi - sp.Lo
			}
		}
		return 0
	}
	fittedK, fittedN := firstK(fitted), quads(fitted)
	cam.ZoomAt(640, 360, 8)
	for i := 0; i < 300; i++ {
		cam.Step(1.0 / 60)
	}
	zoomed := g.Visible(cam, view, nil)
	zoomedK := firstK(zoomed)
	// Fitted: every target shows a few inputs, within the frame budget per
	// pair. Zoomed 8x: fewer targets on screen, each with more inputs.
	if fittedK < 2 || fittedN > 3*FrameEdges || zoomedK <= fittedK || len(zoomed) >= len(fitted) || g.Builds != 1 {
		t.Fatalf("fitted: k=%d, %d quads in %d spans; zoomed 8x: k=%d in %d spans; builds %d",
			fittedK, fittedN, len(fitted), zoomedK, len(zoomed), g.Builds)
	}
	t.Logf("fitted: %d per target, %d connections; zoomed 8x: %d per target, %d connections", fittedK, fittedN, zoomedK, quads(zoomed))
	if quads(g.VisibleBands(cam, view, nil)) == 0 {
		t.Fatal("no aggregate for a large head")
	}
	heaviest := float32(0)
	for i := 0; i < len(g.BandVerts); i += 4 {
		v := g.BandVerts[i]
		if v.Custom1 <= 0 || v.Custom1 > 1 || v.Custom0 < -1 || v.Custom0 > 1 {
			t.Fatalf("band %d: share %v balance %v", i/4, v.Custom1, v.Custom0)
		}
		heaviest = max(heaviest, v.Custom1)
	}
	if heaviest != 1 {
		t.Fatalf("heaviest band share %v, want 1", heaviest)
	}
}

func TestSelectTop(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, n := range []int{1, 2, 7, 100, 4096} {
		for _, k := range []int{1, n / 3, n - 1, n} {
			if k < 1 {
				continue
			}
			v := make([]ranked, n)
			for i := range v {
				v[i] = ranked{int32(i), float32(rng.IntN(50))} // ties on purpose
			}
			sorted := slices.Clone(v)
			slices.SortFunc(sorted, func(a, b ranked) int { return int(b.c - a.c) })
			selectTop(v, k)
			minTop := v[0].c
			for _, x := range v[:k] {
				minTop = min(minTop, x.c)
			}
			if minTop != sorted[k-1].c {
				t.Fatalf("n=%d k=%d: smallest kept %v, want %v", n, k, minTop, sorted[k-1].c)
			}
		}
	}
}

// TestGeometryWithoutPass: before the first pass the architecture's neurons
// are drawn, neutral and unconnected.
func TestGeometryWithoutPass(t *testing.T) {
	l, _ := NewLayout(cnnHead)
	g := NewGeometry(l)
	g.Build(nil, PerLayer)
	if len(g.NeuronVerts) != 4*l.Neurons() || g.Edges != 0 || len(g.Pairs) != 0 {
		t.Fatalf("%d neuron vertices, %d edges", len(g.NeuronVerts), g.Edges)
	}
	if v := g.NeuronVerts[4*l.Layers[1].First]; v.Custom0 != 0 || v.Custom3 != FlagHidden {
		t.Fatalf("neutral neuron expected, got %+v", v)
	}
}
