package scene

import (
	"math"
	"slices"

	"github.com/mlpviz/mlpviz/collector"
)

// Vertex has exactly the layout of ebiten.Vertex, so the engine hands these
// slices to DrawTrianglesShader32 without copying. For the shaders in
// shaders/ the colour and custom fields carry data, not colours.
type Vertex struct {
	DstX, DstY                         float32 // screen position, written by Project
	SrcX, SrcY                         float32 // quad-local coordinates in -1..1, for antialiasing
	ColorR, ColorG, ColorB, ColorA     float32
	Custom0, Custom1, Custom2, Custom3 float32
}

// Neuron flags (Custom3 of a neuron vertex).
const (
	FlagHidden   = 0 // coloured by activation on the diverging scale
	FlagOutput   = 1 // coloured by probability
	FlagNonFinal = 2 // NaN or ±Inf: drawn in its own colour
)

// EdgeBudget caps the connections drawn at once. Up to it every connection
// is drawn; above it each target neuron keeps its strongest incoming
// connections by |w·a| for the probe.
const EdgeBudget = 200_000

// Geometry is the vertex data of one pass: neurons as quads (4 vertices, 6
// indices each) and connections as quads. Build fills everything that
// depends on the pass; Project only rewrites screen positions for the
// camera, so hover, zoom and pan never rebuild it.
type Geometry struct {
	Layout *Layout

	NeuronVerts []Vertex
	NeuronIdx   []uint32
	EdgeVerts   []Vertex
	EdgeIdx     []uint32

	// Ranges are the per-layer activation magnitudes at the ends of the
	// colour scale; WeightScales the per-layer-pair |w| at full strength.
	Ranges       []float32
	WeightScales []float32

	NonFinite int // NaN or Inf values among this pass's activations and weights
	Edges     int // connections drawn
	AllEdges  int // connections in the head
	Builds    int // how many times Build ran: tests prove hover/zoom/pan do not

	neuronWorld []float32 // per neuron: centre x, y
	edgeWorld   []float32 // per edge vertex: world x, y, unit normal x, y, half width (px)
	scratch     []float32
	values      [][]float32
	order       []int32
}

// NewGeometry prepares geometry for a layout; call Build for each pass.
func NewGeometry(l *Layout) *Geometry { return &Geometry{Layout: l} }

// Build fills the vertex data for pass p with colour ranges in mode. A nil
// pass draws the neurons of the architecture alone, neutral and unconnected.
func (g *Geometry) Build(p *collector.Pass, mode RangeMode) {
	g.Builds++
	l := g.Layout
	g.values = g.values[:0]
	for k := range l.Layers {
		g.values = append(g.values, layerValues(p, k, len(l.Layers)))
	}
	g.Ranges, g.scratch = Ranges(g.values, mode, g.Ranges, g.scratch)
	g.NonFinite = 0
	g.buildNeurons()
	if p == nil {
		g.EdgeVerts, g.edgeWorld, g.EdgeIdx = g.EdgeVerts[:0], g.edgeWorld[:0], g.EdgeIdx[:0]
		g.Edges, g.AllEdges = 0, 0
		return
	}
	g.buildEdges(p)
}

// layerValues is what colours layer k's neurons: the first Linear's input,
// each hidden layer's activation (the next Linear's input, after ReLU or
// batch norm), and the output probabilities.
func layerValues(p *collector.Pass, k, layers int) []float32 {
	switch {
	case p == nil:
		return nil
	case k == layers-1 && len(p.Probs) > 0:
		return p.Probs
	case k == layers-1:
		return p.Layers[k-1].Output
	default:
		return p.Layers[k].Input
	}
}

func (g *Geometry) buildNeurons() {
	l := g.Layout
	n := l.Neurons()
	g.NeuronVerts = slices.Grow(g.NeuronVerts[:0], 4*n)[:4*n]
	g.neuronWorld = slices.Grow(g.neuronWorld[:0], 2*n)[:2*n]
	for k := range l.Layers {
		ll := &l.Layers[k]
		vals := g.values[k]
		for i := 0; i < ll.N; i++ {
			id := ll.First + i
			x, y := l.Pos(k, i)
			g.neuronWorld[2*id], g.neuronWorld[2*id+1] = x, y
			v := float32(0)
			if i < len(vals) {
				v = vals[i]
			}
			flag := float32(FlagHidden)
			if k == len(l.Layers)-1 {
				flag = FlagOutput
			}
			if !Finite(v) {
				flag, v = FlagNonFinal, 0
				g.NonFinite++
			}
			for c := 0; c < 4; c++ {
				g.NeuronVerts[4*id+c] = Vertex{
					SrcX: float32(c&1)*2 - 1, SrcY: float32(c>>1)*2 - 1,
					ColorA:  1,
					Custom0: v, Custom1: float32(id), Custom2: float32(k), Custom3: flag,
				}
			}
		}
	}
	g.NeuronIdx = quadIndices(g.NeuronIdx, n)
}

