package engine

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/text/v2"

	"github.com/mlpviz/mlpviz/scene"
)

// legendHeight is the legend row's height in logical pixels: a caption
// line over a colour bar with its numeric ends.
const legendHeight = 40

// legendKey is everything the legend shows; it renders again only when
// this changes.
type legendKey struct {
	size      image.Point
	mode      scene.RangeMode
	actLayer  int
	actRange  float32
	pair      int
	weightEnd float32
	hasOutput bool
	passShown bool
	layout    *scene.Layout // the names on the captions are its layers'

	view            scene.ViewMode // what the shown geometry draws
	prev, ref       int            // the steps the updates and change views compare with
	health          bool           // the pass measured its neurons' health: key the marks
	dead, saturated int
	batch           int // the health batch's images
	// twoRuns: run B's network is drawn beside A's with its own marks,
	// counted in deadB and saturatedB.
	twoRuns           bool
	deadB, saturatedB int
}

// legend is the colour key along the bottom of the network view: what a
// neuron's colour and a connection's colour are worth in the shown pass,
// in the view mode shown and under the range mode in force, and the marks
// on unhealthy neurons. It follows the hovered neuron's layer, whose scale
// is the one a user is reading.
type legend struct {
	key        legendKey
	cache      panelCache
	swatch     []scene.Vertex // a neuron quad drawn with the view's own shader
	swatchOpts ebiten.DrawTrianglesShaderOptions
}

// legendItem is one key: a caption over a bar with its ends (and its
// middle, for a scale centred on a value that matters), or over marks.
type legendItem struct {
	caption     string
	short       string // the caption with the layers' short names, where the caption does not fit
	lo, mid, hi string
	paint       func(t float64) color.RGBA // colour at t in 0..1 along the bar
	marks       []legendMark               // instead of a bar: neurons as the view marks them
}

// legendMark is a neuron drawn with a flag (scene.FlagDead, ...) and
// what it means.
type legendMark struct {
	flag  float32
	label string
}

// legendNow is the legend's content for the shown pass.
func (g *Game) legendNow() legendKey {
	n := g.net
	layers := n.layout.Layers
	s := &n.shown
	// The output is keyed apart (probabilities) in the activations view
	// only; a derived view colours it like any layer.
	last := len(layers) - 2
	if s.mode != scene.ViewActivations {
		last = len(layers) - 1
	}
	k := 1 // the first hidden layer, unless a neuron says otherwise
	if id := g.litNeuron(); id >= 0 {
		if kk, _, ok := n.layout.Locate(id); ok && kk <= last {
			k = kk
		}
	}
	k = max(min(k, last), 0) // a head of one Linear has no hidden layer
	if s.mode == scene.ViewGradients || s.mode == scene.ViewUpdates || s.mode == scene.ViewBiases {
		k = max(k, 1) // the input has no gradient, update or bias: it shows its activation
	}
	pair := max(k-1, 0)
	key := legendKey{
		size: g.legendRect().Size(), mode: n.mode, actLayer: k, actRange: n.ranges[k],
		pair: pair, weightEnd: n.scales[pair], hasOutput: len(layers) > 1,
		passShown: g.pass != nil, layout: n.layout,
		view: s.mode, prev: -1, ref: -1,
		health: n.geom.Health, dead: n.geom.Dead, saturated: n.geom.Saturated, batch: g.arch.HealthBatch,
	}
	if c := g.cmp; c != nil && c.layout == SideBySide && c.net.geom.Health {
		key.twoRuns, key.deadB, key.saturatedB = true, c.net.geom.Dead, c.net.geom.Saturated
	}
	if s.in.prev != nil {
		key.prev = s.in.prev.Step
	}
	if s.in.ref != nil {
		key.ref = s.in.ref.Step
	}
	return key
}

// litNeuron is the hovered neuron, else the pinned one, else -1.
func (g *Game) litNeuron() int {
	if g.ptr.hovered >= 0 {
		return g.ptr.hovered
	}
	return g.ptr.pinned
}

func (g *Game) drawLegend(screen *ebiten.Image) {
	k := g.legendNow()
	if k != g.legend.key {
		g.legend.key = k
		g.legend.cache.invalidate()
	}
	g.legend.cache.draw(screen, g.legendRect(), g.renderLegend)
}

