package engine

import (
	"fmt"
	"image"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/inpututil"
	"github.com/hajimehoshi/ebiten/v2/text/v2"
	"github.com/hajimehoshi/ebiten/v2/vector"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/scene"
)

// modeBarHeight is the height in logical pixels of the strip along the top
// of the network view that holds the view-mode control and what the mode
// shows.
const modeBarHeight = 26

// modeShort are the control's short names for the modes (scene.ViewModes
// order), for a narrow view; the full ones are the modes' own (String).
var modeShort = [...]string{"act", "grad", "upd", "bias", "chg"}

// modeState is the view mode the user chose, the reference pass of the
// change view, and the control that switches modes.
type modeState struct {
	mode    scene.ViewMode
	ref     int             // the reference pass's index (ViewChange): the first until B pins another
	refPass *collector.Pass // pass ref, kept so that stepping never reloads it
	refAt   int             // the index refPass was loaded for; -1: none

	bar   modeBar    // where the control and its note are, in screen pixels
	key   modeBarKey // what the bar shows; it renders again when this changes
	cache panelCache
}

// modeBarKey is everything the mode bar shows.
type modeBarKey struct {
	rect        image.Rectangle
	asked, mode scene.ViewMode
	err         string
	gradients   bool // the run recorded gradients: the gradients segment is available
	step        int  // the shown pass's step
	prev, ref   int  // the steps of the pass before it and of the reference; -1: none
	passShown   bool
}

// modeBar is the laid-out mode bar: one segment per mode, then the note.
type modeBar struct {
	segs  [len(modeShort)]image.Rectangle
	label int // 0: digit and full name, 1: full name, 2: short name
	note  image.Rectangle
}

// modeBarRect is the strip along the top of the network view.
func (g *Game) modeBarRect() image.Rectangle {
	v := g.viewRect()
	return image.Rect(v.Min.X, v.Min.Y, v.Max.X, min(v.Min.Y+g.px(modeBarHeight), v.Max.Y))
}

// viewInput is what the network draws for pass p at index i in the chosen
// mode: with the pass before it for the updates view and the reference
// for the change view, both from the source (whose cache holds the pass
// just shown) or kept here.
func (g *Game) viewInput(i int, p *collector.Pass) viewInput {
	in := viewInput{mode: g.modes.mode, p: p}
	switch g.modes.mode {
	case scene.ViewUpdates:
		if i > 0 {
			in.prev, _ = g.src.Pass(i - 1) // an unreadable pass: the view says updates need it
		}
	case scene.ViewChange:
		if ref := g.referencePass(); ref != nil {
			in.ref = ref.ForProbe(g.shownProbe()) // Δa for the same image
		}
	}
	return in
}

// referencePass loads the change view's reference pass once per pin.
func (g *Game) referencePass() *collector.Pass {
	m := &g.modes
	if m.refPass == nil || m.refAt != m.ref {
		if p, err := g.src.Pass(m.ref); err == nil {
			m.refPass, m.refAt = p, m.ref
		} else {
			m.refPass, m.refAt = nil, -1
		}
	}
	return m.refPass
}

// setViewMode switches the network view to mode m and draws the shown
// pass in it.
func (g *Game) setViewMode(m scene.ViewMode) {
	g.modes.mode = m
	if g.pass != nil {
		g.setNetPass()
	}
	g.tooltip.invalidate()
}

// pinReference makes the shown pass the change view's reference (B) and
// shows the change view, so that stepping away shows what changed since.
func (g *Game) pinReference() {
	if g.pass == nil {
		return
	}
	g.modes.ref, g.modes.refPass, g.modes.refAt = g.shown, g.whole, g.shown
	g.setViewMode(scene.ViewChange)
}

// handleModeKeys switches modes: 1..5 pick one, V the next (Shift-V the
// one before), B pins the reference. It reports whether a key was one.
func (g *Game) handleModeKeys() bool {
	pressed := inpututil.IsKeyJustPressed
	n := len(modeShort)
	for i := range n {
		if pressed(ebiten.Key1+ebiten.Key(i)) || pressed(ebiten.KeyNumpad1+ebiten.Key(i)) {
			g.setViewMode(scene.ViewMode(i))
			return true
		}
	}
	switch {
	case pressed(ebiten.KeyV):
		step := 1
		if ebiten.IsKeyPressed(ebiten.KeyShift) {
			step = n - 1
		}
		g.setViewMode(scene.ViewMode((int(g.modes.mode) + step) % n))
	case pressed(ebiten.KeyB):
		g.pinReference()
	default:
		return false
	}
	return true
}

