package engine

import (
	"image"
	"slices"
	"testing"
	"time"

	"github.com/hajimehoshi/ebiten/v2"

	"github.com/mlpviz/mlpviz/collector"
)

// probeGame is a 1280x800 window on a two-pass cnn run with probes probes
// per pass, updated until it shows pass 2 (Options.Probe: probe) and drawn
// once, so the side bar is laid out.
func probeGame(t *testing.T, probes, probe int) *Game {
	t.Helper()
	src := layoutSource(t, "cnn", probes)
	t.Cleanup(func() { src.Close() })
	g, err := New(src, Options{Width: 1280, Height: 800, Scale: 1, Pass: 2, Probe: probe})
	if err != nil {
		t.Fatal(err)
	}
	onLoop(t, func() {
		w, h := g.Layout(1280, 800)
		screen := ebiten.NewImage(w, h)
		defer screen.Deallocate()
		for i := 0; i < 2 || g.net.building; i++ {
			if err := g.Update(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
		g.Draw(screen)
	})
	return g
}

// checkShowsProbe fails unless everything that shows the probe (the
// network's pass, the input panel's image and labels, the probabilities
// and the strip's frame) shows probe j of the shown pass.
func checkShowsProbe(t *testing.T, g *Game, j int) {
	t.Helper()
	img, label, pred := probeOf(g.whole, j)
	probs := g.whole.Probs
	if j > 0 {
		probs = g.whole.Probes[j-1].Probs
	}
	if g.shownProbe() != j {
		t.Fatalf("shows probe %d, want %d", g.shownProbe(), j)
	}
	if g.net.in.p != g.pass || !sameFloats(g.net.in.p.Image, img) || g.net.in.p.Prediction != pred || g.net.in.p.TrueLabel != label {
		t.Errorf("the network's pass is not probe %d's (prediction %d, want %d)", j, g.net.in.p.Prediction, pred)
	}
	for k, l := range g.net.in.p.Layers {
		want := g.whole.Layers[k].Input
		if j > 0 {
			want = g.whole.Probes[j-1].Layers[k].Input
		}
		if !sameFloats(l.Input, want) {
			t.Errorf("layer %d's activations are not probe %d's", k, j)
		}
		if !sameFloats(l.Weight, g.whole.Layers[k].Weight) {
			t.Errorf("layer %d's weights are not the pass's", k)
		}
	}
	in := g.side.input
	if !sameFloats(in.pixels, img) || in.label != label || in.pred != pred {
		t.Errorf("the input panel shows label %d pred %d, want probe %d's %d %d", in.label, in.pred, j, label, pred)
	}
	if !sameFloats(g.side.probs.probs, probs) || g.side.probs.pred != pred {
		t.Errorf("the probabilities are not probe %d's", j)
	}
	if in.set.chosen != j {
		t.Errorf("the strip frames probe %d, want %d", in.set.chosen, j)
	}
}

// TestProbeChoice clicks thumbnails and steps with the keys' actions: the
// network view, the input panel and the probabilities follow the chosen
// probe, and the choice holds when the timeline moves to another pass.
func TestProbeChoice(t *testing.T) {
	if testLoop == nil {
		t.Skip("needs a display (run under xvfb-run)")
	}
	g := probeGame(t, 10, 0)
	checkShowsProbe(t, g, 0)
	firstPred := g.net.in.p.Prediction

	// A click in the middle of thumbnail 6.
	slot := g.side.lay.slots[panelInput]
	l := g.side.input.layout(slot.Size())
	if len(l.thumbs) != 10 {
		t.Fatalf("%d thumbnails, want 10", len(l.thumbs))
	}
	c := l.thumbs[6].Add(slot.Min)
	if !g.clickProbe(image.Pt((c.Min.X+c.Max.X)/2, (c.Min.Y+c.Max.Y)/2)) {
		t.Fatal("a click on thumbnail 6 hit none")
	}
	checkShowsProbe(t, g, 6)
	if g.net.in.p.Prediction == firstPred && slices.Equal(g.net.in.p.Image, g.whole.Image) {
		t.Error("the network still shows probe 0")
	}
	// Between two thumbnails and outside the strip, a click chooses none.
	gapX := (l.thumbs[6].Max.X + l.thumbs[7].Min.X) / 2
	for _, pt := range []image.Point{{slot.Min.X + gapX, c.Min.Y + 2}, slot.Min.Add(image.Pt(4, 4)), {10, 10}} {
		if g.clickProbe(pt) {
			t.Errorf("a click at %v chose a probe", pt)
		}
	}
	checkShowsProbe(t, g, 6)

	// . and , (the keys call chooseProbe one step on or back), wrapping.
	g.chooseProbe(g.shownProbe() + 1)
	checkShowsProbe(t, g, 7)
	for range 3 {
		g.chooseProbe(g.shownProbe() + 1)
	}
	checkShowsProbe(t, g, 0)
	g.chooseProbe(g.shownProbe() - 1)
	checkShowsProbe(t, g, 9)

	// Another pass keeps probe 9.
	first := g.whole
	onLoop(t, func() {
		g.tl.setIndex(0, g.src.Len())
		for i := 0; i < 2 || g.net.building; i++ {
			if err := g.Update(); err != nil {
				t.Fatal(err)
			}
		}
	})
	if g.whole == first || g.shown != 0 {
		t.Fatalf("the timeline did not move to pass 1 (shown %d)", g.shown)
	}
	checkShowsProbe(t, g, 9)
}

// TestProbeSingle is a run without a probe set: no strip, no change on a
// click or a key, the panel's least height as before.
func TestProbeSingle(t *testing.T) {
	if testLoop == nil {
		t.Skip("needs a display (run under xvfb-run)")
	}
	g := probeGame(t, 1, 3) // --probe-shown 4 on a run that has one: probe 0
	checkShowsProbe(t, g, 0)
	slot := g.side.lay.slots[panelInput]
	if l := g.side.input.layout(slot.Size()); !l.strip.Empty() || len(l.thumbs) != 0 {
		t.Errorf("a single probe has a strip %v with %d thumbnails", l.strip, len(l.thumbs))
	}
	if g.side.input.minHeight(300, 132) != 0 {
		t.Error("a single probe asks for more height")
	}
	for y := slot.Min.Y; y < slot.Max.Y; y += 4 {
		if g.clickProbe(image.Pt((slot.Min.X+slot.Max.X)/2, y)) {
			t.Fatalf("a click at y %d chose a probe", y)
		}
	}
	g.chooseProbe(g.shownProbe() + 1)
	checkShowsProbe(t, g, 0)
	if g.pass != g.whole {
		t.Error("a single-probe pass is shown through a copy")
	}
}

// TestProbeShownOption starts on probe 4 (--probe-shown 5) and draws its
// thumbnail framed in the accent colour, the others not.
func TestProbeShownOption(t *testing.T) {
	if testLoop == nil {
		t.Skip("needs a display (run under xvfb-run)")
	}
	g := probeGame(t, 10, 4)
	checkShowsProbe(t, g, 4)
	slot := g.side.lay.slots[panelInput]
	var shot *image.RGBA
	onLoop(t, func() {
		img := ebiten.NewImage(slot.Dx(), slot.Dy())
		defer img.Deallocate()
		g.side.input.cache.invalidate()
		g.side.input.Draw(img, img.Bounds())
		shot = readImage(img)
	})
	savePNG(t, shot, "probes")
	l := g.side.input.layout(slot.Size())
	for j, cell := range l.thumbs {
		top := image.Rect(cell.Min.X+2, cell.Min.Y, cell.Max.X-2, cell.Min.Y+1) // the frame's top edge
		accent := countNear(shot, top, g.theme.Accent, 8)
		if (j == 4) != (accent == top.Dx()) {
			t.Errorf("thumbnail %d: %d of %d frame pixels in the accent", j, accent, top.Dx())
		}
		mark := l.marks[j]
		_, label, pred := probeOf(g.whole, j)
		want := predictionColor(g.theme, pred, label)
		if n := countNear(shot, mark, want, 8); n != mark.Dx()*mark.Dy() {
			t.Errorf("thumbnail %d (label %d, pred %d): %d of %d underline pixels in %v", j, label, pred, n, mark.Dx()*mark.Dy(), want)
		}
	}
	if g.side.input.set.uploads != 1 {
		t.Errorf("the thumbnails were uploaded %d times, want 1", g.side.input.set.uploads)
	}
}

// TestProbeSetCopies holds that SetProbes copies the probes (a live run
// reuses its pass) and notices a change of a label or a pixel.
func TestProbeSetCopies(t *testing.T) {
	f, err := NewFonts(1)
	if err != nil {
		t.Fatal(err)
	}
	a := cnnArchitecture()
	p := sevenPass()
	p.Probes = []collector.Probe{{Image: digitSeven(), TrueLabel: 1, Prediction: 1}, {Image: make([]float32, 28*28), TrueLabel: 2, Prediction: 5}}
	in := NewInputPanel(DarkTheme(), f)
	in.SetProbes(a, p, 1)
	if in.set.len() != 3 || !slices.Equal(in.set.labels, []int{7, 1, 2}) || !slices.Equal(in.set.preds, []int{7, 1, 5}) || in.set.chosen != 1 {
		t.Fatalf("set %v %v chosen %d", in.set.labels, in.set.preds, in.set.chosen)
	}
	in.set.stale = false
	in.cache.dirty = false
	in.SetProbes(a, p, 1)
	if in.cache.dirty || in.set.stale {
		t.Error("the same probe set redraws")
	}
	p.Probes[1].Image[100] = 1 // the producer reuses the pass
	if in.set.pixels[2*784+100] != 0 {
		t.Error("the strip shares the pass's pixels")
	}
	in.SetProbes(a, p, 1)
	if !in.set.stale || in.set.pixels[2*784+100] != 1 {
		t.Error("a changed pixel is not uploaded")
	}
	in.set.stale = false
	p.Probes[1].Prediction = 2
	in.SetProbes(a, p, 1)
	if in.set.preds[2] != 2 || in.set.stale || !in.cache.dirty {
		t.Errorf("a new prediction: preds %v, pixels stale %v", in.set.preds, in.set.stale)
	}
	in.SetProbes(a, sevenPass(), 0)
	if in.set.len() != 0 {
		t.Error("a single probe keeps the strip")
	}
}
