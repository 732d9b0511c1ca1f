package engine

import (
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/hajimehoshi/ebiten/v2"

	"github.com/mlpviz/mlpviz/collector"
)

// weightPass is a pass whose Linear layers have these weights (one row of
// len(w) inputs each).
func weightPass(step int, layers ...[]float32) *collector.Pass {
	p := &collector.Pass{Step: step}
	for _, w := range layers {
		p.Layers = append(p.Layers, collector.LayerPass{Input: make([]float32, len(w)), Weight: w})
	}
	return p
}

// TestWeightHistograms counts a known pass bin by bin, widens the range
// for a larger weight without losing a count, and leaves a gap for a pass
// that could not be read.
func TestWeightHistograms(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	var h weightHistograms
	h.add(weightPass(10, []float32{-0.4, -0.2, 0, 0.1, 0.2, 0.4, nan, inf}, []float32{0.003}))
	// The largest finite |w| is 0.4: the range is ±0.5 (a round number
	// at least 1.25 times it), 48 bins of 1/48 each.
	if l := h.layers[0].limit; l != 0.5 {
		t.Fatalf("range ±%g, want ±0.5", l)
	}
	want := map[int]uint32{4: 1, 14: 1, 24: 1, 28: 1, 33: 1, 43: 1, 47: 1} // NaN uncounted, +Inf in the top bin
	checkColumn(t, h.column(0, 0), want)
	if l := h.layers[1].limit; l != 0.005 {
		t.Errorf("layer 2's range ±%g, want ±0.005", l)
	}
	checkColumn(t, h.column(1, 0), map[int]uint32{histBins/2 + 14: 1}) // 0.003 -> floor(0.008/0.01*48)

	// 0.9 doubles the range to ±1: pass 1's bins merge in pairs into the
	// middle half, and pass 2 counts on the new bins.
	h.add(weightPass(20, []float32{-0.4, 0.9}, []float32{0.001}))
	if l := h.layers[0].limit; l != 1 {
		t.Fatalf("range ±%g after 0.9, want ±1", l)
	}
	checkColumn(t, h.column(0, 0), map[int]uint32{14: 1, 19: 1, 24: 1, 26: 1, 28: 1, 33: 1, 35: 1})
	checkColumn(t, h.column(0, 1), map[int]uint32{14: 1, 45: 1})

	h.add(nil)
	if h.passes() != 3 || h.steps[2] != -1 || slices.Max(h.column(0, 2)) != 0 {
		t.Errorf("an unread pass: %d passes, step %d, counts %v", h.passes(), h.steps[2], h.column(0, 2))
	}
	h.add(weightPass(40, []float32{0.1})) // a pass without layer 2
	if c := h.column(1, 3); c == nil || slices.Max(c) != 0 {
		t.Errorf("a missing layer's column %v, want empty", c)
	}
	if h.steps[3] != 40 || h.version != 4 {
		t.Errorf("steps %v, version %d", h.steps, h.version)
	}
}

func checkColumn(t *testing.T, col []uint32, want map[int]uint32) {
	t.Helper()
	if len(col) != histBins {
		t.Fatalf("%d bins, want %d", len(col), histBins)
	}
	for b, n := range col {
		if n != want[b] {
			t.Errorf("bin %d holds %d, want %d (column %v)", b, n, want[b], col)
		}
	}
}

// TestWeightHistogramsDoubleExactly holds the promise of the doubling: a
// histogram merged after its range grew equals one counted on the wider
// range from the start.
func TestWeightHistogramsDoubleExactly(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	w := make([]float32, 5000)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * 0.1)
	}
	var grown, direct weightHistograms
	grown.add(weightPass(0, w))
	for grown.layers[0].limit < 4 {
		grown.layers[0].double()
	}
	direct.layers = []layerHistogram{{limit: grown.layers[0].limit}}
	direct.add(weightPass(0, w))
	if !slices.Equal(grown.column(0, 0), direct.column(0, 0)) {
		t.Errorf("merged %v\ncounted %v", grown.column(0, 0), direct.column(0, 0))
	}
}

// TestWeightHistogramsStride samples a cifar10_cnn-sized layer: near
// maxHistSamples weights, from every input column.
func TestWeightHistogramsStride(t *testing.T) {
	for _, c := range []struct{ out, in int }{{24, 576}, {128, 6272}, {1024, 4096}, {512, 1024}} {
		n := c.out * c.in
		s := histStride(n, c.in)
		samples := (n + s - 1) / s
		if n <= maxHistSamples && s != 1 {
			t.Errorf("%dx%d: stride %d for a small layer", c.out, c.in, s)
		}
		if samples > maxHistSamples || (n > maxHistSamples && samples < maxHistSamples/2) {
			t.Errorf("%dx%d: stride %d samples %d", c.out, c.in, s, samples)
		}
		if gcd(s, c.in) != 1 {
			t.Errorf("%dx%d: stride %d shares a factor with the row", c.out, c.in, s)
		}
		w := make([]float32, n)
		for i := range w {
			w[i] = float32(i%c.in) / float32(c.in) // the input column, scaled to 0..1
		}
		var h weightHistograms
		h.add(weightPass(0, w))
		var sum uint32
		for _, v := range h.column(0, 0) {
			sum += v
		}
		if int(sum) != samples {
			t.Errorf("%dx%d: %d counted, want %d", c.out, c.in, sum, samples)
		}
		// Every bin of the upper half (columns spread evenly over 0..1)
		// gets samples: the stride does not keep to a few columns.
		col := h.column(0, 0)
		for b := histBins / 2; b < histBins*3/4; b++ { // the range is ±1.25 or wider
			if col[b] == 0 && h.layers[0].limit <= 1.25 {
				t.Errorf("%dx%d: bin %d empty", c.out, c.in, b)
			}
		}
	}
}

