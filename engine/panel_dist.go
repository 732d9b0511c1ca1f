package engine

import (
	"image"
	"image/color"
	"math"
	"slices"
	"strconv"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/text/v2"

	"github.com/mlpviz/mlpviz/scene"
)

// DistPanel shows how the weights of each Linear layer of the head are
// distributed, pass after pass, as TensorBoard's "distributions" do: one
// heat strip per layer, x the pass, y the weight value (symmetric about 0,
// as far out as any pass has weights), brightness the share of the
// layer's weights in that bin. A vertical cursor marks the pass on screen. The histograms
// come from the Source (weightHistograms), which fills them as it decodes
// passes, so a long run's strips grow over its first frames.
type DistPanel struct {
	th    *Theme
	f     *Fonts
	cache panelCache

	h       *weightHistograms
	version int // h.version when last drawn
	names   []string
	namesOf *scene.Layout // the layout names came from
	cursor  int           // the pass on screen, or -1
	total   int           // passes in the run (the x axis); at least h.passes()

	strips []*ebiten.Image // per layer: a texture of columns x histBins
	rgba   []byte
	op     ebiten.DrawImageOptions
}

// NewDistPanel makes an empty distributions panel.
func NewDistPanel(th *Theme, f *Fonts) *DistPanel {
	return &DistPanel{th: th, f: f, cursor: -1}
}

// Set shows h, the run's weight histograms, for a run of total passes
// with pass cursor on screen (-1: none); layers are named as in layout
// (nil: by number). It is cheap to call every frame: it redraws only when
// h has new passes or the cursor, total or layout changed.
func (p *DistPanel) Set(h *weightHistograms, layout *scene.Layout, cursor, total int) {
	version := -1
	if h != nil {
		version = h.version
		total = max(total, h.passes())
	}
	if cursor >= total {
		cursor = -1
	}
	if h == p.h && version == p.version && cursor == p.cursor && total == p.total && layout == p.namesOf {
		return
	}
	p.h, p.version, p.cursor, p.total = h, version, cursor, total
	if layout != p.namesOf {
		p.namesOf = layout
		p.names = p.names[:0]
		if layout != nil {
			// Linear layer k feeds layer k+1 of the layout: its weights
			// are named after the neurons they lead into ("h1 24").
			for _, ll := range layout.Layers[1:] {
				p.names = append(p.names, ll.Short)
			}
		}
	}
	p.cache.invalidate()
}

// layers is the number of strips: one per Linear layer, as many as the
// layout names (known before the first histogram) or the histograms hold.
func (p *DistPanel) layers() int {
	if p.h == nil {
		return len(p.names)
	}
	return max(len(p.names), len(p.h.layers))
}

// span is the number of bins either side of 0 that strip k shows: as
// many as the widest pass uses, so that a distribution that never filled
// its range (or left it behind when the range doubled) still fills its
// strip; at least a few, so that weights stuck at one value do not fill
// it either.
func (p *DistPanel) span(k int) int {
	span := histBins / 8
	if p.h == nil || k >= len(p.h.layers) {
		return span
	}
	counts := p.h.layers[k].counts
	for c := 0; c+histBins <= len(counts); c += histBins {
		col := counts[c : c+histBins]
		for b := 0; b < histBins/2-span; b++ {
			if col[b] != 0 || col[histBins-1-b] != 0 {
				span = histBins/2 - b
				break
			}
		}
	}
	return span
}

// limit is the largest |w| strip k shows (its edge), 0 while the layer
// has no histogram.
func (p *DistPanel) limit(k int) float64 {
	if p.h == nil || k >= len(p.h.layers) {
		return 0
	}
	return p.h.layers[k].limit * float64(p.span(k)) / (histBins / 2)
}

// layerName names strip k.
func (p *DistPanel) layerName(k int) string {
	if k < len(p.names) {
		return p.names[k]
	}
	return "fc" + strconv.Itoa(k+1)
}

// Draw draws the panel into r of dst.
func (p *DistPanel) Draw(dst *ebiten.Image, r image.Rectangle) {
	p.cache.draw(dst, r, p.render)
}

// distLayout is where the strips and their labels go; render and the tests
// share it.
type distLayout struct {
	strips []image.Rectangle // one heat strip per layer, top to bottom
	names  []image.Rectangle // left of each strip: the layer's name
	ranges []image.Rectangle // right of each strip: "±limit"
	axis   image.Rectangle   // under the strips: the first and last step
}

