package engine

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hajimehoshi/ebiten/v2"

	"github.com/mlpviz/mlpviz/collector"
)

// Ebitengine draws and reads pixels back only while its game loop runs, and
// the loop must own the main thread. So when a display is available TestMain
// runs a tiny game on the main goroutine and the tests in another; a test
// hands drawing work to the loop with onLoop. Without a display the tests
// that need the loop skip and the pure ones still run.

// testLoop is the game that runs test jobs; nil without a display.
var testLoop *loopGame

type loopGame struct {
	jobs chan func()
	quit chan struct{} // closed when the tests are done
	dead chan struct{} // closed when RunGame returned
	err  error         // RunGame's error, read after dead is closed
}

func (g *loopGame) Update() error {
	select {
	case <-g.quit:
		return ebiten.Termination
	case job := <-g.jobs:
		job()
	default:
	}
	return nil
}

func (g *loopGame) Draw(*ebiten.Image)                       {}
func (g *loopGame) Layout(outsideW, outsideH int) (int, int) { return 64, 64 }

func TestMain(m *testing.M) {
	if os.Getenv("DISPLAY") == "" {
		os.Exit(m.Run())
	}
	testLoop = &loopGame{jobs: make(chan func()), quit: make(chan struct{}), dead: make(chan struct{})}
	code := make(chan int, 1)
	go func() {
		code <- m.Run()
		close(testLoop.quit)
	}()
	ebiten.SetWindowSize(64, 64)
	ebiten.SetWindowTitle("mlpviz engine tests")
	testLoop.err = ebiten.RunGameWithOptions(testLoop, &ebiten.RunGameOptions{InitUnfocused: true})
	close(testLoop.dead)
	os.Exit(<-code)
}

// onLoop runs job on the game loop and waits for it. job must not call
// t.Fatal or t.Skip (they would stop the loop's goroutine); it may call
// t.Error, or return its findings to the test through variables.
func onLoop(t *testing.T, job func()) {
	t.Helper()
	if testLoop == nil {
		t.Skip("DISPLAY is unset: drawing needs a display; run under xvfb-run -a")
	}
	done := make(chan any, 1)
	wrapped := func() {
		defer func() { done <- recover() }()
		job()
	}
	select {
	case testLoop.jobs <- wrapped:
	case <-testLoop.dead:
		t.Fatalf("the ebiten game loop is not running: %v", testLoop.err)
	}
	if p := <-done; p != nil {
		t.Fatalf("panic on the game loop: %v", p)
	}
}

// readImage copies an ebiten image into an image.RGBA (on the loop).
func readImage(img *ebiten.Image) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	img.ReadPixels(out.Pix)
	return out
}

// savePNG writes img where MLPVIZ_PANEL_PNG says, with suffix before the
// extension for the extra pictures; nothing when it is unset.
func savePNG(t *testing.T, img image.Image, suffix string) {
	t.Helper()
	path := os.Getenv("MLPVIZ_PANEL_PNG")
	if path == "" {
		return
	}
	if suffix != "" {
		ext := filepath.Ext(path)
		path = strings.TrimSuffix(path, ext) + "-" + suffix + ext
	}
	savePNGTo(t, img, path)
}

