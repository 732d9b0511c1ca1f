package scene

import (
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/mlpviz/mlpviz/collector"
)

// Vertex has exactly the layout of ebiten.Vertex, so the engine hands these
// slices to DrawTrianglesShader32 without copying. For the shaders in
// shaders/ the colour and custom fields carry data, not colours.
type Vertex struct {
	DstX, DstY                         float32 // screen position, written by Project
	SrcX, SrcY                         float32 // quad-local coordinates, for antialiasing
	ColorR, ColorG, ColorB, ColorA     float32
	Custom0, Custom1, Custom2, Custom3 float32
}

// Neuron flags (Custom3 of a neuron vertex). A dead or saturated neuron
// is coloured as a hidden one, with a mark over it (shaders/neurons.kage).
const (
	FlagHidden    = 0 // coloured by activation on the diverging scale
	FlagOutput    = 1 // coloured by probability
	FlagNonFinal  = 2 // NaN or ±Inf: drawn in its own colour
	FlagDead      = 3 // hidden, dead over the health batch (collector.LayerHealth.Dead): crossed out
	FlagSaturated = 4 // hidden, saturated over the health batch (collector.LayerHealth.Saturated): ringed
)

const (
	// EdgeBudget caps the connections kept in the vertex data. Each target
	// neuron keeps its strongest incoming connections by |w·a| for the
	// probe, the same number for every target so every neuron stays
	// connected.
	EdgeBudget = 200_000
	// FullDrawLimit is the largest head whose vertex data is built within
	// a frame rather than on a goroutine.
	FullDrawLimit = 20_000
	// FanWholeLimit is the largest layer pair drawn connection by
	// connection at every zoom; a bigger fan draws each target's top k by
	// |w·a|, k growing with the zoom, over an aggregate of the whole weight
	// mass: thousands of faint lines read as a haze, and cost the most
	// pixels of the frame.
	FanWholeLimit = 4096
	// fanLines is about how many connections a fan drawn by level of
	// detail shows when fitted, however few its targets.
	fanLines = 240
	// maxRanks is the most inputs of a target such a fan keeps: more than
	// any zoom short of the closest draws (PerTarget), and ranking fewer
	// is what keeps a pass switch quick.
	maxRanks = 128
	// bandRows is how many horizontal bands of a layer the aggregate uses.
	bandRows = 16
)

// Pair is the vertex data of the connections between layer K and K+1.
// For a large fan, each target's kept inputs lie together, strongest
// first (Ranks quads per target), so drawing a target's top k is drawing
// the first k quads of its block: zoom and pan change only which blocks and
// how much of each, never the data.
type Pair struct {
	K            int
	First, Quads int     // quads [First, First+Quads) of EdgeVerts
	Ranks        int     // quads per target block; 0 when drawn whole
	MinX, MaxX   float32 // world x-range, for culling
	Band         Span    // the aggregate quads of this pair in BandVerts
	// Ink is a drawn connection's mean opacity times its width (in pixels
	// at width 1), over all of them for a pair drawn whole, else over each
	// target's strongest few: the view thins lines by how much ink a fan
	// would pour into its height.
	Ink float32
}

// Span is a range of quads [Lo, Hi).
type Span struct{ Lo, Hi int }

