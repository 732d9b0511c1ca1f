package engine

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/text/v2"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/scene"
)

// hudState is everything the top bar shows; the bar is drawn again only
// when it changes, so an idle frame costs one DrawImage.
type hudState struct {
	width                         int
	fps, ips                      int
	idle                          bool // not redrawing: the HUD says so instead of a frame rate
	recording                     bool // a video is being made: the frame rate is the window's, not the video's, so it stays out
	state                         string
	step, epoch                   int
	hasPass, hasStatus            bool
	mode                          scene.RangeMode
	nonFinite, edges, all, builds int
	compare                       hudCompare // a window of two: its layout, B's step
}

func (g *Game) hudNow() hudState {
	h := hudState{width: g.width, fps: int(math.Round(g.clock.fpsShown)), idle: g.idle.idle, recording: g.rec.video != nil || g.opt.Render != nil, mode: g.net.mode, builds: g.net.geom.Builds,
		nonFinite: g.net.geom.NonFinite, edges: g.net.geom.Edges, all: g.net.geom.AllEdges, compare: g.hudCompareNow()}
	if g.opt.Status != nil {
		st := g.opt.Status()
		h.hasStatus, h.ips, h.state = true, int(math.Round(st.ImagesPerSecond)), st.State
	}
	if g.pass != nil {
		h.hasPass, h.step, h.epoch = true, g.pass.Step, g.pass.Epoch
	}
	return h
}

// drawHUD draws the top bar: run, FPS, step, epoch, img/s, colour range
// mode, connections drawn and the count of NaN or Inf values in the pass.
func (g *Game) drawHUD(screen *ebiten.Image) {
	if h := g.hudNow(); h != g.hud {
		g.hud = h
		g.hudCache.invalidate()
	}
	g.hudCache.draw(screen, g.hudRect(), g.renderHUD)
}

func (g *Game) renderHUD(dst *ebiten.Image) {
	h, th, f := &g.hud, g.theme, g.fonts
	r := dst.Bounds()
	fillRect(dst, 0, 0, float64(r.Dx()), float64(r.Dy()), th.Panel)
	fillRect(dst, 0, float64(r.Max.Y)-f.px(1), float64(r.Dx()), f.px(1), th.Border)
	title := fmt.Sprintf("mlpviz  ·  %s on %s", g.arch.Model, g.arch.Dataset)
	title = fitText(title, f.Bold, float64(r.Dx())-f.px(24))
	drawTextMiddle(dst, title, f.Bold, f.px(12), r, th.Text, text.AlignStart)

	// Items from the right, the most wanted first; where the title leaves
	// no room for one, it and the rest stay out.
	x := float64(r.Max.X) - f.px(12)
	left := f.px(12) + text.Advance(title, f.Bold) + f.px(18)
	item := func(s string, col color.RGBA) {
		w := text.Advance(s, f.Mono)
		if x-w < left {
			left = math.Inf(1)
			return
		}
		drawTextMiddle(dst, s, f.Mono, x, r, col, text.AlignEnd)
		x -= w + f.px(18)
	}
	dim := th.TextDim
	switch {
	case h.recording:
	case h.idle:
		item("idle", dim)
	default:
		item(fmt.Sprintf("%3d fps", h.fps), dim)
	}
	if h.hasStatus {
		ips := fmt.Sprintf("%d img/s", h.ips)
		if g.opt.Device != "" {
			ips += " on " + g.opt.Device
		}
		item(ips, dim)
		if h.state != "" {
			item(h.state, dim)
		}
	}
	if h.hasPass {
		item(fmt.Sprintf("epoch %d", h.epoch), dim)
		item(fmt.Sprintf("step %d", h.step), dim)
	}
	g.hudCompareItems(h.compare, item)
	item("range "+h.mode.String()+" (G)", dim)
	if h.builds > 0 {
		if h.nonFinite > 0 {
			item(fmt.Sprintf("%d NaN/Inf", h.nonFinite), th.Warning)
		}
		if h.edges < h.all {
			item(fmt.Sprintf("%d of %d connections", h.edges, h.all), dim)
		} else {
			item(fmt.Sprintf("%d connections", h.edges), dim)
		}
	}
}

// drawLayerLabels names the layers and the output classes (network.go) and
// says when there are no passes yet.
func (g *Game) drawLayerLabels(screen *ebiten.Image) {
	g.drawNetLabels(screen)
	v := g.viewRect()
	if g.src.Len() == 0 {
		r := image.Rect(v.Min.X, v.Max.Y-g.px(56), v.Max.X, v.Max.Y-g.px(24))
		g.emptyCache.draw(screen, r, g.renderEmpty)
	}
}

func (g *Game) renderEmpty(dst *ebiten.Image) {
	msg := "no passes yet: the architecture is shown; passes appear as training writes them"
	r := dst.Bounds()
	drawTextMiddle(dst, msg, g.fonts.Body, float64(r.Dx()/2), r, g.theme.TextDim, text.AlignCenter)
}