// savePNGTo writes img as a PNG at path.
func savePNGTo(t *testing.T, img image.Image, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

// Test data: what a run of the default cnn on MNIST records.

func cnnArchitecture() *collector.Architecture {
	set := func(kv ...string) []collector.Setting {
		var s []collector.Setting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, collector.Setting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	a := &collector.Architecture{
		Dataset: "mnist", Model: "cnn", InputShape: [3]int{1, 28, 28},
		ClassNames: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
		Interval:   50, BatchSize: 64,
	}
	ch := []int{1, 8, 16, 32, 64}
	for i := range 4 {
		a.Modules = append(a.Modules, collector.Module{Kind: "Conv2d", Settings: set(
			"in_channels", fmt.Sprint(ch[i]), "out_channels", fmt.Sprint(ch[i+1]),
			"kernel_size", "(3, 3)", "stride", "(1, 1)", "padding", "(0, 0)")})
		if i > 0 {
			a.Modules = append(a.Modules, collector.Module{Kind: "MaxPool2d", Settings: set("kernel_size", "2", "stride", "2")})
		}
		a.Modules = append(a.Modules, collector.Module{Kind: "ReLU"}, collector.Module{Kind: "Dropout", Settings: set("p", "0.5")})
	}
	a.Modules = append(a.Modules, collector.Module{Kind: "Flatten"})
	dims := []int{576, 24, 24, 24, 24, 10}
	for i := range 5 {
		a.Modules = append(a.Modules, collector.Module{Kind: "Linear", Settings: set(
			"in_features", fmt.Sprint(dims[i]), "out_features", fmt.Sprint(dims[i+1]), "bias", "true")})
		a.Head = append(a.Head, collector.LinearShape{In: dims[i], Out: dims[i+1]})
		if i < 4 {
			a.Modules = append(a.Modules, collector.Module{Kind: "ReLU"}, collector.Module{Kind: "Dropout", Settings: set("p", "0.5")})
		}
	}
	a.FullHead = append([]collector.LinearShape(nil), a.Head...)
	return a
}

// digitSeven draws a handwritten-looking 7 in a 28x28 grey image: a bar
// over rows 5..7 from column 6 to 21 and a stroke down to the lower left,
// with soft edges like MNIST's anti-aliased digits.
func digitSeven() []float32 {
	img := make([]float32, 28*28)
	put := func(r, c int, v float32) {
		if r >= 0 && r < 28 && c >= 0 && c < 28 && v > img[r*28+c] {
			img[r*28+c] = v
		}
	}
	for c := 6; c <= 21; c++ {
		put(4, c, 0.35)
		for r := 5; r <= 7; r++ {
			put(r, c, 1)
		}
		put(8, c, 0.4)
	}
	for r := 8; r <= 23; r++ {
		c := 21 - (r-8)*9/15
		put(r, c-2, 0.45)
		put(r, c-1, 1)
		put(r, c, 1)
		put(r, c+1, 0.95)
		put(r, c+2, 0.35)
	}
	return img
}

func sevenPass() *collector.Pass {
	probs := []float32{0.004, 0.025, 0.015, 0.006, 0.002, 0.001, 0.001, 0.931, 0.003, 0.012}
	return &collector.Pass{Step: 1950, Epoch: 1, Loss: 0.21, Accuracy: 0.94, Image: digitSeven(),
		TrueLabel: 7, Prediction: 7, Probs: probs}
}

// history is 40 passes of a falling loss and a rising accuracy, with the
// metrics of passes 17 and 18 missing (NaN).
func history() (steps []int, loss, acc []float32) {
	for i := range 40 {
		steps = append(steps, i*50)
		wiggle := 0.06 * math.Sin(float64(i)*1.7)
		loss = append(loss, float32(2.05*math.Exp(-float64(i)/9)+0.18+wiggle*math.Exp(-float64(i)/20)))
		acc = append(acc, float32(0.1+0.84*(1-math.Exp(-float64(i)/8))+wiggle/3))
	}
	for _, i := range []int{17, 18} {
		loss[i] = float32(math.NaN())
		acc[i] = float32(math.NaN())
	}
	return steps, loss, acc
}

// screenLayout is where the composed test screen puts each panel: the
// window's right side bar (below a 30 px HUD, above a 62 px timeline) for
// the input, probabilities and plots, and the summary as a 300x300 panel
// over the network view's lower left.
type screenLayout struct {
	input, probs, loss, acc, summary image.Rectangle
}

func testScreenLayout() screenLayout {
	x0, x1 := 1280-320+8, 1280-8
	y := 30 + 8
	next := func(h int) image.Rectangle {
		r := image.Rect(x0, y, x1, y+h)
		y += h + 8
		return r
	}
	var l screenLayout
	l.input = next(236)
	l.probs = next(172)
	l.loss = next(128)
	l.acc = next(128)
	l.summary = image.Rect(16, 800-62-16-300, 16+300, 800-62-16)
	return l
}

// panelSet is one of each panel with the test data set.
type panelSet struct {
	th      *Theme
	f       *Fonts
	input   *InputPanel
	probs   *ProbPanel
	loss    *PlotPanel
	acc     *PlotPanel
	summary *SummaryPanel
}

func newPanelSet(t *testing.T) *panelSet {
	t.Helper()
	f, err := NewFonts(1)
	if err != nil {
		t.Fatal(err)
	}
	th := DarkTheme()
	s := &panelSet{th: th, f: f,
		input: NewInputPanel(th, f), probs: NewProbPanel(th, f),
		loss: NewPlotPanel("Loss", th.Positive, th, f), acc: NewPlotPanel("Accuracy", th.Good, th, f),
		summary: NewSummaryPanel(th, f)}
	arch, pass := cnnArchitecture(), sevenPass()
	steps, loss, acc := history()
	s.input.Set(arch, pass)
	s.probs.Set(arch, pass)
	s.loss.Set(steps, loss, 33)
	s.acc.Set(steps, acc, 33)
	s.summary.Set(arch)
	return s
}

// colorNear reports whether two colours differ by at most tol in every
// channel.
func colorNear(a, b color.RGBA, tol int) bool {
	d := func(x, y uint8) bool { return abs(int(x)-int(y)) <= tol }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// countNear counts the pixels of r in img within tol of c.
func countNear(img *image.RGBA, r image.Rectangle, c color.RGBA, tol int) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if colorNear(img.RGBAAt(x, y), c, tol) {
				n++
			}
		}
	}
	return n
}

