// Package scene is the pure-Go half of the network view: where every neuron
// of the head sits, the vertex data that draws neurons and connections, the
// colour ranges, the camera and picking. It does not import Ebitengine, so
// it is tested and benchmarked without a window; the engine package hands
// its vertices to the GPU.
package scene

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/mlpviz/mlpviz/collector"
)

// World-space sizes of the layout. A grid or feature-map tile keeps one
// neuron size; a layer small enough for one column spreads over the head's
// height with its neurons grown to the room they have.
const (
	spacing          = 12            // centre to centre in a grid or a tile
	neuronRadius     = 4.5           // in a grid or a tile
	minTileGap       = 12            // extra space between two feature-map tiles, at least
	tileGapShare     = 0.25          // and as a share of a tile's side: larger tiles need a wider parting
	portGap          = 10            // from a block's edge to where its connections attach
	portSpread       = 0.7           // share of a row's height its ports spread over
	minColumnSpacing = 15            // a looser layer is a grid, not a column
	maxRowPitch      = 2.5 * spacing // how far a grid's rows spread to fill the height
	columnRho        = 0.3           // a column neuron's radius over its spacing
	maxRadius        = 2 * neuronRadius
	minHeight        = 30 * spacing // the height of a head whose input is small
	minGap           = 6 * spacing  // the least free space between two layers
	minGapShare      = 0.25         // and at least this share of the height, so fans stay legible
	maxGapShare      = 1.2          // and the most, as a share of the height
	defaultAspect    = 1.6          // of the area a layout is made for, when not told
	jitter           = 0.6          // how far along its radius a column neuron's connection ends wander
	endInset         = 0.1          // how far inside the disc's edge they end, as a share of the radius
	slopeMargin      = 1.1          // clearance over a neighbour's radius that a line keeps
)

// The window sizes, in logical pixels, that the view lays out: smaller
// windows cannot fit a head beside its panels, larger ones exceed what a
// GPU texture may hold.
const (
	MinWidth, MinHeight = 320, 200
	MaxSide             = 16384
)

// Rect is an axis-aligned rectangle in world or screen units.
type Rect struct{ MinX, MinY, MaxX, MaxY float32 }

// Contains reports whether (x, y) lies inside r.
func (r Rect) Contains(x, y float32) bool {
	return x >= r.MinX && x <= r.MaxX && y >= r.MinY && y <= r.MaxY
}

// Overlaps reports whether r and o share more than an edge.
func (r Rect) Overlaps(o Rect) bool {
	return r.MinX < o.MaxX && o.MinX < r.MaxX && r.MinY < o.MaxY && o.MinY < r.MaxY
}

// Kind is how a layer's neurons are arranged.
type Kind uint8

const (
	// Column is one column spread over the head's height; connections end
	// on the neurons themselves.
	Column Kind = iota
	// Grid is a layer too tall for a column, wrapped row by row;
	// connections end at ports beside its left and right edges, one per
	// neuron, so that none crosses the grid.
	Grid
	// FeatureMaps is a flattened convolution output: one tile of H×W
	// neurons per channel, tiles in a grid, connections leaving from ports
	// beside the block's right edge.
	FeatureMaps
)

// MapShape is the shape of a flattened convolution output: C channels of H×W.
type MapShape struct{ C, H, W int }

// Size is the number of values C·H·W.
func (m MapShape) Size() int { return m.C * m.H * m.W }

// LayerLayout is one layer of neurons.
type LayerLayout struct {
	N     int  // neurons
	First int  // global id of the first neuron
	Kind  Kind // how the neurons are arranged
	// Cols and Rows are the neuron grid: a row's neurons share a height,
	// and a ported layer's connections attach beside it per row. A column
	// is 1×N.
	Cols, Rows int
	// Maps and TileCols×TileRows describe a FeatureMaps layer: tile c sits at
	// tile row c/TileCols, tile column c%TileCols.
	Maps               MapShape
	TileCols, TileRows int
	TileGap            float32 // extra space between two tiles, beyond the spacing
	Left, Top          float32 // world position of neuron 0's centre (of the first tile's)
	Spacing, Radius    float32 // centre to centre in a row, and a neuron's radius, in world units
	RowPitch           float32 // centre to centre of two rows: a grid's rows spread over the height
	Name               string  // "input 576 · 64×3×3", "hidden 2 · 24", "output 10"
	Short              string  // a name for where the full one does not fit: "in 576", "h2 24", "out 10"
	Bounds             Rect    // the neurons with their radius around them
}

