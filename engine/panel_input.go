package engine

import (
	"image"
	"math"
	"slices"
	"strconv"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/text/v2"

	"github.com/mlpviz/mlpviz/collector"
)

// InputPanel shows the probe image the head is looking at, scaled up with
// nearest-neighbour filtering so the individual pixels the network sees stay
// visible, with its true label and the current prediction under it.
type InputPanel struct {
	th    *Theme
	f     *Fonts
	cache panelCache

	// What the cache shows, copied from the last Set that changed it.
	has        bool
	shape      [3]int // channels, height, width
	pixels     []float32
	names      []string
	label      int
	pred       int
	prob       float32 // probability of the prediction; NaN when unknown
	step       int
	epoch      int
	src        *ebiten.Image // the probe at its own resolution
	srcStale   bool
	rgba       []byte
	imageOp    ebiten.DrawImageOptions
	redrawSrcs int // uploads of the probe image; tests read it
}

// NewInputPanel makes an empty input panel; it shows "no pass yet" until
// Set gives it a pass.
func NewInputPanel(th *Theme, f *Fonts) *InputPanel {
	return &InputPanel{th: th, f: f, prob: float32(math.NaN())}
}

// Set shows pass's probe. It is cheap to call every frame: it compares the
// pass with what is shown and copies it only when it differs, because the
// caller may reuse one Pass value for the next capture. pass or arch may be
// nil.
func (p *InputPanel) Set(arch *collector.Architecture, pass *collector.Pass) {
	if pass == nil || len(pass.Image) == 0 {
		if p.has {
			p.has = false
			p.cache.invalidate()
		}
		return
	}
	var shape [3]int
	var names []string
	if arch != nil {
		shape, names = arch.InputShape, arch.ClassNames
	}
	shape = imageShape(shape, len(pass.Image))
	prob := float32(math.NaN())
	if pass.Prediction >= 0 && pass.Prediction < len(pass.Probs) {
		prob = pass.Probs[pass.Prediction]
	}
	if p.has && shape == p.shape && pass.TrueLabel == p.label && pass.Prediction == p.pred &&
		pass.Step == p.step && pass.Epoch == p.epoch && math.Float32bits(prob) == math.Float32bits(p.prob) &&
		slices.Equal(names, p.names) && sameFloats(pass.Image, p.pixels) {
		return
	}
	p.has = true
	p.shape = shape
	p.label, p.pred, p.prob = pass.TrueLabel, pass.Prediction, prob
	p.step, p.epoch = pass.Step, pass.Epoch
	p.names = append(p.names[:0], names...)
	p.pixels = append(p.pixels[:0], pass.Image...)
	p.srcStale = true
	p.cache.invalidate()
}

// imageShape checks an architecture's input shape against an image of n
// values and, when it does not describe it (no architecture, or a seed file
// that left it out), guesses a square grey or RGB image, falling back to a
// single row so that any data still shows.
func imageShape(shape [3]int, n int) [3]int {
	if shape[0] > 0 && shape[1] > 0 && shape[2] > 0 && shape[0]*shape[1]*shape[2] <= n {
		return shape
	}
	for _, c := range []int{1, 3} {
		if n%c != 0 {
			continue
		}
		side := int(math.Round(math.Sqrt(float64(n / c))))
		if side*side*c == n {
			return [3]int{c, side, side}
		}
	}
	return [3]int{1, 1, n}
}

// Draw draws the panel into r of dst.
func (p *InputPanel) Draw(dst *ebiten.Image, r image.Rectangle) {
	img, redraw := p.cache.prepare(r.Size())
	if img == nil {
		return
	}
	if redraw {
		p.render(img)
	}
	p.cache.blit(dst, r.Min)
}

// inputLayout is where the probe image and the two text rows go inside a
// panel of size; Draw and the tests share it.
type inputLayout struct {
	image      image.Rectangle // the scaled probe, whole device pixels per image pixel when it fits
	labelRow   image.Rectangle
	predRow    image.Rectangle
	pixelScale float64
}

func (p *InputPanel) layout(size image.Point) inputLayout {
	_, content := frameLayout(image.Rectangle{Max: size}, true, p.f)
	rowH := int(lineHeight(p.f.Body)) + int(p.f.px(4))
	gap := int(p.f.px(8))
	var l inputLayout
	l.predRow = image.Rect(content.Min.X, content.Max.Y-rowH, content.Max.X, content.Max.Y)
	l.labelRow = l.predRow.Sub(image.Pt(0, rowH))
	avail := image.Rect(content.Min.X, content.Min.Y, content.Max.X, l.labelRow.Min.Y-gap)
	h, w := p.shape[1], p.shape[2]
	if h <= 0 || w <= 0 || avail.Dx() <= 0 || avail.Dy() <= 0 {
		return l
	}
	k := min(float64(avail.Dx())/float64(w), float64(avail.Dy())/float64(h))
	if k >= 1 {
		// Whole multiples keep every image pixel the same size on screen.
		k = math.Floor(k)
	}
	iw, ih := int(float64(w)*k), int(float64(h)*k)
	x := avail.Min.X + (avail.Dx()-iw)/2
	y := avail.Min.Y + (avail.Dy()-ih)/2
	l.image = image.Rect(x, y, x+iw, y+ih)
	l.pixelScale = k
	return l
}