// TestPanelScreen composes the side panels on a 1280x800 screen as the
// window does, saves it (MLPVIZ_PANEL_PNG) and checks what a user would
// look for: the predicted bar towers over the rest, the loss falls and the
// accuracy rises, the digit's bright strokes are where the image has them,
// the NaN gap is a gap, and the summary has text with the head highlighted.
func TestPanelScreen(t *testing.T) {
	s := newPanelSet(t)
	l := testScreenLayout()
	var shot *image.RGBA
	var probL probLayout
	var inL inputLayout
	var lossL, accL plotLayout
	onLoop(t, func() {
		screen := ebiten.NewImage(1280, 800)
		defer screen.Deallocate()
		screen.Fill(s.th.Background)
		s.input.Draw(screen, l.input)
		s.probs.Draw(screen, l.probs)
		s.loss.Draw(screen, l.loss)
		s.acc.Draw(screen, l.acc)
		s.summary.Draw(screen, l.summary)
		shot = readImage(screen)
		probL = s.probs.layout(l.probs.Size())
		inL = s.input.layout(l.input.Size())
		lossL = s.loss.layout(l.loss.Size())
		accL = s.acc.layout(l.acc.Size())
	})
	savePNG(t, shot, "")
	th := s.th

	t.Run("frame", func(t *testing.T) {
		for name, r := range map[string]image.Rectangle{"input": l.input, "probs": l.probs, "loss": l.loss, "summary": l.summary} {
			mid := (r.Min.X + r.Max.X) / 2
			if c := shot.RGBAAt(mid, r.Min.Y); !colorNear(c, th.Border, 2) {
				t.Errorf("%s: top border pixel is %v, want the border colour %v", name, c, th.Border)
			}
			if c := shot.RGBAAt(r.Min.X+3, r.Max.Y-3); !colorNear(c, th.Panel, 2) {
				t.Errorf("%s: pixel inside the lower left corner is %v, want the panel colour %v", name, c, th.Panel)
			}
			if c := shot.RGBAAt(r.Min.X, r.Min.Y); colorNear(c, th.Border, 2) {
				t.Errorf("%s: the corner pixel is the border colour %v; want a rounded corner", name, c)
			}
		}
	})

	t.Run("probabilities", func(t *testing.T) {
		if !probL.vertical || len(probL.tracks) != 10 {
			t.Fatalf("digits should get 10 vertical bars, got vertical=%v with %d", probL.vertical, len(probL.tracks))
		}
		bar, _ := s.probs.barColors()
		heights := make([]int, 10)
		for i, tr := range probL.tracks {
			tr = tr.Add(l.probs.Min)
			x := (tr.Min.X + tr.Max.X) / 2
			want := bar
			if i == 7 {
				want = th.Accent
			}
			for y := tr.Max.Y - 1; y >= tr.Min.Y && colorNear(shot.RGBAAt(x, y), want, 6); y-- {
				heights[i]++
			}
		}
		trackH := probL.tracks[7].Dy()
		if d := heights[7] - int(math.Round(0.931*float64(trackH))); d < -2 || d > 2 {
			t.Errorf("predicted bar is %d px of a %d px track, want about 93.1%%", heights[7], trackH)
		}
		for i, h := range heights {
			if i != 7 && h*8 > heights[7] {
				t.Errorf("bar %d is %d px, not much lower than the predicted bar's %d px (heights %v)", i, h, heights[7], heights)
			}
		}
		// The true class (7) is underlined in green.
		lr := probL.labels[7].Add(l.probs.Min)
		if n := countNear(shot, lr, th.Good, 10); n < 10 {
			t.Errorf("true class label area has %d green pixels, want its name and underline in green", n)
		}
		// The header reads in green: the prediction is right.
		hr := probL.header.Add(l.probs.Min)
		if g, r := countNear(shot, hr, th.Good, 40), countNear(shot, hr, th.Positive, 40); g < 20 || r > 0 {
			t.Errorf("header has %d green and %d red pixels; want green text for a right prediction", g, r)
		}
	})

	t.Run("image", func(t *testing.T) {
		if inL.pixelScale < 4 || inL.pixelScale != math.Floor(inL.pixelScale) {
			t.Fatalf("the 28x28 probe is scaled %g times in a %v panel; want a whole factor of at least 4", inL.pixelScale, l.input.Size())
		}
		at := func(row, col int) color.RGBA {
			x := l.input.Min.X + inL.image.Min.X + int((float64(col)+0.5)*inL.pixelScale)
			y := l.input.Min.Y + inL.image.Min.Y + int((float64(row)+0.5)*inL.pixelScale)
			return shot.RGBAAt(x, y)
		}
		for _, p := range [][2]int{{6, 8}, {6, 15}, {6, 20}, {12, 18}, {20, 13}} {
			if c := at(p[0], p[1]); c.R < 230 || c.R != c.G || c.G != c.B {
				t.Errorf("digit stroke pixel (row %d, col %d) is %v, want bright grey", p[0], p[1], c)
			}
		}
		for _, p := range [][2]int{{1, 1}, {15, 4}, {26, 26}, {12, 8}} {
			if c := at(p[0], p[1]); c.R > 10 || c.G > 10 || c.B > 10 {
				t.Errorf("background pixel (row %d, col %d) is %v, want black", p[0], p[1], c)
			}
		}
		pr := inL.predRow.Add(l.input.Min)
		if g, r := countNear(shot, pr, th.Good, 40), countNear(shot, pr, th.Positive, 40); g < 20 || r > 0 {
			t.Errorf("prediction row has %d green and %d red pixels; want green for a right prediction", g, r)
		}
	})

	t.Run("plots", func(t *testing.T) {
		// lineY is the mean y of the line's pixels in screen column x, or
		// -1 when the column has none.
		lineY := func(panel image.Rectangle, pl plotLayout, c color.RGBA, x int) float64 {
			sum, n := 0, 0
			for y := pl.plot.Min.Y; y < pl.plot.Max.Y; y++ {
				// Anti-aliasing dims a thin line; 70 still tells it from
				// the fill under it, the grid and the cursor.
				if colorNear(shot.RGBAAt(panel.Min.X+x, panel.Min.Y+y), c, 70) {
					sum += y
					n++
				}
			}
			if n == 0 {
				return -1
			}
			return float64(sum) / float64(n)
		}
		steps, loss, acc := history()
		check := func(name string, panel image.Rectangle, pl plotLayout, c color.RGBA, values []float32, falling bool) {
			col := func(i int) int { x, _ := pl.toScreen(float64(steps[i]), 0); return int(math.Round(float64(x))) }
			first, last := lineY(panel, pl, c, col(1)), lineY(panel, pl, c, col(38))
			if first < 0 || last < 0 {
				t.Errorf("%s: no line pixels at the second or second last pass (y %g, %g)", name, first, last)
				return
			}
			if drop := last - first; falling && drop < float64(pl.plot.Dy())/3 || !falling && -drop < float64(pl.plot.Dy())/3 {
				t.Errorf("%s: line at y %.1f early and %.1f late in a %d px plot; want it to %s clearly", name, first, last, pl.plot.Dy(),
					map[bool]string{true: "fall", false: "rise"}[falling])
			}
			// Each drawn value is near where the data puts it.
			for _, i := range []int{5, 25} {
				_, want := pl.toScreen(0, float64(values[i]))
				if got := lineY(panel, pl, c, col(i)); math.Abs(got-float64(want)) > 3 {
					t.Errorf("%s: pass %d drawn at y %.1f, want %.1f", name, i, got, want)
				}
			}
			// Passes 17 and 18 are NaN: nothing between 16 and 19.
			for x := col(16) + 3; x <= col(19)-3; x++ {
				if y := lineY(panel, pl, c, x); y >= 0 {
					t.Errorf("%s: line pixels at x %d inside the NaN gap", name, x)
					break
				}
			}
			// The cursor (pass 33) is a vertical hairline over the plot.
			cx := col(33)
			lit := 0
			for y := pl.plot.Min.Y; y < pl.plot.Max.Y; y++ {
				if c := shot.RGBAAt(panel.Min.X+cx, panel.Min.Y+y); int(c.R)+int(c.G)+int(c.B) > 3*0x50 {
					lit++
				}
			}
			if lit < pl.plot.Dy()*3/4 {
				t.Errorf("%s: cursor column has %d of %d px lit; want a hairline", name, lit, pl.plot.Dy())
			}
		}
		check("loss", l.loss, lossL, th.Positive, loss, true)
		check("accuracy", l.acc, accL, th.Good, acc, false)
		if lossL.lo != 0 || lossL.hi != 2.5 {
			t.Errorf("loss axis %g..%g, want 0..2.5", lossL.lo, lossL.hi)
		}
	})

	t.Run("summary", func(t *testing.T) {
		sl := s.summary.layout(l.summary.Size())
		list := sl.list.Add(l.summary.Min)
		ink := 0
		for y := list.Min.Y; y < list.Max.Y; y++ {
			for x := list.Min.X; x < list.Max.X; x++ {
				if !colorNear(shot.RGBAAt(x, y), th.Panel, 30) {
					ink++
				}
			}
		}
		if ink < 800 {
			t.Errorf("module list has %d pixels of text, want a list", ink)
		}
		if n := countNear(shot, list, th.Accent, 50); n < 40 {
			t.Errorf("module list has %d accent pixels, want the head's Linear layers highlighted", n)
		}
		if n := len(cnnArchitecture().Modules); len(sl.items) != n || sl.note != "" {
			t.Errorf("a 300x300 summary lists %d of the cnn's %d modules (note %q); want all", len(sl.items), n, sl.note)
		}
		if n := countNear(shot, sl.headRow.Add(l.summary.Min), th.Accent, 50); n < 30 {
			t.Errorf("head sizes row has %d accent pixels", n)
		}
	})
}

