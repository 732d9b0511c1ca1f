package engine

import (
	"image"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/text/v2"

	"github.com/mlpviz/mlpviz/collector"
)

// probeSet is what the thumbnail strip shows: every probe of the shown
// pass, copied (a live run may reuse the pass for its next capture), the
// images side by side in one texture.
type probeSet struct {
	shape   [3]int    // channels, height, width of every probe
	pixels  []float32 // the probes' images one after another
	labels  []int     // true label per probe
	preds   []int     // prediction per probe
	chosen  int       // the probe shown big
	atlas   *ebiten.Image
	stale   bool // pixels changed since atlas was written
	rgba    []byte
	op      ebiten.DrawImageOptions
	uploads int // writes of the atlas; tests read it
}

// len is the number of thumbnails: 0 for a pass with a single probe.
func (s *probeSet) len() int { return len(s.labels) }

// SetProbes shows the probe set of pass (nil: none) as thumbnails, with
// probe chosen framed; a pass with a single probe shows none. Like Set it
// copies only what changed, so calling it every frame is cheap.
func (p *InputPanel) SetProbes(arch *collector.Architecture, pass *collector.Pass, chosen int) {
	s := &p.set
	k := 0
	if pass != nil && pass.NumProbes() > 1 {
		k = pass.NumProbes()
	}
	var shape [3]int
	if arch != nil {
		shape = arch.InputShape
	}
	n := 0 // values per thumbnail; 0 when the probes have no common image
	if k > 0 {
		shape = imageShape(shape, len(pass.Image))
		n = shape[0] * shape[1] * shape[2]
		if shape[2] > maxProbeSide || shape[1]*k > maxProbeSide { // the atlas stacks them
			n = 0
		}
		for j := 1; j < k && n > 0; j++ {
			if len(pass.Probes[j-1].Image) < n {
				n = 0
			}
		}
	}
	same := k == s.len() && shape == s.shape && n*k == len(s.pixels)
	samePixels := same
	for j := 0; j < k && same; j++ {
		img, label, pred := probeOf(pass, j)
		same = label == s.labels[j] && pred == s.preds[j]
		samePixels = samePixels && (n == 0 || sameFloats(img[:n], s.pixels[j*n:(j+1)*n]))
	}
	if same && samePixels && chosen == s.chosen {
		return
	}
	s.shape, s.chosen = shape, chosen
	s.labels, s.preds = s.labels[:0], s.preds[:0]
	if !samePixels {
		s.pixels = s.pixels[:0]
		s.stale = true
	}
	for j := range k {
		img, label, pred := probeOf(pass, j)
		s.labels = append(s.labels, label)
		s.preds = append(s.preds, pred)
		if !samePixels && n > 0 {
			s.pixels = append(s.pixels, img[:n]...)
		}
	}
	p.cache.invalidate()
}

// probeOf is probe j of pass (0: the pass's own): its image, true label and
// the class the head gave it (for a seed file that marks the prediction
// unknown, -1, the most probable class).
func probeOf(pass *collector.Pass, j int) (img []float32, label, pred int) {
	probs := pass.Probs
	img, label, pred = pass.Image, pass.TrueLabel, pass.Prediction
	if j > 0 {
		pr := &pass.Probes[j-1]
		img, label, pred, probs = pr.Image, pr.TrueLabel, pr.Prediction, pr.Probs
	}
	if (pred < 0 || pred >= len(probs)) && len(probs) > 0 {
		pred = argmax(probs)
	}
	return img, label, pred
}

// thumbGrid is how the thumbnails are arranged in a strip of some width:
// one row when each still gets minThumb pixels, else as many rows as that
// takes; every thumbnail square, at most maxThumb wide.
type thumbGrid struct {
	cols, rows int
	side       int // a thumbnail's width and height, its frame included
	gap        int
	labelH     int // the label row under each; 0 when a name does not read under its thumbnail
	markH      int // the right/wrong underline
}

// Thumbnail sides in logical pixels: the least that still shows a digit,
// and the most worth the height.
const (
	minThumb = 18
	maxThumb = 44
)

func (g thumbGrid) cellHeight() int { return g.side + g.gap/2 + g.markH + g.labelH }