// TestSourceHistograms reads a run: LoadMetrics histograms every pass,
// each layer's column counting all its weights (or every stride-th).
func TestSourceHistograms(t *testing.T) {
	for _, model := range []string{"cnn", "cnn_large"} {
		src := layoutSource(t, model, 1)
		src.LoadMetrics(10 * time.Second)
		h := src.histograms()
		if h.passes() != src.Len() || len(h.layers) != len(src.Architecture().Head) {
			t.Fatalf("%s: %d passes of %d layers, want %d of %d", model, h.passes(), len(h.layers), src.Len(), len(src.Architecture().Head))
		}
		for i := range h.passes() {
			p, err := src.Pass(i)
			if err != nil {
				t.Fatal(err)
			}
			if h.steps[i] != p.Step {
				t.Errorf("%s pass %d: step %d, want %d", model, i, h.steps[i], p.Step)
			}
			for k, l := range p.Layers {
				s := histStride(len(l.Weight), len(l.Input))
				var sum uint32
				for _, v := range h.column(k, i) {
					sum += v
				}
				if want := (len(l.Weight) + s - 1) / s; int(sum) != want {
					t.Errorf("%s pass %d layer %d: %d counted, want %d", model, i, k, sum, want)
				}
			}
		}
		src.Close()
	}
}

// TestDistPanel draws the distributions of ten passes whose weights all
// sit at one value that climbs pass by pass: each pass's column is bright
// at that value's bin and empty elsewhere, and the cursor is at the shown
// pass, not at another.
func TestDistPanel(t *testing.T) {
	if testLoop == nil {
		t.Skip("needs a display (run under xvfb-run)")
	}
	f, err := NewFonts(1)
	if err != nil {
		t.Fatal(err)
	}
	th := DarkTheme()
	var h weightHistograms
	value := func(i int) float32 { return -0.35 + 0.07*float32(i) }
	for i := range 10 {
		w := make([]float32, 100)
		for j := range w {
			w[j] = value(i)
		}
		w[0] = 0.4 // sets the range: ±0.5
		h.add(weightPass(i*25, w, w))
	}
	p := NewDistPanel(th, f)
	p.Set(&h, nil, 7, 12)      // two passes still to come
	size := image.Pt(300, 400) // strips of a few pixels per bin
	var shot *image.RGBA
	onLoop(t, func() {
		img := ebiten.NewImage(size.X, size.Y)
		defer img.Deallocate()
		p.Draw(img, img.Bounds())
		shot = readImage(img)
	})
	savePNG(t, shot, "dist")
	l := p.layout(size)
	if len(l.strips) != 2 {
		t.Fatalf("%d strips, want 2", len(l.strips))
	}
	sr := l.strips[0]
	// The strip shows the bins any pass uses: out to 0.4's, bin 43 of
	// ±0.5's 48, 20 bins either side of 0.
	if p.span(0) != 20 || rangeText(p.limit(0)) != "±0.42" {
		t.Errorf("span %d bins, range %s; want 20, ±0.42", p.span(0), rangeText(p.limit(0)))
	}
	binY := func(v float32) int { // the middle of v's bin
		b := int(math.Floor((float64(v) + 0.5) / 1 * histBins))
		span := p.span(0)
		row := histBins/2 + span - 1 - b // the texture's rows run top down
		return sr.Min.Y + int((float64(row)+0.5)*float64(sr.Dy())/float64(2*span))
	}
	for i := range 10 {
		if i == 7 {
			continue // the cursor's column
		}
		x := p.cursorX(sr, i)
		if c := shot.RGBAAt(x, binY(value(i))); !colorNear(c, p.heat(1), 12) {
			t.Errorf("pass %d: %v at its weights' bin (y %d), want the peak's %v", i, c, binY(value(i)), p.heat(1))
		}
		if c := shot.RGBAAt(x, binY(-0.39)); !colorNear(c, mix(th.Background, th.Panel, 0.3), 4) {
			t.Errorf("pass %d: %v in an empty bin", i, c)
		}
	}
	for i := 10; i < 12; i++ { // not yet histogrammed: empty
		x := p.cursorX(sr, i)
		if n := countNear(shot, image.Rect(x, sr.Min.Y, x+1, sr.Max.Y), mix(th.Background, th.Panel, 0.3), 4); n != sr.Dy() {
			t.Errorf("pass %d (not loaded): %d of %d pixels empty", i, n, sr.Dy())
		}
	}
	cursorAt := func(i int) int {
		x := p.cursorX(sr, i)
		return countNear(shot, image.Rect(x, l.strips[0].Min.Y, x+1, l.strips[1].Max.Y), th.Warning, 10)
	}
	if n, want := cursorAt(7), l.strips[1].Max.Y-l.strips[0].Min.Y; n != want {
		t.Errorf("cursor at pass 7: %d of %d pixels", n, want)
	}
	for _, i := range []int{0, 3, 6, 8, 11} {
		if n := cursorAt(i); n != 0 {
			t.Errorf("%d cursor pixels at pass %d", n, i)
		}
	}

	// Moving the cursor redraws; setting the same again does not.
	redraws := p.cache.redraws
	p.Set(&h, nil, 7, 12)
	onLoop(t, func() {
		img := ebiten.NewImage(size.X, size.Y)
		defer img.Deallocate()
		p.Draw(img, img.Bounds())
		if p.cache.redraws != redraws {
			t.Error("the same histograms and cursor redraw")
		}
		p.Set(&h, nil, 3, 12)
		p.Draw(img, img.Bounds())
		if p.cache.redraws != redraws+1 {
			t.Error("a new cursor does not redraw")
		}
	})
}