// distRowGap is the gap between two strips, in logical pixels.
const distRowGap = 4

// minHeight is the least height of a panel width wide that gives every
// layer a strip as high as a line of small text, so its name reads.
func (p *DistPanel) minHeight(width int) int {
	f := p.f
	n := max(p.layers(), 1)
	title, content := frameLayout(image.Rect(0, 0, width, 1000), true, f)
	rowH := int(lineHeight(f.Small))
	return title.Dy() + (content.Min.Y - title.Max.Y) + n*rowH + (n-1)*int(f.px(distRowGap)) + p.axisHeight() + (1000 - content.Max.Y)
}

// axisHeight is the height of the step labels' row.
func (p *DistPanel) axisHeight() int {
	return int(lineHeight(p.f.Small) + p.f.px(3))
}

// rangeText labels a strip's value range, which is symmetric about 0.
func rangeText(limit float64) string {
	return "±" + strconv.FormatFloat(limit, 'g', 2, 64)
}

func (p *DistPanel) layout(size image.Point) distLayout {
	f := p.f
	var l distLayout
	_, content := frameLayout(image.Rectangle{Max: size}, true, f)
	n := p.layers()
	if n == 0 || content.Empty() {
		return l
	}
	nameW, rangeW := 0.0, 0.0
	for k := range n {
		nameW = max(nameW, text.Advance(p.layerName(k), f.Small))
		rangeW = max(rangeW, text.Advance(rangeText(p.limit(k)), f.Small))
	}
	gap := int(f.px(6))
	x0 := content.Min.X + int(math.Ceil(nameW)) + gap
	x1 := content.Max.X - int(math.Ceil(rangeW)) - gap
	if x1-x0 < content.Dx()/3 { // a narrow panel: the strips first, the labels cut
		x0 = content.Min.X + content.Dx()/4
		x1 = content.Max.X - content.Dx()/6
	}
	axisH := p.axisHeight()
	l.axis = image.Rect(x0, content.Max.Y-axisH, x1, content.Max.Y)
	rowGap := int(f.px(distRowGap))
	avail := l.axis.Min.Y - content.Min.Y - (n-1)*rowGap
	rowH := avail / n
	if rowH <= 0 {
		return distLayout{}
	}
	for k := range n {
		y := content.Min.Y + k*(rowH+rowGap)
		l.strips = append(l.strips, image.Rect(x0, y, x1, y+rowH))
		l.names = append(l.names, image.Rect(content.Min.X, y, x0-gap, y+rowH))
		l.ranges = append(l.ranges, image.Rect(x1+gap, y, content.Max.X, y+rowH))
	}
	return l
}

// cursorX is the x coordinate of the middle of pass i in a strip.
func (p *DistPanel) cursorX(strip image.Rectangle, i int) int {
	return strip.Min.X + int((float64(i)+0.5)*float64(strip.Dx())/float64(max(p.total, 1)))
}

