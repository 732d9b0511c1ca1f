package engine

import (
	"fmt"
	"image"
	"image/color"
	"strings"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/text/v2"

	"github.com/mlpviz/mlpviz/scene"
)

// What a window of two runs draws besides the networks themselves: the
// title row over each picture, the tooltip over the difference, the HUD's
// items and the legend's keys over the difference.

// compareTitle is what the title rows above the networks show.
type compareTitle struct {
	size         [2]image.Point
	scale        float64
	layout       CompareLayout
	nameA, nameB string
	stepA, stepB int
	hasA, hasB   bool
	bLen         int
	err          string
	probes       bool
}

// drawNets draws the network, or in a window of two both runs (or their
// difference) with a title row each.
func (g *Game) drawNets(screen *ebiten.Image) {
	c := g.cmp
	if c == nil {
		g.net.draw(screen)
		return
	}
	a := g.compareAreas()
	// Each picture is clipped to its half: panned or zoomed in, A's must
	// not run into B's.
	g.net.draw(screen.SubImage(a.half[0]).(*ebiten.Image))
	if c.layout == SideBySide {
		c.net.draw(screen.SubImage(a.half[1]).(*ebiten.Image))
		d := a.divider
		fillRect(screen, float64(d.Min.X), float64(d.Min.Y), float64(d.Dx()), float64(d.Dy()), g.theme.Border)
		g.asB(func() { g.drawNetLabels(screen) })
	}
	g.drawCompareTitles(screen, a)
}

// drawTooltips draws the tooltip of the lit neuron: A's, B's where the
// pointer is over B's half, or both runs' values and their difference in
// the Difference layout.
func (g *Game) drawTooltips(screen *ebiten.Image) {
	c := g.cmp
	switch {
	case c == nil:
		g.drawTooltip(screen)
	case c.layout == Difference:
		g.drawDiffTooltip(screen)
	case c.onB && g.ptr.hovered >= 0:
		g.asB(func() { g.drawTooltip(screen) })
	default:
		g.drawTooltip(screen)
	}
}

// drawDiffTooltip says, for the lit neuron, its value in A, in B and the
// difference: activation, pre-activation and bias, one column each.
func (g *Game) drawDiffTooltip(screen *ebiten.Image) {
	c := g.cmp
	id := g.litNeuron()
	if id < 0 || g.pass == nil || c.pass == nil {
		return
	}
	t := &g.tooltip
	key := -3 - g.shown - 1_000_000*c.shown // one per pair of passes, never one of A's
	if !t.valid || t.id != id || t.pass != key {
		a, okA := scene.Describe(g.net.layout, g.pass, id, 0)
		b, okB := scene.Describe(g.net.layout, c.pass, id, 0)
		if !okA || !okB {
			return
		}
		t.id, t.pass, t.valid = id, key, true
		g.setTooltipLines(diffTooltipLines(a, b, g.arch.ClassNames))
	}
	at := g.tooltipAt(id, t.size)
	t.cache.draw(screen, image.Rectangle{Min: at, Max: at.Add(t.size)}, g.renderTooltip)
}

// diffTooltipLines are the Difference layout's tooltip: a name line, a
// header and a row per value, in columns A, B and B − A.
func diffTooltipLines(a, b scene.NeuronInfo, classes []string) []tipLine {
	name := fmt.Sprintf("%s  ·  neuron %d", a.LayerName, a.Index)
	if strings.HasPrefix(a.LayerName, "output") && a.Index < len(classes) {
		name += "  (" + classes[a.Index] + ")"
	}
	row := func(label string, x, y float32) tipLine {
		return tipLine{s: fmt.Sprintf("%-10s %+9.4f %+9.4f %+9.4f", label, x, y, y-x)}
	}
	lines := []tipLine{{s: name, tone: tipTitle}, {s: fmt.Sprintf("%-10s %9s %9s %9s", "", "A", "B", "B − A"), tone: tipDim}, row("activation", a.Activation, b.Activation)}
	if a.Layer > 0 {
		lines = append(lines, row("pre-act", a.PreAct, b.PreAct))
		if a.HasBias && b.HasBias {
			lines = append(lines, row("bias", a.Bias, b.Bias))
		}
	}
	return lines
}

// runColour is the colour that marks run i (0: A, 1: B) in the titles and
// the plots.
func (th *Theme) runColour(i int) color.RGBA {
	if i == 1 {
		return th.RunB
	}
	return th.RunA
}

// drawCompareTitles draws the row above each picture: which run it is and
// at which step, or for the difference which runs it subtracts.
func (g *Game) drawCompareTitles(screen *ebiten.Image, a compareAreas) {
	c := g.cmp
	k := compareTitle{layout: c.layout, scale: g.scale, nameA: c.names[0], nameB: c.names[1], bLen: c.src.Len()}
	k.size[0], k.size[1] = a.title[0].Size(), a.title[1].Size()
	if g.pass != nil {
		k.hasA, k.stepA = true, g.pass.Step
	}
	if c.pass != nil {
		k.hasB, k.stepB = true, c.pass.Step
	}
	if c.layout == Difference {
		if c.err != nil {
			k.err = c.err.Error()
		}
		k.probes = c.probes
	}
	if k != c.titleKey {
		c.titleKey = k
		c.titles[0].invalidate()
		c.titles[1].invalidate()
	}
	c.titles[0].draw(screen, a.title[0], func(dst *ebiten.Image) { g.renderCompareTitle(dst, 0) })
	if c.layout == SideBySide {
		c.titles[1].draw(screen, a.title[1], func(dst *ebiten.Image) { g.renderCompareTitle(dst, 1) })
	}
}

