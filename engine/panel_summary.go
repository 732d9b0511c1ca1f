package engine

import (
	"image"
	"image/color"
	"slices"
	"strconv"
	"strings"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/text/v2"

	"github.com/mlpviz/mlpviz/collector"
)

// SummaryPanel is the architecture at a glance: dataset and model, the
// head's layer sizes, and every module of the model in forward order, one
// short line each ("Conv2d 1→8 3x3"). The head's Linear layers, the part
// the window draws, are in the accent colour; layers without weights are
// dimmed so the eye finds the ones that learn. Long models flow into a
// second column, and what still does not fit ends in "… N more". When the
// shown pass measured its neurons' health, two lines above the list count
// each hidden layer's dead and saturated neurons.
type SummaryPanel struct {
	th    *Theme
	f     *Fonts
	cache panelCache

	has    bool
	arch   collector.Architecture // a deep copy of what is shown
	health []healthCount          // per hidden layer of the shown pass; nil: no health
}

// healthCount is how many neurons of one hidden layer are dead and
// saturated (collector.LayerHealth.Counts).
type healthCount struct{ dead, saturated int }

// SetHealth shows the health counts of pass p (nil, or a pass without
// health: none); it renders again only when they change.
func (p *SummaryPanel) SetHealth(pass *collector.Pass) {
	var hc []healthCount
	if pass != nil {
		dead, sat := pass.HealthCounts()
		for h := range dead {
			hc = append(hc, healthCount{dead[h], sat[h]})
		}
	}
	if slices.Equal(hc, p.health) {
		return
	}
	p.health = hc
	p.cache.invalidate()
}

// healthLines are the hidden layers' counts for a width of w pixels: two
// lines, "dead" and "saturated", each with one count per hidden layer in
// order, in the longest wording that fits.
func (p *SummaryPanel) healthLines(w float64) [2]string {
	dead, sat := make([]string, len(p.health)), make([]string, len(p.health))
	for h, c := range p.health {
		dead[h], sat[h] = strconv.Itoa(c.dead), strconv.Itoa(c.saturated)
	}
	for _, form := range []struct{ dead, sat, sep string }{
		{"dead per hidden layer  ", "saturated per hidden layer  ", " · "},
		{"dead  ", "saturated  ", " · "},
		{"dead ", "sat. ", " "},
	} {
		l := [2]string{form.dead + strings.Join(dead, form.sep), form.sat + strings.Join(sat, form.sep)}
		if text.Advance(l[0], p.f.Small) <= w && text.Advance(l[1], p.f.Small) <= w {
			return l
		}
	}
	return [2]string{fitText("dead "+strings.Join(dead, " "), p.f.Small, w), fitText("sat. "+strings.Join(sat, " "), p.f.Small, w)}
}

// NewSummaryPanel makes an empty summary panel.
func NewSummaryPanel(th *Theme, f *Fonts) *SummaryPanel {
	return &SummaryPanel{th: th, f: f}
}

// Set shows arch (nil: nothing yet). The architecture is compared with the
// one shown and copied only when it differs, so calling Set every frame
// costs no allocation.
func (p *SummaryPanel) Set(arch *collector.Architecture) {
	if arch == nil {
		if p.has {
			p.has = false
			p.cache.invalidate()
		}
		return
	}
	if p.has && sameArchitecture(arch, &p.arch) {
		return
	}
	p.has = true
	p.arch = copyArchitecture(arch)
	p.cache.invalidate()
}

// sameArchitecture compares what the summary shows of two architectures.
func sameArchitecture(a, b *collector.Architecture) bool {
	return a.Dataset == b.Dataset && a.Model == b.Model && a.InputShape == b.InputShape &&
		a.NeuronCap == b.NeuronCap && slices.Equal(a.Head, b.Head) && slices.Equal(a.FullHead, b.FullHead) &&
		slices.EqualFunc(a.Modules, b.Modules, func(x, y collector.Module) bool {
			return x.Kind == y.Kind && slices.Equal(x.Settings, y.Settings)
		})
}