func (p *InputPanel) render(dst *ebiten.Image) {
	th, f := p.th, p.f
	content := DrawPanelFrame(dst, dst.Bounds(), "Input", th, f)
	if !p.has {
		drawText(dst, "no pass yet", f.Body, float64(content.Min.X+content.Max.X)/2,
			float64(content.Min.Y+content.Max.Y)/2-lineHeight(f.Body)/2, th.TextDim, text.AlignCenter)
		return
	}
	l := p.layout(dst.Bounds().Size())
	if !l.image.Empty() {
		p.uploadSource()
		// A hairline frame keeps a black MNIST digit from melting into
		// the dark panel.
		b := int(max(1, f.px(1)))
		fillRect(dst, float64(l.image.Min.X-b), float64(l.image.Min.Y-b), float64(l.image.Dx()+2*b), float64(l.image.Dy()+2*b), th.Border)
		p.imageOp.GeoM.Reset()
		p.imageOp.GeoM.Scale(l.pixelScale, l.pixelScale)
		p.imageOp.GeoM.Translate(float64(l.image.Min.X), float64(l.image.Min.Y))
		p.imageOp.Filter = ebiten.FilterNearest
		dst.DrawImage(p.src, &p.imageOp)
	}

	keyW := max(text.Advance("label", f.Body), text.Advance("pred", f.Body)) + f.px(10)
	x := float64(l.labelRow.Min.X)
	valueW := float64(l.labelRow.Dx()) - keyW
	drawTextMiddle(dst, "label", f.Body, x, l.labelRow, th.TextDim, text.AlignStart)
	drawTextMiddle(dst, "pred", f.Body, x, l.predRow, th.TextDim, text.AlignStart)

	// The step sits at the right of the label row, the epoch under it, in
	// the small face: context, not the headline.
	stepText := "step " + strconv.Itoa(p.step)
	epochText := "epoch " + strconv.Itoa(p.epoch)
	right := float64(l.labelRow.Max.X)
	drawTextMiddle(dst, stepText, f.Small, right, l.labelRow, th.TextDim, text.AlignEnd)
	drawTextMiddle(dst, epochText, f.Small, right, l.predRow, th.TextDim, text.AlignEnd)
	valueW -= max(text.Advance(stepText, f.Small), text.Advance(epochText, f.Small)) + f.px(8)

	drawTextMiddle(dst, fitText(className(p.names, p.label), f.Bold, valueW), f.Bold, x+keyW, l.labelRow, th.Text, text.AlignStart)
	predColor := th.Positive
	if p.pred == p.label {
		predColor = th.Good
	}
	pred := className(p.names, p.pred)
	if !math.IsNaN(float64(p.prob)) {
		pred += "  " + formatPercent(p.prob)
	}
	drawTextMiddle(dst, fitText(pred, f.Bold, valueW), f.Bold, x+keyW, l.predRow, predColor, text.AlignStart)
}

// uploadSource writes the probe into p.src at its own resolution; the GPU
// then scales it with nearest-neighbour filtering.
func (p *InputPanel) uploadSource() {
	c, h, w := p.shape[0], p.shape[1], p.shape[2]
	if p.src == nil || p.src.Bounds().Dx() != w || p.src.Bounds().Dy() != h {
		if p.src != nil {
			p.src.Deallocate()
		}
		p.src = ebiten.NewImage(w, h)
		p.srcStale = true
	}
	if !p.srcStale {
		return
	}
	p.rgba = probeRGBA(p.rgba, p.pixels, c, h, w)
	p.src.WritePixels(p.rgba)
	p.srcStale = false
	p.redrawSrcs++
}

// probeRGBA converts a channel-major (CHW) image with values in 0..1 to
// opaque RGBA bytes. One channel is grey; three or more are RGB from the
// first three; values outside 0..1 are clamped and NaN is black, so a
// corrupt probe still draws.
func probeRGBA(buf []byte, pixels []float32, c, h, w int) []byte {
	n := h * w
	buf = slices.Grow(buf[:0], 4*n)[:4*n]
	byteOf := func(v float32) byte {
		if !(v > 0) { // also NaN
			return 0
		}
		if v >= 1 {
			return 255
		}
		return byte(v*255 + 0.5)
	}
	for i := range n {
		var r, g, b byte
		if c >= 3 {
			r, g, b = byteOf(pixels[i]), byteOf(pixels[n+i]), byteOf(pixels[2*n+i])
		} else {
			r = byteOf(pixels[i])
			g, b = r, r
		}
		buf[4*i], buf[4*i+1], buf[4*i+2], buf[4*i+3] = r, g, b, 255
	}
	return buf
}

// className names class i: its name when the architecture has one, else its
// number, so digits read "7" either way.
func className(names []string, i int) string {
	if i >= 0 && i < len(names) && names[i] != "" {
		return names[i]
	}
	return strconv.Itoa(i)
}

// formatPercent formats a probability as a percentage with one decimal.
func formatPercent(p float32) string {
	return strconv.FormatFloat(float64(p)*100, 'f', 1, 64) + "%"
}
