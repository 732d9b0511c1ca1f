package engine

import (
	"image"
	"image/color"

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
}

// legend is the colour key along the bottom of the network view: what a
// neuron's colour and a connection's colour are worth in the shown pass,
// under the range mode in force. It follows the hovered neuron's layer,
// whose scale is the one a user is reading.
type legend struct {
	key   legendKey
	cache panelCache
}

// legendItem is one key: a caption over a bar with its ends.
type legendItem struct {
	caption string
	short   string // the caption with the layers' short names, where the caption does not fit
	lo, hi  string
	paint   func(t float64) color.RGBA // colour at t in 0..1 along the bar
}

// legendNow is the legend's content for the shown pass.
func (g *Game) legendNow() legendKey {
	n := g.net
	layers := n.layout.Layers
	k := 1 // the first hidden layer, unless a neuron says otherwise
	if id := g.litNeuron(); id >= 0 {
		if kk, _, ok := n.layout.Locate(id); ok && kk < len(layers)-1 {
			k = kk
		}
	}
	k = min(k, len(layers)-2) // a head of one Linear has no hidden layer
	pair := max(k-1, 0)
	return legendKey{
		size: g.legendRect().Size(), mode: n.mode, actLayer: k, actRange: n.ranges[k],
		pair: pair, weightEnd: n.scales[pair], hasOutput: len(layers) > 1,
		passShown: g.pass != nil, layout: n.layout,
	}
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

// legendItems are the keys for k, the most useful first: the activation
// scale of the layer being read, the output probabilities and the weights
// into that layer.
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
	items := []legendItem{{
		caption: "activation · " + scope + " (G)", short: "activation · " + short,
		lo: formatValue(float64(-k.actRange)), hi: formatValue(float64(k.actRange)),
		paint: func(t float64) color.RGBA { return toRGBA(scene.Diverging(float32(2*t - 1))) },
	}}
	if k.hasOutput {
		items = append(items, legendItem{
			caption: "probability · " + layers[len(layers)-1].Name, short: "probability",
			lo: "0%", hi: "100%",
			paint: func(t float64) color.RGBA { return toRGBA(scene.Diverging(float32(t))) },
		})
		into := layers[k.pair+1].Name
		items = append(items, legendItem{
			caption: "weight · into " + into, short: "weight · into " + layers[k.pair+1].Short,
			lo: formatValue(float64(-k.weightEnd)), hi: formatValue(float64(k.weightEnd)),
			paint: func(t float64) color.RGBA {
				r, gg, b, a := scene.WeightColour(float32(2*t - 1))
				return over(th.Panel, r, gg, b, a)
			},
		})
	}
	return items
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
	bar            image.Rectangle
	lo, hi         image.Rectangle
	captionElided  string
	loText, hiText string
}

// layoutLegend places as many items as fit in a row of size, keeping the
// first (the activation key) always; captions are shortened with "…" only
// to fit.
func (g *Game) layoutLegend(size image.Point, items []legendItem) []legendSlot {
	f := g.fonts
	pad, gap := int(f.px(10)), int(f.px(24))
	numGap := int(f.px(6))
	capH := int(lineHeight(f.Small))
	barH := int(f.px(8))
	y0 := int(f.px(5))
	barY := y0 + capH + int(f.px(4))
	var slots []legendSlot
	x := pad
	for i, it := range items {
		loW, hiW := int(text.Advance(it.lo, f.Small))+1, int(text.Advance(it.hi, f.Small))+1
		barW := int(f.px(120))
		minBar := int(f.px(48))
		w := loW + numGap + barW + numGap + hiW
		right := size.X - pad
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
		capW := float64(w)
		if c := text.Advance(it.caption, f.Small); c < capW+float64(gap)/2 {
			capW = c + 1
		}
		s := legendSlot{item: i, loText: it.lo, hiText: it.hi}
		s.caption = image.Rect(x, y0, x+int(capW), y0+capH)
		s.captionElided = it.caption
		if text.Advance(it.caption, f.Small) > capW && it.short != "" {
			s.captionElided = it.short
		}
		s.captionElided = fitText(s.captionElided, f.Small, capW)
		s.lo = image.Rect(x, barY-int(f.px(3)), x+loW, barY+barH+int(f.px(3)))
		s.bar = image.Rect(s.lo.Max.X+numGap, barY, s.lo.Max.X+numGap+barW, barY+barH)
		s.hi = image.Rect(s.bar.Max.X+numGap, s.lo.Min.Y, s.bar.Max.X+numGap+hiW, s.lo.Max.Y)
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
		drawTextMiddle(dst, s.loText, f.Small, float64(s.lo.Max.X), s.lo, th.Text, text.AlignEnd)
		drawTextMiddle(dst, s.hiText, f.Small, float64(s.hi.Min.X), s.hi, th.Text, text.AlignStart)
		// The bar is drawn a device pixel wide at a time, so any colour
		// map reads exactly as the shaders paint it.
		w := s.bar.Dx()
		for i := 0; i < w; i++ {
			t := (float64(i) + 0.5) / float64(w)
			fillRect(dst, float64(s.bar.Min.X+i), float64(s.bar.Min.Y), 1, float64(s.bar.Dy()), it.paint(t))
		}
	}
}