// Options say what a layout is for beyond the head's sizes.
type Options struct {
	// Maps is the head input's shape as feature maps, or zero when it is
	// not known (InputMaps); the input is then a plain grid.
	Maps MapShape
	// Aspect is the width over the height of the screen area the head is
	// fitted into; the layout takes about that shape. 0 means 1.6.
	Aspect float32
}

// Layout places every neuron of a head in world coordinates, layers from
// left to right, each centred on y = 0.
type Layout struct {
	Layers []LayerLayout // len(head)+1: the first Linear's inputs, then each Linear's outputs
	Bounds Rect
	Aspect float32 // the aspect it was made for
	total  int
}

// NewLayout lays out a head given its Linear layers' sizes: the input as
// feature-map tiles (or a grid), small layers as columns over the whole
// height, tall ones as grids, with the gaps between layers wide enough that
// no connection crosses a neuron beside its own, and the whole about the
// aspect asked for.
func NewLayout(head []collector.LinearShape, o Options) (*Layout, error) {
	if len(head) == 0 {
		return nil, fmt.Errorf("scene: the head has no Linear layers")
	}
	sizes := []int{head[0].In}
	for i, s := range head {
		if s.In != sizes[i] || s.In <= 0 || s.Out <= 0 {
			return nil, fmt.Errorf("scene: layer %d is %dx%d but the previous layer has %d outputs", i, s.In, s.Out, sizes[i])
		}
		sizes = append(sizes, s.Out)
	}
	aspect := o.Aspect
	if !(aspect > 0) {
		aspect = defaultAspect
	}
	maps := o.Maps
	if maps.Size() != sizes[0] || maps.H*maps.W < 2 {
		maps = MapShape{}
	}
	// Try every arrangement of the input, and the layers after it at its
	// height or taller; keep the one that shows neurons largest when
	// fitted, weighed by the share of the area it fills.
	var best []LayerLayout
	bestScore := float32(-1)
	for _, in := range inputPlans(sizes[0], maps) {
		for _, stretch := range []float32{1, 1.15, 1.3, 1.5} {
			layers, b := arrange(in, sizes[1:], aspect, stretch)
			w, h := b.MaxX-b.MinX, b.MaxY-b.MinY
			zoom := min(aspect/w, 1/h)
			score := zoom * (w * h * zoom * zoom / aspect)
			if in.Kind == FeatureMaps { // a little for whole tile rows: a ragged block reads worse
				score *= 1 - 0.1*float32(in.TileCols*in.TileRows-maps.C)/float32(in.TileCols*in.TileRows)
			}
			if score > bestScore {
				best, bestScore = layers, score
			}
		}
	}
	l := &Layout{Layers: best, Aspect: aspect}
	names(l.Layers, maps)
	l.Bounds = Rect{MinX: math.MaxFloat32, MinY: math.MaxFloat32, MaxX: -math.MaxFloat32, MaxY: -math.MaxFloat32}
	for k := range l.Layers {
		ll := &l.Layers[k]
		ll.First = l.total
		l.total += ll.N
		l.Bounds.MinX = min(l.Bounds.MinX, ll.Bounds.MinX)
		l.Bounds.MinY = min(l.Bounds.MinY, ll.Bounds.MinY)
		l.Bounds.MaxX = max(l.Bounds.MaxX, ll.Bounds.MaxX)
		l.Bounds.MaxY = max(l.Bounds.MaxY, ll.Bounds.MaxY)
	}
	return l, nil
}

// inputPlans lists the arrangements the input layer may take, each with
// its size but not yet its place: every number of tile columns for feature
// maps; otherwise a column when it is small and every grid width.
func inputPlans(n int, maps MapShape) []LayerLayout {
	var plans []LayerLayout
	if maps.C > 0 {
		for tc := 1; tc <= maps.C; tc++ {
			tr := (maps.C + tc - 1) / tc
			if tc > 1 && (maps.C+tc-2)/(tc-1) == tr {
				continue // the same rows with a wider, emptier last row
			}
			plans = append(plans, LayerLayout{N: n, Kind: FeatureMaps, Maps: maps, TileCols: tc, TileRows: tr,
				TileGap: max(minTileGap, tileGapShare*float32(max(maps.H, maps.W))*spacing),
				Cols:    tc * maps.W, Rows: tr * maps.H, Spacing: spacing, RowPitch: spacing, Radius: neuronRadius})
		}
		return plans
	}
	if float32(n-1)*minColumnSpacing <= minHeight {
		plans = append(plans, columnPlan(n, minHeight))
	}
	for cols := 1; cols <= n; cols++ {
		rows := (n + cols - 1) / cols
		if cols > 1 && (n+cols-2)/(cols-1) == rows {
			continue
		}
		plans = append(plans, LayerLayout{N: n, Kind: Grid, Cols: cols, Rows: rows, Spacing: spacing, RowPitch: spacing, Radius: neuronRadius})
	}
	return plans
}