// clickModeBar selects the mode whose segment holds pt and reports
// whether one did.
func (g *Game) clickModeBar(pt image.Point) bool {
	for i, r := range g.modes.bar.segs {
		if pt.In(r) {
			g.setViewMode(scene.ViewMode(i))
			return true
		}
	}
	return false
}

// modeBarNow is what the mode bar shows this frame: the mode asked for,
// the one the shown geometry draws (they differ while it builds, or when
// the pass cannot show the mode asked for) and the steps it compares.
func (g *Game) modeBarNow() modeBarKey {
	s := &g.net.shown
	k := modeBarKey{rect: g.modeBarRect(), asked: g.modes.mode, mode: s.mode, gradients: g.arch.Gradients,
		prev: -1, ref: -1, passShown: s.in.p != nil}
	if s.in.mode == g.modes.mode && s.err != nil {
		k.err = s.err.Error()
	}
	if s.in.p != nil {
		k.step = s.in.p.Step
	}
	if s.in.prev != nil {
		k.prev = s.in.prev.Step
	}
	if s.in.ref != nil {
		k.ref = s.in.ref.Step
	}
	return k
}

// layoutModeBar places the segments at the left of r, with the longest
// labels that leave the note room, and the note after them.
func (g *Game) layoutModeBar(r image.Rectangle, note float64) modeBar {
	f := g.fonts
	pad, segPad := int(f.px(8)), f.px(9)
	h := min(int(f.px(20)), r.Dy()-int(f.px(4)))
	y := r.Min.Y + (r.Dy()-h)/2
	var b modeBar
	widths := func(label int) (ws [len(modeShort)]int, total int) {
		for i := range modeShort {
			w := text.Advance(g.segmentLabel(i, label), f.Small) + 2*segPad
			ws[i] = int(w + 0.5)
			total += ws[i]
		}
		return ws, total
	}
	room := r.Dx() - 2*pad
	minNote := int(min(note, f.px(140)))
	for b.label = 0; b.label < 2; b.label++ {
		if _, total := widths(b.label); total+pad+minNote <= room {
			break
		}
	}
	ws, _ := widths(b.label)
	x := r.Min.X + pad
	for i, w := range ws {
		b.segs[i] = image.Rect(x, y, x+w, y+h)
		x += w
	}
	b.note = image.Rect(min(x+pad, r.Max.X-pad), r.Min.Y, r.Max.X-pad, r.Max.Y)
	return b
}

// segmentLabel is mode i's label in the given form (modeBar.label).
func (g *Game) segmentLabel(i, form int) string {
	switch form {
	case 0:
		return fmt.Sprintf("%d %s", i+1, scene.ViewMode(i))
	case 1:
		return scene.ViewMode(i).String()
	}
	return modeShort[i]
}

// modeNote says what the shown mode draws, or why the mode asked for
// cannot be drawn, in full and short; warn marks the latter.
func modeNote(k modeBarKey) (full, short string, warn bool) {
	if k.err != "" {
		short := "not available for this pass"
		switch {
		case k.asked == scene.ViewGradients:
			short = "no gradients recorded (--gradients)"
		case k.asked == scene.ViewUpdates && k.prev < 0:
			short = "no pass before this one"
		}
		return k.err + " · showing activations", short + " · activations", true
	}
	if !k.passShown {
		return "", "", false
	}
	switch k.mode {
	case scene.ViewGradients:
		return "connections by ∂L/∂w, neurons by ∂L/∂b, of the training step before this pass", "last step's ∂L/∂w, ∂L/∂b", false
	case scene.ViewUpdates:
		return fmt.Sprintf("|Δw|/|w| per step, over the %d steps from step %d to %d (about 1e-3 is healthy)", k.step-k.prev, k.prev, k.step),
			fmt.Sprintf("|Δw|/|w| a step since %d", k.prev), false
	case scene.ViewBiases:
		return "neurons by their bias, connections by weight", "neurons by bias", false
	case scene.ViewChange:
		if k.ref == k.step {
			return fmt.Sprintf("reference: step %d, this pass · step away to compare, B pins another", k.ref),
				fmt.Sprintf("reference: this pass (step %d)", k.ref), false
		}
		return fmt.Sprintf("Δw and Δa since step %d (the reference) · B pins the shown pass", k.ref),
			fmt.Sprintf("since step %d · B pins", k.ref), false
	}
	return "keys 1–5 or V switch what the view shows", "1–5, V: view mode", false
}

