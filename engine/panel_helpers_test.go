package engine

import (
	"image"
	"image/color"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/hajimehoshi/ebiten/v2/text/v2"

	"github.com/mlpviz/mlpviz/collector"
)

// These tests need no display: they cover the panels' pure helpers and
// their change detection, which touch no GPU image.

func TestPanelNiceAxis(t *testing.T) {
	for _, c := range []struct {
		lo, hi             float64
		ticks              int
		wantLo, wantHi, st float64
	}{
		{0.18, 2.24, 5, 0, 2.5, 0.5},    // a falling loss
		{0.1, 0.94, 5, 0, 1, 0.2},       // a rising accuracy
		{0.3, 0.7, 4, 0.3, 0.7, 0.1},    // exact multiples stay put despite rounding
		{0.5, 0.5, 5, 0.44, 0.56, 0.02}, // one value: widened around it
		{0, 0, 5, -1, 1, 0.5},           // zero: widened by 1
		{-3, 7, 5, -4, 8, 2},
		{2.24, 0.18, 5, 0, 2.5, 0.5}, // reversed bounds
		{1200, 98000, 4, 0, 100000, 25000},
	} {
		lo, hi, step := niceAxis(c.lo, c.hi, c.ticks)
		near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }
		if !near(lo, c.wantLo) || !near(hi, c.wantHi) || !near(step, c.st) {
			t.Errorf("niceAxis(%g, %g, %d) = %g, %g, %g; want %g, %g, %g", c.lo, c.hi, c.ticks, lo, hi, step, c.wantLo, c.wantHi, c.st)
		}
		if lo > math.Min(c.lo, c.hi) || hi < math.Max(c.lo, c.hi) {
			t.Errorf("niceAxis(%g, %g) = [%g, %g] does not contain the data", c.lo, c.hi, lo, hi)
		}
	}
}

func TestPanelNiceStep(t *testing.T) {
	for in, want := range map[float64]float64{
		0.448: 0.5, 0.168: 0.2, 0.21: 0.25, 1: 1, 1.01: 2, 3: 5, 7: 10, 0.003: 0.005, 2.5: 2.5, 0: 1, -1: 1,
	} {
		if got := niceStep(in); math.Abs(got-want) > 1e-12 {
			t.Errorf("niceStep(%g) = %g, want %g", in, got, want)
		}
	}
	if got := niceStep(math.NaN()); got != 1 {
		t.Errorf("niceStep(NaN) = %g, want 1", got)
	}
}

func TestPanelAxisLabels(t *testing.T) {
	for step, want := range map[float64]int{0.5: 1, 2.5: 1, 0.25: 2, 5: 0, 100: 0, 0.02: 2, 0.1: 1} {
		if got := stepDecimals(step); got != want {
			t.Errorf("stepDecimals(%g) = %d, want %d", step, got, want)
		}
	}
	for _, c := range []struct {
		v    float64
		dec  int
		want string
	}{{2.5, 1, "2.5"}, {0, 1, "0.0"}, {-0.0000001, 1, "0.0"}, {-1, 0, "-1"}, {1, 2, "1.00"}} {
		if got := formatTick(c.v, c.dec); got != c.want {
			t.Errorf("formatTick(%g, %d) = %q, want %q", c.v, c.dec, got, c.want)
		}
	}
	for v, want := range map[float64]string{
		0: "0", 2.302585: "2.303", 0.22741: "0.2274", 0.9177: "0.9177", 12.3456: "12.35", 1234.6: "1235", 0.00012345: "0.000123", -0.5: "-0.5000",
	} {
		if got := formatValue(v); got != want {
			t.Errorf("formatValue(%g) = %q, want %q", v, got, want)
		}
	}
	if got := formatValue(math.NaN()); got != "NaN" {
		t.Errorf("formatValue(NaN) = %q", got)
	}
	for v, want := range map[float64]string{0: "0", 1950: "1950", 9999: "9999", 12500: "12.5k", 125000: "125k", 2.5e6: "2.5M"} {
		if got := formatStep(v); got != want {
			t.Errorf("formatStep(%g) = %q, want %q", v, got, want)
		}
	}
}