// height is the strip's height.
func (g thumbGrid) height() int {
	if g.rows == 0 {
		return 0
	}
	return g.rows*g.cellHeight() + (g.rows-1)*g.gap
}

// thumbGrid arranges the probe set's thumbnails in a strip width wide and
// at most maxH high (0: no limit): in the fewest rows that give each
// thumbnail minThumb pixels, or in more where the height allows larger
// thumbnails (a panel alone in the side bar has height to spare).
func (p *InputPanel) thumbGrid(width, maxH int) thumbGrid {
	k := p.set.len()
	if k == 0 || width <= 0 {
		return thumbGrid{}
	}
	g := p.thumbRows(width, 1)
	for g.side < int(p.f.px(minThumb)) && g.cols > 1 {
		g = p.thumbRows(width, g.rows+1)
	}
	for r := g.rows + 1; r <= k && maxH > 0; r++ {
		if h := p.thumbRows(width, r); h.side > g.side && h.height() <= maxH {
			g = h
		}
	}
	return g
}

// thumbRows lays the thumbnails out in rows rows of a strip width wide.
func (p *InputPanel) thumbRows(width, rows int) thumbGrid {
	f := p.f
	k := p.set.len()
	g := thumbGrid{rows: rows, cols: (k + rows - 1) / rows, gap: int(f.px(4)), markH: int(max(2, f.px(2)))}
	g.side = max(min((width-(g.cols-1)*g.gap)/g.cols, int(f.px(maxThumb))), 1)
	// Labels under the thumbnails when every one reads: whole, or cut
	// with an ellipsis after at least three letters ("airp…").
	fits := true
	for _, c := range p.set.labels {
		name := className(p.names, c)
		cut := fitText(name, f.Small, float64(g.side+g.gap))
		fits = fits && (cut == name || utf8.RuneCountInString(cut) > 3)
	}
	if fits {
		g.labelH = int(lineHeight(f.Small))
	}
	return g
}

// thumbFrame is the width of the chosen thumbnail's frame; every
// thumbnail's image keeps this far inside its cell.
func thumbFrame(f *Fonts) int { return int(max(2, f.px(2))) }

// layoutStrip places the thumbnails of grid g in l.strip, centred.
func (p *InputPanel) layoutStrip(l *inputLayout, g thumbGrid) {
	k := p.set.len()
	w, h := p.set.shape[2], p.set.shape[1]
	// The image fills its frame, the chosen one's two pixels wide
	// included: a thumbnail is small, and a whole-number scale would
	// leave most of the frame empty.
	inner := float64(g.side - 2*thumbFrame(p.f))
	if w > 0 && h > 0 {
		l.thumbScale = max(min(inner/float64(w), inner/float64(h)), 0)
	}
	rowW := g.cols*g.side + (g.cols-1)*g.gap
	x0 := l.strip.Min.X + (l.strip.Dx()-rowW)/2
	for j := range k {
		r, c := j/g.cols, j%g.cols
		x, y := x0+c*(g.side+g.gap), l.strip.Min.Y+r*(g.cellHeight()+g.gap)
		cell := image.Rect(x, y, x+g.side, y+g.cellHeight())
		iw, ih := int(float64(w)*l.thumbScale), int(float64(h)*l.thumbScale)
		ix, iy := x+(g.side-iw)/2, y+(g.side-ih)/2
		my := y + g.side + g.gap/2
		l.thumbs = append(l.thumbs, cell)
		l.images = append(l.images, image.Rect(ix, iy, ix+iw, iy+ih))
		l.marks = append(l.marks, image.Rect(x, my, x+g.side, my+g.markH))
		if g.labelH > 0 {
			l.labels = append(l.labels, image.Rect(x-g.gap/2, my+g.markH, x+g.side+g.gap/2, my+g.markH+g.labelH))
		}
	}
}

// minHeight is the least height of a panel width wide: room for the
// probe, its text and the thumbnail strip; 0 for a single probe (the
// panel's fixed least height holds).
func (p *InputPanel) minHeight(width int, base int) int {
	if p.set.len() == 0 {
		return 0
	}
	_, content := frameLayout(image.Rect(0, 0, width, 1000), true, p.f)
	return base + p.thumbGrid(content.Dx(), 0).height() + int(p.f.px(8))
}

