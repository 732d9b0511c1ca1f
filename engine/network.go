package engine

import (
	"fmt"
	"unsafe"

	"github.com/hajimehoshi/ebiten/v2"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/scene"
	"github.com/mlpviz/mlpviz/shaders"
)

// scene.Vertex mirrors ebiten.Vertex field for field, so geometry goes to
// the GPU without a copy on our side.
var _ [unsafe.Sizeof(ebiten.Vertex{}) - unsafe.Sizeof(scene.Vertex{})]byte
var _ [unsafe.Sizeof(scene.Vertex{}) - unsafe.Sizeof(ebiten.Vertex{})]byte

func ebitenVertices(v []scene.Vertex) []ebiten.Vertex {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*ebiten.Vertex)(unsafe.Pointer(&v[0])), len(v))
}

// network draws the head: connections, then neurons, with the shaders in
// shaders/. Its uniforms live in maps built once and changed in place, so
// a frame allocates nothing on our side.
type network struct {
	layout *scene.Layout
	geom   *scene.Geometry
	picker *scene.Picker
	cam    *scene.Camera
	mode   scene.RangeMode

	neuronShader, edgeShader, bandShader *ebiten.Shader
	neuronOpts, edgeOpts, bandOpts       ebiten.DrawTrianglesShaderOptions

	// Spans chosen each frame (culling and level of detail), reused.
	neuronSpans, edgeSpans, bandSpans []scene.Span

	// A new pass's geometry is built on a goroutine into spare, then
	// swapped in, so the window never waits for a large head.
	spare    *scene.Geometry
	building bool
	built    chan *scene.Geometry
	queued   *collector.Pass // the newest pass asked for while building
	hasQueue bool
	inline   bool // the head is small: build on the spot, within the frame

	hovered, pinned          []float32 // one value each: neuron id or -1
	edgeHover, dim, strength []float32
	fade                     []float32 // the aggregate's opacity factor
	fitZoom                  float32   // zoom at which the head fits the view
	ranges, scales           []float32 // shaders.MaxLayers each
	view                     scene.Rect
	fitted                   bool
}

func newNetwork(arch *collector.Architecture) (*network, error) {
	l, err := scene.NewLayout(arch.Head)
	if err != nil {
		return nil, err
	}
	if len(l.Layers) > shaders.MaxLayers {
		return nil, fmt.Errorf("the head has %d layers; the view shows at most %d", len(l.Layers)-1, shaders.MaxLayers-1)
	}
	ns, err := ebiten.NewShader(shaders.Neurons)
	if err != nil {
		return nil, fmt.Errorf("compile neurons.kage: %w", err)
	}
	es, err := ebiten.NewShader(shaders.Edges)
	if err != nil {
		return nil, fmt.Errorf("compile edges.kage: %w", err)
	}
	bs, err := ebiten.NewShader(shaders.Bands)
	if err != nil {
		return nil, fmt.Errorf("compile bands.kage: %w", err)
	}
	n := &network{
		layout: l, geom: scene.NewGeometry(l), picker: scene.NewPicker(l), cam: scene.NewCamera(),
		neuronShader: ns, edgeShader: es, bandShader: bs,
		spare: scene.NewGeometry(l), built: make(chan *scene.Geometry, 1),
		hovered: []float32{-1}, pinned: []float32{-1}, edgeHover: []float32{-1},
		dim: []float32{0.12}, strength: []float32{1}, fade: []float32{1},
		ranges: make([]float32, shaders.MaxLayers), scales: make([]float32, shaders.MaxLayers),
	}
	n.neuronOpts.Uniforms = map[string]any{"Hovered": n.hovered, "Pinned": n.pinned, "Ranges": n.ranges}
	n.edgeOpts.Uniforms = map[string]any{"Hovered": n.edgeHover, "Dim": n.dim, "Strength": n.strength, "Scales": n.scales}
	n.bandOpts.Uniforms = map[string]any{"Hovered": n.edgeHover, "Dim": n.dim, "Fade": n.fade}
	edges := 0
	for k := 0; k+1 < len(l.Layers); k++ {
		edges += l.Layers[k].N * l.Layers[k+1].N
	}
	n.inline = edges <= scene.FullDrawLimit
	n.geom.Build(nil, n.mode) // the architecture shows before the first pass arrives
	n.adopt()
	return n, nil
}