// columnPlan spreads n neurons over height h.
func columnPlan(n int, h float32) LayerLayout {
	sp := h
	if n > 1 {
		sp = h / float32(n-1)
	}
	return LayerLayout{N: n, Kind: Column, Cols: 1, Rows: n, Spacing: sp, RowPitch: sp, Radius: min(columnRho*sp, maxRadius)}
}

// layerPlan arranges a layer after the input within height h: a column if
// its neurons have room, else a grid as narrow as the height allows, its
// rows spread over it (up to maxRowPitch apart).
func layerPlan(n int, h float32) LayerLayout {
	if float32(n-1)*minColumnSpacing <= h {
		return columnPlan(n, h)
	}
	rows := int(h/spacing) + 1
	cols := (n + rows - 1) / rows
	rows = (n + cols - 1) / cols
	return LayerLayout{N: n, Kind: Grid, Cols: cols, Rows: rows, Spacing: spacing,
		RowPitch: min(h/float32(max(rows-1, 1)), maxRowPitch), Radius: neuronRadius}
}

// extent is the width and height of a planned layer, centre to centre.
func (ll *LayerLayout) extent() (w, h float32) {
	switch ll.Kind {
	case FeatureMaps:
		return float32(ll.TileCols)*ll.tilePitchX() - ll.TileGap - ll.Spacing, float32(ll.TileRows)*ll.tilePitchY() - ll.TileGap - ll.Spacing
	default:
		return float32(ll.Cols-1) * ll.Spacing, float32(ll.Rows-1) * ll.RowPitch
	}
}

func (ll *LayerLayout) tilePitchX() float32 { return float32(ll.Maps.W)*ll.Spacing + ll.TileGap }
func (ll *LayerLayout) tilePitchY() float32 { return float32(ll.Maps.H)*ll.Spacing + ll.TileGap }

// Ported reports whether the layer's connections attach at ports beside it
// rather than on its neurons.
func (ll *LayerLayout) Ported() bool { return ll.Kind != Column }

// reach is how far beyond its bounds a layer's connections attach: a port's
// distance, or minus the radius for a column (they end on the centres).
func (ll *LayerLayout) reach() float32 {
	if ll.Ported() {
		return portGap
	}
	return -ll.Radius
}

// maxSlope is the steepest |dy/dx| a connection leaving or entering one
// of the layer's neurons may take without crossing a neighbour's disc:
// unlimited at ports; for a column, where a line ends on the facing edge
// of the disc up to jitter·r off the centre line, what brings it past the
// neighbour's edge (with a margin) before it reaches the neighbour's top.
func (ll *LayerLayout) maxSlope() float32 {
	if ll.Ported() || ll.N < 2 {
		return math.MaxFloat32
	}
	r, d := ll.Radius, jitter*ll.Radius
	px := float32(math.Sqrt(float64(r*r-d*d))) - endInset*r
	if px >= slopeMargin*r {
		return math.MaxFloat32
	}
	return max(ll.RowPitch-slopeMargin*r-d, 0) / (slopeMargin*r - px)
}