func (p *DistPanel) render(dst *ebiten.Image) {
	th, f := p.th, p.f
	content := DrawPanelFrame(dst, dst.Bounds(), "Weight distributions", th, f)
	l := p.layout(dst.Bounds().Size())
	if p.h == nil || p.h.passes() == 0 || len(l.strips) == 0 {
		drawTextMiddle(dst, "no pass yet", f.Body, float64(content.Min.X+content.Max.X)/2, content, th.TextDim, text.AlignCenter)
		return
	}
	empty := mix(th.Background, th.Panel, 0.3)
	tick := max(1, f.px(1))
	for k, sr := range l.strips {
		fillRect(dst, float64(sr.Min.X), float64(sr.Min.Y), float64(sr.Dx()), float64(sr.Dy()), empty)
		p.drawStrip(dst, k, sr)
		// A tick either side marks 0, the middle of the symmetric range.
		mid := float64(sr.Min.Y) + float64(sr.Dy())/2 - tick/2
		fillRect(dst, float64(sr.Min.X)-f.px(3), mid, f.px(3), tick, th.TextDim)
		fillRect(dst, float64(sr.Max.X), mid, f.px(3), tick, th.TextDim)
		nr, rr := l.names[k], l.ranges[k]
		drawTextMiddle(dst, fitText(p.layerName(k), f.Small, float64(nr.Dx())), f.Small, float64(nr.Max.X), nr, th.TextDim, text.AlignEnd)
		if p.limit(k) > 0 {
			drawTextMiddle(dst, fitText(rangeText(p.limit(k)), f.Small, float64(rr.Dx())), f.Small, float64(rr.Min.X), rr, th.TextDim, text.AlignStart)
		}
	}
	// The first and last step under the strips, when known.
	ay := float64(l.axis.Min.Y) + f.px(3)
	if s := p.h.steps[0]; s >= 0 {
		drawText(dst, formatStep(float64(s)), f.Small, float64(l.axis.Min.X), ay, th.TextDim, text.AlignStart)
	}
	if last := p.h.passes() - 1; last > 0 && last == p.total-1 && p.h.steps[last] >= 0 {
		drawText(dst, formatStep(float64(p.h.steps[last])), f.Small, float64(l.axis.Max.X), ay, th.TextDim, text.AlignEnd)
	}
	// The cursor runs through every strip at the pass on screen.
	if p.cursor >= 0 {
		top, bottom := l.strips[0], l.strips[len(l.strips)-1]
		x := p.cursorX(top, p.cursor)
		w := max(1, math.Round(f.px(1.5)))
		fillRect(dst, float64(x)-math.Floor(w/2), float64(top.Min.Y), w, float64(bottom.Max.Y-top.Min.Y), th.Warning)
	}
}

// drawStrip draws layer k's histograms into sr: a texture with a column
// per pass (or, when the run has more passes than sr has pixels, per pixel
// column, each showing the pass at its middle) and a row per bin of its
// span, scaled up without smoothing.
func (p *DistPanel) drawStrip(dst *ebiten.Image, k int, sr image.Rectangle) {
	cols := min(p.total, sr.Dx())
	if cols <= 0 || sr.Dy() <= 0 {
		return
	}
	span := p.span(k)
	rows := 2 * span // bins histBins/2-span .. histBins/2+span-1, the top one first
	for len(p.strips) <= k {
		p.strips = append(p.strips, nil)
	}
	img := p.strips[k]
	if img == nil || img.Bounds().Dx() != cols || img.Bounds().Dy() != rows {
		if img != nil {
			img.Deallocate()
		}
		img = ebiten.NewImage(cols, rows)
		p.strips[k] = img
	}
	p.rgba = slices.Grow(p.rgba[:0], 4*cols*rows)[:4*cols*rows]
	clear(p.rgba)
	for c := range cols {
		i := (2*c + 1) * p.total / (2 * cols)
		col := []uint32(nil)
		if i < p.h.passes() && k < len(p.h.layers) {
			col = p.h.column(k, i)
		}
		var peak uint32
		for _, v := range col {
			peak = max(peak, v)
		}
		if peak == 0 {
			continue // transparent: the strip's empty fill shows
		}
		for r := range rows {
			v := col[histBins/2+span-1-r] // the most negative bin at the bottom
			if v == 0 {
				continue
			}
			c4 := p.heat(float64(v) / float64(peak))
			o := 4 * (r*cols + c)
			p.rgba[o], p.rgba[o+1], p.rgba[o+2], p.rgba[o+3] = c4.R, c4.G, c4.B, 255
		}
	}
	img.WritePixels(p.rgba)
	p.op.GeoM.Reset()
	p.op.GeoM.Scale(float64(sr.Dx())/float64(cols), float64(sr.Dy())/float64(rows))
	p.op.GeoM.Translate(float64(sr.Min.X), float64(sr.Min.Y))
	p.op.Filter = ebiten.FilterNearest
	dst.DrawImage(img, &p.op)
}

// heat is the colour of a bin holding a share t (0..1] of its column's
// fullest bin: from a dim blue for a bin with any weights at all (so the
// tails show) through the accent to near white at the peak. Linear in t,
// so the shape of the distribution reads as it is.
func (p *DistPanel) heat(t float64) color.RGBA {
	th := p.th
	dim := mix(th.Background, th.Accent, 0.3)
	white := mix(th.Accent, color.RGBA{255, 255, 255, 255}, 0.8)
	switch {
	case t <= 0.6:
		return mix(dim, th.Accent, t/0.6)
	default:
		return mix(th.Accent, white, (t-0.6)/0.4)
	}
}