// tooltip is the text about the hovered (or pinned) neuron, rendered into
// its own image only when the neuron or the pass changes.
type tooltip struct {
	id, pass int
	from     *collector.Pass // the pass the view colours by (a mode's derived pass)
	lines    []tipLine
	valid    bool
	size     image.Point
	cache    panelCache
}

func (t *tooltip) invalidate() { t.valid = false }

func (g *Game) drawTooltip(screen *ebiten.Image) {
	id := g.litNeuron()
	if id < 0 || g.pass == nil {
		return
	}
	t := &g.tooltip
	if !t.valid || t.id != id || t.pass != g.shown || t.from != g.net.shown.pass {
		info, ok := scene.Describe(g.net.layout, g.pass, id, 5)
		if !ok {
			return
		}
		t.id, t.pass, t.from, t.valid = id, g.shown, g.net.shown.pass, true
		t.lines = tooltipLines(info, g.arch.ClassNames, g.arch.HealthBatch)
		if l, ok := g.modeLine(id, info.Layer); ok { // what the neuron is coloured by, after its name
			t.lines = append(t.lines[:1], append([]tipLine{l}, t.lines[1:]...)...)
		}
		g.setTooltipLines(t.lines)
	}
	at := g.tooltipAt(id, t.size)
	t.cache.draw(screen, image.Rectangle{Min: at, Max: at.Add(t.size)}, g.renderTooltip)
}

// setTooltipLines sizes the tooltip for its lines and has it render again.
func (g *Game) setTooltipLines(lines []tipLine) {
	t, f := &g.tooltip, g.fonts
	t.lines = lines
	w := 0.0
	for _, l := range lines {
		w = math.Max(w, text.Advance(l.s, f.Mono))
	}
	t.size = image.Pt(int(w)+g.px(20), int((lineHeight(f.Mono)+f.px(2))*float64(len(lines)))+g.px(14))
	t.cache.invalidate()
}

// tooltipAt places a tooltip of size off the lit neuron's pathways: beside
// the span of the layers they join (the neuron's own and its neighbours)
// where the view has room, else in the top corner of the view away from the
// neuron, so the connections being read stay visible.
func (g *Game) tooltipAt(id int, size image.Point) image.Point {
	l := g.net.layout
	k, i, _ := l.Locate(id)
	nx, ny := l.Pos(k, i)
	sx, sy := g.net.cam.ToScreen(nx, ny)
	lo, hi := l.Layers[max(k-1, 0)].Bounds.MinX, l.Layers[min(k+1, len(l.Layers)-1)].Bounds.MaxX
	x0, _ := g.net.cam.ToScreen(lo, 0)
	x1, _ := g.net.cam.ToScreen(hi, 0)
	v := g.netRect()
	m := g.px(12)
	y := min(max(int(sy)-size.Y/2, v.Min.Y+g.px(4)), v.Max.Y-size.Y-g.px(4))
	switch {
	case int(x1)+m+size.X <= v.Max.X-g.px(4):
		return image.Pt(int(x1)+m, y)
	case int(x0)-m-size.X >= v.Min.X+g.px(4):
		return image.Pt(int(x0)-m-size.X, y)
	case int(sx) > (v.Min.X+v.Max.X)/2:
		return image.Pt(v.Min.X+g.px(8), v.Min.Y+g.px(8))
	}
	return image.Pt(v.Max.X-g.px(8)-size.X, v.Min.Y+g.px(8))
}

func (g *Game) renderTooltip(dst *ebiten.Image) {
	t, f, th := &g.tooltip, g.fonts, g.theme
	w, h := float64(t.size.X), float64(t.size.Y)
	fillRoundedRect(dst, 0, 0, float32(w), float32(h), float32(f.px(6)), fade(th.Panel, 0.96))
	fillRect(dst, 0, 0, f.px(3), h, th.Accent)
	lh := lineHeight(f.Mono) + f.px(2)
	tones := [...]color.RGBA{tipPlain: th.Text, tipTitle: th.Accent, tipDim: th.TextDim, tipWarn: th.Warning}
	for j, l := range t.lines {
		drawText(dst, l.s, f.Mono, f.px(10), f.px(7)+float64(j)*lh, tones[l.tone], text.AlignStart)
	}
}

// tipLine is one line of the tooltip and how it stands out.
type tipLine struct {
	s    string
	tone int // tipPlain, ...
}

const (
	tipPlain = iota
	tipTitle
	tipDim
	tipWarn
)