// TestPanelVariants draws the panels in the states a run passes through
// besides the common one: nothing yet, a wrong prediction, an RGB probe,
// long class names, a small panel, unknown module kinds; it saves them as a
// second picture and checks the colours that carry meaning.
func TestPanelVariants(t *testing.T) {
	f, err := NewFonts(1)
	if err != nil {
		t.Fatal(err)
	}
	th := DarkTheme()
	cifar := &collector.Architecture{Dataset: "cifar10", Model: "cifar10_cnn", InputShape: [3]int{3, 32, 32},
		ClassNames: []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"},
		Head:       []collector.LinearShape{{In: 64, Out: 64}, {In: 64, Out: 64}, {In: 64, Out: 10}},
		FullHead:   []collector.LinearShape{{In: 4096, Out: 1024}, {In: 1024, Out: 512}, {In: 512, Out: 10}},
		NeuronCap:  64,
		Modules: []collector.Module{
			{Kind: "Conv2d", Settings: []collector.Setting{{Key: "in_channels", Value: "3"}, {Key: "out_channels", Value: "32"}, {Key: "kernel_size", Value: "(3, 3)"}, {Key: "stride", Value: "(2, 2)"}}},
			{Kind: "ReLU"},
			{Kind: "SqueezeExcite", Settings: []collector.Setting{{Key: "reduction", Value: "16"}, {Key: "activation", Value: "hardsigmoid_with_a_very_long_name"}, {Key: "third", Value: "x"}}},
			{Kind: "AdaptiveAvgPool2d", Settings: []collector.Setting{{Key: "output_size", Value: "(1, 1)"}}},
			{Kind: "Flatten"},
			{Kind: "Linear", Settings: []collector.Setting{{Key: "in_features", Value: "4096"}, {Key: "out_features", Value: "1024"}}},
			{Kind: "BatchNorm1d", Settings: []collector.Setting{{Key: "num_features", Value: "1024"}}},
			{Kind: "Linear", Settings: []collector.Setting{{Key: "in_features", Value: "1024"}, {Key: "out_features", Value: "512"}}},
			{Kind: "Linear", Settings: []collector.Setting{{Key: "in_features", Value: "512"}, {Key: "out_features", Value: "10"}}},
		},
	}
	// An RGB probe: a red square on a blue ground with a green bar.
	rgbImg := make([]float32, 3*32*32)
	for y := range 32 {
		for x := range 32 {
			i := y*32 + x
			switch {
			case x >= 8 && x < 24 && y >= 8 && y < 24:
				rgbImg[i] = 0.9
			case y >= 26:
				rgbImg[1024+i] = 0.8
			default:
				rgbImg[2048+i] = 0.6
			}
		}
	}
	wrong := &collector.Pass{Step: 125000, Epoch: 12, Image: rgbImg, TrueLabel: 3, Prediction: 5,
		Probs: []float32{0.01, 0.01, 0.04, 0.31, 0.02, 0.52, 0.05, 0.02, 0.01, 0.01}}
	fashion := &collector.Architecture{Dataset: "fashion_mnist", InputShape: [3]int{1, 28, 28},
		ClassNames: []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}}
	fashionPass := &collector.Pass{Image: digitSeven(), TrueLabel: 9, Prediction: 9, Logits: []float32{-2, -3, -1, -2, -1, 1, -1, 2.5, 0, 4}}

	type cell struct {
		r    image.Rectangle
		draw func(dst *ebiten.Image, r image.Rectangle)
	}
	emptyInput, emptyProbs, emptyPlot, emptySummary := NewInputPanel(th, f), NewProbPanel(th, f), NewPlotPanel("Loss", th.Positive, th, f), NewSummaryPanel(th, f)
	emptyInput.Set(nil, nil)
	rgbInput := NewInputPanel(th, f)
	rgbInput.Set(cifar, wrong)
	cifarProbs := NewProbPanel(th, f)
	cifarProbs.Set(cifar, wrong)
	fashionProbs := NewProbPanel(th, f)
	fashionProbs.Set(fashion, fashionPass)
	cifarSummary := NewSummaryPanel(th, f)
	cifarSummary.Set(cifar)
	smallSummary := NewSummaryPanel(th, f)
	smallSummary.Set(cnnArchitecture())
	steps, loss, _ := history()
	smallPlot := NewPlotPanel("Loss", th.Positive, th, f)
	smallPlot.Set(steps, loss, -1)
	onePoint := NewPlotPanel("Accuracy", th.Good, th, f)
	onePoint.Set([]int{100}, []float32{0.5}, 0)
	smallInput := NewInputPanel(th, f)
	smallInput.Set(cnnArchitecture(), sevenPass())
	// A plain seed file: no image, the label and prediction unknown (-1),
	// probabilities from the logits.
	seedPass := sevenPass()
	seedPass.Image, seedPass.TrueLabel, seedPass.Prediction = nil, -1, -1
	seedInput := NewInputPanel(th, f)
	seedInput.Set(cnnArchitecture(), seedPass)

	cells := []cell{
		{image.Rect(8, 8, 312, 244), emptyInput.Draw},
		{image.Rect(320, 8, 624, 244), rgbInput.Draw},
		{image.Rect(632, 8, 936, 244), cifarProbs.Draw},
		{image.Rect(944, 8, 1248, 244), fashionProbs.Draw},
		{image.Rect(8, 252, 312, 424), emptyProbs.Draw},
		{image.Rect(320, 252, 624, 334), smallPlot.Draw},
		{image.Rect(320, 342, 624, 424), emptyPlot.Draw},
		{image.Rect(632, 252, 936, 424), smallSummary.Draw},
		{image.Rect(944, 252, 1248, 424), onePoint.Draw},
		{image.Rect(8, 432, 312, 620), emptySummary.Draw},
		{image.Rect(320, 432, 624, 620), cifarSummary.Draw},
		{image.Rect(632, 432, 936, 620), smallInput.Draw},
		{image.Rect(944, 432, 1248, 620), seedInput.Draw},
	}
	var shot *image.RGBA
	var cifarL probLayout
	var rgbL, seedL inputLayout
	onLoop(t, func() {
		screen := ebiten.NewImage(1256, 628)
		defer screen.Deallocate()
		screen.Fill(th.Background)
		for _, c := range cells {
			c.draw(screen, c.r)
		}
		shot = readImage(screen)
		cifarL = cifarProbs.layout(cells[2].r.Size())
		rgbL = rgbInput.layout(cells[1].r.Size())
		seedL = seedInput.layout(cells[12].r.Size())
	})
	savePNG(t, shot, "variants")

	if cifarL.vertical {
		t.Errorf("CIFAR-10's class names do not fit under vertical bars, yet the layout is vertical")
	}
	// Wrong prediction: red header, the predicted bar in accent.
	hr := cifarL.header.Add(cells[2].r.Min)
	if r, g := countNear(shot, hr, th.Positive, 40), countNear(shot, hr, th.Good, 40); r < 20 || g > 0 {
		t.Errorf("wrong prediction header has %d red and %d green pixels; want red", r, g)
	}
	tr := cifarL.tracks[5].Add(cells[2].r.Min)
	if n := countNear(shot, tr, th.Accent, 6); n < tr.Dy()*tr.Dx()/3 {
		t.Errorf("predicted bar (dog, 52%%) has %d accent pixels in a %v track", n, tr.Size())
	}
	// Seed pass: the prediction (from the probabilities) in plain text,
	// neither green nor red, since the label is unknown; "no image" text.
	pr := seedL.predRow.Add(cells[12].r.Min)
	if g, r, w := countNear(shot, pr, th.Good, 40), countNear(shot, pr, th.Positive, 40), countNear(shot, pr, th.Text, 20); g > 0 || r > 0 || w < 20 {
		t.Errorf("prediction without a label has %d green, %d red and %d text-coloured pixels; want text colour only", g, r, w)
	}
	if ar := seedL.area.Add(cells[12].r.Min); ar.Empty() || countNear(shot, ar, th.TextDim, 30) < 20 {
		t.Errorf("no \"no image\" note in %v", ar)
	}
	// RGB probe: the centre is red, a corner blue, the bottom rows green.
	at := func(row, col int) color.RGBA {
		r := cells[1].r.Min.Add(rgbL.image.Min)
		return shot.RGBAAt(r.X+int((float64(col)+0.5)*rgbL.pixelScale), r.Y+int((float64(row)+0.5)*rgbL.pixelScale))
	}
	for _, c := range []struct {
		row, col int
		want     color.RGBA
	}{{16, 16, color.RGBA{230, 0, 0, 255}}, {2, 2, color.RGBA{0, 0, 153, 255}}, {29, 16, color.RGBA{0, 204, 0, 255}}} {
		if got := at(c.row, c.col); !colorNear(got, c.want, 2) {
			t.Errorf("RGB probe pixel (row %d, col %d) is %v, want %v", c.row, c.col, got, c.want)
		}
	}
}

