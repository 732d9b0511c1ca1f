package engine

import (
	"image"
	"image/color"
	"math"
	"slices"
	"strconv"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/text/v2"

	"github.com/mlpviz/mlpviz/collector"
)

// InputPanel shows the probe image the head is looking at, scaled up with
// nearest-neighbour filtering so the individual pixels the network sees stay
// visible, with its true label and the current prediction under or beside
// it. A run that records a probe set gets a strip of thumbnails under it,
// one per probe, each underlined green when the head classifies it right
// and red when wrong, the one shown framed; a click on one shows it.
type InputPanel struct {
	th    *Theme
	f     *Fonts
	cache panelCache

	// What the cache shows, copied from the last Set that changed it.
	has      bool
	shape    [3]int // channels, height, width
	pixels   []float32
	names    []string
	label    int
	pred     int
	prob     float32 // probability of the prediction; NaN when unknown
	step     int
	epoch    int
	src      *ebiten.Image // the probe at its own resolution
	srcStale bool          // pixels changed since src was written
	rgba     []byte
	imageOp  ebiten.DrawImageOptions
	uploads  int // writes of the probe into src; tests read it

	set probeSet // the probe set's thumbnails; none for a single probe
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
	if pass == nil {
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
	if len(pass.Image) > 0 {
		shape = imageShape(shape, len(pass.Image))
	} else {
		shape = [3]int{} // a seed file without images: the text only
	}
	// A seed file marks an unknown prediction -1; its probabilities, when
	// it has them, still say which class won.
	pred := pass.Prediction
	if (pred < 0 || pred >= len(pass.Probs)) && len(pass.Probs) > 0 {
		pred = argmax(pass.Probs)
	}
	prob := float32(math.NaN())
	if pred >= 0 && pred < len(pass.Probs) {
		prob = pass.Probs[pred]
	}
	samePixels := shape == p.shape && sameFloats(pass.Image, p.pixels)
	if p.has && samePixels && pass.TrueLabel == p.label && pred == p.pred &&
		pass.Step == p.step && pass.Epoch == p.epoch && math.Float32bits(prob) == math.Float32bits(p.prob) &&
		slices.Equal(names, p.names) {
		return
	}
	p.has = true
	p.label, p.pred, p.prob = pass.TrueLabel, pred, prob
	p.step, p.epoch = pass.Step, pass.Epoch
	p.names = append(p.names[:0], names...)
	if !samePixels {
		// The probe is often the same image pass after pass; only its
		// prediction moves. Then the texture stays as it is.
		p.shape = shape
		p.pixels = append(p.pixels[:0], pass.Image...)
		p.srcStale = true
	}
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
	p.cache.draw(dst, r, p.render)
}

// inputLayout is where the probe image and the text go inside a panel of
// size; Draw and the tests share it. A tall panel stacks the text under the
// image; a wide, short one (the window's side bar gives the input panel
// little height) puts the text beside the image when that lets the image
// be drawn larger.
type inputLayout struct {
	image      image.Rectangle // the scaled probe, whole device pixels per image pixel when it fits
	area       image.Rectangle // the room for the image, where "no image" goes when there is none
	pixelScale float64
	side       bool // text to the right of the image, one item per row
	labelRow   image.Rectangle
	predRow    image.Rectangle
	stepRow    image.Rectangle // in the stacked layout, the label row (right-aligned)
	epochRow   image.Rectangle // in the stacked layout, the prediction row (right-aligned)

	// The probe set's strip along the bottom, under everything else;
	// empty for a single probe.
	strip      image.Rectangle
	thumbs     []image.Rectangle // per probe: its cell, what a click hits
	images     []image.Rectangle // per probe: the thumbnail in its cell
	marks      []image.Rectangle // per probe: the right/wrong underline
	labels     []image.Rectangle // per probe: its true label; none when the names do not fit
	thumbScale float64           // thumbnail pixels per probe pixel
}

// maxProbeSide is the largest probe side drawn; a texture must fit the GPU,
// and anything larger is a flattened vector from an odd seed file, not a
// picture.
const maxProbeSide = 2048

// fitScale is the factor that fits a w×h image into avail: a whole number
// when it is at least 1, so every image pixel has the same size on screen.
func fitScale(w, h int, avail image.Point) float64 {
	if w <= 0 || h <= 0 || avail.X <= 0 || avail.Y <= 0 {
		return 0
	}
	k := min(float64(avail.X)/float64(w), float64(avail.Y)/float64(h))
	if k >= 1 {
		k = math.Floor(k)
	}
	return k
}

func (p *InputPanel) layout(size image.Point) inputLayout {
	f := p.f
	_, content := frameLayout(image.Rectangle{Max: size}, true, f)
	rowH := int(lineHeight(f.Body)) + int(f.px(4))
	gap := int(f.px(8))
	var l inputLayout
	if p.set.len() > 0 {
		// The probe keeps at least two thirds of the height.
		g := p.thumbGrid(content.Dx(), content.Dy()/3)
		l.strip = image.Rect(content.Min.X, content.Max.Y-g.height(), content.Max.X, content.Max.Y)
		p.layoutStrip(&l, g)
		content.Max.Y = max(l.strip.Min.Y-gap, content.Min.Y)
	}
	h, w := p.shape[1], p.shape[2]
	if h > maxProbeSide || w > maxProbeSide {
		h, w = 0, 0 // not an image a texture can hold: the text only
	}

	stackAvail := image.Pt(content.Dx(), content.Dy()-2*rowH-gap)
	textW := int(f.px(130))
	sideAvail := image.Pt(content.Dx()-textW-2*gap, content.Dy())
	kStack, kSide := fitScale(w, h, stackAvail), fitScale(w, h, sideAvail)

	if kSide > kStack && content.Dy() >= 4*rowH+gap {
		l.side = true
		l.pixelScale = kSide
		iw, ih := int(float64(w)*kSide), int(float64(h)*kSide)
		y := content.Min.Y + (content.Dy()-ih)/2
		l.image = image.Rect(content.Min.X, y, content.Min.X+iw, y+ih)
		l.area = l.image
		tx := l.image.Max.X + 2*gap
		ty := y + (ih-(4*rowH+gap))/2
		row := func(i int) image.Rectangle {
			y := ty + i*rowH
			if i >= 2 {
				y += gap
			}
			return image.Rect(tx, y, content.Max.X, y+rowH)
		}
		l.labelRow, l.predRow, l.stepRow, l.epochRow = row(0), row(1), row(2), row(3)
		return l
	}
	l.predRow = image.Rect(content.Min.X, content.Max.Y-rowH, content.Max.X, content.Max.Y)
	l.labelRow = l.predRow.Sub(image.Pt(0, rowH))
	l.stepRow, l.epochRow = l.labelRow, l.predRow
	l.area = image.Rectangle{Min: content.Min, Max: content.Min.Add(stackAvail)}
	if kStack > 0 {
		iw, ih := int(float64(w)*kStack), int(float64(h)*kStack)
		x := content.Min.X + (content.Dx()-iw)/2
		y := content.Min.Y + (stackAvail.Y-ih)/2
		l.image = image.Rect(x, y, x+iw, y+ih)
		l.pixelScale = kStack
	}
	return l
}

func (p *InputPanel) render(dst *ebiten.Image) {
	th, f := p.th, p.f
	content := DrawPanelFrame(dst, dst.Bounds(), "Input", th, f)
	if !p.has {
		drawTextMiddle(dst, "no pass yet", f.Body, float64(content.Min.X+content.Max.X)/2, content, th.TextDim, text.AlignCenter)
		return
	}
	l := p.layout(dst.Bounds().Size())
	if t := p.set.title(); t != "" {
		tr, _ := frameLayout(dst.Bounds(), true, f)
		drawTextMiddle(dst, t, f.Small, float64(tr.Max.X), tr, th.TextDim, text.AlignEnd)
	}
	p.drawStrip(dst, &l)
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
	} else if len(p.pixels) == 0 && !l.area.Empty() {
		drawTextMiddle(dst, "no image in this pass", f.Small, float64(l.area.Min.X+l.area.Max.X)/2, l.area, th.TextDim, text.AlignCenter)
	}

	keyW := max(text.Advance("label", f.Body), text.Advance("pred", f.Body)) + f.px(10)
	x := float64(l.labelRow.Min.X)
	valueW := float64(l.labelRow.Dx()) - keyW
	drawTextMiddle(dst, "label", f.Body, x, l.labelRow, th.TextDim, text.AlignStart)
	drawTextMiddle(dst, "pred", f.Body, x, l.predRow, th.TextDim, text.AlignStart)

	// The step and epoch are context, not the headline: small and dim,
	// under the label and prediction beside the image, or at the right of
	// their rows under it.
	stepText := "step " + strconv.Itoa(p.step)
	epochText := "epoch " + strconv.Itoa(p.epoch)
	if l.side {
		drawTextMiddle(dst, fitText(stepText, f.Small, float64(l.stepRow.Dx())), f.Small, x, l.stepRow, th.TextDim, text.AlignStart)
		drawTextMiddle(dst, fitText(epochText, f.Small, float64(l.epochRow.Dx())), f.Small, x, l.epochRow, th.TextDim, text.AlignStart)
	} else {
		right := float64(l.stepRow.Max.X)
		drawTextMiddle(dst, stepText, f.Small, right, l.stepRow, th.TextDim, text.AlignEnd)
		drawTextMiddle(dst, epochText, f.Small, right, l.epochRow, th.TextDim, text.AlignEnd)
		valueW -= max(text.Advance(stepText, f.Small), text.Advance(epochText, f.Small)) + f.px(8)
	}

	drawTextMiddle(dst, fitText(className(p.names, p.label), f.Bold, valueW), f.Bold, x+keyW, l.labelRow, th.Text, text.AlignStart)
	pred := className(p.names, p.pred)
	if !math.IsNaN(float64(p.prob)) {
		pred += "  " + formatPercent(p.prob)
	}
	drawTextMiddle(dst, fitText(pred, f.Bold, valueW), f.Bold, x+keyW, l.predRow, predictionColor(th, p.pred, p.label), text.AlignStart)
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
	p.uploads++
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
// number, so digits read "7" either way; a dash when it is unknown (a seed
// file marks a missing label or prediction -1).
func className(names []string, i int) string {
	switch {
	case i < 0:
		return "—"
	case i < len(names) && names[i] != "":
		return names[i]
	default:
		return strconv.Itoa(i)
	}
}

// predictionColor is green for a right prediction, red for a wrong one,
// and plain text when either side is unknown.
func predictionColor(th *Theme, pred, label int) color.RGBA {
	switch {
	case pred < 0 || label < 0:
		return th.Text
	case pred == label:
		return th.Good
	default:
		return th.Positive
	}
}

// formatPercent formats a probability as a percentage with one decimal.
func formatPercent(p float32) string {
	return strconv.FormatFloat(float64(p)*100, 'f', 1, 64) + "%"
}