// legendItems are the keys for k, the most useful first: the neuron scale
// of the layer being read (activation, gradient, update, bias or change,
// by the view mode), the health marks when the pass has them, the output
// probabilities in the activations view, and the connections' scale into
// that layer.
func (g *Game) legendItems(k legendKey) []legendItem {
	if items := g.compareLegendItems(k); items != nil {
		return items
	}
	th := g.theme
	layers := g.net.layout.Layers
	scope, short := "per layer: "+layers[k.actLayer].Name, "layer "+layers[k.actLayer].Short
	if k.mode == scene.Global {
		scope, short = "global, all layers", "global"
	}
	into, intoShort := "into "+layers[k.pair+1].Name, "into "+layers[k.pair+1].Short
	neurons := func(what, whatShort string) legendItem {
		return legendItem{
			caption: what + " · " + scope + " (G)", short: whatShort + " · " + short,
			lo: formatValue(float64(-k.actRange)), hi: formatValue(float64(k.actRange)),
			paint: func(t float64) color.RGBA { return toRGBA(scene.Diverging(float32(2*t - 1))) },
		}
	}
	weightPaint := func(t float64) color.RGBA {
		r, gg, b, a := scene.WeightColour(float32(2*t - 1))
		return over(th.Panel, r, gg, b, a)
	}
	connections := func(what string) legendItem {
		return legendItem{
			caption: what + " · " + into, short: what + " · " + intoShort,
			lo: formatValue(float64(-k.weightEnd)), hi: formatValue(float64(k.weightEnd)), paint: weightPaint,
		}
	}
	var items []legendItem
	switch k.view {
	case scene.ViewGradients:
		items = append(items, neurons("∂L/∂b", "∂L/∂b"))
	case scene.ViewUpdates:
		lo, mid, hi := updateEnds()
		since := fmt.Sprintf(" since step %d", k.prev)
		items = append(items, legendItem{
			caption: "neuron update |ΔW|/|W| a step, of its input weights" + since, short: "update a step" + since,
			lo: lo, mid: mid, hi: hi,
			paint: func(t float64) color.RGBA { return toRGBA(scene.Diverging(float32(2*t - 1))) },
		})
	case scene.ViewBiases:
		items = append(items, neurons("bias", "bias"))
	case scene.ViewChange:
		items = append(items, neurons(fmt.Sprintf("Δ activation since step %d", k.ref), fmt.Sprintf("Δa since step %d", k.ref)))
	default:
		items = append(items, neurons("activation", "activation"))
	}
	if k.health {
		items = append(items, legendItem{
			caption: fmt.Sprintf("health over %d images", k.batch), short: "health",
			marks: []legendMark{
				{scene.FlagDead, healthWords(k, k.dead, k.deadB, "dead")},
				{scene.FlagSaturated, healthWords(k, k.saturated, k.saturatedB, "saturated")},
			},
		})
	}
	if !k.hasOutput {
		return items
	}
	switch k.view {
	case scene.ViewGradients:
		items = append(items, connections("∂L/∂w"))
	case scene.ViewUpdates:
		lo, mid, hi := updateEnds()
		items = append(items, legendItem{
			caption: "update |Δw|/|w| a step · connections", short: "|Δw|/|w| a step",
			lo: lo, mid: mid, hi: hi, paint: weightPaint,
		})
	case scene.ViewChange:
		items = append(items, connections(fmt.Sprintf("Δw since step %d", k.ref)))
	case scene.ViewBiases:
		items = append(items, connections("weight"))
	default:
		items = append(items, legendItem{
			caption: "probability · " + layers[len(layers)-1].Name, short: "probability",
			lo: "0%", hi: "100%",
			paint: func(t float64) color.RGBA { return toRGBA(scene.Diverging(float32(t))) },
		}, connections("weight"))
	}
	return items
}

// updateEnds label the updates view's scale: its ends and its middle, the
// healthy ratio, as powers of ten ("1e-6", "1e-3", "1e0").
func updateEnds() (lo, mid, hi string) {
	c := int(math.Round(math.Log10(scene.HealthyUpdate)))
	return fmt.Sprintf("1e%d", c-scene.UpdateDecades), fmt.Sprintf("1e%d", c), fmt.Sprintf("1e%d", c+scene.UpdateDecades)
}