// TestPanelCache proves the idle frame: drawing again with unchanged data,
// even when Set is called every frame with fresh copies, does not render
// the panel again and allocates nothing; changed data or a new size does
// render.
func TestPanelCache(t *testing.T) {
	s := newPanelSet(t)
	l := testScreenLayout()
	arch, pass := cnnArchitecture(), sevenPass()
	steps, loss, acc := history()
	counters := func() [5]int {
		return [5]int{s.input.cache.redraws, s.probs.cache.redraws, s.loss.cache.redraws, s.acc.cache.redraws, s.summary.cache.redraws}
	}
	var first, idle, changed, changed2, resized [5]int
	var uploads [2]int
	var allocs [5]float64
	onLoop(t, func() {
		screen := ebiten.NewImage(1280, 800)
		defer screen.Deallocate()
		frame := func() {
			s.input.Set(arch, pass)
			s.probs.Set(arch, pass)
			s.loss.Set(steps, loss, 33)
			s.acc.Set(steps, acc, 33)
			s.summary.Set(arch)
			s.input.Draw(screen, l.input)
			s.probs.Draw(screen, l.probs)
			s.loss.Draw(screen, l.loss)
			s.acc.Draw(screen, l.acc)
			s.summary.Draw(screen, l.summary)
		}
		frame()
		first = counters()
		// Fresh copies with equal contents, as a caller that reuses or
		// rebuilds its values would pass.
		arch, pass = cnnArchitecture(), sevenPass()
		steps, loss, acc = history()
		frame()
		frame()
		idle = counters()
		// Each panel on its own: Ebitengine merges repeated draws of one
		// image into one command, so what is counted is the panel's own
		// work, not the growth of a command queue that a real frame
		// flushes.
		for i, f := range []func(){
			func() { s.input.Set(arch, pass); s.input.Draw(screen, l.input) },
			func() { s.probs.Set(arch, pass); s.probs.Draw(screen, l.probs) },
			func() { s.loss.Set(steps, loss, 33); s.loss.Draw(screen, l.loss) },
			func() { s.acc.Set(steps, acc, 33); s.acc.Draw(screen, l.acc) },
			func() { s.summary.Set(arch); s.summary.Draw(screen, l.summary) },
		} {
			allocs[i] = testing.AllocsPerRun(50, f)
		}

		pass.Prediction, pass.Probs[7], pass.Probs[2] = 2, 0.2, 0.746
		arch.Modules[0].Settings[1].Value = "16"
		loss = append(loss, 0.15)
		acc = append(acc, 0.95)
		steps = append(steps, 2000)
		frame()
		changed = counters()
		uploads[0] = s.input.uploads
		pass.Image[30] = 1
		frame()
		uploads[1] = s.input.uploads
		// Back to the same image: redrawn, and written again.
		pass.Image[30] = 0
		frame()
		changed2 = counters()
		l.input.Max.Y += 10
		l.summary.Max.X -= 20
		frame()
		resized = counters()
	})
	if first != [5]int{1, 1, 1, 1, 1} {
		t.Errorf("first frame rendered %v times (input, probs, loss, accuracy, summary), want once each", first)
	}
	if idle != first {
		t.Errorf("idle frames rendered again: %v after the first frame's %v", idle, first)
	}
	if allocs != [5]float64{} {
		t.Errorf("an idle frame (Set with equal data, then Draw) allocates %v times (input, probs, loss, accuracy, summary), want 0", allocs)
	}
	if changed != [5]int{2, 2, 2, 2, 2} {
		t.Errorf("after changing every panel's data the counts are %v, want 2 each", changed)
	}
	if uploads != [2]int{1, 2} {
		t.Errorf("the probe image was written %d times after a change that kept its pixels and %d after one that changed them; want 1 and 2", uploads[0], uploads[1])
	}
	if changed2 != [5]int{4, 2, 2, 2, 2} {
		t.Errorf("after changing the probe's pixels twice the counts are %v, want [4 2 2 2 2]", changed2)
	}
	if resized != [5]int{5, 2, 2, 2, 3} {
		t.Errorf("after resizing the input and summary panels the counts are %v, want [5 2 2 2 3]", resized)
	}
}