// copyArchitecture deep-copies the parts the summary shows, so that the
// caller may change its value afterwards.
func copyArchitecture(a *collector.Architecture) collector.Architecture {
	c := *a
	c.ClassNames = slices.Clone(a.ClassNames)
	c.Head = slices.Clone(a.Head)
	c.FullHead = slices.Clone(a.FullHead)
	c.Modules = make([]collector.Module, len(a.Modules))
	for i, m := range a.Modules {
		c.Modules[i] = collector.Module{Kind: m.Kind, Settings: slices.Clone(m.Settings)}
	}
	return c
}

// Draw draws the panel into r of dst.
func (p *SummaryPanel) Draw(dst *ebiten.Image, r image.Rectangle) {
	p.cache.draw(dst, r, p.render)
}

// summaryLayout is the geometry of the summary: two header rows and a grid
// of module cells filled column by column. Draw and the tests share it.
type summaryLayout struct {
	modelRow, headRow image.Rectangle
	list              image.Rectangle
	rowH, cols, rows  int
	colW, colGap      int
	health            image.Rectangle // the two lines of health counts above the list; empty: none
	items             []int           // indices of the modules listed, in order
	note              string          // the last cell's note on what is left out, or ""
}

// cell is the rectangle of the module at grid position i (column-major).
func (l *summaryLayout) cell(i int) image.Rectangle {
	c, r := i/l.rows, i%l.rows
	x := l.list.Min.X + c*(l.colW+l.colGap)
	y := l.list.Min.Y + r*l.rowH
	return image.Rect(x, y, x+l.colW, y+l.rowH)
}

// summaryItems chooses what a list of capacity cells shows of mods: every
// module when they fit; else the modules with weights, which carry the
// architecture (a ReLU after each conv is implied), with a note on how many
// weightless ones are left out, keeping the original numbers so the gaps
// show; and when even those do not fit, the first ones and "… N more".
func summaryItems(mods []collector.Module, capacity int) (items []int, note string) {
	n := len(mods)
	capacity = max(capacity, 1)
	if n <= capacity {
		for i := range n {
			items = append(items, i)
		}
		return items, ""
	}
	for i, m := range mods {
		if !weightless(m.Kind) {
			items = append(items, i)
		}
	}
	if len(items) < capacity {
		return items, "+" + strconv.Itoa(n-len(items)) + " without weights"
	}
	items = items[:0]
	for i := range capacity - 1 {
		items = append(items, i)
	}
	return items, ellipsis + " " + strconv.Itoa(n-len(items)) + " more"
}

func (p *SummaryPanel) layout(size image.Point) summaryLayout {
	f := p.f
	_, content := frameLayout(image.Rectangle{Max: size}, true, f)
	var l summaryLayout
	bodyH := int(lineHeight(f.Bold)) + int(f.px(4))
	l.modelRow = image.Rect(content.Min.X, content.Min.Y, content.Max.X, content.Min.Y+bodyH)
	l.headRow = l.modelRow.Add(image.Pt(0, bodyH))
	l.list = image.Rect(content.Min.X, l.headRow.Max.Y+int(f.px(9)), content.Max.X, content.Max.Y)
	l.rowH = int(lineHeight(f.Small))
	// The health counts come first, full width, while they leave room for
	// a module under them.
	if len(p.health) > 0 && l.list.Dy() >= 3*l.rowH {
		l.health = image.Rect(l.list.Min.X, l.list.Min.Y, l.list.Max.X, l.list.Min.Y+2*l.rowH)
		l.list.Min.Y = l.health.Max.Y + int(f.px(4))
	}
	l.colGap = int(f.px(12))
	maxRows := max(1, l.list.Dy()/max(1, l.rowH))
	maxCols := max(1, (l.list.Dx()+l.colGap)/(int(f.px(120))+l.colGap))
	l.items, l.note = summaryItems(p.arch.Modules, maxRows*maxCols)
	cells := len(l.items)
	if l.note != "" {
		cells++
	}
	cells = max(cells, 1)
	l.cols = min((cells+maxRows-1)/maxRows, maxCols)
	// Balance the columns instead of leaving the last one short; a single
	// column stays compact so that it reads as one block.
	l.rows = min(maxRows, (cells+l.cols-1)/l.cols)
	l.colW = (l.list.Dx() - (l.cols-1)*l.colGap) / l.cols
	return l
}

