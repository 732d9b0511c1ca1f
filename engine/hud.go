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

	"github.com/mlpviz/mlpviz/scene"
)

// drawHUD draws the top bar: run, FPS, step, epoch, img/s, colour range
// mode and the count of NaN or Inf values in the shown pass.
func (g *Game) drawHUD(screen *ebiten.Image) {
	r := g.hudRect()
	th, f := g.theme, g.fonts
	fillRect(screen, 0, 0, float64(r.Dx()), float64(r.Dy()), th.Panel)
	fillRect(screen, 0, float64(r.Max.Y)-1, float64(r.Dx()), 1, th.Border)
	title := fmt.Sprintf("mlpviz  ·  %s on %s", g.arch.Model, g.arch.Dataset)
	drawTextMiddle(screen, title, f.Bold, 12, r, th.Text, text.AlignStart)

	x := float64(r.Max.X - 12)
	item := func(s string, col color.RGBA) {
		drawTextMiddle(screen, s, f.Mono, x, r, col, text.AlignEnd)
		x -= text.Advance(s, f.Mono) + 18
	}
	dim := th.TextDim
	item(fmt.Sprintf("%3.0f fps", g.fps), dim)
	if g.opt.Status != nil {
		st := g.opt.Status()
		item(fmt.Sprintf("%.0f img/s", st.ImagesPerSecond), dim)
		if st.State != "" {
			item(st.State, dim)
		}
	}
	if g.pass != nil {
		item(fmt.Sprintf("epoch %d", g.pass.Epoch), dim)
		item(fmt.Sprintf("step %d", g.pass.Step), dim)
	}
	item("range "+g.net.mode.String()+" (G)", dim)
	if g.net.geom.Builds > 0 {
		if bad := g.net.geom.NonFinite; bad > 0 {
			item(fmt.Sprintf("%d NaN/Inf", bad), th.Warning)
		}
		if g.net.geom.Edges < g.net.geom.AllEdges {
			item(fmt.Sprintf("%d of %d connections", g.net.geom.Edges, g.net.geom.AllEdges), dim)
		} else {
			item(fmt.Sprintf("%d connections", g.net.geom.Edges), dim)
		}
	}
}

// drawLayerLabels names each layer column above it, following the camera.
func (g *Game) drawLayerLabels(screen *ebiten.Image) {
	v := g.viewRect()
	for _, ll := range g.net.layout.Layers {
		cx := (ll.Bounds.MinX + ll.Bounds.MaxX) / 2
		x, y := g.net.cam.ToScreen(cx, ll.Bounds.MinY)
		y = max(y-22, float32(v.Min.Y+6))
		if x < float32(v.Min.X) || x > float32(v.Max.X) {
			continue
		}
		drawText(screen, ll.Name, g.fonts.Small, float64(x), float64(y), g.theme.TextDim, text.AlignCenter)
	}
	if g.src.Len() == 0 {
		msg := "no passes yet: the architecture is shown; passes appear as training writes them"
		drawText(screen, msg, g.fonts.Body, float64(v.Min.X+v.Dx()/2), float64(v.Max.Y-40), g.theme.TextDim, text.AlignCenter)
	}
}

// tooltip caches the text about the hovered neuron, rebuilt only when the
// neuron or the pass changes.
type tooltip struct {
	id    int
	pass  int
	lines []string
	valid bool
}

func (t *tooltip) invalidate() { t.valid = false }

func (g *Game) drawTooltip(screen *ebiten.Image) {
	id := g.hovered
	if id < 0 {
		id = g.pinned
	}
	if id < 0 || g.pass == nil {
		return
	}
	t := &g.tooltip
	if !t.valid || t.id != id || t.pass != g.shown {
		info, ok := scene.Describe(g.net.layout, g.pass, id, 5)
		if !ok {
			return
		}
		t.id, t.pass, t.valid = id, g.shown, true
		t.lines = tooltipLines(info, g.arch.ClassNames)
	}
	f, th := g.fonts, g.theme
	lh := lineHeight(f.Mono) + 2
	w := 0.0
	for _, l := range t.lines {
		w = math.Max(w, text.Advance(l, f.Mono))
	}
	w += 20
	h := lh*float64(len(t.lines)) + 14
	// Beside the neuron, kept inside the network view.
	k, i, _ := g.net.layout.Locate(id)
	nx, ny := g.net.layout.Pos(k, i)
	sx, sy := g.net.cam.ToScreen(nx, ny)
	v := g.viewRect()
	x := float64(sx) + 16
	if x+w > float64(v.Max.X) {
		x = float64(sx) - 16 - w
	}
	y := math.Min(math.Max(float64(sy)-h/2, float64(v.Min.Y)+4), float64(v.Max.Y)-h-4)
	fillRoundedRect(screen, float32(x), float32(y), float32(w), float32(h), 6, fade(th.Panel, 0.96))
	fillRect(screen, x, y, 3, h, th.Accent)
	for j, l := range t.lines {
		c := th.Text
		if j == 0 {
			c = th.Accent
		} else if j >= 4 {
			c = th.TextDim
		}
		drawText(screen, l, f.Mono, x+10, y+7+float64(j)*lh, c, text.AlignStart)
	}
}

func tooltipLines(info scene.NeuronInfo, classes []string) []string {
	name := fmt.Sprintf("%s  ·  neuron %d", info.LayerName, info.Index)
	if info.Layer > 0 && info.Index < len(classes) && len(info.Top) > 0 && info.LayerName[:6] == "output" {
		name += "  (" + classes[info.Index] + ")"
	}
	lines := []string{name, fmt.Sprintf("activation  %+.4f", info.Activation)}
	if info.Layer > 0 {
		lines = append(lines, fmt.Sprintf("pre-act     %+.4f", info.PreAct))
		if info.HasBias {
			lines = append(lines, fmt.Sprintf("bias        %+.4f", info.Bias))
		}
		lines = append(lines, "strongest inputs (w·a):")
		for _, c := range info.Top {
			lines = append(lines, fmt.Sprintf("  #%-4d %+.4f = %+.3f × %.3f", c.From, c.Value, c.Weight, c.Input))
		}
	}
	return lines
}

// drawBanner shows a read problem (a damaged file) across the view.
func (g *Game) drawBanner(screen *ebiten.Image) {
	err := g.src.Err()
	if err == nil {
		return
	}
	v := g.viewRect()
	r := image.Rect(v.Min.X+12, v.Min.Y+10, v.Max.X-12, v.Min.Y+40)
	fillRoundedRect(screen, float32(r.Min.X), float32(r.Min.Y), float32(r.Dx()), float32(r.Dy()), 5, mix(g.theme.Panel, g.theme.Positive, 0.45))
	msg := fitText(err.Error(), g.fonts.Body, float64(r.Dx()-20))
	drawTextMiddle(screen, msg, g.fonts.Body, float64(r.Min.X+10), r, g.theme.Text, text.AlignStart)
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