// TestPanelCompact draws the side bar at the proportions the window gives
// it at 1280x800 today (input 26%, probabilities 22%, each plot 13%, the
// summary the rest of 708 px) and checks that the panels adapt instead of
// breaking: the input puts its text beside a larger image, the short plots
// drop their step labels, and the summary lists the layers with weights.
func TestPanelCompact(t *testing.T) {
	s := newPanelSet(t)
	side := image.Rect(1280-320, 30, 1280, 800-62)
	pad := 8
	h := side.Dy() - 2*pad
	y := side.Min.Y + pad
	var rects []image.Rectangle
	for _, ph := range []int{h * 26 / 100, h * 22 / 100, h * 13 / 100, h * 13 / 100} {
		rects = append(rects, image.Rect(side.Min.X+pad, y, side.Max.X-pad, y+ph-pad))
		y += ph
	}
	rects = append(rects, image.Rect(side.Min.X+pad, y, side.Max.X-pad, side.Max.Y-pad))
	var shot *image.RGBA
	var inL inputLayout
	var lossL plotLayout
	var sumL summaryLayout
	onLoop(t, func() {
		screen := ebiten.NewImage(1280, 800)
		defer screen.Deallocate()
		screen.Fill(s.th.Background)
		s.input.Draw(screen, rects[0])
		s.probs.Draw(screen, rects[1])
		s.loss.Draw(screen, rects[2])
		s.acc.Draw(screen, rects[3])
		s.summary.Draw(screen, rects[4])
		shot = readImage(screen.SubImage(side).(*ebiten.Image))
		inL = s.input.layout(rects[0].Size())
		lossL = s.loss.layout(rects[2].Size())
		sumL = s.summary.layout(rects[4].Size())
	})
	savePNG(t, shot, "compact")
	if !inL.side || inL.pixelScale < 4 {
		t.Errorf("input panel %v: side layout %v with the probe scaled %g times; want the text beside a probe scaled at least 4 times",
			rects[0].Size(), inL.side, inL.pixelScale)
	}
	if lossL.xLabels || !lossL.yLabels || lossL.plot.Dy() < 30 {
		t.Errorf("loss panel %v: step labels %v, value labels %v, plot %d px high; want no step labels, value labels and at least 30 px of plot",
			rects[2].Size(), lossL.xLabels, lossL.yLabels, lossL.plot.Dy())
	}
	// 29 modules do not fit: the 9 with weights do, with a note.
	if want := []int{0, 3, 7, 11, 16, 19, 22, 25, 28}; !slices.Equal(sumL.items, want) || sumL.note != "+20 without weights" {
		t.Errorf("summary %v lists modules %v with the note %q; want %v and \"+20 without weights\"", rects[4].Size(), sumL.items, sumL.note, want)
	}
	list := sumL.list.Add(rects[4].Min.Sub(side.Min))
	if n := countNear(shot, list, s.th.Accent, 50); n < 100 {
		t.Errorf("summary list has %d accent pixels, want all five Linear layers highlighted", n)
	}
	last := sumL.cell(len(sumL.items)).Add(rects[4].Min.Sub(side.Min))
	if ink := last.Dx()*last.Dy() - countNear(shot, last, s.th.Panel, 30); ink < 20 {
		t.Errorf("the summary's note cell %v has %d pixels of text, want the note", last, ink)
	}
}

