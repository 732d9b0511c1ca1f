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

	neuronShader, edgeShader *ebiten.Shader
	neuronOpts, edgeOpts     ebiten.DrawTrianglesShaderOptions

	hovered, pinned          []float32 // one value each: neuron id or -1
	edgeHover, dim, strength []float32
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
	n := &network{
		layout: l, geom: scene.NewGeometry(l), picker: scene.NewPicker(l), cam: scene.NewCamera(),
		neuronShader: ns, edgeShader: es,
		hovered: []float32{-1}, pinned: []float32{-1}, edgeHover: []float32{-1},
		dim: []float32{0.12}, strength: []float32{1},
		ranges: make([]float32, shaders.MaxLayers), scales: make([]float32, shaders.MaxLayers),
	}
	n.neuronOpts.Uniforms = map[string]any{"Hovered": n.hovered, "Pinned": n.pinned, "Ranges": n.ranges}
	n.edgeOpts.Uniforms = map[string]any{"Hovered": n.edgeHover, "Dim": n.dim, "Strength": n.strength, "Scales": n.scales}
	n.setPass(nil) // the architecture shows before the first pass arrives
	return n, nil
}

// setPass rebuilds the geometry for p: the only time vertex data changes.
func (n *network) setPass(p *collector.Pass) {
	n.geom.Build(p, n.mode)
	copy(n.ranges, n.geom.Ranges)
	copy(n.scales, n.geom.WeightScales)
	// Many overlapping connections need less opacity each to stay readable.
	n.strength[0] = min(1, max(0.25, 6000/float32(max(n.geom.Edges, 1))))
}

// setView places the network in screen rectangle r, fitting it the first time.
func (n *network) setView(r scene.Rect) {
	n.view = r
	if !n.fitted {
		n.cam.Fit(n.layout.Bounds, r, true)
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
	return n.picker.Pick(wx, wy, 5/n.cam.Zoom) // at least 5 px to aim at
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

func (n *network) draw(dst *ebiten.Image) {
	if n.geom.Builds == 0 {
		return
	}
	n.geom.Project(n.cam)
	if len(n.geom.EdgeIdx) > 0 {
		dst.DrawTrianglesShader32(ebitenVertices(n.geom.EdgeVerts), n.geom.EdgeIdx, n.edgeShader, &n.edgeOpts)
	}
	dst.DrawTrianglesShader32(ebitenVertices(n.geom.NeuronVerts), n.geom.NeuronIdx, n.neuronShader, &n.neuronOpts)
}