// toRGBA turns a scene colour (0..1 channels) into an opaque RGBA.
func toRGBA(r, g, b float32) color.RGBA {
	c := func(x float32) uint8 { return uint8(min(max(x, 0), 1)*255 + 0.5) }
	return color.RGBA{R: c(r), G: c(g), B: c(b), A: 0xff}
}

// over composes a colour of opacity a on an opaque background, as the
// connections are composed on the view.
func over(bg color.RGBA, r, g, b, a float32) color.RGBA {
	l := func(x float32, y uint8) uint8 { return uint8(min(max(x*a*255+float32(y)*(1-a), 0), 255) + 0.5) }
	return color.RGBA{R: l(r, bg.R), G: l(g, bg.G), B: l(b, bg.B), A: 0xff}
}

// legendSlot is where one item goes in the row.
type legendSlot struct {
	item           int
	caption        image.Rectangle
	bar            image.Rectangle // the whole bar, t 0..1; a middle label splits it
	lo, mid, hi    image.Rectangle // mid: empty without a middle label
	captionElided  string
	loText, hiText string
	marks, labels  []image.Rectangle // an item with marks: each neuron and its words
}

// layoutLegend places as many items as fit in a row of size, keeping the
// first (the neuron key) always; captions are shortened with "…" only to
// fit.
func (g *Game) layoutLegend(size image.Point, items []legendItem) []legendSlot {
	f := g.fonts
	pad, gap := int(f.px(10)), int(f.px(24))
	numGap := int(f.px(6))
	capH := int(lineHeight(f.Small))
	barH := int(f.px(8))
	y0 := int(f.px(5))
	barY := y0 + capH + int(f.px(4))
	mark := int(f.px(12)) // a marked neuron's diameter
	var slots []legendSlot
	x := pad
	right := size.X - pad
	for i, it := range items {
		s := legendSlot{item: i, loText: it.lo, hiText: it.hi}
		var w int
		if len(it.marks) > 0 {
			// Neurons and their words side by side; all or none.
			for j, m := range it.marks {
				lw := int(text.Advance(m.label, f.Small)) + 1
				w += mark + numGap + lw
				if j > 0 {
					w += 2 * numGap
				}
			}
			if x+w > right && i > 0 {
				break
			}
			mx := x
			for _, m := range it.marks {
				lw := int(text.Advance(m.label, f.Small)) + 1
				cy := barY + barH/2
				s.marks = append(s.marks, image.Rect(mx, cy-mark/2, mx+mark, cy-mark/2+mark))
				s.labels = append(s.labels, image.Rect(mx+mark+numGap, barY-int(f.px(3)), mx+mark+numGap+lw, barY+barH+int(f.px(3))))
				mx += mark + numGap + lw + 2*numGap
			}
		} else {
			loW, hiW := int(text.Advance(it.lo, f.Small))+1, int(text.Advance(it.hi, f.Small))+1
			midW := 0
			if it.mid != "" {
				midW = int(text.Advance(it.mid, f.Small)) + 1 + 2*numGap
			}
			barW := int(f.px(120)) + midW
			minBar := int(f.px(48)) + midW
			w = loW + numGap + barW + numGap + hiW
			if x+w > right {
				barW = max(minBar, barW-(x+w-right))
				w = loW + numGap + barW + numGap + hiW
			}
			if x+w > right {
				if i > 0 {
					break
				}
				w = right - x
				barW = max(0, w-loW-hiW-2*numGap)
			}
			s.lo = image.Rect(x, barY-int(f.px(3)), x+loW, barY+barH+int(f.px(3)))
			s.bar = image.Rect(s.lo.Max.X+numGap, barY, s.lo.Max.X+numGap+barW, barY+barH)
			s.hi = image.Rect(s.bar.Max.X+numGap, s.lo.Min.Y, s.bar.Max.X+numGap+hiW, s.lo.Max.Y)
			if it.mid != "" && barW >= midW+2*numGap {
				c := (s.bar.Min.X + s.bar.Max.X) / 2
				mw := midW - 2*numGap
				s.mid = image.Rect(c-mw/2, s.lo.Min.Y, c-mw/2+mw, s.lo.Max.Y)
			}
		}
		capW := float64(w)
		if c := text.Advance(it.caption, f.Small); c < capW+float64(gap)/2 {
			capW = c + 1
		}
		s.caption = image.Rect(x, y0, x+int(capW), y0+capH)
		s.captionElided = it.caption
		if text.Advance(it.caption, f.Small) > capW && it.short != "" {
			s.captionElided = it.short
		}
		s.captionElided = fitText(s.captionElided, f.Small, capW)
		slots = append(slots, s)
		x += max(w, s.caption.Dx()) + gap
	}
	return slots
}