// TestPanelHiDPI draws the compact side bar at device scale 2 into
// rectangles twice the size and checks that the panels lay out as at scale
// 1, only twice as large: the same choices, nothing cut off by fixed pixel
// sizes.
func TestPanelHiDPI(t *testing.T) {
	arch, pass := cnnArchitecture(), sevenPass()
	steps, loss, _ := history()
	type result struct {
		in  inputLayout
		pl  plotLayout
		sum summaryLayout
		pr  probLayout
	}
	var res [2]result
	var shot *image.RGBA
	rects := []image.Rectangle{image.Rect(0, 0, 304, 172), image.Rect(0, 180, 304, 324), image.Rect(0, 332, 304, 414), image.Rect(0, 422, 304, 600)}
	for k, scale := range []float64{1, 2} {
		f, err := NewFonts(scale)
		if err != nil {
			t.Fatal(err)
		}
		th := DarkTheme()
		in, probs, plot, sum := NewInputPanel(th, f), NewProbPanel(th, f), NewPlotPanel("Loss", th.Positive, th, f), NewSummaryPanel(th, f)
		in.Set(arch, pass)
		probs.Set(arch, pass)
		plot.Set(steps, loss, 33)
		sum.Set(arch)
		sc := func(r image.Rectangle) image.Rectangle {
			return image.Rectangle{Min: r.Min.Mul(int(scale)), Max: r.Max.Mul(int(scale))}
		}
		onLoop(t, func() {
			res[k] = result{in.layout(sc(rects[0]).Size()), plot.layout(sc(rects[2]).Size()), sum.layout(sc(rects[3]).Size()), probs.layout(sc(rects[1]).Size())}
			if scale == 2 {
				screen := ebiten.NewImage(608, 1200)
				defer screen.Deallocate()
				screen.Fill(th.Background)
				in.Draw(screen, sc(rects[0]))
				probs.Draw(screen, sc(rects[1]))
				plot.Draw(screen, sc(rects[2]))
				sum.Draw(screen, sc(rects[3]))
				shot = readImage(screen)
			}
		})
	}
	savePNG(t, shot, "hidpi")
	one, two := res[0], res[1]
	if one.in.side != two.in.side || two.in.pixelScale < 2*one.in.pixelScale {
		t.Errorf("input: side %v scaled %g at 1x, side %v scaled %g at 2x", one.in.side, one.in.pixelScale, two.in.side, two.in.pixelScale)
	}
	if one.pl.xLabels != two.pl.xLabels || one.pl.yLabels != two.pl.yLabels || one.pl.lo != two.pl.lo || one.pl.hi != two.pl.hi {
		t.Errorf("plot: labels %v/%v, range %g..%g at 1x; %v/%v, %g..%g at 2x",
			one.pl.xLabels, one.pl.yLabels, one.pl.lo, one.pl.hi, two.pl.xLabels, two.pl.yLabels, two.pl.lo, two.pl.hi)
	}
	if !slices.Equal(one.sum.items, two.sum.items) || one.sum.cols != two.sum.cols {
		t.Errorf("summary: %d columns of %v at 1x, %d columns of %v at 2x", one.sum.cols, one.sum.items, two.sum.cols, two.sum.items)
	}
	if one.pr.vertical != two.pr.vertical || math.Abs(float64(two.pr.tracks[7].Dy())-2*float64(one.pr.tracks[7].Dy())) > 4 {
		t.Errorf("probabilities: vertical %v with %d px bars at 1x, %v with %d px at 2x",
			one.pr.vertical, one.pr.tracks[7].Dy(), two.pr.vertical, two.pr.tracks[7].Dy())
	}
}