func (p *SummaryPanel) render(dst *ebiten.Image) {
	th, f := p.th, p.f
	content := DrawPanelFrame(dst, dst.Bounds(), "Architecture", th, f)
	if !p.has {
		drawTextMiddle(dst, "no architecture yet", f.Body, float64(content.Min.X+content.Max.X)/2, content, th.TextDim, text.AlignCenter)
		return
	}
	a := &p.arch
	l := p.layout(dst.Bounds().Size())

	// Header: "mnist · cnn" with the input shape at the right, then the
	// head's sizes.
	shape := ""
	if a.InputShape[0] > 0 {
		shape = strconv.Itoa(a.InputShape[0]) + "×" + strconv.Itoa(a.InputShape[1]) + "×" + strconv.Itoa(a.InputShape[2])
	}
	shapeW := text.Advance(shape, f.Small)
	name := strings.Join(slices.DeleteFunc([]string{a.Dataset, a.Model}, func(s string) bool { return s == "" }), " · ")
	x := float64(l.modelRow.Min.X)
	drawTextMiddle(dst, fitText(name, f.Bold, float64(l.modelRow.Dx())-shapeW-f.px(8)), f.Bold, x, l.modelRow, th.Text, text.AlignStart)
	drawTextMiddle(dst, shape, f.Small, float64(l.modelRow.Max.X), l.modelRow, th.TextDim, text.AlignEnd)

	head := a.FullHead
	if len(head) == 0 {
		head = a.Head
	}
	keyW := text.Advance("head", f.Body) + f.px(8)
	drawTextMiddle(dst, "head", f.Body, x, l.headRow, th.TextDim, text.AlignStart)
	capText := ""
	if a.NeuronCap > 0 && !slices.Equal(a.Head, head) {
		capText = "cap " + strconv.Itoa(a.NeuronCap)
	}
	capW := 0.0
	if capText != "" {
		capW = text.Advance(capText, f.Small) + f.px(8)
		drawTextMiddle(dst, capText, f.Small, float64(l.headRow.Max.X), l.headRow, th.Warning, text.AlignEnd)
	}
	sizes := headSizes(head)
	if sizes == "" {
		sizes = "none"
	}
	drawTextMiddle(dst, fitText(sizes, f.Mono, float64(l.headRow.Dx())-keyW-capW), f.Mono, x+keyW, l.headRow, th.Accent, text.AlignStart)

	hair := max(1, f.px(1))
	fillRect(dst, float64(l.list.Min.X), float64(l.list.Min.Y)-f.px(5), float64(l.list.Dx()), hair, mix(th.Panel, th.Border, 0.7))

	// The module list: index, then description, column by column.
	n := len(a.Modules)
	numW := text.Advance(strconv.Itoa(max(n, 1)), f.Small) + f.px(6)
	if !l.health.Empty() {
		lines := p.healthLines(float64(l.health.Dx()))
		for i, line := range lines {
			col := th.TextDim
			for _, c := range p.health {
				if (i == 0 && c.dead > 0) || (i == 1 && c.saturated > 0) {
					col = th.Warning
				}
			}
			r := l.health
			r.Min.Y += i * l.rowH
			r.Max.Y = r.Min.Y + l.rowH
			drawTextMiddle(dst, line, f.Small, float64(r.Min.X), r, col, text.AlignStart)
		}
	}
	for k, i := range l.items {
		c := l.cell(k)
		m := a.Modules[i]
		drawTextMiddle(dst, strconv.Itoa(i+1), f.Small, float64(c.Min.X)+numW-f.px(6), c, fade(th.TextDim, 0.7), text.AlignEnd)
		desc := fitText(describeModule(m), f.Small, float64(c.Dx())-numW)
		drawTextMiddle(dst, desc, f.Small, float64(c.Min.X)+numW, c, p.moduleColor(m), text.AlignStart)
	}
	if l.note != "" {
		c := l.cell(len(l.items))
		drawTextMiddle(dst, fitText(l.note, f.Small, float64(c.Dx())-numW), f.Small, float64(c.Min.X)+numW, c, th.TextDim, text.AlignStart)
	}
	if n == 0 {
		drawTextMiddle(dst, "no modules recorded", f.Small, float64(l.list.Min.X), l.cell(0), th.TextDim, text.AlignStart)
	}
}