// Geometry is the vertex data of one pass: neurons as quads (4 vertices, 6
// indices each), connections as quads, and for large heads an aggregate
// of band-to-band quads. Build fills everything that depends on the pass;
// Visible and Project only choose and place what the camera sees, so
// hover, zoom and pan never rebuild it.
type Geometry struct {
	Layout *Layout

	NeuronVerts []Vertex
	EdgeVerts   []Vertex
	BandVerts   []Vertex
	Pairs       []Pair
	// QuadIdx indexes quads 0..n-1 of any vertex slice that starts at a
	// quad boundary: every draw uses a prefix of it.
	QuadIdx []uint32

	// Ranges are the per-layer activation magnitudes at the ends of the
	// colour scale; WeightScales the per-layer-pair |w| at full strength.
	Ranges       []float32
	WeightScales []float32
	// Fixed, when > 0, replaces every range and weight scale of the next
	// Build (a view mode with a fixed scale: Derived.Fixed).
	Fixed float32

	NonFinite int  // NaN or Inf values among this pass's activations and weights
	Edges     int  // connections in the vertex data
	AllEdges  int  // connections in the head
	Full      bool // every fan is drawn whole at every zoom
	Builds    int  // how many times Build ran: tests prove hover/zoom/pan do not

	// Health says the built pass measured its hidden neurons' health
	// (collector.Pass.Health); Dead and Saturated count the neurons marked.
	Health          bool
	Dead, Saturated int

	pass *collector.Pass // the pass built, for Related
	// The ends of one layer pair's connections (pairEnds): x, y per entry.
	srcBase, srcOff, dstBase, dstOff []float32
	related                          []ranked
	neuronWorld                      []float32 // per neuron: centre x, y and radius
	edgeWorld                        []float32 // per edge vertex: world x, y, unit normal x, y, half width (px)
	bandWorld                        []float32 // per band vertex: world x, y
	scratch                          []float32
	values                           [][]float32
	picks                            []ranked
	rows                             [][]ranked // per ranking worker
	bandW                            []float64  // per band pair: sum w, sum |w|
	bandRuns                         []bandRun
}

// bandRun is a run of a layer's neurons that fall in one aggregate band.
type bandRun struct{ lo, hi, band int }

// abs32 is |x| without a round trip through float64.
func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// ranked is one candidate connection into a target: its source and |w·a|.
type ranked struct {
	src int32
	c   float32
}

// NewGeometry prepares geometry for a layout; call Build for each pass.
func NewGeometry(l *Layout) *Geometry { return &Geometry{Layout: l} }