// arrange places the input plan and the layers of the given sizes after it
// at stretch times the height the input sets, with gaps widened towards
// aspect, and returns them with their bounds.
func arrange(in LayerLayout, sizes []int, aspect, stretch float32) ([]LayerLayout, Rect) {
	_, hIn := in.extent()
	h := max(hIn, minHeight) * stretch
	layers := make([]LayerLayout, 0, len(sizes)+1)
	layers = append(layers, in)
	for _, n := range sizes {
		layers = append(layers, layerPlan(n, h))
	}
	// The least gap between each two layers: room for the steepest line
	// between them, and minGap.
	need := make([]float32, len(layers)-1)
	widths := float32(0)
	for k := range layers {
		w, _ := layers[k].extent()
		widths += w + 2*layers[k].Radius
		if k == 0 {
			continue
		}
		a, b := &layers[k-1], &layers[k]
		_, ha := a.extent()
		_, hb := b.extent()
		dx := (ha + hb) / 2 / min(a.maxSlope(), b.maxSlope())
		need[k-1] = max(minGap, minGapShare*h, dx-a.reach()-b.reach())
	}
	gaps := fillGaps(need, aspect*(h+2*maxRadius)-widths, maxGapShare*h)
	x := float32(0)
	for k := range layers {
		ll := &layers[k]
		w, hh := ll.extent()
		ll.Left, ll.Top = x+ll.Radius, -hh/2
		ll.Bounds = Rect{x, -hh/2 - ll.Radius, x + w + 2*ll.Radius, hh/2 + ll.Radius}
		if k < len(gaps) {
			x = ll.Bounds.MaxX + gaps[k]
		}
	}
	b := Rect{layers[0].Bounds.MinX, -h/2 - maxRadius, layers[len(layers)-1].Bounds.MaxX, h/2 + maxRadius}
	for _, ll := range layers {
		b.MinY, b.MaxY = min(b.MinY, ll.Bounds.MinY), max(b.MaxY, ll.Bounds.MaxY)
	}
	return layers, b
}

// fillGaps widens the gaps, each at least its need, so that they add up to
// about total: the narrowest grow first, like water poured into them, and
// none beyond most unless it needs to.
func fillGaps(need []float32, total, most float32) []float32 {
	gaps := append([]float32(nil), need...)
	if len(gaps) == 0 {
		return gaps
	}
	// The level L with Σ max(need, L) = total, by bisection on [0, most].
	sum := func(level float32) float32 {
		s := float32(0)
		for _, n := range need {
			s += max(n, level)
		}
		return s
	}
	lo, hi := float32(0), max(most, 0)
	if sum(hi) <= total {
		lo = hi
	} else {
		for range 40 {
			mid := (lo + hi) / 2
			if sum(mid) <= total {
				lo = mid
			} else {
				hi = mid
			}
		}
	}
	for i, n := range need {
		gaps[i] = max(n, lo)
	}
	return gaps
}

// names gives each layer its long and short name.
func names(layers []LayerLayout, maps MapShape) {
	last := len(layers) - 1
	for k := range layers {
		ll := &layers[k]
		switch k {
		case 0:
			ll.Name, ll.Short = fmt.Sprintf("input %d", ll.N), fmt.Sprintf("in %d", ll.N)
			if maps.C > 0 {
				ll.Name += fmt.Sprintf(" · %d×%d×%d", maps.C, maps.H, maps.W)
			}
		case last:
			ll.Name, ll.Short = fmt.Sprintf("output %d", ll.N), fmt.Sprintf("out %d", ll.N)
		default:
			ll.Name, ll.Short = fmt.Sprintf("hidden %d · %d", k, ll.N), fmt.Sprintf("h%d %d", k, ll.N)
		}
	}
}

// Neurons is the number of neurons in all layers.
func (l *Layout) Neurons() int { return l.total }

// Pos is the world position of neuron i of layer k.
func (l *Layout) Pos(k, i int) (x, y float32) { return l.Layers[k].pos(i) }

func (ll *LayerLayout) pos(i int) (x, y float32) {
	if ll.Kind == FeatureMaps {
		m := ll.Maps
		c, r, col := i/(m.H*m.W), i%(m.H*m.W)/m.W, i%m.W
		tx, ty := c%ll.TileCols, c/ll.TileCols
		return ll.Left + float32(tx)*ll.tilePitchX() + float32(col)*ll.Spacing,
			ll.Top + float32(ty)*ll.tilePitchY() + float32(r)*ll.Spacing
	}
	return ll.Left + float32(i%ll.Cols)*ll.Spacing, ll.Top + float32(i/ll.Cols)*ll.RowPitch
}

// cell is neuron i's row of the layer's neuron grid and its place in that
// row (PyTorch flattens C×H×W channel by channel, then row by row).
func (ll *LayerLayout) cell(i int) (row, col int) {
	if ll.Kind == FeatureMaps {
		m := ll.Maps
		c, r, x := i/(m.H*m.W), i%(m.H*m.W)/m.W, i%m.W
		return c/ll.TileCols*m.H + r, c%ll.TileCols*m.W + x
	}
	return i / ll.Cols, i % ll.Cols
}