func TestPanelFiniteRange(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	lo, hi, ok := finiteRange([]float32{nan, 3, inf, -1, nan, 2})
	if !ok || lo != -1 || hi != 3 {
		t.Errorf("finiteRange = %g, %g, %v; want -1, 3, true", lo, hi, ok)
	}
	if _, _, ok := finiteRange([]float32{nan, inf}); ok {
		t.Error("finiteRange of no finite value reports ok")
	}
	if i := lastFinite([]float32{1, 2, nan, nan}); i != 1 {
		t.Errorf("lastFinite = %d, want 1", i)
	}
	if i := lastFinite([]float32{nan}); i != -1 {
		t.Errorf("lastFinite of NaN only = %d, want -1", i)
	}
}

func TestPanelDescribeModule(t *testing.T) {
	set := func(kv ...string) []collector.Setting {
		var s []collector.Setting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, collector.Setting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	for _, c := range []struct {
		m    collector.Module
		want string
	}{
		{collector.Module{Kind: "Conv2d", Settings: set("in_channels", "1", "out_channels", "8", "kernel_size", "(3, 3)", "stride", "(1, 1)", "padding", "(0, 0)")}, "Conv2d 1→8 3x3"},
		{collector.Module{Kind: "Conv2d", Settings: set("in_channels", "3", "out_channels", "32", "kernel_size", "(5, 3)", "stride", "(2, 2)")}, "Conv2d 3→32 5x3 s2"},
		{collector.Module{Kind: "Conv1d", Settings: set("in_channels", "4", "out_channels", "4", "kernel_size", "7")}, "Conv1d 4→4 7"},
		{collector.Module{Kind: "MaxPool2d", Settings: set("kernel_size", "2", "stride", "2")}, "MaxPool2d 2"},
		{collector.Module{Kind: "MaxPool2d", Settings: set("kernel_size", "(2, 2)")}, "MaxPool2d 2"},
		{collector.Module{Kind: "AvgPool2d", Settings: set("kernel_size", "(2, 3)")}, "AvgPool2d 2x3"},
		{collector.Module{Kind: "AdaptiveAvgPool2d", Settings: set("output_size", "(1, 1)")}, "AdaptiveAvgPool2d 1"},
		{collector.Module{Kind: "ReLU"}, "ReLU"},
		{collector.Module{Kind: "Flatten"}, "Flatten"},
		{collector.Module{Kind: "Dropout", Settings: set("p", "0.5")}, "Dropout 0.5"},
		{collector.Module{Kind: "Dropout", Settings: set("p", "0")}, "Dropout 0"},
		{collector.Module{Kind: "Linear", Settings: set("in_features", "576", "out_features", "24", "bias", "true")}, "Linear 576→24"},
		{collector.Module{Kind: "Linear"}, "Linear"}, // a seed file's bare entry
		{collector.Module{Kind: "BatchNorm2d", Settings: set("num_features", "32", "eps", "1e-05", "momentum", "0.1")}, "BatchNorm2d 32"},
		{collector.Module{Kind: "BatchNorm1d", Settings: set("num_features", "128")}, "BatchNorm1d 128"},
		{collector.Module{Kind: "LeakyReLU", Settings: set("negative_slope", "0.01")}, "LeakyReLU negative_slope=0.01"},
		{collector.Module{Kind: "Foo", Settings: set("a", " 1 ", "b", "two", "c", "3")}, "Foo a=1 b=two"},
		{collector.Module{Kind: "Identity"}, "Identity"},
	} {
		if got := describeModule(c.m); got != c.want {
			t.Errorf("describeModule(%v) = %q, want %q", c.m, got, c.want)
		}
	}
}

func TestPanelTupleText(t *testing.T) {
	for _, c := range []struct {
		in       string
		collapse bool
		want     string
	}{
		{"(3, 3)", false, "3x3"}, {"(3, 3)", true, "3"}, {"[2, 2]", true, "2"}, {"5", false, "5"},
		{"(1, 2, 3)", true, "1x2x3"}, {"()", true, ""}, {" (4,) ", true, "4"},
	} {
		if got := tupleText(c.in, c.collapse); got != c.want {
			t.Errorf("tupleText(%q, %v) = %q, want %q", c.in, c.collapse, got, c.want)
		}
	}
}

func TestPanelHeadSizes(t *testing.T) {
	if got := headSizes(cnnArchitecture().Head); got != "576-24-24-24-24-10" {
		t.Errorf("headSizes(cnn) = %q", got)
	}
	if got := headSizes(nil); got != "" {
		t.Errorf("headSizes(nil) = %q, want empty", got)
	}
	if got := headSizes([]collector.LinearShape{{In: 4096, Out: 1024}, {In: 1024, Out: 512}, {In: 512, Out: 10}}); got != "4096-1024-512-10" {
		t.Errorf("headSizes(cifar10_cnn) = %q", got)
	}
}

func TestPanelModuleColors(t *testing.T) {
	th := DarkTheme()
	p := &SummaryPanel{th: th}
	for kind, want := range map[string]string{
		"Linear": "accent", "Conv2d": "text", "BatchNorm2d": "text", "ReLU": "dim", "Dropout": "dim",
		"MaxPool2d": "dim", "Flatten": "dim", "SqueezeExcite": "text",
	} {
		got := map[bool]string{true: "accent"}[p.moduleColor(collector.Module{Kind: kind}) == th.Accent]
		switch p.moduleColor(collector.Module{Kind: kind}) {
		case th.TextDim:
			got = "dim"
		case th.Text:
			got = "text"
		}
		if got != want {
			t.Errorf("%s is drawn %s, want %s", kind, got, want)
		}
	}
}

func TestPanelImageShape(t *testing.T) {
	for _, c := range []struct {
		shape [3]int
		n     int
		want  [3]int
	}{
		{[3]int{1, 28, 28}, 784, [3]int{1, 28, 28}},
		{[3]int{3, 32, 32}, 3072, [3]int{3, 32, 32}},
		{[3]int{}, 784, [3]int{1, 28, 28}},          // no architecture
		{[3]int{}, 3072, [3]int{3, 32, 32}},         // an RGB square
		{[3]int{1, 28, 28}, 100, [3]int{1, 10, 10}}, // shape larger than the data
		{[3]int{}, 7, [3]int{1, 1, 7}},              // nothing square: one row
	} {
		if got := imageShape(c.shape, c.n); got != c.want {
			t.Errorf("imageShape(%v, %d) = %v, want %v", c.shape, c.n, got, c.want)
		}
	}
}

func TestPanelProbeRGBA(t *testing.T) {
	nan := float32(math.NaN())
	grey := probeRGBA(nil, []float32{0, 0.5, 1, 2, -1, nan}, 1, 2, 3)
	want := []byte{0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255}
	if string(grey) != string(want) {
		t.Errorf("grey probe = %v, want %v", grey, want)
	}
	// Channel-major: all of R, then G, then B.
	rgb := probeRGBA(grey, []float32{1, 0, 0, 1, 0.2, 0.4}, 3, 1, 2)
	if want := []byte{255, 0, 51, 255, 0, 255, 102, 255}; string(rgb) != string(want) {
		t.Errorf("RGB probe = %v, want %v", rgb, want)
	}
}

func TestPanelSoftmaxArgmax(t *testing.T) {
	p := softmax(nil, []float32{1, 2, 3})
	var sum float32
	for _, v := range p {
		sum += v
	}
	if math.Abs(float64(sum)-1) > 1e-6 || !(p[2] > p[1] && p[1] > p[0]) {
		t.Errorf("softmax = %v", p)
	}
	if p := softmax(nil, []float32{1000, 0}); p[0] != 1 || p[1] != 0 {
		t.Errorf("softmax of large logits = %v, want [1 0] without overflow", p)
	}
	nan := float32(math.NaN())
	for _, c := range []struct {
		v    []float32
		want int
	}{{[]float32{0.1, 0.7, 0.2}, 1}, {[]float32{nan, 0.2, 0.5}, 2}, {nil, 0}, {[]float32{0.5, 0.5}, 0}} {
		if got := argmax(c.v); got != c.want {
			t.Errorf("argmax(%v) = %d, want %d", c.v, got, c.want)
		}
	}
}

func TestPanelFitText(t *testing.T) {
	f, err := NewFonts(1)
	if err != nil {
		t.Fatal(err)
	}
	s := "SqueezeExcite reduction=16 activation=hardsigmoid"
	full := text.Advance(s, f.Small)
	if got := fitText(s, f.Small, full); got != s {
		t.Errorf("text that fits was changed to %q", got)
	}
	for _, w := range []float64{full - 1, full / 2, 40, 12} {
		got := fitText(s, f.Small, w)
		if !strings.HasSuffix(got, ellipsis) || !strings.HasPrefix(s, strings.TrimSuffix(got, ellipsis)) {
			t.Errorf("fitText(%g) = %q, want a prefix and an ellipsis", w, got)
		}
		if a := text.Advance(got, f.Small); a > w {
			t.Errorf("fitText(%g) = %q is %g px wide", w, got, a)
		}
		// The longest prefix: one more rune would not fit.
		longer := prefixRunes(s, len([]rune(got))) + ellipsis
		if text.Advance(longer, f.Small) <= w {
			t.Errorf("fitText(%g) = %q, but %q fits too", w, got, longer)
		}
	}
	if got := fitText(s, f.Small, 1); got != "" {
		t.Errorf("fitText in 1 px = %q, want nothing", got)
	}
	if got := fitText("Conv2d 1→8", f.Small, text.Advance("Conv2d 1→", f.Small)); got != "Conv2d 1"+ellipsis && got != "Conv2d "+ellipsis {
		t.Errorf("fitText cut a multi-byte rune: %q", got)
	}
}

func TestPanelFonts(t *testing.T) {
	for _, bad := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if _, err := NewFonts(bad); err == nil {
			t.Errorf("NewFonts(%g) accepted", bad)
		}
	}
	f1, err := NewFonts(1)
	if err != nil {
		t.Fatal(err)
	}
	f2, err := NewFonts(2)
	if err != nil {
		t.Fatal(err)
	}
	if f1.Body.Size != 13 || f1.Small.Size != 11 || f1.Mono.Size != 12 || f2.Body.Size != 26 || f2.Scale != 2 {
		t.Errorf("sizes at scale 1: %g/%g/%g, body at 2: %g", f1.Body.Size, f1.Small.Size, f1.Mono.Size, f2.Body.Size)
	}
	if f1.Body.Source != f2.Body.Source {
		t.Error("fonts for two scales parse the font twice; they should share one source and its glyph cache")
	}
	if f1.Bold.Source == f1.Body.Source || f1.Mono.Source == f1.Body.Source {
		t.Error("bold and mono faces use the regular font")
	}
	if f1.px(1.5) != 2 || f2.px(1.5) != 3 {
		t.Errorf("px rounds 1.5 to %g at scale 1 and %g at 2", f1.px(1.5), f2.px(1.5))
	}
}

