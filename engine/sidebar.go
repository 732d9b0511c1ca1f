package engine

import (
	"image"
	"slices"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/text/v2"

	"github.com/mlpviz/mlpviz/collector"
)

// panelID names one of the side bar's panels.
type panelID int

const (
	panelInput panelID = iota
	panelProbs
	panelLoss
	panelAccuracy
	panelDist
	panelSummary
	panelCount
)

// Per panel: its tab's name (full and short), the least height in logical
// pixels at which it still shows what it is for (a probe of at least 3x its
// pixels, bars with room above them, a plot with its value axis, a strip
// per layer, a few modules; the input asks for more when it has a probe
// set's thumbnails, the probabilities when class names need rows, the
// distributions when the head has many layers), and its share of the
// height left above those minimums.
var (
	panelTabNames  = [panelCount]string{"Input", "Output", "Loss", "Accuracy", "Weights", "Architecture"}
	panelTabShort  = [panelCount]string{"Input", "Out", "Loss", "Acc", "Wts", "Arch"}
	panelMinHeight = [panelCount]int{132, 112, 92, 92, 92, 120}
	panelWeight    = [panelCount]int{21, 24, 15, 15, 20, 25}
)

// sideLayout is where the side bar's panels sit for one size. When every
// panel fits at its minimum height they are stacked; otherwise the panels
// about the shown pass (input, output) stay and the others share one slot
// behind tabs, and when even that does not fit every panel is a tab.
type sideLayout struct {
	slots [panelCount]image.Rectangle // empty for a panel not shown
	strip image.Rectangle             // the tab row; empty when every panel is stacked
	tabs  []sideTab
}

// sideTab is one tab of the strip.
type sideTab struct {
	id   panelID
	rect image.Rectangle
}

// layoutSide lays out the panels in r with gaps of pad; mins are the
// panels' least heights and stripH the tab row's, in device pixels;
// selected is the tab the user chose (a panel that is stacked anyway falls
// back to the first tab).
func layoutSide(r image.Rectangle, pad, stripH int, mins [panelCount]int, selected panelID) sideLayout {
	var l sideLayout
	x0, x1 := r.Min.X+pad, r.Max.X-pad
	avail := r.Dy() - pad // a gap above each panel, none below the last
	need := func(ids []panelID) int {
		h := 0
		for _, id := range ids {
			h += mins[id] + pad
		}
		return h
	}
	all := []panelID{panelInput, panelProbs, panelLoss, panelAccuracy, panelDist, panelSummary}
	stacked, tabbed := all, []panelID(nil)
	if need(all) > avail {
		stacked, tabbed = all[:2], all[2:]
		tallest := 0
		for _, id := range tabbed {
			tallest = max(tallest, mins[id])
		}
		if need(stacked)+stripH+pad+tallest > avail {
			stacked, tabbed = nil, all
		}
	}
	if len(tabbed) > 0 && !slices.Contains(tabbed, selected) {
		selected = tabbed[0]
	}
	// The panels shown, top to bottom, with the tab strip before the
	// tabbed slot.
	shown := append([]panelID(nil), stacked...)
	if len(tabbed) > 0 {
		shown = append(shown, selected)
		avail -= stripH + pad
	}
	extra := max(avail-need(shown), 0)
	weights := 0
	for _, id := range shown {
		weights += panelWeight[id]
	}
	y := r.Min.Y + pad
	for i, id := range shown {
		if len(tabbed) > 0 && i == len(stacked) {
			l.strip = image.Rect(x0, y, x1, y+stripH)
			l.tabs = layoutTabs(l.strip, tabbed)
			y += stripH + pad
		}
		h := mins[id] + extra*panelWeight[id]/weights
		if i == len(shown)-1 {
			h = r.Max.Y - y
		}
		l.slots[id] = image.Rect(x0, y, x1, min(y+h, r.Max.Y))
		y += h + pad
	}
	return l
}

// layoutTabs splits the strip evenly among the tabs.
func layoutTabs(strip image.Rectangle, ids []panelID) []sideTab {
	tabs := make([]sideTab, len(ids))
	for i, id := range ids {
		a := strip.Min.X + strip.Dx()*i/len(ids)
		b := strip.Min.X + strip.Dx()*(i+1)/len(ids)
		tabs[i] = sideTab{id: id, rect: image.Rect(a, strip.Min.Y, b, strip.Max.Y)}
	}
	return tabs
}

// sidebar is the column of panels beside the network view: the probe, the
// output probabilities, the loss and accuracy plots, the weight
// distributions and the model summary, laid out for the window's size by
// layoutSide.
type sidebar struct {
	th    *Theme
	f     *Fonts
	input *InputPanel
	probs *ProbPanel
	loss  *PlotPanel
	acc   *PlotPanel
	dist  *DistPanel
	sum   *SummaryPanel

	hidden   bool    // P hides the side bar; the view takes the width
	selected panelID // the tab shown when panels share a slot
	lay      sideLayout
	layFor   sideLayoutKey // what lay was computed for
	laidOut  bool
	strip    panelCache
	stripKey sideStripKey
}

// sideStripKey is what the tab strip shows.
type sideStripKey struct {
	size     image.Point
	selected panelID
	tabs     int
}