// drawModeBar draws the control and its note, from a cache that renders
// again only when what they show changes.
func (g *Game) drawModeBar(screen *ebiten.Image) {
	k := g.modeBarNow()
	if k != g.modes.key {
		g.modes.key = k
		full, _, _ := modeNote(k)
		g.modes.bar = g.layoutModeBar(k.rect, text.Advance(full, g.fonts.Small))
		g.modes.cache.invalidate()
	}
	g.modes.cache.draw(screen, k.rect, g.renderModeBar)
}

func (g *Game) renderModeBar(dst *ebiten.Image) {
	th, f, k, b := g.theme, g.fonts, &g.modes.key, &g.modes.bar
	r := dst.Bounds()
	off := k.rect.Min
	fillRect(dst, 0, 0, float64(r.Dx()), float64(r.Dy()), th.Background)
	fillRect(dst, 0, float64(r.Dy())-f.px(1), float64(r.Dx()), f.px(1), fade(th.Border, 0.6))
	first, last := b.segs[0].Sub(off), b.segs[len(b.segs)-1].Sub(off)
	rad := float32(f.px(4))
	fillRoundedRect(dst, float32(first.Min.X), float32(first.Min.Y), float32(last.Max.X-first.Min.X), float32(first.Dy()), rad, th.Border)
	fillRoundedRect(dst, float32(first.Min.X)+1, float32(first.Min.Y)+1, float32(last.Max.X-first.Min.X)-2, float32(first.Dy())-2, rad, th.Panel)
	for i, sr := range b.segs {
		s := sr.Sub(off)
		m := scene.ViewMode(i)
		unavailable := m == scene.ViewGradients && !k.gradients
		c := th.TextDim
		switch {
		case m == k.asked:
			fill := mix(th.Panel, th.Accent, 0.45)
			if unavailable {
				fill = mix(th.Panel, th.Warning, 0.3)
			}
			fillRoundedRect(dst, float32(s.Min.X)+1, float32(s.Min.Y)+1, float32(s.Dx())-2, float32(s.Dy())-2, rad, fill)
			c = th.Text
		case unavailable:
			c = fade(th.TextDim, 0.55)
		}
		if m != k.asked && i > 0 && scene.ViewMode(i-1) != k.asked {
			fillRect(dst, float64(s.Min.X), float64(s.Min.Y)+f.px(4), max(1, f.px(1)), float64(s.Dy())-f.px(8), th.Border)
		}
		label := g.segmentLabel(i, b.label)
		cx := float64(s.Min.X+s.Max.X) / 2
		if b.label == 0 { // the key's digit dimmer than the name
			w := text.Advance(label, f.Small)
			digit := label[:1]
			drawTextMiddle(dst, digit, f.Small, cx-w/2, s, fade(c, 0.6), text.AlignStart)
			drawTextMiddle(dst, label[1:], f.Small, cx-w/2+text.Advance(digit, f.Small), s, c, text.AlignStart)
		} else {
			drawTextMiddle(dst, label, f.Small, cx, s, c, text.AlignCenter)
		}
		if unavailable { // struck through: this run has none
			w := float32(text.Advance(label, f.Small))
			y := float32(s.Min.Y+s.Max.Y) / 2
			vector.StrokeLine(dst, float32(cx)-w/2, y, float32(cx)+w/2, y, float32(max(1, f.px(1))), c, true)
		}
	}
	full, short, warn := modeNote(*k)
	nr := b.note.Sub(off)
	if nr.Dx() <= 0 || full == "" {
		return
	}
	s := full
	if text.Advance(s, f.Small) > float64(nr.Dx()) {
		s = fitText(short, f.Small, float64(nr.Dx()))
	}
	c := th.TextDim
	if warn {
		c = th.Warning
	}
	drawTextMiddle(dst, s, f.Small, float64(nr.Min.X), nr, c, text.AlignStart)
}
