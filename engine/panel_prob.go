package engine

import (
	"image"
	"image/color"
	"math"
	"slices"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/text/v2"

	"github.com/mlpviz/mlpviz/collector"
)

// ProbPanel is the histogram of the head's output probabilities for the
// probe: one bar per class, the predicted class in the accent colour with
// its probability written out, the true class marked in green. Short class
// names (digits) stand under vertical bars; long ones (Fashion-MNIST,
// CIFAR-10) would not fit under a bar, so the panel then lays the bars out
// horizontally with the names to their left.
type ProbPanel struct {
	th    *Theme
	f     *Fonts
	cache panelCache

	has     bool
	missing bool // a pass without probabilities or logits
	probs   []float32
	scratch []float32 // softmax of the logits when a pass has no Probs
	names   []string
	truth   int
	pred    int
}

// NewProbPanel makes an empty probability panel.
func NewProbPanel(th *Theme, f *Fonts) *ProbPanel {
	return &ProbPanel{th: th, f: f}
}

// Set shows pass's output probabilities; like InputPanel.Set it copies only
// what changed, so calling it every frame is free. pass or arch may be nil.
func (p *ProbPanel) Set(arch *collector.Architecture, pass *collector.Pass) {
	var probs []float32
	if pass != nil {
		probs = pass.Probs
		if len(probs) == 0 && len(pass.Logits) > 0 {
			p.scratch = softmax(p.scratch, pass.Logits)
			probs = p.scratch
		}
	}
	if len(probs) == 0 {
		if missing := pass != nil; p.has || missing != p.missing {
			p.has, p.missing = false, missing
			p.cache.invalidate()
		}
		return
	}
	p.missing = false
	var names []string
	if arch != nil {
		names = arch.ClassNames
	}
	pred := pass.Prediction
	if pred < 0 || pred >= len(probs) {
		pred = argmax(probs)
	}
	if p.has && pred == p.pred && pass.TrueLabel == p.truth && sameFloats(probs, p.probs) && slices.Equal(names, p.names) {
		return
	}
	p.has = true
	p.pred, p.truth = pred, pass.TrueLabel
	p.probs = append(p.probs[:0], probs...)
	p.names = append(p.names[:0], names...)
	p.cache.invalidate()
}

// softmax writes the softmax of logits into buf, for passes (seed files)
// that carry logits but no probabilities.
func softmax(buf, logits []float32) []float32 {
	buf = slices.Grow(buf[:0], len(logits))[:len(logits)]
	m := math.Inf(-1)
	for _, v := range logits {
		m = max(m, float64(v))
	}
	var sum float64
	for i, v := range logits {
		e := math.Exp(float64(v) - m)
		buf[i] = float32(e)
		sum += e
	}
	for i := range buf {
		buf[i] = float32(float64(buf[i]) / sum)
	}
	return buf
}

// argmax is the index of the largest value, ignoring NaN; 0 when none.
func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] || math.IsNaN(float64(v[best])) {
			best = i
		}
	}
	return best
}

// Draw draws the panel into r of dst.
func (p *ProbPanel) Draw(dst *ebiten.Image, r image.Rectangle) {
	p.cache.draw(dst, r, p.render)
}

// probLayout is where the header and each bar's track go in a panel; the
// bar itself fills its track from the bottom (vertical) or the left
// (horizontal) in proportion to the probability. Draw and the tests share
// it.
type probLayout struct {
	header   image.Rectangle
	vertical bool
	tracks   []image.Rectangle // one per class, full height (or width) = probability 1
	labels   []image.Rectangle // where each class name goes
	values   []image.Rectangle // horizontal layout only: where each percentage goes
	marks    []image.Rectangle // horizontal layout only: where the true class's tick goes
}

// minHeight is the least height of a panel width wide at which every
// class gets a row its name can be read in, when the names are too long to
// stand under vertical bars (CIFAR-10's); 0 when vertical bars fit.
func (p *ProbPanel) minHeight(width int) int {
	f := p.f
	title, content := frameLayout(image.Rect(0, 0, width, 1000), true, f)
	n := len(p.names)
	if vertical, _ := p.fitsVertical(content.Dx()); n == 0 || vertical {
		return 0
	}
	header := int(lineHeight(f.Bold)) + int(f.px(4)) + int(f.px(8))
	return title.Dy() + int(f.px(6)) + header + n*int(lineHeight(f.Small)+f.px(2)) + int(f.px(10))
}

// fitsVertical reports whether every class name fits under its own
// vertical bar in an area w wide, and the widest name.
func (p *ProbPanel) fitsVertical(w int) (bool, float64) {
	f := p.f
	n := max(len(p.probs), len(p.names))
	if n == 0 {
		return true, 0
	}
	colW := w / n
	widest := 0.0
	for i := range n {
		widest = max(widest, text.Advance(className(p.names, i), f.Small))
	}
	return widest+f.px(2) <= float64(colW) && colW >= int(f.px(6)), widest
}