// quadIndices returns indices for n quads of 4 vertices, reusing idx when
// it already has them.
func quadIndices(idx []uint32, n int) []uint32 {
	if len(idx) == 6*n {
		return idx
	}
	idx = idx[:0]
	for q := uint32(0); q < uint32(n); q++ {
		b := 4 * q
		idx = append(idx, b, b+1, b+2, b+1, b+3, b+2)
	}
	return idx
}

func (g *Geometry) buildEdges(p *collector.Pass) {
	l := g.Layout
	g.AllEdges, g.Edges = 0, 0
	for k := 0; k+1 < len(l.Layers); k++ {
		g.AllEdges += l.Layers[k].N * l.Layers[k+1].N
	}
	// Top-k per target neuron once the head has more connections than the
	// budget: the same k for every target keeps every neuron connected.
	perTarget := math.MaxInt
	if g.AllEdges > EdgeBudget {
		targets := 0
		for k := 1; k < len(l.Layers); k++ {
			targets += l.Layers[k].N
		}
		perTarget = max(1, EdgeBudget/targets)
	}
	g.EdgeVerts = g.EdgeVerts[:0]
	g.edgeWorld = g.edgeWorld[:0]
	g.WeightScales = g.WeightScales[:0]
	for k := 0; k+1 < len(l.Layers); k++ {
		lp := &p.Layers[k]
		in, out := l.Layers[k].N, l.Layers[k+1].N
		g.scratch = appendAbs(g.scratch[:0], lp.Weight)
		scale := percentile(g.scratch, robustPercentile)
		g.WeightScales = append(g.WeightScales, scale)
		for _, w := range lp.Weight {
			if !Finite(w) {
				g.NonFinite++
			}
		}
		for o := 0; o < out; o++ {
			row := lp.Weight[o*in : (o+1)*in]
			sources := g.strongest(row, lp.Input, perTarget)
			for _, j := range sources {
				g.addEdge(k, int(j), o, row[j], scale)
			}
		}
	}
	g.Edges = len(g.EdgeVerts) / 4
	g.EdgeIdx = quadIndices(g.EdgeIdx, g.Edges)
}

// strongest returns the indices of row (all of them, when k covers the row)
// ordered so the first k have the largest |w·a|.
func (g *Geometry) strongest(row, act []float32, k int) []int32 {
	g.order = g.order[:0]
	for j := range row {
		g.order = append(g.order, int32(j))
	}
	if k >= len(row) {
		return g.order
	}
	contrib := func(j int32) float64 { return math.Abs(float64(row[j]) * float64(act[j])) }
	slices.SortFunc(g.order, func(a, b int32) int {
		ca, cb := contrib(a), contrib(b)
		switch {
		case ca > cb:
			return -1
		case ca < cb:
			return 1
		}
		return int(a - b)
	})
	return g.order[:k]
}

// addEdge appends one connection quad from neuron j of layer k to neuron o
// of layer k+1.
func (g *Geometry) addEdge(k, j, o int, w, scale float32) {
	l := g.Layout
	x0, y0 := l.Pos(k, j)
	x1, y1 := l.Pos(k+1, o)
	dx, dy := x1-x0, y1-y0
	inv := 1 / float32(math.Hypot(float64(dx), float64(dy)))
	nx, ny := -dy*inv, dx*inv
	m := float32(0)
	if Finite(w) {
		m = min(float32(math.Abs(float64(w)))/scale, 1)
	} else {
		w = 0
	}
	hw := 0.35 + 1.15*m // half width in pixels: strong weights draw wider
	src := float32(l.Layers[k].First + j)
	dst := float32(l.Layers[k+1].First + o)
	for c := 0; c < 4; c++ {
		x, y := x0, y0
		if c&1 == 1 {
			x, y = x1, y1
		}
		side := float32(c>>1)*2 - 1
		g.EdgeVerts = append(g.EdgeVerts, Vertex{
			SrcX: float32(c & 1), SrcY: side, ColorA: 1,
			Custom0: w, Custom1: src, Custom2: dst, Custom3: float32(k),
		})
		g.edgeWorld = append(g.edgeWorld, x, y, nx*side, ny*side, hw)
	}
}

// Project writes every vertex's screen position for camera c: the only
// per-frame work on the geometry, with no allocation. Neurons never shrink
// below about a pixel so that a zoomed-out head stays visible.
func (g *Geometry) Project(c *Camera) {
	z, px, py := c.Zoom, c.PanX, c.PanY
	r := max(neuronRadius*z, 1.2) + 1 // +1 px for the antialiased rim
	nw := g.neuronWorld
	for i := range g.NeuronVerts {
		v := &g.NeuronVerts[i]
		id := i >> 2
		v.DstX = nw[2*id]*z + px + v.SrcX*r
		v.DstY = nw[2*id+1]*z + py + v.SrcY*r
	}
	width := min(max(z, 0.6), 2.5) // lines thicken a little as the user zooms in
	ew := g.edgeWorld
	for i := range g.EdgeVerts {
		v := &g.EdgeVerts[i]
		e := ew[5*i : 5*i+5 : 5*i+5]
		v.DstX = e[0]*z + px + e[2]*e[4]*width
		v.DstY = e[1]*z + py + e[3]*e[4]*width
	}
}