func TestPanelThemeColors(t *testing.T) {
	th := DarkTheme()
	if th.Background != rgb(0x14161b) || th.Accent.B != 0xff || th.Panel.A != 0xff {
		t.Errorf("unexpected theme %+v", th)
	}
	if got := mix(th.Background, th.Text, 0); got != th.Background {
		t.Errorf("mix at 0 = %v", got)
	}
	if got := mix(th.Background, th.Text, 1); got != th.Text {
		t.Errorf("mix at 1 = %v", got)
	}
	if got := fade(rgb(0xff8000), 0.5); got.A != 128 || got.R != 128 || got.G != 64 {
		t.Errorf("fade keeps premultiplied alpha wrong: %v", got)
	}
}

// TestPanelSetDetectsChanges checks, without drawing, that Set marks a
// panel stale exactly when what it shows changed: equal copies leave it
// clean, so idle frames do not render.
func TestPanelSetDetectsChanges(t *testing.T) {
	f, err := NewFonts(1)
	if err != nil {
		t.Fatal(err)
	}
	th := DarkTheme()
	arch, pass := cnnArchitecture(), sevenPass()

	in := NewInputPanel(th, f)
	probs := NewProbPanel(th, f)
	sum := NewSummaryPanel(th, f)
	plot := NewPlotPanel("Loss", th.Positive, th, f)
	steps, loss, _ := history()
	set := func() {
		in.Set(arch, pass)
		probs.Set(arch, pass)
		sum.Set(arch)
		plot.Set(steps, loss, 3)
	}
	clean := func() {
		in.cache.dirty, probs.cache.dirty, sum.cache.dirty, plot.cache.dirty = false, false, false, false
	}
	dirty := func() [4]bool { return [4]bool{in.cache.dirty, probs.cache.dirty, sum.cache.dirty, plot.cache.dirty} }

	set()
	if dirty() != [4]bool{true, true, true, true} {
		t.Fatalf("first Set left panels clean: %v", dirty())
	}
	clean()
	arch, pass = cnnArchitecture(), sevenPass()
	steps, loss, _ = history() // NaN gaps included: NaN must equal NaN
	set()
	if dirty() != [4]bool{} {
		t.Errorf("Set with equal copies marked panels stale: %v (input, probs, summary, plot)", dirty())
	}

	for _, c := range []struct {
		name   string
		change func()
		want   [4]bool
	}{
		{"image pixel", func() { pass.Image[100] = 0.5 }, [4]bool{true, false, false, false}},
		{"step", func() { pass.Step++ }, [4]bool{true, false, false, false}},
		{"probability of another class", func() { pass.Probs[3] += 0.01 }, [4]bool{false, true, false, false}},
		{"probability of the prediction", func() { pass.Probs[7] -= 0.01 }, [4]bool{true, true, false, false}},
		{"prediction", func() { pass.Prediction = 3 }, [4]bool{true, true, false, false}},
		{"module setting", func() { arch.Modules[2].Settings[0].Value = "0.25" }, [4]bool{false, false, true, false}},
		{"class names", func() { arch.ClassNames = append([]string(nil), arch.ClassNames...); arch.ClassNames[0] = "zero" }, [4]bool{true, true, false, false}},
		{"new value", func() { loss = append(loss, 0.1); steps = append(steps, 2000) }, [4]bool{false, false, false, true}},
		{"NaN to value", func() { loss[17] = 1 }, [4]bool{false, false, false, true}},
		{"pass gone", func() { pass = nil }, [4]bool{true, true, false, false}},
	} {
		clean()
		c.change()
		set()
		if got := dirty(); got != c.want {
			t.Errorf("after changing the %s: stale %v, want %v (input, probs, summary, plot)", c.name, got, c.want)
		}
	}
	// The summary keeps its own copy: changing the caller's value after
	// Set must be noticed by the next Set, not silently shared.
	clean()
	arch.Modules[0].Settings[1].Value = "99"
	set()
	if !sum.cache.dirty {
		t.Error("summary shares its module list with the caller")
	}
	clean()
	plot.Set(steps, loss, 5)
	if !plot.cache.dirty {
		t.Error("moving the cursor did not mark the plot stale")
	}
	clean()
	plot.Set(steps, loss, len(loss)+3) // out of range: no cursor
	if !plot.cache.dirty || plot.cursor != -1 {
		t.Errorf("an out-of-range cursor gave cursor %d", plot.cursor)
	}
}