// Build fills the vertex data for pass p with colour ranges in mode. A nil
// pass draws the neurons of the architecture alone, neutral and unconnected.
func (g *Geometry) Build(p *collector.Pass, mode RangeMode) {
	g.Builds++
	g.pass = p
	l := g.Layout
	g.values = g.values[:0]
	for k := range l.Layers {
		g.values = append(g.values, layerValues(p, k, len(l.Layers)))
	}
	g.Ranges, g.scratch = Ranges(g.values, mode, g.Ranges, g.scratch)
	if g.Fixed > 0 {
		for k := range g.Ranges {
			g.Ranges[k] = g.Fixed
		}
	}
	g.NonFinite, g.Health, g.Dead, g.Saturated = 0, false, 0, 0
	g.buildNeurons()
	g.EdgeVerts, g.edgeWorld = g.EdgeVerts[:0], g.edgeWorld[:0]
	g.BandVerts, g.bandWorld = g.BandVerts[:0], g.bandWorld[:0]
	g.Pairs, g.WeightScales = g.Pairs[:0], g.WeightScales[:0]
	g.Edges, g.AllEdges = 0, 0
	if p != nil {
		g.buildEdges(p)
	}
	most := max(len(g.NeuronVerts), len(g.EdgeVerts), len(g.BandVerts)) / 4
	g.QuadIdx = quadIndices(g.QuadIdx, most)
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
	g.neuronWorld = slices.Grow(g.neuronWorld[:0], 3*n)[:3*n]
	for k := range l.Layers {
		ll := &l.Layers[k]
		vals := g.values[k]
		health := layerHealth(l, g.pass, k)
		g.Health = g.Health || health != nil
		for i := 0; i < ll.N; i++ {
			id := ll.First + i
			x, y := l.Pos(k, i)
			g.neuronWorld[3*id], g.neuronWorld[3*id+1], g.neuronWorld[3*id+2] = x, y, ll.Radius
			v := float32(0)
			if i < len(vals) {
				v = vals[i]
			}
			flag := float32(FlagHidden)
			if k == len(l.Layers)-1 && g.pass != nil && len(g.pass.Probs) > 0 {
				flag = FlagOutput
			}
			switch {
			case !Finite(v):
				flag, v = FlagNonFinal, 0
				g.NonFinite++
			case health != nil && health.Dead(i):
				flag = FlagDead
				g.Dead++
			case health != nil && health.Saturated(i):
				flag = FlagSaturated
				g.Saturated++
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
}

// quadIndices returns indices for at least n quads of 4 vertices, reusing
// idx when it already has them.
func quadIndices(idx []uint32, n int) []uint32 {
	if len(idx) >= 6*n {
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
	targets := 0
	for k := 0; k+1 < len(l.Layers); k++ {
		g.AllEdges += l.Layers[k].N * l.Layers[k+1].N
		targets += l.Layers[k+1].N
	}
	keep := maxRanks // connections kept per target of a fan drawn by level of detail
	if g.AllEdges > EdgeBudget {
		keep = min(keep, max(1, EdgeBudget/targets))
	}
	total := 0
	g.Full = true
	for k := 0; k+1 < len(l.Layers); k++ {
		in, out := l.Layers[k].N, l.Layers[k+1].N
		if in*out <= FanWholeLimit {
			total += in * out
		} else {
			total += min(keep, in) * out
			g.Full = false
		}
	}
	g.EdgeVerts = slices.Grow(g.EdgeVerts, 4*total)
	g.edgeWorld = slices.Grow(g.edgeWorld, 20*total)
	for k := 0; k+1 < len(l.Layers); k++ {
		lp := &p.Layers[k]
		in, out := l.Layers[k].N, l.Layers[k+1].N
		g.pairEnds(k)
		scale := g.weightScale(lp.Weight)
		if g.Fixed > 0 {
			scale = g.Fixed
		}
		g.WeightScales = append(g.WeightScales, scale)
		pair := Pair{K: k, First: len(g.EdgeVerts) / 4,
			MinX: l.Layers[k].Bounds.MinX, MaxX: l.Layers[k+1].Bounds.MaxX}
		if in*out <= FanWholeLimit {
			// Drawn whole at every zoom: keep each target's inputs together
			// (source order), which the rasteriser's caches prefer.
			ink := float32(0)
			for o := 0; o < out; o++ {
				for j := 0; j < in; j++ {
					ink += g.addEdge(k, j, o, lp.Weight[o*in+j], scale)
				}
			}
			pair.Ink = ink / float32(in*out)
		} else {
			ranks := min(keep, in)
			pair.Ranks = ranks
			// order[o*ranks+r] is the source of target o's r-th strongest input.
			order := g.rankInputs(lp, in, out, ranks)
			ink, lead := float32(0), min(ranks, 4)
			for o := 0; o < out; o++ {
				for r, c := range order[o*ranks : (o+1)*ranks] {
					if i := g.addEdge(k, int(c.src), o, lp.Weight[o*in+int(c.src)], scale); r < lead {
						ink += i
					}
				}
			}
			pair.Ink = ink / float32(lead*out)
		}
		pair.Quads = len(g.EdgeVerts)/4 - pair.First
		if pair.Ranks > 0 {
			pair.Band = g.buildBands(k, lp)
		}
		g.Pairs = append(g.Pairs, pair)
	}
	g.Edges = len(g.EdgeVerts) / 4
}

// weightScale is |w| at full strength for one layer pair: the 98th
// percentile of |w|, estimated from a strided sample of at most 64Ki
// weights (sorting 4 million weights would cost more than the whole build).
func (g *Geometry) weightScale(w []float32) float32 {
	step := max(1, len(w)/65536)
	g.scratch = g.scratch[:0]
	for i := 0; i < len(w); i += step {
		if x := w[i]; Finite(x) {
			g.scratch = append(g.scratch, float32(math.Abs(float64(x))))
		}
	}
	for _, x := range w {
		if !Finite(x) {
			g.NonFinite++
		}
	}
	return percentile(g.scratch, robustPercentile)
}

// rankInputs returns, for every target of a layer pair, its ranks
// strongest inputs by |w·a|, strongest first, as out rows of ranks entries.
// Targets are split across the cores: this is most of a large head's build.
func (g *Geometry) rankInputs(lp *collector.LayerPass, in, out, ranks int) []ranked {
	g.picks = slices.Grow(g.picks[:0], out*ranks)[:out*ranks]
	workers := min(runtime.GOMAXPROCS(0), max(1, out*in/(1<<16)))
	for len(g.rows) < workers {
		g.rows = append(g.rows, nil)
	}
	if workers == 1 { // a small fan: no goroutine to start
		g.rows[0] = slices.Grow(g.rows[0][:0], in)[:in]
		rankRows(lp, in, ranks, 0, out, g.rows[0], g.picks)
		return g.picks
	}
	var wg sync.WaitGroup
	for w := range workers {
		g.rows[w] = slices.Grow(g.rows[w][:0], in)[:in]
		row := g.rows[w]
		lo, hi := w*out/workers, (w+1)*out/workers
		wg.Go(func() { rankRows(lp, in, ranks, lo, hi, row, g.picks) })
	}
	wg.Wait()
	return g.picks
}

// rankRows ranks the inputs of targets [lo, hi) into picks, using row as
// scratch.
func rankRows(lp *collector.LayerPass, in, ranks, lo, hi int, row, picks []ranked) {
	a := lp.Input[:in]
	for o := lo; o < hi; o++ {
		w := lp.Weight[o*in : (o+1)*in]
		for j := range row {
			c := abs32(w[j] * a[j])
			if !Finite(c) {
				c = 0
			}
			row[j] = ranked{int32(j), c}
		}
		if ranks < in {
			selectTop(row, ranks) // the strongest ranks now lead, unordered
		}
		top := row[:ranks]
		slices.SortFunc(top, func(a, b ranked) int {
			switch {
			case a.c > b.c:
				return -1
			case a.c < b.c:
				return 1
			}
			return int(a.src - b.src)
		})
		copy(picks[o*ranks:], top)
	}
}

// selectTop moves the k largest entries of v (by c) to its front, in no
// particular order: quickselect, linear on average, so ranking 4,096 inputs
// of each of 1,024 targets stays cheap.
func selectTop(v []ranked, k int) {
	lo, hi := 0, len(v)-1
	for lo < hi {
		// Median of three as the pivot, to stay linear on sorted input.
		mid := lo + (hi-lo)/2
		if v[mid].c > v[lo].c {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi].c > v[lo].c {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[mid].c > v[hi].c {
			v[mid], v[hi] = v[hi], v[mid]
		}
		pivot := v[hi].c
		i := lo
		for j := lo; j < hi; j++ {
			if v[j].c > pivot {
				v[i], v[j] = v[j], v[i]
				i++
			}
		}
		v[i], v[hi] = v[hi], v[i]
		switch {
		case i == k || i == k-1:
			return
		case i < k:
			lo = i + 1
		default:
			hi = i - 1
		}
	}
}

// pairEnds fills the ends of layer pair k's connections (Layout.End,
// taken apart so that each connection only adds two table entries): the
// source layer's bases and offsets by target, the target layer's bases and
// offsets by source.
func (g *Geometry) pairEnds(k int) {
	a, b := &g.Layout.Layers[k], &g.Layout.Layers[k+1]
	g.srcBase, g.dstOff = g.srcBase[:0], g.dstOff[:0]
	for i := range a.N {
		x, y := a.endBase(i, true)
		dx, dy := b.endOffset(i, false)
		g.srcBase, g.dstOff = append(g.srcBase, x, y), append(g.dstOff, dx, dy)
	}
	g.dstBase, g.srcOff = g.dstBase[:0], g.srcOff[:0]
	for o := range b.N {
		x, y := b.endBase(o, false)
		dx, dy := a.endOffset(o, true)
		g.dstBase, g.srcOff = append(g.dstBase, x, y), append(g.srcOff, dx, dy)
	}
}

// addEdge appends one connection quad from neuron j of layer k to neuron o
// of layer k+1 (ends from pairEnds) and returns its ink (see Pair).
func (g *Geometry) addEdge(k, j, o int, w, scale float32) float32 {
	l := g.Layout
	x0, y0 := g.srcBase[2*j]+g.srcOff[2*o], g.srcBase[2*j+1]+g.srcOff[2*o+1]
	x1, y1 := g.dstBase[2*o]+g.dstOff[2*j], g.dstBase[2*o+1]+g.dstOff[2*j+1]
	dx, dy := x1-x0, y1-y0
	inv := 1 / float32(math.Sqrt(float64(dx*dx+dy*dy)))
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
	_, _, _, alpha := WeightColour(m)
	return alpha * 2 * hw
}

// buildBands adds the aggregate of one layer pair: each layer cut into
// horizontal bands of whole rows (of whole tile rows for feature maps),
// and one quad from every source band to every target band carrying the
// weight mass (Σ|w|) between them and its sign balance (Σw / Σ|w|), so the
// eye sees where the weight is even where single connections are not
// drawn. The quads join the two layers' ports, as the connections do.
func (g *Geometry) buildBands(k int, lp *collector.LayerPass) Span {
	l := g.Layout
	src, dst := &l.Layers[k], &l.Layers[k+1]
	sb, tb := src.bands(), dst.bands()
	g.bandW = slices.Grow(g.bandW[:0], 2*sb*tb)[:2*sb*tb]
	clear(g.bandW)
	in := src.N
	// A source band changes only every few neurons: sum each run of a
	// row's weights that falls in one band, then add the run to the cell.
	runs := g.bandRuns[:0]
	for j := 0; j < in; {
		s := src.bandOf(j, sb)
		end := j + 1
		for end < in && src.bandOf(end, sb) == s {
			end++
		}
		runs = append(runs, bandRun{lo: j, hi: end, band: s})
		j = end
	}
	g.bandRuns = runs
	for o := 0; o < dst.N; o++ {
		t := dst.bandOf(o, tb)
		row := lp.Weight[o*in : (o+1)*in]
		for _, r := range runs {
			var sum, mass float32
			for _, w := range row[r.lo:r.hi] {
				if Finite(w) {
					sum += w
					mass += abs32(w)
				}
			}
			cell := 2 * (r.band*tb + t)
			g.bandW[cell] += float64(sum)
			g.bandW[cell+1] += float64(mass)
		}
	}
	heaviest := 0.0
	for c := 1; c < len(g.bandW); c += 2 {
		heaviest = math.Max(heaviest, g.bandW[c])
	}
	span := Span{Lo: len(g.BandVerts) / 4}
	x0, x1 := l.PortX(k, true), l.PortX(k+1, false)
	// About (sb+tb)/2 quads cover any point of the fan: each carries that
	// share of the opacity, so the aggregate reads alike at any band count.
	weight := 2 / float32(sb+tb)
	for s := 0; s < sb; s++ {
		sy0, sy1 := src.bandY(s, sb)
		for t := 0; t < tb; t++ {
			sum, mass := g.bandW[2*(s*tb+t)], g.bandW[2*(s*tb+t)+1]
			if mass == 0 || heaviest == 0 {
				continue
			}
			ty0, ty1 := dst.bandY(t, tb)
			balance, share := float32(sum/mass), float32(mass/heaviest)
			for c := 0; c < 4; c++ {
				x, y := x0, sy0
				switch c {
				case 1:
					x, y = x1, ty0
				case 2:
					y = sy1
				case 3:
					x, y = x1, ty1
				}
				g.BandVerts = append(g.BandVerts, Vertex{
					SrcX: float32(c & 1), SrcY: float32(c>>1)*2 - 1, ColorA: 1,
					Custom0: balance, Custom1: share, Custom2: weight, Custom3: float32(k),
				})
				g.bandWorld = append(g.bandWorld, x, y)
			}
		}
	}
	span.Hi = len(g.BandVerts) / 4
	return span
}

// bands is how many aggregate bands the layer is cut into: its rows, or
// for feature maps its tile rows, up to bandRows.
func (ll *LayerLayout) bands() int {
	if ll.Kind == FeatureMaps {
		return min(bandRows, ll.TileRows)
	}
	return min(bandRows, ll.Rows)
}

// bandOf is the band of neuron i when the layer is cut into n bands.
func (ll *LayerLayout) bandOf(i, n int) int {
	row, _ := ll.cell(i)
	if ll.Kind == FeatureMaps {
		return row / ll.Maps.H * n / ll.TileRows
	}
	return row * n / ll.Rows
}

// bandY is the height that band b of n takes where its connections attach:
// its rows, each with the half row its ports spread over, or for a column
// the part of each disc its connections end on.
func (ll *LayerLayout) bandY(b, n int) (y0, y1 float32) {
	half := ll.RowPitch / 2
	if !ll.Ported() {
		half = ll.Radius * jitter
	}
	var r0, r1 int // first and last row of the band
	if ll.Kind == FeatureMaps {
		r0, r1 = (b*ll.TileRows+n-1)/n*ll.Maps.H, ((b+1)*ll.TileRows+n-1)/n*ll.Maps.H-1
	} else {
		r0, r1 = (b*ll.Rows+n-1)/n, ((b+1)*ll.Rows+n-1)/n-1
	}
	return ll.rowY(r0) - half, ll.rowY(r1) + half
}

// PerTarget is how many connections into each target neuron of a fan
// drawn by level of detail are drawn at zoom z: a few when the head is
// fitted to the view (grid neurons a few pixels apart), more as the user
// zooms in (Visible caps it by what was kept and by FrameEdges).
func (g *Geometry) PerTarget(z float32) int {
	return max(2, int(math.Ceil(float64(z*spacing)/3)))
}

// FrameEdges caps the connections a large head draws in one frame, so that
// they stay single lines instead of merging into a wall of colour.
const FrameEdges = 6_000

// Visible appends to dst the spans of edge quads to draw for camera c over
// screen rectangle view. A small head draws each on-screen layer pair
// whole. A large one draws, into every target neuron on screen, its
// strongest k inputs, k growing with the zoom and shrinking when many
// targets are in view; when no target of an on-screen pair is in view (the
// user looks at its sources or between the layers), every target shows its
// two strongest inputs.
func (g *Geometry) Visible(c *Camera, view Rect, dst []Span) []Span {
	dst = dst[:0]
	for i := range g.Pairs {
		p := &g.Pairs[i]
		if p.Quads == 0 || !g.onScreen(c, view, p.MinX, p.MaxX) {
			continue
		}
		if p.Ranks == 0 {
			dst = append(dst, Span{p.First, p.First + p.Quads})
			continue
		}
		targets := &g.Layout.Layers[p.K+1]
		seen := 0
		for o := 0; o < targets.N; o++ {
			if g.neuronOnScreen(c, view, targets.First+o) {
				seen++
			}
		}
		k := min(p.Ranks, 2)
		if seen > 0 {
			k = min(p.Ranks, max(g.PerTarget(c.Zoom), fanLines/targets.N), max(2, FrameEdges/seen))
		}
		for o := 0; o < targets.N; o++ {
			if seen > 0 && !g.neuronOnScreen(c, view, targets.First+o) {
				continue
			}
			lo := p.First + o*p.Ranks
			// Neighbouring blocks join into one span: fewer draw calls.
			if n := len(dst); n > 0 && dst[n-1].Hi == lo && k == p.Ranks {
				dst[n-1].Hi = lo + k
			} else {
				dst = append(dst, Span{lo, lo + k})
			}
		}
	}
	return dst
}

// Into is the span of the up to n strongest connections into neuron id
// that a large head keeps, less the first drawn (those Visible already
// draws into it): the view adds them for the hovered neuron, so its
// pathways show whole. It is empty for an input or a pair drawn whole.
func (g *Geometry) Into(id, n, drawn int) Span {
	k, o, ok := g.Layout.Locate(id)
	if !ok || k == 0 || k-1 >= len(g.Pairs) {
		return Span{}
	}
	p := &g.Pairs[k-1]
	if p.Ranks == 0 {
		return Span{}
	}
	lo := p.First + o*p.Ranks
	return Span{lo + min(drawn, p.Ranks), lo + min(max(n, drawn), p.Ranks)}
}

// DrawnInto is how many connections into neuron id the spans draw (the
// prefix of its block that Visible chose).
func (g *Geometry) DrawnInto(id int, spans []Span) int {
	k, o, ok := g.Layout.Locate(id)
	if !ok || k == 0 || k-1 >= len(g.Pairs) || g.Pairs[k-1].Ranks == 0 {
		return 0
	}
	p := &g.Pairs[k-1]
	lo := p.First + o*p.Ranks
	for _, s := range spans {
		if s.Lo <= lo && lo < s.Hi {
			return min(s.Hi, lo+p.Ranks) - lo
		}
	}
	return 0
}

func (g *Geometry) neuronOnScreen(c *Camera, view Rect, id int) bool {
	x, y := c.ToScreen(g.neuronWorld[3*id], g.neuronWorld[3*id+1])
	return view.Contains(x, y)
}

// VisibleBands appends the aggregate spans of the pairs on screen.
func (g *Geometry) VisibleBands(c *Camera, view Rect, dst []Span) []Span {
	dst = dst[:0]
	for i := range g.Pairs {
		p := &g.Pairs[i]
		if p.Band.Hi > p.Band.Lo && g.onScreen(c, view, p.MinX, p.MaxX) {
			dst = append(dst, p.Band)
		}
	}
	return dst
}

// VisibleLayers appends the neuron-quad spans of the layers on screen.
func (g *Geometry) VisibleLayers(c *Camera, view Rect, dst []Span) []Span {
	dst = dst[:0]
	for k := range g.Layout.Layers {
		ll := &g.Layout.Layers[k]
		if g.onScreen(c, view, ll.Bounds.MinX, ll.Bounds.MaxX) {
			dst = append(dst, Span{ll.First, ll.First + ll.N})
		}
	}
	return dst
}

func (g *Geometry) onScreen(c *Camera, view Rect, minX, maxX float32) bool {
	x0, _ := c.ToScreen(minX, 0)
	x1, _ := c.ToScreen(maxX, 0)
	return x1 >= view.MinX && x0 <= view.MaxX
}

// LineWidth is the factor on a connection's width (in device pixels) for
// camera c: about 0.7 when the head is fitted to the view, thickening a
// little as the user zooms in, up to 1 for a dense head (a web of
// hairlines) and 2.5 for a small one.
func (g *Geometry) LineWidth(c *Camera) float32 {
	rel := float32(1)
	if c.fitZoom > 0 {
		rel = c.Zoom / c.fitZoom
	}
	w := min(max(0.7*rel, 0.6), 2.5)
	if !g.Full {
		w = min(w, 1)
	}
	return w * max(c.PixelScale, 0.25)
}

// Project writes the screen positions of the quads in spans for camera c:
// the only per-frame work on the geometry, with no allocation. Neurons never
// shrink below about a pixel, so a zoomed-out head stays visible as points.
func (g *Geometry) Project(c *Camera, neurons, edges, bands []Span) {
	z, px, py, ps := c.Zoom, c.PanX, c.PanY, max(c.PixelScale, 0.25)
	nw := g.neuronWorld
	for _, s := range neurons {
		for id := s.Lo; id < s.Hi; id++ {
			w := nw[3*id : 3*id+3 : 3*id+3]
			x, y := w[0]*z+px, w[1]*z+py
			r := max(w[2]*z, 1.2*ps) + ps // + a pixel for the antialiased rim
			q := g.NeuronVerts[4*id : 4*id+4 : 4*id+4]
			for c := range q {
				q[c].DstX = x + q[c].SrcX*r
				q[c].DstY = y + q[c].SrcY*r
			}
		}
	}
	width := g.LineWidth(c)
	ew := g.edgeWorld
	for _, s := range edges {
		for i := 4 * s.Lo; i < 4*s.Hi; i++ {
			v := &g.EdgeVerts[i]
			e := ew[5*i : 5*i+5 : 5*i+5]
			v.DstX = e[0]*z + px + e[2]*e[4]*width
			v.DstY = e[1]*z + py + e[3]*e[4]*width
		}
	}
	bw := g.bandWorld
	for _, s := range bands {
		for i := 4 * s.Lo; i < 4*s.Hi; i++ {
			v := &g.BandVerts[i]
			v.DstX = bw[2*i]*z + px
			v.DstY = bw[2*i+1]*z + py
		}
	}
}

// Related appends to dst the ids of neuron id's strongest ties in the
// built pass, up to n each way: the inputs with the largest |w·a| into it,
// then the neurons it feeds with the largest |w·a|. The view rings them: in
// a block of feature maps or a grid, whose connections attach beside the
// block, they show where the hovered neuron's pathways begin and end.
func (g *Geometry) Related(id, n int, dst []float32) []float32 {
	dst = dst[:0]
	l, p := g.Layout, g.pass
	k, i, ok := l.Locate(id)
	if !ok || p == nil || n <= 0 {
		return dst
	}
	if k > 0 { // into it: row i of the weights, times the inputs
		lp := &p.Layers[k-1]
		in := l.Layers[k-1].N
		if (i+1)*in <= len(lp.Weight) && len(lp.Input) >= in {
			g.related = g.related[:0]
			for j, w := range lp.Weight[i*in : (i+1)*in] {
				g.related = keepTop(g.related, n, ranked{int32(j), abs32(w * lp.Input[j])})
			}
			for _, r := range g.related {
				dst = append(dst, float32(l.Layers[k-1].First+int(r.src)))
			}
		}
	}
	if k+1 < len(l.Layers) { // out of it: column i of the next weights, times its value
		lp := &p.Layers[k]
		in, out := l.Layers[k].N, l.Layers[k+1].N
		if out*in <= len(lp.Weight) && i < len(lp.Input) {
			g.related = g.related[:0]
			a := lp.Input[i]
			for o := range out {
				g.related = keepTop(g.related, n, ranked{int32(o), abs32(lp.Weight[o*in+i] * a)})
			}
			for _, r := range g.related {
				dst = append(dst, float32(l.Layers[k+1].First+int(r.src)))
			}
		}
	}
	return dst
}

// keepTop inserts r into top, kept sorted by c, largest first, and at most
// n long; a value that is not finite or zero ties nothing.
func keepTop(top []ranked, n int, r ranked) []ranked {
	if !(r.c > 0) || math.IsInf(float64(r.c), 0) || (len(top) == n && r.c <= top[n-1].c) {
		return top
	}
	if len(top) < n {
		top = append(top, r)
	}
	i := len(top) - 1
	for ; i > 0 && top[i-1].c < r.c; i-- {
		top[i] = top[i-1]
	}
	top[i] = r
	return top
}

// Emphasis appends to dst neuron id's quad for camera c, grown by grow (and
// at least 5·(grow-1) pixels), so that the hovered neuron and its ties stand
// out over their neighbours: the engine draws these once more on top.
func (g *Geometry) Emphasis(c *Camera, id int, grow float32, dst []Vertex) []Vertex {
	if id < 0 || 4*id+4 > len(g.NeuronVerts) {
		return dst
	}
	ps := max(c.PixelScale, 0.25)
	w := g.neuronWorld[3*id : 3*id+3 : 3*id+3]
	x, y := c.ToScreen(w[0], w[1])
	base := max(w[2]*c.Zoom, 1.2*ps)
	r := max(grow*base, base+5*(grow-1)*ps) + ps
	for _, v := range g.NeuronVerts[4*id : 4*id+4] {
		v.DstX, v.DstY = x+v.SrcX*r, y+v.SrcY*r
		dst = append(dst, v)
	}
	return dst
}