// probeAt is the probe whose thumbnail holds pt, in a panel of size with
// pt relative to its top left corner; -1 for none.
func (p *InputPanel) probeAt(pt image.Point, size image.Point) int {
	if p.set.len() == 0 || !p.has {
		return -1
	}
	for j, r := range p.layout(size).thumbs {
		if pt.In(r) {
			return j
		}
	}
	return -1
}

// drawStrip draws the probe set's thumbnails: the chosen one framed in the
// accent colour, the others a little dimmed, each underlined green (right)
// or red (wrong) with its true label under it when names fit.
func (p *InputPanel) drawStrip(dst *ebiten.Image, l *inputLayout) {
	th, f, s := p.th, p.f, &p.set
	if len(l.thumbs) == 0 {
		return
	}
	p.uploadAtlas()
	w, h := s.shape[2], s.shape[1]
	for j, cell := range l.thumbs {
		box := image.Rect(cell.Min.X, cell.Min.Y, cell.Max.X, cell.Min.Y+cell.Dx())
		border, frame := th.Border, int(max(1, f.px(1)))
		if j == s.chosen {
			border, frame = th.Accent, thumbFrame(f)
		}
		fillRect(dst, float64(box.Min.X), float64(box.Min.Y), float64(box.Dx()), float64(box.Dy()), border)
		inner := box.Inset(frame)
		fillRect(dst, float64(inner.Min.X), float64(inner.Min.Y), float64(inner.Dx()), float64(inner.Dy()), th.Background)
		if s.atlas != nil {
			ir := l.images[j]
			s.op.GeoM.Reset()
			s.op.GeoM.Scale(l.thumbScale, l.thumbScale)
			s.op.GeoM.Translate(float64(ir.Min.X), float64(ir.Min.Y))
			s.op.ColorScale.Reset()
			s.op.Filter = ebiten.FilterNearest
			if l.thumbScale != math.Trunc(l.thumbScale) {
				// Not a whole number of pixels per probe pixel: smooth,
				// rather than drop rows or draw uneven blocks.
				s.op.Filter = ebiten.FilterLinear
			}
			if j != s.chosen {
				s.op.ColorScale.Scale(0.75, 0.75, 0.75, 1)
			}
			dst.DrawImage(s.atlas.SubImage(image.Rect(0, j*h, w, (j+1)*h)).(*ebiten.Image), &s.op)
		}
		mr := l.marks[j]
		fillRect(dst, float64(mr.Min.X), float64(mr.Min.Y), float64(mr.Dx()), float64(mr.Dy()), predictionColor(th, s.preds[j], s.labels[j]))
		if j < len(l.labels) {
			c := th.TextDim
			if j == s.chosen {
				c = th.Text
			}
			lr := l.labels[j]
			drawTextMiddle(dst, fitText(className(p.names, s.labels[j]), f.Small, float64(lr.Dx())), f.Small, float64(lr.Min.X+lr.Max.X)/2, lr, c, text.AlignCenter)
		}
	}
}

// uploadAtlas writes the probes' images into one texture, one under the
// other, when they changed.
func (p *InputPanel) uploadAtlas() {
	s := &p.set
	c, h, w := s.shape[0], s.shape[1], s.shape[2]
	k := s.len()
	n := c * h * w
	if n == 0 || len(s.pixels) < n*k {
		return // no images: the frames alone
	}
	if s.atlas == nil || s.atlas.Bounds().Dx() != w || s.atlas.Bounds().Dy() != h*k {
		if s.atlas != nil {
			s.atlas.Deallocate()
		}
		s.atlas = ebiten.NewImage(w, h*k)
		s.stale = true
	}
	if !s.stale {
		return
	}
	s.rgba = s.rgba[:0]
	var one []byte
	for j := range k {
		one = probeRGBA(one, s.pixels[j*n:(j+1)*n], c, h, w)
		s.rgba = append(s.rgba, one...)
	}
	s.atlas.WritePixels(s.rgba)
	s.stale = false
	s.uploads++
}

// title is what the title row says at its right with a probe set:
// which probe is shown, e.g. "probe 3/10".
func (s *probeSet) title() string {
	if s.len() == 0 {
		return ""
	}
	return "probe " + strconv.Itoa(s.chosen+1) + "/" + strconv.Itoa(s.len())
}