func TestPanelSummaryItems(t *testing.T) {
	mods := cnnArchitecture().Modules // 29 modules, 9 with weights
	seq := func(n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = i
		}
		return s
	}
	for _, c := range []struct {
		capacity int
		items    []int
		note     string
	}{
		{29, seq(29), ""},
		{40, seq(29), ""},
		{28, []int{0, 3, 7, 11, 16, 19, 22, 25, 28}, "+20 without weights"},
		{10, []int{0, 3, 7, 11, 16, 19, 22, 25, 28}, "+20 without weights"},
		{9, seq(8), ellipsis + " 21 more"},
		{1, []int{}, ellipsis + " 29 more"},
		{0, []int{}, ellipsis + " 29 more"},
	} {
		items, note := summaryItems(mods, c.capacity)
		if len(items) != len(c.items) || (len(items) > 0 && !slices.Equal(items, c.items)) || note != c.note {
			t.Errorf("summaryItems(cnn, %d) = %v, %q; want %v, %q", c.capacity, items, note, c.items, c.note)
		}
	}
	if items, note := summaryItems(nil, 5); len(items) != 0 || note != "" {
		t.Errorf("summaryItems(nil) = %v, %q", items, note)
	}
}

func TestPanelClassNames(t *testing.T) {
	names := []string{"zero", "", "two"}
	for i, want := range map[int]string{0: "zero", 1: "1", 2: "two", 3: "3", -1: "—"} {
		if got := className(names, i); got != want {
			t.Errorf("className(%d) = %q, want %q", i, got, want)
		}
	}
	th := DarkTheme()
	for _, c := range []struct {
		pred, label int
		want        color.RGBA
	}{{7, 7, th.Good}, {1, 7, th.Positive}, {-1, 7, th.Text}, {7, -1, th.Text}} {
		if got := predictionColor(th, c.pred, c.label); got != c.want {
			t.Errorf("predictionColor(%d, %d) = %v, want %v", c.pred, c.label, got, c.want)
		}
	}
	if got := formatPercent(0.931); got != "93.1%" {
		t.Errorf("formatPercent(0.931) = %q", got)
	}
}