// renderCompareTitle draws title row i: "A  a.mlpv … step 300" on the
// left, or "B − A  b.mlpv minus a.mlpv … step 300" over the difference.
func (g *Game) renderCompareTitle(dst *ebiten.Image, i int) {
	k, th, f := &g.cmp.titleKey, g.theme, g.fonts
	r := dst.Bounds()
	fillRect(dst, 0, 0, float64(r.Dx()), float64(r.Dy()), th.Background)
	fillRect(dst, 0, float64(r.Max.Y)-f.px(1), float64(r.Dx()), f.px(1), th.Border)
	pad := f.px(10)
	// The right end: the step, in the warning colour for B when it is not
	// A's.
	var right string
	rightColour := th.TextDim
	switch {
	case k.layout == Difference && k.probes: // what matters most about the activations' difference
		right = "probe images differ"
		rightColour = th.Warning
	case k.layout == Difference && k.hasA && k.hasB && k.stepA != k.stepB:
		right = fmt.Sprintf("A at step %d, B at step %d", k.stepA, k.stepB)
		rightColour = th.Warning
	case k.layout == Difference && k.hasA:
		right = fmt.Sprintf("step %d", k.stepA)
	case i == 0 && k.hasA:
		right = fmt.Sprintf("step %d", k.stepA)
	case i == 1 && k.hasB:
		right = fmt.Sprintf("step %d", k.stepB)
		if k.hasA && k.stepB != k.stepA {
			rightColour = th.Warning
		}
	case i == 1 && k.bLen == 0:
		right = "no passes yet"
	}
	x := pad
	var lead string
	var name string
	if k.layout == Difference {
		lead = "B − A"
		name = k.nameB + " minus " + k.nameA
		if k.err != "" {
			name, rightColour = k.err, th.Warning
			right = ""
		}
	} else {
		lead = [2]string{"A", "B"}[i]
		name = [2]string{k.nameA, k.nameB}[i]
	}
	leadColour := th.runColour(i)
	if k.layout == Difference {
		leadColour = th.Text
	}
	avail := float64(r.Dx()) - 2*pad
	rightW := 0.0
	if right != "" {
		rightW = text.Advance(right, f.Mono) + f.px(12)
	}
	leadW := text.Advance(lead, f.Bold) + f.px(8)
	if leadW+rightW+f.px(40) > avail { // a narrow half: the step gives way to the name
		right, rightW = "", 0
	}
	drawTextMiddle(dst, fitText(lead, f.Bold, avail), f.Bold, x, r, leadColour, text.AlignStart)
	x += leadW
	if w := avail - leadW - rightW; w > 0 {
		drawTextMiddle(dst, fitText(name, f.Body, w), f.Body, x, r, th.TextDim, text.AlignStart)
	}
	if right != "" {
		drawTextMiddle(dst, right, f.Mono, float64(r.Dx())-pad, r, rightColour, text.AlignEnd)
	}
}

// hudCompare is what the HUD says about a window of two: its layout and,
// when B shows another step than A, which.
type hudCompare struct {
	on      bool
	layout  CompareLayout
	stepB   int
	differs bool
}

func (g *Game) hudCompareNow() hudCompare {
	c := g.cmp
	if c == nil {
		return hudCompare{}
	}
	h := hudCompare{on: true, layout: c.layout}
	if g.pass != nil && c.pass != nil && c.pass.Step != g.pass.Step {
		h.differs, h.stepB = true, c.pass.Step
	}
	return h
}

// hudCompareItems adds the HUD's items for a window of two through item,
// the HUD's way of placing one from the right.
func (g *Game) hudCompareItems(h hudCompare, item func(string, color.RGBA)) {
	if !h.on {
		return
	}
	if h.differs {
		item(fmt.Sprintf("B at step %d", h.stepB), g.theme.Warning)
	}
	item(h.layout.String()+" (D)", g.theme.TextDim)
}

// compareLegendItems are the legend's keys over the difference: each value
// is B − A on a diverging scale, the output's logits included; nil when
// the window does not show a difference.
func (g *Game) compareLegendItems(k legendKey) []legendItem {
	c := g.cmp
	if c == nil || c.layout != Difference {
		return nil
	}
	layers := g.net.layout.Layers
	diverging := func(t float64) color.RGBA { return toRGBA(scene.Diverging(float32(2*t - 1))) }
	scope, short := "per layer: "+layers[k.actLayer].Name, "layer "+layers[k.actLayer].Short
	if k.mode == scene.Global {
		scope, short = "global, all layers", "global"
	}
	items := []legendItem{{
		caption: "B − A activation · " + scope + " (G)", short: "B − A activation · " + short,
		lo: formatValue(float64(-k.actRange)), hi: formatValue(float64(k.actRange)), paint: diverging,
	}}
	if k.hasOutput {
		out := len(layers) - 1
		r := g.net.ranges[out]
		items = append(items, legendItem{
			caption: "B − A logit · " + layers[out].Name, short: "B − A logit",
			lo: formatValue(float64(-r)), hi: formatValue(float64(r)), paint: diverging,
		})
		th := g.theme
		items = append(items, legendItem{
			caption: "B − A weight · into " + layers[k.pair+1].Name, short: "B − A weight · into " + layers[k.pair+1].Short,
			lo: formatValue(float64(-k.weightEnd)), hi: formatValue(float64(k.weightEnd)),
			paint: func(t float64) color.RGBA {
				r, gg, b, a := scene.WeightColour(float32(2*t - 1))
				return over(th.Panel, r, gg, b, a)
			},
		})
	}
	return items
}
