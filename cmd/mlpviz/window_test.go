package main

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlpviz/mlpviz/collector/runfile"
)

// The window tests run mlpviz in its own process (Ebitengine wants the
// main thread) against the X display in DISPLAY: "make test" runs the suite
// under xvfb-run. MLPVIZ_SCREENSHOTS=dir keeps the PNGs for a person to look
// at.

func needDisplay(t *testing.T) {
	t.Helper()
	if os.Getenv("DISPLAY") == "" {
		t.Skip("no X display: run the tests under xvfb-run (make test does)")
	}
	if testing.Short() {
		t.Skip("opens a window")
	}
}

func screenshotPath(t *testing.T, name string) string {
	if dir := os.Getenv("MLPVIZ_SCREENSHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err == nil {
			return filepath.Join(dir, name)
		}
	}
	return filepath.Join(t.TempDir(), name)
}

// runWindow runs mlpviz with args and returns the 1280x800 screenshot it
// saved.
func runWindow(t *testing.T, shot string, args ...string) image.Image {
	t.Helper()
	return runWindowSized(t, shot, 1280, 800, args...)
}

// runWindowSized is runWindow for a window of w x h.
func runWindowSized(t *testing.T, shot string, w, h int, args ...string) image.Image {
	t.Helper()
	cmd := mlpvizCommand(t, append(args, "--screenshot", shot)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mlpviz %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, out)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("screenshot is %v, want %dx%d", b, w, h)
	}
	return img
}

// ink counts pixels in r whose colour matches.
func ink(img image.Image, r image.Rectangle, match func(r, g, b int) bool) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			if match(int(c.R), int(c.G), int(c.B)) {
				n++
			}
		}
	}
	return n
}

func reddish(r, g, b int) bool     { return r > g+40 && r > b+40 }
func bluish(r, g, b int) bool      { return b > r+40 && b > g+10 }
func bright(r, g, b int) bool      { return r > 200 && g > 200 && b > 200 }
func magenta(r, g, b int) bool     { return r > 200 && b > 180 && g < 90 }
func networkView() image.Rectangle { return image.Rect(0, 32, 930, 735) }

// trainedRun makes a small real run file: cnn on MNIST, a pass every 5 steps.
func trainedRun(t *testing.T, extra ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "run.mlpv")
	args := append([]string{"train", "--headless", "--offline", "--max-steps", "20", "--interval", "5",
		"--batch-size", "32", "--output", out, "--data-dir", t.TempDir()}, extra...)
	if b, err := mlpvizCommand(t, args...).CombinedOutput(); err != nil {
		t.Fatalf("train: %v\n%s", err, b)
	}
	return out
}

// TestWindowLiveTraining opens the training window on cnn/MNIST and
// captures it once passes arrive: connections in both colours, neurons, the
// input digit.
func TestWindowLiveTraining(t *testing.T) {
	needDisplay(t)
	shot := screenshotPath(t, "live_training.png")
	img := runWindow(t, shot, "train", "--offline", "--max-steps", "400", "--interval", "5", "--batch-size", "32",
		"--output", filepath.Join(t.TempDir(), "live.mlpv"), "--data-dir", t.TempDir(), "--frames", "40")
	v := networkView()
	if red, blue := ink(img, v, reddish), ink(img, v, bluish); red < 2000 || blue < 2000 {
		t.Errorf("network view has %d red and %d blue pixels: connections missing", red, blue)
	}
	if n := ink(img, v, bright); n < 300 {
		t.Errorf("only %d bright (neuron) pixels in the network view", n)
	}
	if n := ink(img, image.Rect(975, 75, 1265, 200), bright); n < 50 { // the probe image, centred over the strip
		t.Errorf("the input panel shows no digit (%d bright pixels)", n)
	}
}

// TestWindowHover hovers a hidden neuron: its connections stay lit, the
// others dim, and a tooltip appears.
func TestWindowHover(t *testing.T) {
	needDisplay(t)
	run := trainedRun(t)
	plain := runWindow(t, screenshotPath(t, "replay.png"), "view", run, "--frames", "5")
	hover := runWindow(t, screenshotPath(t, "hover.png"), "view", run, "--frames", "5", "--hover", "590")
	// Between hidden layers 2 and 4 no connection touches the hovered neuron
	// (the first hidden layer's neuron 14): all of them must dim.
	v := image.Rect(440, 300, 740, 470)
	colour := func(r, g, b int) bool { return reddish(r, g, b) || bluish(r, g, b) }
	if p, h := ink(plain, v, colour), ink(hover, v, colour); h > p/3 {
		t.Errorf("hovering kept %d of %d coloured pixels: the other connections are not dimmed", h, p)
	}
	accent := func(r, g, b int) bool { return r < 110 && g > 140 && b > 220 } // the tooltip's accent bar and title
	if a := ink(hover, networkView(), accent); a < 40 {
		t.Errorf("no tooltip: %d accent pixels", a)
	}
}