// TestPanelSeedPass covers what a plain seed file gives: no image, the
// label and prediction -1, probabilities only from the logits.
func TestPanelSeedPass(t *testing.T) {
	f, err := NewFonts(1)
	if err != nil {
		t.Fatal(err)
	}
	th := DarkTheme()
	pass := &collector.Pass{TrueLabel: -1, Prediction: -1, Probs: []float32{0.1, 0.7, 0.2}}
	in := NewInputPanel(th, f)
	in.Set(cnnArchitecture(), pass)
	if !in.has || in.pred != 1 || in.prob != 0.7 || in.shape != [3]int{} {
		t.Errorf("input panel from a seed pass: has %v, pred %d (%g), shape %v; want the argmax 1 at 0.7 and no image", in.has, in.pred, in.prob, in.shape)
	}
	probs := NewProbPanel(th, f)
	probs.Set(nil, &collector.Pass{TrueLabel: -1, Prediction: -1, Logits: []float32{0, 3, 1}})
	if !probs.has || probs.pred != 1 || math.Abs(float64(probs.probs[1])-0.8438) > 1e-3 {
		t.Errorf("probability panel from logits: has %v, pred %d, probs %v", probs.has, probs.pred, probs.probs)
	}
	probs.Set(nil, &collector.Pass{})
	if probs.has || !probs.missing || !probs.cache.dirty {
		t.Errorf("a pass without probabilities: has %v, missing %v", probs.has, probs.missing)
	}
	probs.cache.dirty = false
	probs.Set(nil, nil)
	if probs.missing || !probs.cache.dirty {
		t.Errorf("no pass after one without probabilities: missing %v, stale %v", probs.missing, probs.cache.dirty)
	}
}