// setPass asks for the geometry of p: built on a goroutine into the spare
// geometry, and shown once ready (poll). Vertex data changes only here.
func (n *network) setPass(p *collector.Pass) {
	if n.inline { // a few milliseconds: the switch shows in this very frame
		n.geom.Build(p, n.mode)
		n.adopt()
		return
	}
	if n.building {
		n.queued, n.hasQueue = p, true // only the newest request matters
		return
	}
	n.building = true
	g, mode := n.spare, n.mode
	go func() {
		g.Build(p, mode)
		n.built <- g
	}()
}

// poll swaps in a finished geometry and reports whether it did.
func (n *network) poll() bool {
	select {
	case g := <-n.built:
		n.spare, n.geom = n.geom, g
		n.building = false
		n.adopt()
		if n.hasQueue {
			p := n.queued
			n.queued, n.hasQueue = nil, false
			n.setPass(p)
		}
		return true
	default:
		return false
	}
}

// adopt takes the shown geometry's colour ranges into the uniforms.
func (n *network) adopt() {
	copy(n.ranges, n.geom.Ranges)
	copy(n.scales, n.geom.WeightScales)
}

// setView places the network in screen rectangle r, fitting it (then
// zooming by zoom, if above 1) the first time.
func (n *network) setView(r scene.Rect, zoom float64) {
	n.view = r
	if !n.fitted {
		n.cam.Fit(n.layout.Bounds, r, true)
		n.fitZoom = n.cam.Zoom
		if zoom > 1 {
			n.cam.ZoomAt((r.MinX+r.MaxX)/2, (r.MinY+r.MaxY)/2, float32(zoom))
			n.cam.Settle()
		}
		n.fitted = true
	}
}

// fit eases the camera to show the whole head.
func (n *network) fit() { n.cam.Fit(n.layout.Bounds, n.view, false) }

// hover picks the neuron under screen point (x, y), or -1.
func (n *network) hover(x, y float32) int {
	if !n.view.Contains(x, y) {
		return -1
	}
	wx, wy := n.cam.ToWorld(x, y)
	return n.picker.Pick(wx, wy, 5*n.cam.PixelScale/n.cam.Zoom) // at least 5 px to aim at
}

// setHover sets the hovered and pinned neurons: uniforms only.
func (n *network) setHover(hovered, pinned int) {
	n.hovered[0], n.pinned[0] = float32(hovered), float32(pinned)
	lit := hovered
	if lit < 0 {
		lit = pinned
	}
	n.edgeHover[0] = float32(lit)
}

// draw submits what the camera sees: the aggregate, then each visible
// layer pair's top connections, then the visible layers' neurons.
func (n *network) draw(dst *ebiten.Image) {
	g := n.geom
	n.neuronSpans = g.VisibleLayers(n.cam, n.view, n.neuronSpans)
	n.edgeSpans = g.Visible(n.cam, n.view, n.edgeSpans)
	n.bandSpans = g.VisibleBands(n.cam, n.view, n.bandSpans)
	g.Project(n.cam, n.neuronSpans, n.edgeSpans, n.bandSpans)
	// Many overlapping connections need less opacity each to stay
	// readable, not a wall of colour: scale by how many are drawn now.
	drawn := 0
	for _, s := range n.edgeSpans {
		drawn += s.Hi - s.Lo
	}
	// Zoomed in, each line crosses more of the screen: fade by that too.
	rel := max(1, n.cam.Zoom/max(n.fitZoom, 1e-6))
	n.strength[0] = min(1, max(0.01, 4000/(float32(max(drawn, 1))*rel)))
	n.fade[0] = min(1, max(0.1, 1.5*n.fitZoom/n.cam.Zoom))
	drawSpans(dst, g.BandVerts, n.bandSpans, g.QuadIdx, n.bandShader, &n.bandOpts)
	drawSpans(dst, g.EdgeVerts, n.edgeSpans, g.QuadIdx, n.edgeShader, &n.edgeOpts)
	drawSpans(dst, g.NeuronVerts, n.neuronSpans, g.QuadIdx, n.neuronShader, &n.neuronOpts)
}

// drawSpans draws quads [Lo, Hi) of verts for each span, one call each;
// every call passes only its own vertices, since Ebitengine copies every
// vertex it is given.
func drawSpans(dst *ebiten.Image, verts []scene.Vertex, spans []scene.Span, idx []uint32, sh *ebiten.Shader, op *ebiten.DrawTrianglesShaderOptions) {
	for _, s := range spans {
		if s.Hi > s.Lo {
			dst.DrawTrianglesShader32(ebitenVertices(verts[4*s.Lo:4*s.Hi]), idx[:6*(s.Hi-s.Lo)], sh, op)
		}
	}
}
