package scene

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
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
	l, err := NewLayout(cnnHead, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Neurons() != 576+24*4+10 || len(l.Layers) != 6 {
		t.Fatalf("%d neurons in %d layers", l.Neurons(), len(l.Layers))
	}
	// Without its feature maps known, the input is a plain grid.
	if in := l.Layers[0]; in.Kind != Grid || in.Cols*in.Rows < 576 || in.Name != "input 576" {
		t.Fatalf("input %+v, want a grid named input 576", in)
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
	if _, err := NewLayout([]collector.LinearShape{{In: 5, Out: 4}, {In: 3, Out: 2}}, Options{}); err == nil {
		t.Fatal("mismatched layer sizes accepted")
	}
}

func TestPicker(t *testing.T) {
	l, _ := NewLayout(cnnHead, Options{})
	p := NewPicker(l)
	for id := 0; id < l.Neurons(); id += 7 {
		k, i, _ := l.Locate(id)
		x, y := l.Pos(k, i)
		if got := p.Pick(x+1, y-1, 0); got != id {
			t.Fatalf("Pick at neuron %d gave %d", id, got)
		}
	}
	if got := p.Pick((l.Layers[1].Bounds.MaxX+l.Layers[2].Bounds.MinX)/2, 0, 0); got != -1 {
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
	l, _ := NewLayout(cnnHead, Options{})
	g := NewGeometry(l)
	p := randomPass(cnnHead, 1)
	p.Layers[2].Input[5] = float32(math.NaN())
	g.Build(p, PerLayer)
	// The 576→24 fan keeps each target's strongest maxRanks inputs.
	if want := 24*maxRanks + 3*24*24 + 24*10; g.AllEdges != 15792 || g.Edges != want {
		t.Fatalf("edges %d of %d, want %d", g.Edges, g.AllEdges, want)
	}
	if len(g.NeuronVerts) != 4*l.Neurons() || len(g.EdgeVerts) != 4*g.Edges || len(g.QuadIdx) < 6*g.Edges {
		t.Fatal("vertex or index counts do not match")
	}
	// The 576→24 fan is drawn by level of detail, the 24→24 ones whole.
	if g.Full || g.Pairs[0].Ranks != maxRanks || g.Pairs[1].Ranks != 0 || g.Pairs[0].Band.Hi == g.Pairs[0].Band.Lo {
		t.Fatalf("full %v, ranks %d and %d", g.Full, g.Pairs[0].Ranks, g.Pairs[1].Ranks)
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
	small := 3*24*24 + 24*10
	if n := quads(edges); n < small+fanLines || n > small+2*fanLines {
		t.Fatalf("cnn fitted to the view draws %d connections, want the %d of its small fans and about %d of its first", n, small, fanLines)
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
		l, _ := NewLayout(head, Options{})
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
	l, _ := NewLayout(head, Options{})
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
	l, _ := NewLayout(cnnHead, Options{})
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
	maps MapShape
}{
	{"cnn", cnnHead, MapShape{64, 3, 3}},
	{"cnn_large", []collector.LinearShape{{In: 6272, Out: 128}, {In: 128, Out: 64}, {In: 64, Out: 10}}, MapShape{128, 7, 7}},
	{"cifar10_cnn", cifarHead, MapShape{256, 4, 4}},
}

// BenchmarkPick times one hover lookup at a random point of each head.
func BenchmarkPick(b *testing.B) {
	for _, c := range benchHeads {
		b.Run(c.name, func(b *testing.B) {
			l, _ := NewLayout(c.head, Options{Maps: c.maps})
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
			l, _ := NewLayout(c.head, Options{Maps: c.maps})
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
	l, _ := NewLayout(cnnHead, Options{})
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
	l, _ := NewLayout(cifarHead, Options{})
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
	l, _ := NewLayout(cnnHead, Options{})
	g := NewGeometry(l)
	g.Build(nil, PerLayer)
	if len(g.NeuronVerts) != 4*l.Neurons() || g.Edges != 0 || len(g.Pairs) != 0 {
		t.Fatalf("%d neuron vertices, %d edges", len(g.NeuronVerts), g.Edges)
	}
	if v := g.NeuronVerts[4*l.Layers[1].First]; v.Custom0 != 0 || v.Custom3 != FlagHidden {
		t.Fatalf("neutral neuron expected, got %+v", v)
	}
}

// layoutAspects are the shapes of network view a window gives, from a
// narrow one (800x600, or the side bar beside a tall window) to a wide one.
var layoutAspects = []float32{0.9, 1.1, 1.35, 1.6, 2.2}

// TestFeatureMapTiles: a flattened conv output lays out as one H×W tile
// per channel, in PyTorch's order, tiles apart from each other.
func TestFeatureMapTiles(t *testing.T) {
	for _, c := range benchHeads {
		for _, a := range layoutAspects {
			l, err := NewLayout(c.head, Options{Maps: c.maps, Aspect: a})
			if err != nil {
				t.Fatal(err)
			}
			in := &l.Layers[0]
			m := c.maps
			if in.Kind != FeatureMaps || in.Maps != m || in.TileCols*in.TileRows < m.C || in.TileCols*(in.TileRows-1) >= m.C || in.TileGap < minTileGap {
				t.Fatalf("%s at %.2f: input %+v, want %d tiles of %dx%d", c.name, a, in, m.C, m.H, m.W)
			}
			want := fmt.Sprintf("input %d · %d×%d×%d", m.Size(), m.C, m.H, m.W)
			if in.Name != want {
				t.Fatalf("input named %q, want %q", in.Name, want)
			}
			tiles := make([]Rect, m.C)
			for ch := range tiles {
				r := Rect{math.MaxFloat32, math.MaxFloat32, -math.MaxFloat32, -math.MaxFloat32}
				for p := range m.H * m.W {
					x, y := l.Pos(0, ch*m.H*m.W+p)
					if p > 0 { // row by row, left to right, one spacing apart
						px, py := l.Pos(0, ch*m.H*m.W+p-1)
						if (p%m.W != 0 && (x-px != spacing || y != py)) || (p%m.W == 0 && (y-py != spacing)) {
							t.Fatalf("%s: channel %d value %d at (%v,%v) after (%v,%v)", c.name, ch, p, x, y, px, py)
						}
					}
					r = Rect{min(r.MinX, x-in.Radius), min(r.MinY, y-in.Radius), max(r.MaxX, x+in.Radius), max(r.MaxY, y+in.Radius)}
				}
				tiles[ch] = r
				if r.MinX < in.Bounds.MinX || r.MaxX > in.Bounds.MaxX || r.MinY < in.Bounds.MinY || r.MaxY > in.Bounds.MaxY {
					t.Fatalf("%s: tile %d %v outside the layer %v", c.name, ch, r, in.Bounds)
				}
			}
			for i := range tiles {
				for j := i + 1; j < len(tiles); j++ {
					gap := in.TileGap / 2
					grown := Rect{tiles[i].MinX - gap, tiles[i].MinY - gap, tiles[i].MaxX + gap, tiles[i].MaxY + gap}
					if grown.Overlaps(tiles[j]) {
						t.Fatalf("%s at %.2f: tiles %d %v and %d %v are not apart", c.name, a, i, tiles[i], j, tiles[j])
					}
				}
			}
		}
	}
}

// TestLayoutUsesTheArea: at every shape of view, each head fills most of
// it when fitted, layers do not overlap, small layers spread over the
// input's height and every neuron sits inside its layer.
func TestLayoutUsesTheArea(t *testing.T) {
	for _, c := range benchHeads {
		for _, a := range layoutAspects {
			l, _ := NewLayout(c.head, Options{Maps: c.maps, Aspect: a})
			w, h := l.Bounds.MaxX-l.Bounds.MinX, l.Bounds.MaxY-l.Bounds.MinY
			// A narrow view leaves a head of many layers room in width only.
			least := float32(0.6)
			if a < 1 {
				least = 0.45
			}
			if fill := min(w/h/a, h*a/w); fill < least {
				t.Errorf("%s at aspect %.2f: the layout is %.0fx%.0f, filling %.0f%% of the view", c.name, a, w, h, 100*fill)
			}
			in := l.Layers[0].Bounds
			for k := range l.Layers {
				ll := &l.Layers[k]
				if k > 0 && ll.Bounds.MinX <= l.Layers[k-1].Bounds.MaxX+minGap/2 {
					t.Errorf("%s: layer %d starts %v after layer %d ends", c.name, k, ll.Bounds.MinX-l.Layers[k-1].Bounds.MaxX, k-1)
				}
				if k > 0 && ll.N > 1 && ll.Bounds.MaxY-ll.Bounds.MinY < 0.9*(in.MaxY-in.MinY) {
					t.Errorf("%s at %.2f: %s spans %.0f of the input's %.0f", c.name, a, ll.Name, ll.Bounds.MaxY-ll.Bounds.MinY, in.MaxY-in.MinY)
				}
				for i := range ll.N {
					x, y := l.Pos(k, i)
					const e = 1e-3
					if !ll.Bounds.Contains(x-ll.Radius+e, y-ll.Radius+e) || !ll.Bounds.Contains(x+ll.Radius-e, y+ll.Radius-e) {
						t.Fatalf("%s: neuron %d of %s at (%v,%v) outside %v", c.name, i, ll.Name, x, y, ll.Bounds)
					}
				}
			}
			if out := l.Layers[len(l.Layers)-1]; out.Radius < neuronRadius {
				t.Errorf("%s: output neurons of radius %v, smaller than a grid's", c.name, out.Radius)
			}
		}
	}
}

func TestLayerNames(t *testing.T) {
	l, _ := NewLayout(cnnHead, Options{Maps: MapShape{64, 3, 3}})
	want := []string{"input 576 · 64×3×3", "hidden 1 · 24", "hidden 2 · 24", "hidden 3 · 24", "hidden 4 · 24", "output 10"}
	for k, w := range want {
		if l.Layers[k].Name != w || l.Layers[k].Short == "" || len(l.Layers[k].Short) >= len(w) {
			t.Errorf("layer %d named %q (%q), want %q", k, l.Layers[k].Name, l.Layers[k].Short, w)
		}
	}
}

func TestInputMaps(t *testing.T) {
	conv := func(out int) collector.Module {
		return collector.Module{Kind: "Conv2d", Settings: []collector.Setting{{Key: "in_channels", Value: "3"}, {Key: "out_channels", Value: strconv.Itoa(out)}}}
	}
	arch := func(in, capped int, mods ...collector.Module) *collector.Architecture {
		a := &collector.Architecture{Modules: mods, Head: []collector.LinearShape{{In: in, Out: 10}}, FullHead: []collector.LinearShape{{In: in, Out: 10}}}
		if capped > 0 {
			a.NeuronCap, a.Head[0].In = capped, capped
		}
		return a
	}
	for _, c := range []struct {
		a    *collector.Architecture
		want MapShape
	}{
		{arch(576, 0, conv(32), conv(64), collector.Module{Kind: "MaxPool2d"}, collector.Module{Kind: "Flatten"}), MapShape{64, 3, 3}},
		{arch(6272, 0, conv(64), conv(128)), MapShape{128, 7, 7}},
		{arch(4096, 0, conv(256)), MapShape{256, 4, 4}},
		{arch(4096, 256, conv(256)), MapShape{}},                     // capped: the inputs are groups
		{arch(256, 0, conv(256)), MapShape{}},                        // 1×1 maps: no tiles to show
		{arch(600, 0, conv(64)), MapShape{}},                         // not C·H·H
		{arch(784, 0, collector.Module{Kind: "Linear"}), MapShape{}}, // no convolution
	} {
		if got := InputMaps(c.a); got != c.want {
			t.Errorf("head %d (cap %d): maps %v, want %v", c.a.Head[0].In, c.a.NeuronCap, got, c.want)
		}
	}
}

// TestConnectionsAvoidOwnLayer: no connection crosses a neuron of its own
// layers but the two it joins: a ported layer's connections start beside
// the layer, a column's end on the facing edge of the disc and leave it at
// a slope that clears the neighbours.
func TestConnectionsAvoidOwnLayer(t *testing.T) {
	for _, c := range benchHeads {
		for _, a := range []float32{0.9, 1.6, 2.2} {
			l, _ := NewLayout(c.head, Options{Maps: c.maps, Aspect: a})
			g := NewGeometry(l)
			g.Build(randomPass(c.head, 11), PerLayer)
			for q := 0; q < g.Edges; q++ {
				v := &g.EdgeVerts[4*q]
				e0, e1 := g.edgeWorld[20*q:20*q+2], g.edgeWorld[20*q+5:20*q+7]
				src, dst := int(v.Custom1), int(v.Custom2)
				for _, end := range []struct{ id int }{{src}, {dst}} {
					k, _, _ := l.Locate(end.id)
					ll := &l.Layers[k]
					if ll.Ported() {
						// The whole segment lies beside the layer.
						if (e0[0] < ll.Bounds.MaxX && e0[0] > ll.Bounds.MinX) || (e1[0] < ll.Bounds.MaxX && e1[0] > ll.Bounds.MinX) {
							t.Fatalf("%s: connection %d→%d ends inside %s", c.name, src, dst, ll.Name)
						}
						continue
					}
					for i := range ll.N {
						if ll.First+i == end.id {
							continue
						}
						x, y := l.Pos(k, i)
						if d := segmentDistance(x, y, e0[0], e0[1], e1[0], e1[1]); d < ll.Radius {
							t.Fatalf("%s at %.1f: connection %d→%d passes %.2f from neuron %d of %s (radius %.2f)", c.name, a, src, dst, d, ll.First+i, ll.Name, ll.Radius)
						}
					}
				}
			}
		}
	}
}

// segmentDistance is the distance from (px, py) to the segment (x0,y0)-(x1,y1).
func segmentDistance(px, py, x0, y0, x1, y1 float32) float32 {
	dx, dy := x1-x0, y1-y0
	t := max(0, min(1, ((px-x0)*dx+(py-y0)*dy)/(dx*dx+dy*dy)))
	ex, ey := x0+t*dx-px, y0+t*dy-py
	return float32(math.Sqrt(float64(ex*ex + ey*ey)))
}

// TestNoSeamBetweenColumns: between two evenly spaced columns, straight
// lines from every neuron to every neuron all pass through a few points
// halfway (i+j fixed gives one height), which drew a dotted dark seam down
// the middle of every gap. The ends spread over the discs break that up:
// halfway, the lines' heights leave no wide empty stretch.
func TestNoSeamBetweenColumns(t *testing.T) {
	l, _ := NewLayout(cnnHead, Options{Maps: MapShape{64, 3, 3}, Aspect: 1.6})
	g := NewGeometry(l)
	g.Build(randomPass(cnnHead, 12), PerLayer)
	p := g.Pairs[1] // hidden 1 → hidden 2: two columns of 24
	sp := l.Layers[1].RowPitch
	mid := (l.Layers[1].Left + l.Layers[2].Left) / 2
	var ys []float32
	for q := p.First; q < p.First+p.Quads; q++ {
		e0, e1 := g.edgeWorld[20*q:20*q+2], g.edgeWorld[20*q+5:20*q+7]
		t := (mid - e0[0]) / (e1[0] - e0[0])
		ys = append(ys, e0[1]+t*(e1[1]-e0[1]))
	}
	slices.Sort(ys)
	// Away from the ends, the widest stretch without a line is well under
	// the half spacing the meeting points were apart (about a quarter).
	widest := float32(0)
	for i := len(ys) / 10; i < len(ys)*9/10; i++ {
		widest = max(widest, ys[i]-ys[i-1])
	}
	if widest > sp/3 {
		t.Fatalf("halfway between two columns %.1f apart, a stretch of %.2f has no line", sp, widest)
	}
}

// TestPickEveryNeuron: every neuron of every head, in every layout, is
// picked at its centre and near its edge.
func TestPickEveryNeuron(t *testing.T) {
	for _, c := range benchHeads {
		for _, a := range []float32{1.0, 1.6} {
			l, _ := NewLayout(c.head, Options{Maps: c.maps, Aspect: a})
			p := NewPicker(l)
			for id := range l.Neurons() {
				k, i, _ := l.Locate(id)
				x, y := l.Pos(k, i)
				r := 0.8 * l.Radius(k)
				if got := p.Pick(x, y, 0); got != id {
					t.Fatalf("%s: Pick at neuron %d gave %d", c.name, id, got)
				}
				if got := p.Pick(x+r*0.6, y-r*0.8, 0); got != id {
					t.Fatalf("%s: Pick near the edge of neuron %d gave %d", c.name, id, got)
				}
			}
		}
	}
}

// TestRelated: the ties the view rings are the strongest inputs and
// outputs by |w·a|.
func TestRelated(t *testing.T) {
	l, _ := NewLayout(cnnHead, Options{Maps: MapShape{64, 3, 3}})
	g := NewGeometry(l)
	p := randomPass(cnnHead, 13)
	g.Build(p, PerLayer)
	id := l.Layers[1].First + 5
	got := g.Related(id, 3, nil)
	info, _ := Describe(l, p, id, 3)
	if len(got) < 3 {
		t.Fatalf("related %v", got)
	}
	for r := range 3 {
		if int(got[r]) != info.Top[r].From {
			t.Fatalf("input ties %v, want the strongest inputs %+v", got[:3], info.Top)
		}
	}
	if len(got) != 6 {
		t.Fatalf("%d ties, want 3 inputs and 3 outputs", len(got))
	}
	for _, o := range got[3:] {
		if k, _, _ := l.Locate(int(o)); k != 2 {
			t.Fatalf("output tie %v is not in the next layer", o)
		}
	}
	if n := len(g.Related(l.Layers[0].First, 4, nil)); n > 4 {
		t.Fatalf("an input has %d ties, want at most 4 outputs", n)
	}
}