// tooltipLines is what the tooltip says about a neuron: its name, values,
// health over the run's batch of batch images (a hidden neuron of a pass
// that measured it) and strongest inputs.
func tooltipLines(info scene.NeuronInfo, classes []string, batch int) []tipLine {
	name := fmt.Sprintf("%s  ·  neuron %d", info.LayerName, info.Index)
	if info.Layer > 0 && info.Index < len(classes) && len(info.Top) > 0 && info.LayerName[:6] == "output" {
		name += "  (" + classes[info.Index] + ")"
	}
	lines := []tipLine{{name, tipTitle}, {fmt.Sprintf("activation  %+.4f", info.Activation), tipPlain}}
	if info.Layer == 0 {
		return lines
	}
	lines = append(lines, tipLine{fmt.Sprintf("pre-act     %+.4f", info.PreAct), tipPlain})
	if info.HasBias {
		lines = append(lines, tipLine{fmt.Sprintf("bias        %+.4f", info.Bias), tipPlain})
	}
	if info.HasHealth {
		state, tone := "", tipPlain
		switch {
		case info.Dead:
			state, tone = "  · dead", tipWarn
		case info.Saturated:
			state, tone = "  · saturated", tipWarn
		}
		lines = append(lines,
			tipLine{fmt.Sprintf("active for %.0f %% of %d images%s", 100*info.Active, batch, state), tone},
			tipLine{fmt.Sprintf("mean act    %+.4f over them", info.Mean), tipPlain})
	}
	lines = append(lines, tipLine{"strongest inputs (w·a):", tipDim})
	for _, c := range info.Top {
		lines = append(lines, tipLine{fmt.Sprintf("  #%-4d %+.4f = %+.3f × %.3f", c.From, c.Value, c.Weight, c.Input), tipDim})
	}
	return lines
}

// modeLine is what neuron id (of layer k) is coloured by in the view mode
// shown, when that is not its activation or its bias, both in the tooltip
// anyway; an input has no gradient or update of its own.
func (g *Game) modeLine(id, k int) (tipLine, bool) {
	s := &g.net.shown
	if s.mode == scene.ViewActivations || s.mode == scene.ViewBiases || s.pass == nil || s.in.p != g.pass {
		return tipLine{}, false
	}
	if k == 0 && s.mode != scene.ViewChange {
		return tipLine{}, false
	}
	info, ok := scene.Describe(g.net.layout, s.pass, id, 0)
	if !ok {
		return tipLine{}, false
	}
	v := info.Activation
	switch s.mode {
	case scene.ViewGradients:
		return tipLine{fmt.Sprintf("∂L/∂b       %+.3e", v), tipTitle}, true
	case scene.ViewUpdates:
		return tipLine{"update      " + updateRatio(v) + " |ΔW|/|W| of its input weights", tipTitle}, true
	}
	ref := -1
	if s.in.ref != nil {
		ref = s.in.ref.Step
	}
	return tipLine{fmt.Sprintf("Δ activation %+.4f since step %d", v, ref), tipTitle}, true
}

// updateRatio writes a value of the updates view (log10 of the ratio over
// scene.HealthyUpdate, clamped) as the ratio, "≤" or "≥" at the ends.
func updateRatio(v float32) string {
	r := scene.HealthyUpdate * math.Pow(10, float64(v))
	switch {
	case v <= -scene.UpdateDecades:
		return fmt.Sprintf("≤ %.0e", r)
	case v >= scene.UpdateDecades:
		return fmt.Sprintf("≥ %.0e", r)
	}
	return fmt.Sprintf("%.1e", r)
}

// drawBanner shows a read problem (a damaged file) across the view.
func (g *Game) drawBanner(screen *ebiten.Image) {
	err := g.runErr()
	if err == nil {
		return
	}
	if err != g.bannerErr {
		g.bannerErr = err
		g.bannerCache.invalidate()
	}
	v := g.bannerArea()
	x0, x1, y0 := v.Min.X+g.px(12), v.Max.X-g.px(12), v.Min.Y+g.px(10)
	lines := g.bannerLines(x1 - x0)
	r := image.Rect(x0, y0, x1, y0+int(math.Ceil(float64(len(lines))*lineHeight(g.fonts.Body)+g.fonts.px(14))))
	g.bannerCache.draw(screen, r, g.renderBanner)
}

// bannerLines is the banner's message wrapped to its width: up to three
// lines, so a long path and reason are read whole.
func (g *Game) bannerLines(width int) []string {
	return wrapText(g.bannerErr.Error(), g.fonts.Body, float64(width)-g.fonts.px(20), 3)
}

func (g *Game) renderBanner(dst *ebiten.Image) {
	r := dst.Bounds()
	f := g.fonts
	fillRoundedRect(dst, 0, 0, float32(r.Dx()), float32(r.Dy()), float32(f.px(5)), mix(g.theme.Panel, g.theme.Positive, 0.45))
	for i, l := range g.bannerLines(r.Dx()) {
		drawText(dst, l, f.Body, f.px(10), f.px(7)+float64(i)*lineHeight(f.Body), g.theme.Text, text.AlignStart)
	}
}

// saveScreenshot writes the screen as a PNG.
func saveScreenshot(screen *ebiten.Image, path string) error {
	b := screen.Bounds()
	img := image.NewRGBA(b)
	screen.ReadPixels(img.Pix)
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("screenshot %s: %w", path, err)
	}
	return f.Close()
}