func (p *ProbPanel) layout(size image.Point) probLayout {
	f := p.f
	_, content := frameLayout(image.Rectangle{Max: size}, true, f)
	var l probLayout
	headerH := int(lineHeight(f.Bold)) + int(f.px(4))
	l.header = image.Rect(content.Min.X, content.Min.Y, content.Max.X, content.Min.Y+headerH)
	area := image.Rect(content.Min.X, l.header.Max.Y+int(f.px(8)), content.Max.X, content.Max.Y)
	n := len(p.probs)
	if n == 0 || area.Dx() <= 0 || area.Dy() <= 0 {
		return l
	}

	// Vertical bars when every name fits under its bar: short names stand
	// under vertical bars at any height, where ten horizontal rows squeezed
	// into a short panel would overlap.
	colW := area.Dx() / n
	labelH := int(lineHeight(f.Small)) + int(f.px(6))
	var widest float64
	l.vertical, widest = p.fitsVertical(area.Dx())
	if l.vertical {
		gap := max(int(f.px(2)), colW/5)
		x0 := area.Min.X + (area.Dx()-colW*n)/2
		bottom := area.Max.Y - labelH
		for i := range n {
			x := x0 + i*colW
			l.tracks = append(l.tracks, image.Rect(x+gap/2, area.Min.Y, x+colW-(gap-gap/2), bottom))
			l.labels = append(l.labels, image.Rect(x, bottom, x+colW, area.Max.Y))
		}
		return l
	}

	rowH := min(area.Dy()/n, int(lineHeight(f.Small)*1.8))
	if rowH <= 0 {
		return l
	}
	markW := int(max(2, f.px(2)))
	gap := int(f.px(6))
	nameW := min(int(widest+f.px(2)), area.Dx()*2/5)
	valueW := int(text.Advance("100.0%", f.Small) + f.px(2))
	barGap := max(int(f.px(2)), rowH/5)
	y0 := area.Min.Y + (area.Dy()-rowH*n)/2
	for i := range n {
		y := y0 + i*rowH
		row := image.Rect(area.Min.X, y, area.Max.X, y+rowH)
		l.marks = append(l.marks, image.Rect(row.Min.X, row.Min.Y+barGap/2, row.Min.X+markW, row.Max.Y-(barGap-barGap/2)))
		row.Min.X += markW + gap
		l.labels = append(l.labels, image.Rect(row.Min.X, row.Min.Y, row.Min.X+nameW, row.Max.Y))
		l.values = append(l.values, image.Rect(row.Max.X-valueW, row.Min.Y, row.Max.X, row.Max.Y))
		l.tracks = append(l.tracks, image.Rect(row.Min.X+nameW+gap, row.Min.Y+barGap/2, row.Max.X-valueW-gap, row.Max.Y-(barGap-barGap/2)))
	}
	return l
}

// barColors are the fills of an ordinary bar and of its empty track,
// derived from the theme so another theme needs no extra colours.
func (p *ProbPanel) barColors() (bar, track color.RGBA) {
	return mix(p.th.Panel, p.th.TextDim, 0.45), mix(p.th.Panel, p.th.Border, 0.6)
}

func (p *ProbPanel) render(dst *ebiten.Image) {
	th, f := p.th, p.f
	content := DrawPanelFrame(dst, dst.Bounds(), "Output probabilities", th, f)
	if !p.has {
		msg := "no pass yet"
		if p.missing {
			msg = "no probabilities in this pass"
		}
		drawTextMiddle(dst, msg, f.Body, float64(content.Min.X+content.Max.X)/2, content, th.TextDim, text.AlignCenter)
		return
	}
	l := p.layout(dst.Bounds().Size())

	// Header: "pred 7  93.1%" in green when right, red when wrong, and the
	// true class at the right.
	predColor := predictionColor(th, p.pred, p.truth)
	trueText := "true " + className(p.names, p.truth)
	trueW := text.Advance(trueText, f.Body)
	predText := "pred " + className(p.names, p.pred) + "  " + formatPercent(p.probs[p.pred])
	drawTextMiddle(dst, fitText(predText, f.Bold, float64(l.header.Dx())-trueW-f.px(12)), f.Bold, float64(l.header.Min.X), l.header, predColor, text.AlignStart)
	drawTextMiddle(dst, trueText, f.Body, float64(l.header.Max.X), l.header, th.TextDim, text.AlignEnd)

	barC, trackC := p.barColors()
	mark := int(max(2, f.px(2)))
	for i, tr := range l.tracks {
		v := float64(p.probs[i])
		if math.IsNaN(v) {
			v = 0
		}
		v = min(max(v, 0), 1)
		c := barC
		if i == p.pred {
			c = th.Accent
		}
		fillRect(dst, float64(tr.Min.X), float64(tr.Min.Y), float64(tr.Dx()), float64(tr.Dy()), trackC)
		name := className(p.names, i)
		nameC := th.TextDim
		nameFace := f.Small
		if i == p.truth {
			nameC = th.Good
		}
		lr := l.labels[i]
		if l.vertical {
			h := math.Round(v * float64(tr.Dy()))
			fillRect(dst, float64(tr.Min.X), float64(tr.Max.Y)-h, float64(tr.Dx()), h, c)
			drawText(dst, name, nameFace, float64(lr.Min.X+lr.Max.X)/2, float64(lr.Min.Y)+f.px(4), nameC, text.AlignCenter)
			if i == p.truth {
				// The true class is underlined in green under its name.
				fillRect(dst, float64(tr.Min.X), float64(lr.Max.Y-mark), float64(tr.Dx()), float64(mark), th.Good)
			}
			continue
		}
		w := math.Round(v * float64(tr.Dx()))
		fillRect(dst, float64(tr.Min.X), float64(tr.Min.Y), w, float64(tr.Dy()), c)
		if i == p.truth {
			// A green tick left of the name marks the true class.
			mr := l.marks[i]
			fillRect(dst, float64(mr.Min.X), float64(mr.Min.Y), float64(mr.Dx()), float64(mr.Dy()), th.Good)
		}
		drawTextMiddle(dst, fitText(name, nameFace, float64(lr.Dx())), nameFace, float64(lr.Max.X), lr, nameC, text.AlignEnd)
		valC := th.TextDim
		if i == p.pred {
			valC = th.Accent
		}
		vr := l.values[i]
		drawTextMiddle(dst, formatPercent(float32(v)), f.Small, float64(vr.Max.X), vr, valC, text.AlignEnd)
	}
}