func (g *Game) renderLegend(dst *ebiten.Image) {
	th, f := g.theme, g.fonts
	r := dst.Bounds()
	fillRect(dst, 0, 0, float64(r.Dx()), float64(r.Dy()), fade(th.Background, 0.92))
	fillRect(dst, 0, 0, float64(r.Dx()), f.px(1), th.Border)
	if !g.legend.key.passShown {
		return // no values to key yet
	}
	items := g.legendItems(g.legend.key)
	for _, s := range g.layoutLegend(r.Size(), items) {
		it := items[s.item]
		drawTextMiddle(dst, s.captionElided, f.Small, float64(s.caption.Min.X), s.caption, th.TextDim, text.AlignStart)
		for j, m := range s.marks {
			g.drawMark(dst, m, it.marks[j].flag)
			drawTextMiddle(dst, it.marks[j].label, f.Small, float64(s.labels[j].Min.X), s.labels[j], th.Text, text.AlignStart)
		}
		if len(s.marks) > 0 {
			continue
		}
		drawTextMiddle(dst, s.loText, f.Small, float64(s.lo.Max.X), s.lo, th.Text, text.AlignEnd)
		drawTextMiddle(dst, s.hiText, f.Small, float64(s.hi.Min.X), s.hi, th.Text, text.AlignStart)
		if !s.mid.Empty() {
			drawTextMiddle(dst, it.mid, f.Small, float64(s.mid.Min.X+s.mid.Max.X)/2, s.mid, th.Text, text.AlignCenter)
		}
		// The bar is drawn a device pixel wide at a time, so any colour
		// map reads exactly as the shaders paint it; a middle label leaves
		// a gap in it, where the scale is its centre.
		gap := s.mid.Inset(-int(f.px(6)))
		w := s.bar.Dx()
		for i := 0; i < w; i++ {
			x := s.bar.Min.X + i
			if !s.mid.Empty() && x >= gap.Min.X && x < gap.Max.X {
				continue
			}
			t := (float64(i) + 0.5) / float64(w)
			fillRect(dst, float64(x), float64(s.bar.Min.Y), 1, float64(s.bar.Dy()), it.paint(t))
		}
	}
}

// drawMark draws a neuron into r of dst as the view draws one with flag:
// the network's own shader, so the key cannot differ from the picture.
func (g *Game) drawMark(dst *ebiten.Image, r image.Rectangle, flag float32) {
	l := &g.legend
	if l.swatchOpts.Uniforms == nil {
		none := make([]float32, 2*litTies)
		clearLit(none)
		ranges := make([]float32, len(g.net.ranges))
		for i := range ranges {
			ranges[i] = 1
		}
		l.swatchOpts.Uniforms = map[string]any{"Hovered": []float32{-1}, "Pinned": []float32{-1}, "Lit": none, "Ranges": ranges}
	}
	cx, cy, rad := float32(r.Min.X+r.Max.X)/2, float32(r.Min.Y+r.Max.Y)/2, float32(r.Dx())/2
	l.swatch = l.swatch[:0]
	for c := range 4 {
		sx, sy := float32(c&1)*2-1, float32(c>>1)*2-1
		l.swatch = append(l.swatch, scene.Vertex{
			DstX: cx + sx*rad, DstY: cy + sy*rad, SrcX: sx, SrcY: sy, ColorA: 1,
			Custom0: 0, Custom1: -10, Custom2: 0, Custom3: flag, // id -10: never hovered, pinned nor lit
		})
	}
	dst.DrawTrianglesShader32(ebitenVertices(l.swatch), []uint32{0, 1, 2, 1, 3, 2}, g.net.neuronShader, &l.swatchOpts)
}

// healthWords is a health mark's words: "27 dead", or with two runs drawn
// "A 27 · B 24 dead".
func healthWords(k legendKey, a, b int, what string) string {
	if k.twoRuns {
		return fmt.Sprintf("A %d · B %d %s", a, b, what)
	}
	return fmt.Sprintf("%d %s", a, what)
}