func newSidebar(th *Theme, f *Fonts) *sidebar {
	return &sidebar{th: th, f: f, input: NewInputPanel(th, f), probs: NewProbPanel(th, f),
		loss: newLossPlot(th, f), acc: newAccuracyPlot(th, f), dist: NewDistPanel(th, f), sum: NewSummaryPanel(th, f), selected: panelLoss}
}

// setPass shows a pass (nil: none yet) of a run with this architecture,
// as probe j of its probe set saw it (0: the pass's own probe).
func (s *sidebar) setPass(arch *collector.Architecture, p *collector.Pass, j int) {
	shown := p
	if p != nil {
		shown = p.ForProbe(j)
	}
	s.input.Set(arch, shown)
	s.input.SetProbes(arch, p, j)
	s.probs.Set(arch, shown)
	s.laidOut = false // the input's and probabilities' least heights follow what they show
}

// probeAt is the probe whose thumbnail in the input panel holds pt, or -1.
func (s *sidebar) probeAt(pt image.Point) int {
	r := s.lay.slots[panelInput]
	if !pt.In(r) {
		return -1
	}
	return s.input.probeAt(pt.Sub(r.Min), r.Size())
}

// sideLayoutKey is what a side layout depends on besides the fonts (a new
// UI scale makes a new sidebar) and the shown pass (setPass lays out
// again).
type sideLayoutKey struct {
	rect     image.Rectangle
	selected panelID
}

// layout places the panels in r, the side bar's rectangle; it measures
// text only when r or the chosen tab changed, since Update and Draw both
// ask every frame.
func (s *sidebar) layout(r image.Rectangle, px func(int) int) {
	k := sideLayoutKey{rect: r, selected: s.selected}
	if s.laidOut && k == s.layFor {
		return
	}
	s.lay, s.layFor, s.laidOut = layoutSide(r, px(8), px(26), s.minHeights(r.Dx()-2*px(8), px), s.selected), k, true
}

// minHeights are the least heights of panels width wide, in device pixels.
func (s *sidebar) minHeights(width int, px func(int) int) [panelCount]int {
	var m [panelCount]int
	for id, h := range panelMinHeight {
		m[id] = px(h)
	}
	m[panelInput] = max(m[panelInput], s.input.minHeight(width, m[panelInput]))
	m[panelProbs] = max(m[panelProbs], s.probs.minHeight(width))
	m[panelDist] = max(m[panelDist], s.dist.minHeight(width))
	return m
}

// click selects the tab under pt and reports whether there was one.
func (s *sidebar) click(pt image.Point) bool {
	for _, t := range s.lay.tabs {
		if pt.In(t.rect) {
			s.selected = t.id
			return true
		}
	}
	return false
}

// nextTab shows the next tabbed panel (the Tab key).
func (s *sidebar) nextTab() {
	if len(s.lay.tabs) == 0 {
		return
	}
	i := 0
	for j, t := range s.lay.tabs {
		if t.id == s.selected {
			i = j + 1
		}
	}
	s.selected = s.lay.tabs[i%len(s.lay.tabs)].id
}

// draw fills r with the background and draws every panel shown.
func (s *sidebar) draw(screen *ebiten.Image, r image.Rectangle) {
	fillRect(screen, float64(r.Min.X), float64(r.Min.Y), float64(r.Dx()), float64(r.Dy()), s.th.Background)
	l := &s.lay
	if !l.strip.Empty() {
		k := sideStripKey{size: l.strip.Size(), selected: s.selected, tabs: len(l.tabs)}
		if k != s.stripKey {
			s.stripKey = k
			s.strip.invalidate()
		}
		s.strip.draw(screen, l.strip, s.renderStrip)
	}
	draws := [panelCount]func(*ebiten.Image, image.Rectangle){s.input.Draw, s.probs.Draw, s.loss.Draw, s.acc.Draw, s.dist.Draw, s.sum.Draw}
	for id, rc := range l.slots {
		if !rc.Empty() {
			draws[id](screen, rc)
		}
	}
}

// renderStrip draws the tabs: the selected one filled like a panel, its
// name in full where it fits, else short.
func (s *sidebar) renderStrip(dst *ebiten.Image) {
	th, f := s.th, s.f
	off := s.lay.strip.Min
	for _, t := range s.lay.tabs {
		rc := t.rect.Sub(off)
		inner := rc.Inset(int(f.px(1)))
		c := th.Background
		txt := th.TextDim
		if t.id == s.selected {
			c, txt = th.Panel, th.Text
		}
		fillRoundedRect(dst, float32(inner.Min.X), float32(inner.Min.Y), float32(inner.Dx()), float32(inner.Dy()), float32(f.px(4)), th.Border)
		fillRoundedRect(dst, float32(inner.Min.X+1), float32(inner.Min.Y+1), float32(inner.Dx()-2), float32(inner.Dy()-2), float32(f.px(4)), c)
		name := tabName(t.id, f.Small, float64(inner.Dx())-f.px(8))
		drawTextMiddle(dst, name, f.Small, float64(rc.Min.X+rc.Dx()/2), rc, txt, text.AlignCenter)
	}
}

// tabName is a tab's full name where it fits in w, else its short one.
func tabName(id panelID, face *text.GoTextFace, w float64) string {
	if text.Advance(panelTabNames[id], face) <= w {
		return panelTabNames[id]
	}
	return fitText(panelTabShort[id], face, w)
}