// moduleColor is the accent for the head's Linear layers, dim for layers
// without weights and plain text for the rest.
func (p *SummaryPanel) moduleColor(m collector.Module) color.RGBA {
	switch {
	case m.Kind == "Linear":
		return p.th.Accent
	case weightless(m.Kind):
		return p.th.TextDim
	default:
		return p.th.Text
	}
}

// weightlessPrefixes are module kinds that hold no learned weights.
var weightlessPrefixes = []string{
	"ReLU", "LeakyReLU", "PReLU", "GELU", "ELU", "SELU", "SiLU", "Mish", "Sigmoid", "Tanh", "Hardtanh",
	"Softmax", "LogSoftmax", "Dropout", "AlphaDropout", "MaxPool", "AvgPool", "AdaptiveAvgPool",
	"AdaptiveMaxPool", "Flatten", "Unflatten", "Identity", "ZeroPad", "ConstantPad", "Upsample",
}

// weightless reports whether a module kind holds no learned weights
// (PReLU does, one slope, but reads as an activation).
func weightless(kind string) bool {
	for _, p := range weightlessPrefixes {
		if strings.HasPrefix(kind, p) {
			return true
		}
	}
	return false
}

// headSizes writes the head's layer sizes the way people say them,
// "576-24-24-24-24-10": the first layer's input, then every output.
func headSizes(head []collector.LinearShape) string {
	if len(head) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(strconv.Itoa(head[0].In))
	for _, l := range head {
		b.WriteByte('-')
		b.WriteString(strconv.Itoa(l.Out))
	}
	return b.String()
}

// describeModule writes a module as one short line: the kind and the one
// or two settings that tell it apart ("Conv2d 1→8 3x3", "MaxPool2d 2",
// "Dropout 0.5", "Linear 576→24"). Kinds it does not know (seed files from
// other models) show their first two settings as key=value.
func describeModule(m collector.Module) string {
	get := func(key string) string {
		for _, s := range m.Settings {
			if s.Key == key {
				return strings.TrimSpace(s.Value)
			}
		}
		return ""
	}
	kind := m.Kind
	switch {
	case kind == "Linear" || kind == "LazyLinear":
		if in, out := get("in_features"), get("out_features"); in != "" && out != "" {
			return kind + " " + in + "→" + out
		}
	case strings.HasPrefix(kind, "Conv"):
		in, out, k := get("in_channels"), get("out_channels"), get("kernel_size")
		if in != "" && out != "" && k != "" {
			s := kind + " " + in + "→" + out + " " + tupleText(k, false)
			if st := get("stride"); st != "" && tupleText(st, true) != "1" {
				s += " s" + tupleText(st, true)
			}
			return s
		}
	case strings.HasPrefix(kind, "BatchNorm") || strings.HasPrefix(kind, "InstanceNorm"):
		if nf := get("num_features"); nf != "" {
			return kind + " " + nf
		}
	case strings.HasPrefix(kind, "Adaptive") && strings.Contains(kind, "Pool"):
		if o := get("output_size"); o != "" {
			return kind + " " + tupleText(o, true)
		}
	case strings.Contains(kind, "Pool"):
		if k := get("kernel_size"); k != "" {
			return kind + " " + tupleText(k, true)
		}
	case strings.HasPrefix(kind, "Dropout") || kind == "AlphaDropout":
		if p := get("p"); p != "" {
			return kind + " " + p
		}
	case weightless(kind) && len(m.Settings) == 0:
		return kind
	}
	s := kind
	for i, st := range m.Settings {
		if i == 2 {
			break
		}
		s += " " + st.Key + "=" + strings.TrimSpace(st.Value)
	}
	return s
}

// tupleText turns a PyTorch size setting ("(3, 3)", "[2, 2]", "5") into
// "3x3", or "3" when collapse is set and every element is the same.
func tupleText(v string, collapse bool) string {
	v = strings.TrimSpace(v)
	v = strings.TrimSuffix(strings.TrimPrefix(v, "("), ")")
	v = strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
	parts := strings.Split(v, ",")
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return v
	}
	if collapse && !slices.ContainsFunc(out, func(s string) bool { return s != out[0] }) {
		return out[0]
	}
	return strings.Join(out, "x")
}