// TestWindowSeedImport replays a seed-format JSON collection after import.
func TestWindowSeedImport(t *testing.T) {
	needDisplay(t)
	run := trainedRun(t, "--neuron-cap", "24")
	dir := t.TempDir()
	seed, imported := filepath.Join(dir, "seed.json"), filepath.Join(dir, "imported.mlpv")
	for _, args := range [][]string{{"export", run, "--format", "json", "-o", seed}, {"import", seed, "-o", imported}} {
		if b, err := mlpvizCommand(t, args...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, b)
		}
	}
	img := runWindow(t, screenshotPath(t, "seed_import.png"), "view", imported, "--frames", "5")
	if red, blue := ink(img, networkView(), reddish), ink(img, networkView(), bluish); red < 500 || blue < 500 {
		t.Errorf("imported run shows %d red and %d blue pixels", red, blue)
	}
}

// TestWindowBadFiles: a damaged file shows its whole passes under an error
// banner; a file with no passes shows the architecture and says so; NaN
// values are drawn magenta and counted.
func TestWindowBadFiles(t *testing.T) {
	needDisplay(t)
	run := trainedRun(t)
	data, err := os.ReadFile(run)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.mlpv")
	if err := os.WriteFile(cut, data[:len(data)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	img := runWindow(t, screenshotPath(t, "damaged.png"), "view", cut, "--frames", "5")
	banner := func(r, g, b int) bool { return r > 100 && r > g+30 && r > b+30 } // the red banner
	if n := ink(img, image.Rect(20, 45, 900, 68), banner); n < 5000 {
		t.Errorf("no error banner (%d banner pixels)", n)
	}
	if n := ink(img, networkView(), bright); n < 300 {
		t.Errorf("the whole passes of the damaged file are not drawn (%d bright pixels)", n)
	}

	// Header only: cut right after the header record.
	empty := filepath.Join(t.TempDir(), "empty.mlpv")
	if err := os.WriteFile(empty, headerOnly(t, data), 0o644); err != nil {
		t.Fatal(err)
	}
	img = runWindow(t, screenshotPath(t, "no_passes.png"), "view", empty, "--frames", "5")
	if n := ink(img, networkView(), bright); n < 300 {
		t.Errorf("a file with no passes does not show its architecture (%d neuron pixels)", n)
	}
}

// headerOnly cuts a run file after its magic and header record.
func headerOnly(t *testing.T, data []byte) []byte {
	t.Helper()
	const magic, frame = 8, 8 + 4 + 4
	n := int(binary.LittleEndian.Uint64(data[magic:]))
	return data[:magic+frame+n]
}

// TestWindowNaN: NaN and Inf activations and weights draw in their own
// colour (magenta) instead of breaking the colour scale.
func TestWindowNaN(t *testing.T) {
	needDisplay(t)
	src, err := runfile.Open(trainedRun(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := src.Pass(src.Len() - 1)
	if err != nil {
		t.Fatal(err)
	}
	nan := float32(math.NaN())
	for i := 0; i < 200; i += 2 {
		p.Layers[0].Input[i] = nan
	}
	p.Layers[1].Input[3] = float32(math.Inf(1))
	p.Layers[1].Weight[7] = nan
	bad := filepath.Join(t.TempDir(), "nan.mlpv")
	w, err := runfile.Create(bad, src.Architecture(), runfile.Options{Precision: runfile.F32})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(p); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	src.Close()
	img := runWindow(t, screenshotPath(t, "nan.png"), "view", bad, "--frames", "5")
	if n := ink(img, networkView(), magenta); n < 200 {
		t.Errorf("NaN neurons are not drawn magenta (%d pixels)", n)
	}
	if n := ink(img, image.Rect(0, 0, 1280, 30), func(r, g, b int) bool { return r > 200 && g > 140 && g < 200 && b < 90 }); n < 20 {
		t.Errorf("the HUD does not show the NaN/Inf count in the warning colour (%d pixels)", n)
	}
}

// TestIdleWindowIsCheap: a window left open on a finished run stops
// redrawing once nothing changes; it then takes a few percent of a core
// (it took 180 % of the two here before it idled), well under the 30 %
// this allows for a noisy machine.
func TestIdleWindowIsCheap(t *testing.T) {
	needDisplay(t)
	run := trainedRun(t)
	cmd := mlpvizCommand(t, "view", run, "--width", "1280", "--height", "800")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	cpu := func() float64 { // seconds of CPU so far, from /proc/PID/stat
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
		if err != nil {
			t.Skip("no /proc")
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		u, _ := strconv.Atoi(f[11])
		s, _ := strconv.Atoi(f[12])
		return float64(u+s) / 100 // USER_HZ
	}
	time.Sleep(4 * time.Second)
	c0, t0 := cpu(), time.Now()
	time.Sleep(3 * time.Second)
	share := (cpu() - c0) / time.Since(t0).Seconds()
	t.Logf("idle window: %.1f %% of one core", 100*share)
	if share > 0.30 {
		t.Fatalf("an idle window takes %.0f %% of a core", 100*share)
	}
}