// TestPanelOddInputs draws every panel at degenerate sizes and with odd
// data (NaN and out-of-range values, a prediction outside the classes,
// more probabilities than names, an image that is no square, a huge flat
// vector) and checks that nothing panics.
func TestPanelOddInputs(t *testing.T) {
	f, err := NewFonts(1)
	if err != nil {
		t.Fatal(err)
	}
	th := DarkTheme()
	nan := float32(math.NaN())
	odd := &collector.Pass{Image: []float32{nan, -3, 7, 0.5, 0.5, 0.5, 1}, TrueLabel: 40, Prediction: -2,
		Probs: []float32{nan, 0.2, 2, -1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}}
	huge := &collector.Pass{Image: make([]float32, 5000), Probs: []float32{1}}
	arch := &collector.Architecture{InputShape: [3]int{3, 2, 2}, ClassNames: []string{"", "a very long class name indeed"},
		Modules: []collector.Module{{Kind: ""}, {Kind: "Linear", Settings: []collector.Setting{{Key: "in_features", Value: ""}}}}}
	in, probs, plot, sum := NewInputPanel(th, f), NewProbPanel(th, f), NewPlotPanel("", th.Accent, th, f), NewSummaryPanel(th, f)
	sizes := []image.Point{{1, 1}, {10, 10}, {40, 20}, {300, 5}, {5, 300}, {120, 60}, {304, 172}}
	onLoop(t, func() {
		screen := ebiten.NewImage(400, 400)
		defer screen.Deallocate()
		for k, data := range []func(){
			func() {
				in.Set(arch, odd)
				probs.Set(arch, odd)
				plot.Set(nil, []float32{nan, 1, nan}, 1)
				sum.Set(arch)
			},
			func() {
				in.Set(nil, huge)
				probs.Set(nil, huge)
				plot.Set([]int{5, 5, 5}, []float32{2, 2, 2}, 2)
				sum.Set(&collector.Architecture{})
			},
			func() {
				in.Set(arch, odd)
				probs.Set(arch, &collector.Pass{Logits: []float32{nan, 1}})
				plot.Set([]int{1}, []float32{float32(math.Inf(1))}, 0)
			},
		} {
			data()
			for _, sz := range sizes {
				r := image.Rectangle{Min: image.Pt(k, k), Max: image.Pt(k, k).Add(sz)}
				in.Draw(screen, r)
				probs.Draw(screen, r)
				plot.Draw(screen, r)
				sum.Draw(screen, r)
			}
			DrawPanelFrame(screen, image.Rect(0, 0, 0, 0), "empty", th, f)
			DrawPanelFrame(screen, image.Rect(0, 0, 3, 3), "tiny", th, f)
		}
		_ = readImage(screen) // flush, so deferred vector fills run too
	})
}