// TestPlotBounds: accuracy keeps its 0..1 axis however flat the run, loss
// starts at 0, and a single pass gets an x axis from step 0 to its step.
func TestPlotBounds(t *testing.T) {
	f, err := NewFonts(1)
	if err != nil {
		t.Fatal(err)
	}
	th := DarkTheme()
	size := image.Pt(320, 120)
	acc := newAccuracyPlot(th, f)
	acc.Set([]int{10, 20, 30}, []float32{0.100, 0.108, 0.104}, 2)
	if l := acc.layout(size); l.lo != 0 || l.hi != 1 {
		t.Errorf("accuracy axis %g..%g, want 0..1", l.lo, l.hi)
	}
	loss := newLossPlot(th, f)
	loss.Set([]int{10, 20, 30}, []float32{2.30, 2.28, 2.29}, 2)
	if l := loss.layout(size); l.lo != 0 || l.hi < 2.30 || l.hi > 3 {
		t.Errorf("loss axis %g..%g, want 0 to just above 2.30", l.lo, l.hi)
	}
	loss.Set([]int{20}, []float32{2.3}, 0)
	if l := loss.layout(size); l.x0 != 0 || l.x1 != 20 {
		t.Errorf("one pass at step 20: x axis %g..%g, want 0..20", l.x0, l.x1)
	}
}

// TestWrapText: words fill lines up to the width, the last allowed line
// ends in an ellipsis when the text goes on, and nothing is wider than asked.
func TestWrapText(t *testing.T) {
	f, err := NewFonts(1)
	if err != nil {
		t.Fatal(err)
	}
	msg := "/tmp/runs/a-rather-long-name.mlpv is damaged at byte 611021 (pass 21: crc mismatch): showing its 39 whole passes"
	w := text.Advance("is damaged at byte 611021 (pass", f.Body)
	lines := wrapText(msg, f.Body, w, 3)
	if len(lines) != 3 || !strings.HasSuffix(lines[2], ellipsis) {
		t.Fatalf("lines %q", lines)
	}
	for _, l := range lines {
		if text.Advance(l, f.Body) > w {
			t.Errorf("%q is wider than %g", l, w)
		}
	}
	if all := wrapText(msg, f.Body, 1e6, 3); len(all) != 1 || all[0] != msg {
		t.Errorf("a wide line: %q", all)
	}
	if got := strings.Join(wrapText(msg, f.Body, text.Advance(msg, f.Body)/2+20, 3), " "); got != msg {
		t.Errorf("two lines lose words: %q", got)
	}
}