// rowY is the height of row r of the neuron grid.
func (ll *LayerLayout) rowY(r int) float32 {
	if ll.Kind == FeatureMaps {
		return ll.Top + float32(r/ll.Maps.H)*ll.tilePitchY() + float32(r%ll.Maps.H)*ll.Spacing
	}
	return ll.Top + float32(r)*ll.RowPitch
}

// End is where a connection of neuron i of layer k attaches: beside the
// layer on the side facing the other end (out: towards layer k+1) for a
// ported layer, one port per neuron ordered as the row; on the neuron for a
// column, wandering over the disc by other (the neuron at the far end), so
// that the lines between two evenly spaced columns do not all meet in the
// same few points (a dotted seam halfway between them).
func (l *Layout) End(k, i int, out bool, other int) (x, y float32) {
	x, y = l.Layers[k].endBase(i, out)
	dx, dy := l.Layers[k].endOffset(other, out)
	return x + dx, y + dy
}

// endBase is End without the wandering: the port, or the neuron's centre.
func (ll *LayerLayout) endBase(i int, out bool) (x, y float32) {
	if !ll.Ported() {
		return ll.pos(i)
	}
	row, col := ll.cell(i)
	x = ll.Bounds.MinX - portGap
	if out {
		x = ll.Bounds.MaxX + portGap
	}
	return x, ll.rowY(row) + ll.RowPitch*portSpread*((float32(col)+0.5)/float32(ll.Cols)-0.5)
}

// endOffset is how far a column's connection to neuron other of the next
// (out) or previous layer ends from the centre: on the disc's facing edge,
// so that a steep line clears the neighbours (see maxSlope), at a height
// spread by other. Ports take no offset.
func (ll *LayerLayout) endOffset(other int, out bool) (dx, dy float32) {
	if ll.Ported() {
		return 0, 0
	}
	f := 0.6180339887 * float64(other) // golden and silver ratios: evenly spread, never periodic
	if !out {
		f = 0.4142135624 * float64(other)
	}
	r := float64(ll.Radius)
	d := r * jitter * (2*(f-math.Floor(f)) - 1)
	dx = float32(math.Sqrt(r*r-d*d) - endInset*r)
	if !out {
		dx = -dx
	}
	return dx, float32(d)
}

// PortX is the x at which layer k's connections attach on its out side
// (towards layer k+1) or in side; for a column, its centre line.
func (l *Layout) PortX(k int, out bool) float32 {
	ll := &l.Layers[k]
	switch {
	case !ll.Ported():
		return ll.Left
	case out:
		return ll.Bounds.MaxX + portGap
	}
	return ll.Bounds.MinX - portGap
}

// Locate turns a global neuron id into its layer and index.
func (l *Layout) Locate(id int) (k, i int, ok bool) {
	for k := range l.Layers {
		ll := &l.Layers[k]
		if id >= ll.First && id < ll.First+ll.N {
			return k, id - ll.First, true
		}
	}
	return 0, 0, false
}

// Radius is the radius of layer k's neurons in world units.
func (l *Layout) Radius(k int) float32 { return l.Layers[k].Radius }

// InputMaps is the head input's shape as the feature maps it flattens: the
// last Conv2d's output channels C, and H = W with C·H·W the first Linear's
// inputs. It is zero when the architecture does not say (no Conv2d, a
// pooling that leaves no square) or a neuron cap merged the inputs.
func InputMaps(a *collector.Architecture) MapShape {
	if a == nil || len(a.Head) == 0 {
		return MapShape{}
	}
	in := a.Head[0].In
	if a.NeuronCap > 0 && (len(a.FullHead) == 0 || a.FullHead[0].In != in) {
		return MapShape{}
	}
	c := 0
	for _, m := range a.Modules {
		if m.Kind != "Conv2d" {
			continue
		}
		for _, s := range m.Settings {
			if s.Key == "out_channels" {
				c, _ = strconv.Atoi(strings.TrimSpace(s.Value))
			}
		}
	}
	if c <= 0 || in%c != 0 {
		return MapShape{}
	}
	side := int(math.Round(math.Sqrt(float64(in / c))))
	if side*side != in/c || side < 2 {
		return MapShape{}
	}
	return MapShape{C: c, H: side, W: side}
}
