package engine

import (
	"fmt"
	"image"
	"math"
	"unsafe"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/text/v2"

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

// hoverInputs is how many of its strongest connections a hovered neuron
// of a large head shows, however few the level of detail draws.
const hoverInputs = 32

// litTies is how many of the hovered neuron's strongest inputs, and as many
// outputs, are ringed (the size of neurons.kage's Lit is twice this).
const litTies = 8

// network draws the head: connections, then neurons, with the shaders in
// shaders/. Its uniforms live in maps built once and changed in place, so
// a frame allocates nothing on our side.
//
// The layout is made for the shape of the area the head is fitted into, so
// that the head fills it; when that shape changes (a resize, the side bar
// hidden) a new layout is built with the next geometry and shown with it.
type network struct {
	head    []collector.LinearShape
	maps    scene.MapShape
	classes []string // class names beside the output neurons; nil when they do not match

	layout *scene.Layout // the shown geometry's layout
	next   *scene.Layout // the layout the next build uses
	geom   *scene.Geometry
	picker *scene.Picker
	cam    *scene.Camera
	mode   scene.RangeMode
	in     viewInput // the newest pass and view mode asked for
	shown  viewShown // what the shown geometry draws

	neuronShader, edgeShader, bandShader *ebiten.Shader
	neuronOpts, edgeOpts, bandOpts       ebiten.DrawTrianglesShaderOptions

	// Spans chosen each frame (culling and level of detail), reused.
	neuronSpans, edgeSpans, bandSpans []scene.Span
	emphasis                          []scene.Vertex // the lit neuron and its ties, enlarged

	// A new pass's geometry is built on a goroutine into spare, then
	// swapped in, so the window never waits for a large head.
	spare    *scene.Geometry
	building bool
	built    chan builtView
	again    bool // another build was asked for while one ran
	inline   bool // the head is small: build on the spot, within the frame

	hovered, pinned []float32 // one value each: neuron id or -1
	lit             []float32 // the lit neuron's strongest ties (Lit)
	litFor          int       // the neuron lit was found for
	litGeom         *scene.Geometry
	edgeHover, dim  []float32
	strength        []float32 // per layer pair: its lines' opacity (thin)
	fade            []float32 // the aggregate's opacity factor
	fitZoom         float32   // zoom at which the head fits the view
	ranges, scales  []float32 // shaders.MaxLayers each

	view, area scene.Rect // the screen area, and the part of it the head is fitted into
	zoom       float32    // the initial zoom asked for (Options.Zoom), until the user fits the view
	fitted     bool
	// auto says the camera still shows what the window chose (the fit,
	// zoomed by the option), not where the user moved it: a new area or
	// layout then fits again. autoAt is that view's target.
	auto   bool
	autoAt [3]float32

	labels netLabels
}

func newNetwork(arch *collector.Architecture) (*network, error) {
	if len(arch.Head)+1 > shaders.MaxLayers {
		return nil, fmt.Errorf("the head has %d layers; the view shows at most %d", len(arch.Head), shaders.MaxLayers-1)
	}
	n := &network{head: arch.Head, maps: scene.InputMaps(arch), cam: scene.NewCamera(), litFor: -1}
	if len(arch.Head) > 0 && len(arch.ClassNames) == arch.Head[len(arch.Head)-1].Out {
		n.classes = arch.ClassNames
	}
	l, err := scene.NewLayout(n.head, scene.Options{Maps: n.maps})
	if err != nil {
		return nil, err
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
	n.layout, n.next, n.geom, n.spare, n.picker = l, l, scene.NewGeometry(l), scene.NewGeometry(l), scene.NewPicker(l)
	n.neuronShader, n.edgeShader, n.bandShader = ns, es, bs
	n.built = make(chan builtView, 1)
	n.hovered, n.pinned, n.edgeHover = []float32{-1}, []float32{-1}, []float32{-1}
	n.lit = make([]float32, 2*litTies)
	clearLit(n.lit)
	n.dim, n.strength, n.fade = []float32{0.12}, make([]float32, shaders.MaxLayers), []float32{1}
	n.ranges, n.scales = make([]float32, shaders.MaxLayers), make([]float32, shaders.MaxLayers)
	n.neuronOpts.Uniforms = map[string]any{"Hovered": n.hovered, "Pinned": n.pinned, "Lit": n.lit, "Ranges": n.ranges}
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

func clearLit(lit []float32) {
	for i := range lit {
		lit[i] = -1
	}
}

// viewInput is what the view is asked to draw: a pass in a view mode,
// with the pass before it (ViewUpdates) and the reference (ViewChange).
type viewInput struct {
	mode         scene.ViewMode
	p, prev, ref *collector.Pass
	// ready says p already holds mode's quantity: B − A of two runs'
	// derived passes.
	ready bool
}

// viewShown is what a built geometry draws: in, asked for, as pass (the
// mode's derived pass) in mode, which is ViewActivations when in's mode
// could not be derived; err says why not.
type viewShown struct {
	in   viewInput
	mode scene.ViewMode
	pass *collector.Pass
	err  error
}

// builtView is a geometry built on a goroutine, with what it shows.
type builtView struct {
	g     *scene.Geometry
	shown viewShown
}

// build fills g for in under range mode rm: the pass derived for in's mode
// (scene.Derive, with its fixed scale), or, when the pass cannot show that
// mode (a run without gradients, the first pass's updates), its
// activations, with the reason.
func (in viewInput) build(g *scene.Geometry, rm scene.RangeMode) viewShown {
	s := viewShown{in: in, mode: scene.ViewActivations, pass: in.p}
	g.Fixed = 0
	if in.ready {
		s.mode = in.mode
	} else if in.p != nil && in.mode != scene.ViewActivations {
		if d, err := scene.Derive(in.mode, in.p, in.prev, in.ref); err != nil {
			s.err = err
		} else {
			s.mode, s.pass, g.Fixed = in.mode, d.Pass, d.Fixed
		}
	}
	g.Build(s.pass, rm)
	if g.Fixed > 0 && len(in.p.Layers) > 0 && len(g.Ranges) > 0 {
		// The input layer has no weights into it, so a mode's fixed scale
		// says nothing about it: it keeps the probe's activation on its
		// own range, as in every other mode.
		r, _ := scene.Ranges([][]float32{in.p.Layers[0].Input}, scene.PerLayer, nil, nil)
		g.Ranges[0] = r[0]
	}
	return s
}

// derived is the pass in's mode draws: the pass itself for activations
// (or when there is none), else what scene.Derive makes of it.
func (in viewInput) derived() (*collector.Pass, error) {
	if in.p == nil || in.ready || in.mode == scene.ViewActivations {
		return in.p, nil
	}
	d, err := scene.Derive(in.mode, in.p, in.prev, in.ref)
	return d.Pass, err
}

// setPass asks for the geometry of in: built on a goroutine into the spare
// geometry, and shown once ready (poll). Vertex data changes only here.
func (n *network) setPass(in viewInput) {
	n.in = in
	n.rebuild()
}

// rebuild builds the newest pass with the newest layout: on the spot for a
// small head, else on a goroutine, or after the build under way.
func (n *network) rebuild() {
	if n.inline { // a few milliseconds: the switch shows in this very frame
		n.geom.Layout = n.next
		n.shown = n.in.build(n.geom, n.mode)
		n.adopt()
		return
	}
	if n.building {
		n.again = true // only the newest request matters
		return
	}
	n.building = true
	g, in, mode := n.spare, n.in, n.mode
	g.Layout = n.next
	go func() {
		n.built <- builtView{g, in.build(g, mode)}
	}()
}

// poll swaps in a finished geometry and reports whether it did.
func (n *network) poll() bool {
	select {
	case b := <-n.built:
		n.spare, n.geom, n.shown = n.geom, b.g, b.shown
		n.building = false
		n.adopt()
		if n.again {
			n.again = false
			n.rebuild()
		}
		return true
	default:
		return false
	}
}

// adopt takes the shown geometry's colour ranges into the uniforms, and
// its layout, if new, for picking, labels and the camera.
func (n *network) adopt() {
	copy(n.ranges, n.geom.Ranges)
	copy(n.scales, n.geom.WeightScales)
	n.litFor = -1 // the ties are the new pass's
	if n.geom.Layout != n.layout {
		n.layout = n.geom.Layout
		n.picker = scene.NewPicker(n.layout)
		if n.fitted {
			n.autoFit() // the world changed under the camera
		}
	}
}

// Layout shapes are rounded to steps of this factor, so that dragging a
// window's edge does not build a new layout every few pixels.
const aspectStep = 1.08

// setView places the network in screen rectangle r, fitting it (then
// zooming by zoom, if above 1) the first time and whenever r changes while
// the camera still shows that automatic view.
func (n *network) setView(r scene.Rect, zoom float64) {
	n.view = r
	if !n.fitted {
		n.zoom = float32(zoom)
	}
	area := n.labels.fitArea(r, n.cam.PixelScale, n.classes)
	if w, h := area.MaxX-area.MinX, area.MaxY-area.MinY; w > 0 && h > 0 {
		step := math.Log(aspectStep)
		aspect := float32(math.Pow(aspectStep, math.Round(math.Log(float64(w/h))/step)))
		aspect = min(max(aspect, 0.5), 4)
		if aspect != n.next.Aspect {
			if l, err := scene.NewLayout(n.head, scene.Options{Maps: n.maps, Aspect: aspect}); err == nil {
				n.next = l
				n.rebuild()
			}
		}
	}
	if n.auto {
		z, x, y := n.cam.Target()
		n.auto = n.autoAt == [3]float32{z, x, y}
	}
	if !n.fitted || (n.auto && area != n.area) {
		n.area = area
		n.autoFit()
	}
	n.area = area
}

// autoFit shows the whole head in the fit area at once, zoomed by the
// option the first time (and while the user has not moved the camera).
func (n *network) autoFit() {
	r := n.area
	n.cam.Fit(n.layout.Bounds, r, true)
	n.fitZoom = n.cam.Zoom
	if n.zoom > 1 {
		n.cam.ZoomAt((r.MinX+r.MaxX)/2, (r.MinY+r.MaxY)/2, n.zoom)
		n.cam.Settle()
	}
	n.fitted, n.auto = true, true
	z, x, y := n.cam.Target()
	n.autoAt = [3]float32{z, x, y}
}

// fit eases the camera to show the whole head.
func (n *network) fit() {
	n.cam.Fit(n.layout.Bounds, n.area, false)
	z, x, y := n.cam.Target()
	n.fitZoom, n.auto, n.autoAt, n.zoom = z, true, [3]float32{z, x, y}, 1
}

// hover picks the neuron under screen point (x, y), or -1.
func (n *network) hover(x, y float32) int {
	if !n.view.Contains(x, y) {
		return -1
	}
	wx, wy := n.cam.ToWorld(x, y)
	return n.picker.Pick(wx, wy, 5*n.cam.PixelScale/n.cam.Zoom) // at least 5 px to aim at
}

// setHover sets the hovered and pinned neurons: uniforms, and the lit
// neuron's ties when it or the pass changed.
func (n *network) setHover(hovered, pinned int) {
	n.hovered[0], n.pinned[0] = float32(hovered), float32(pinned)
	lit := hovered
	if lit < 0 {
		lit = pinned
	}
	n.edgeHover[0] = float32(lit)
	if lit != n.litFor || n.litGeom != n.geom {
		n.litFor, n.litGeom = lit, n.geom
		clearLit(n.lit)
		n.geom.Related(lit, litTies, n.lit[:0]) // at most 2·litTies: fills n.lit in place
	}
}

// draw submits what the camera sees: the aggregate, then each visible
// layer pair's top connections, then the visible layers' neurons, then the
// lit neuron and its strongest ties once more, enlarged, on top of their
// neighbours.
func (n *network) draw(dst *ebiten.Image) {
	g := n.geom
	n.neuronSpans = g.VisibleLayers(n.cam, n.view, n.neuronSpans)
	n.edgeSpans = g.Visible(n.cam, n.view, n.edgeSpans)
	if lit := int(n.edgeHover[0]); lit >= 0 { // the lit neuron's pathways, whole
		if s := g.Into(lit, hoverInputs, g.DrawnInto(lit, n.edgeSpans)); s.Hi > s.Lo {
			n.edgeSpans = append(n.edgeSpans, s)
		}
	}
	n.bandSpans = g.VisibleBands(n.cam, n.view, n.bandSpans)
	g.Project(n.cam, n.neuronSpans, n.edgeSpans, n.bandSpans)
	n.thin()
	n.fade[0] = min(1, max(0.1, 1.5*n.fitZoom/n.cam.Zoom))
	drawSpans(dst, g.BandVerts, n.bandSpans, g.QuadIdx, n.bandShader, &n.bandOpts)
	drawSpans(dst, g.EdgeVerts, n.edgeSpans, g.QuadIdx, n.edgeShader, &n.edgeOpts)
	drawSpans(dst, g.NeuronVerts, n.neuronSpans, g.QuadIdx, n.neuronShader, &n.neuronOpts)
	if lit := int(n.edgeHover[0]); lit >= 0 {
		n.emphasis = n.emphasis[:0]
		for _, id := range n.lit {
			n.emphasis = g.Emphasis(n.cam, int(id), 1.4, n.emphasis)
		}
		n.emphasis = g.Emphasis(n.cam, lit, 2, n.emphasis)
		if q := len(n.emphasis) / 4; q > 0 {
			dst.DrawTrianglesShader32(ebitenVertices(n.emphasis), g.QuadIdx[:6*q], n.neuronShader, &n.neuronOpts)
		}
	}
}

// inkTarget is how much of a fan's height its connections may cover, the
// opacity of each line times its width summed across the fan: beyond it a
// fan reads as a wall of colour, not as lines.
const inkTarget = 0.35

// thin sets each layer pair's line strength from the ink its drawn
// connections pour into the height the pair takes on screen: dense fans
// get fainter lines, sparse ones full strength.
func (n *network) thin() {
	g, z := n.geom, n.cam.Zoom
	width := g.LineWidth(n.cam)
	for i := range g.Pairs {
		p := &g.Pairs[i]
		drawn := 0
		for _, s := range n.edgeSpans {
			drawn += max(0, min(s.Hi, p.First+p.Quads)-max(s.Lo, p.First))
		}
		a, b := &n.layout.Layers[p.K].Bounds, &n.layout.Layers[p.K+1].Bounds
		h := min(max(a.MaxY-a.MinY, b.MaxY-b.MinY)*z, n.view.MaxY-n.view.MinY)
		ink := float32(drawn) * p.Ink * width / max(h, 1)
		n.strength[p.K] = min(1, max(0.02, inkTarget/max(ink, 1e-6)))
	}
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

// netLabels are the names drawn over the picture: each layer's above it,
// and the dataset's class names beside the output neurons. Each is
// rendered into its own cache when its text changes.
type netLabels struct {
	scale      float32 // of measure, the face fitArea measures with
	measure    *text.GoTextFace
	classW     float64 // the widest class name
	slots      []labelSlot
	drawnScale float64           // the UI scale the slots were drawn at
	at         []image.Rectangle // per slot, where it goes this frame; empty when left out
	names      *scene.Layout     // the layout whose layer names nameW measures
	nameW      [][2]int          // per layer, the width of its full and its short name
	short      bool              // the layer names are the short ones this frame
	now        int               // the slot renderNetLabel draws
}

type labelSlot struct {
	text   string
	bright bool
	width  int // of its box, in pixels
	cache  panelCache
}

// fitArea is the part of view the head is fitted into: below a strip for
// the layer names, and left of a column for the class names, so that at
// the fit both are inside the view. ps is the UI scale.
func (ls *netLabels) fitArea(view scene.Rect, ps float32, classes []string) scene.Rect {
	if ls.measure == nil || ls.scale != ps {
		src, err := goSources()
		if err != nil {
			return view
		}
		ls.scale, ls.measure = ps, &text.GoTextFace{Source: src.regular, Size: smallSize * float64(ps)}
		ls.classW = 0
		for _, c := range classes {
			ls.classW = max(ls.classW, text.Advance(c, ls.measure))
		}
	}
	a := view
	a.MinY += float32(lineHeight(ls.measure)) + 12*ps
	if len(classes) > 0 {
		a.MaxX -= float32(ls.classW) + 14*ps
	}
	if a.MaxX-a.MinX < (view.MaxX-view.MinX)/2 || a.MaxY-a.MinY < (view.MaxY-view.MinY)/2 {
		return view // too small a view to spare the room: the labels give way
	}
	return a
}

// drawNetLabels names each layer above it (its short name where the long
// one would run into a neighbour's) and each output neuron by its class,
// the predicted one brighter, following the camera; a label that would
// leave the view or cover another is left out.
func (g *Game) drawNetLabels(screen *ebiten.Image) {
	n, ls := g.net, &g.net.labels
	layers := n.layout.Layers
	if slots := len(layers) + len(n.classes); len(ls.slots) != slots || ls.drawnScale != g.scale || ls.names != n.layout {
		ls.slots, ls.at, ls.drawnScale, ls.names = make([]labelSlot, slots), make([]image.Rectangle, slots), g.scale, n.layout
		ls.nameW = make([][2]int, len(layers))
		for k := range layers {
			ls.nameW[k] = [2]int{g.textWidth(layers[k].Name), g.textWidth(layers[k].Short)}
		}
	}
	v := image.Rect(int(n.view.MinX), int(n.view.MinY), int(n.view.MaxX), int(n.view.MaxY))
	lh := int(lineHeight(g.fonts.Small)) + g.px(2)
	// The layer names, all on one line above the head, each centred over
	// its layer: the full names if they all fit side by side, else all the
	// short ones, so that the line reads alike.
	for short := range 2 {
		clear(ls.at)
		fits := true
		for k := range layers {
			ll := &layers[k]
			x, y := n.cam.ToScreen((ll.Bounds.MinX+ll.Bounds.MaxX)/2, n.layout.Bounds.MinY)
			if x < n.view.MinX || x > n.view.MaxX {
				continue
			}
			w := ls.nameW[k][short]
			left := min(max(int(x)-w/2, v.Min.X+g.px(4)), v.Max.X-g.px(4)-w)
			top := max(int(y)-lh-g.px(8), v.Min.Y+g.px(4))
			if !g.placeLabel(k, image.Rect(left, top, left+w, top+lh), v) {
				fits = false
			}
		}
		if fits || short == 1 {
			ls.short = short == 1
			break
		}
	}
	for k := range layers { // drawn where placed; one that did not fit is left out
		if r := ls.at[k]; !r.Empty() {
			name := layers[k].Name
			if ls.short {
				name = layers[k].Short
			}
			g.labelWidth(k, name, false)
			g.drawLabel(screen, k, r)
		}
	}
	if len(n.classes) == 0 {
		return
	}
	out := len(layers) - 1
	pred := -1
	if p := g.pass; p != nil {
		pred = p.Prediction
		if pred < 0 || pred >= len(p.Probs) {
			pred = argmax(p.Probs)
		}
	}
	r := layers[out].Radius * n.cam.Zoom
	for j, c := range n.classes {
		x, y := n.cam.ToScreen(n.layout.Pos(out, j))
		left, top := int(x+r)+g.px(6), int(y)-lh/2
		slot := len(layers) + j
		w := g.labelWidth(slot, c, j == pred)
		if r := image.Rect(left, top, left+w, top+lh); g.placeLabel(slot, r, v) {
			g.drawLabel(screen, slot, r)
		}
	}
}

// labelWidth sets label slot's text and returns its width in pixels.
func (g *Game) labelWidth(slot int, s string, bright bool) int {
	sl := &g.net.labels.slots[slot]
	if sl.text != s || sl.bright != bright {
		sl.text, sl.bright, sl.width = s, bright, g.textWidth(s)
		sl.cache.invalidate()
	}
	return sl.width
}

// textWidth is the width of a label's box for s.
func (g *Game) textWidth(s string) int {
	return int(math.Ceil(text.Advance(s, g.fonts.Small))) + g.px(2)
}

// placeLabel reports whether label slot fits at r: inside the view v and
// clear of the labels placed this frame; if so it is placed there.
func (g *Game) placeLabel(slot int, r, v image.Rectangle) bool {
	ls := &g.net.labels
	if !r.In(v) {
		return false
	}
	for _, p := range ls.at {
		if p.Overlaps(r) {
			return false
		}
	}
	ls.at[slot] = r
	return true
}

// drawLabel draws label slot at r from its cache.
func (g *Game) drawLabel(screen *ebiten.Image, slot int, r image.Rectangle) {
	ls := &g.net.labels
	ls.now = slot
	ls.slots[slot].cache.draw(screen, r, g.renderNetLabel)
}

func (g *Game) renderNetLabel(dst *ebiten.Image) {
	sl := &g.net.labels.slots[g.net.labels.now]
	c := g.theme.TextDim
	if sl.bright {
		c = g.theme.Text
	}
	drawText(dst, sl.text, g.fonts.Small, float64(g.px(1)), float64(g.px(1)), c, text.AlignStart)
}
