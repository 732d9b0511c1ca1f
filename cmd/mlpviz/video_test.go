package main

import (
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func needFFmpeg(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
}

// probe returns codec, size and the decoded frame count of a video.
func probe(t *testing.T, path string) (codec string, w, h, frames int) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var r struct {
		Streams []struct {
			Codec  string `json:"codec_name"`
			W      int    `json:"width"`
			H      int    `json:"height"`
			Frames string `json:"nb_read_frames"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &r); err != nil || len(r.Streams) != 1 {
		t.Fatalf("ffprobe said %s (%v)", out, err)
	}
	s := r.Streams[0]
	n := 0
	for _, c := range s.Frames {
		n = 10*n + int(c-'0')
	}
	return s.Codec, s.W, s.H, n
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// meanAbsDiff is the mean absolute difference per channel (0..255) of two
// images over r.
func meanAbsDiff(a, b image.Image, r image.Rectangle) float64 {
	var sum, n float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			p := color.RGBAModel.Convert(a.At(x, y)).(color.RGBA)
			q := color.RGBAModel.Convert(b.At(x, y)).(color.RGBA)
			for _, d := range []int{int(p.R) - int(q.R), int(p.G) - int(q.G), int(p.B) - int(q.B)} {
				sum += float64(max(d, -d))
			}
			n += 3
		}
	}
	return sum / n
}

// TestRenderVideo renders a real run to H.264: ffprobe must find exactly
// passes x fps x seconds-per-pass frames at the asked size, and a frame that
// shows a pass whole must match the window's screenshot of that pass.
func TestRenderVideo(t *testing.T) {
	needDisplay(t)
	needFFmpeg(t)
	run := trainedRun(t) // 4 passes
	out := filepath.Join(t.TempDir(), "run.mp4")
	b, err := mlpvizCommand(t, "render", run, "-o", out, "--size", "640x400", "--fps", "10", "--seconds-per-pass", "0.5").CombinedOutput()
	if err != nil {
		t.Fatalf("render: %v\n%s", err, b)
	}
	codec, w, h, frames := probe(t, out)
	if codec != "h264" || w != 640 || h != 400 || frames != 20 {
		t.Fatalf("ffprobe: %s %dx%d %d frames; want h264 640x400 20 frames", codec, w, h, frames)
	}
	// Frame 10 shows pass 3 exactly (5 frames a pass, no blending at its start).
	frame := screenshotPath(t, "render_frame10.png")
	if b, err := exec.Command("ffmpeg", "-v", "error", "-y", "-i", out, "-vf", `select=eq(n\,10)`, "-vframes", "1", frame).CombinedOutput(); err != nil {
		t.Fatalf("extract frame: %v\n%s", err, b)
	}
	shot := runWindowSized(t, screenshotPath(t, "view_pass3.png"), 640, 400, "view", run, "--pass", "3", "--width", "640", "--height", "400", "--frames", "3")
	// The HUD's FPS figure differs between the two; compare below it.
	const tolerance = 6.0
	if d := meanAbsDiff(readPNG(t, frame), shot, image.Rect(0, 31, 640, 400)); d > tolerance {
		t.Errorf("video frame differs from the screenshot by %.2f/255 per channel (tolerance %.0f)", d, tolerance)
	} else {
		t.Logf("video frame vs screenshot: mean abs difference %.2f/255 per channel", d)
	}
}

// TestRenderMode: render draws the view mode it is given, as the window
// does: a frame of the gradients view matches view --mode gradients.
func TestRenderMode(t *testing.T) {
	needDisplay(t)
	needFFmpeg(t)
	run := trainedRun(t) // 4 passes, gradients recorded (cnn's default)
	out := filepath.Join(t.TempDir(), "grad.mp4")
	b, err := mlpvizCommand(t, "render", run, "-o", out, "--size", "640x400", "--fps", "10", "--seconds-per-pass", "0.5", "--mode", "gradients").CombinedOutput()
	if err != nil {
		t.Fatalf("render --mode gradients: %v\n%s", err, b)
	}
	frame := screenshotPath(t, "render_gradients_frame10.png")
	if b, err := exec.Command("ffmpeg", "-v", "error", "-y", "-i", out, "-vf", `select=eq(n\,10)`, "-vframes", "1", frame).CombinedOutput(); err != nil {
		t.Fatalf("extract frame: %v\n%s", err, b)
	}
	args := []string{"view", run, "--pass", "3", "--width", "640", "--height", "400", "--frames", "3"}
	grad := runWindowSized(t, screenshotPath(t, "view_gradients_pass3.png"), 640, 400, append(args, "--mode", "gradients")...)
	act := runWindowSized(t, screenshotPath(t, "view_activations_pass3.png"), 640, 400, args...)
	below := image.Rect(0, 31, 640, 400)
	same, other := meanAbsDiff(readPNG(t, frame), grad, below), meanAbsDiff(readPNG(t, frame), act, below)
	if same > 6 || other < 2*same {
		t.Errorf("the rendered frame differs from view --mode gradients by %.2f/255 and from the activations view by %.2f/255", same, other)
	}
}

// TestRecordWindow records a replay while it plays.
func TestRecordWindow(t *testing.T) {
	needDisplay(t)
	needFFmpeg(t)
	run := trainedRun(t)
	out := filepath.Join(t.TempDir(), "window.mp4")
	cmd := mlpvizCommand(t, "view", run, "--record", out, "--fps", "30", "--frames", "30", "--screenshot", filepath.Join(t.TempDir(), "x.png"))
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("view --record: %v\n%s", err, b)
	}
	if !strings.Contains(string(b), "mlpviz: recorded "+out) {
		t.Errorf("no recording summary:\n%s", b)
	}
	codec, w, h, frames := probe(t, out)
	if codec != "h264" || w != 1280 || h != 800 || frames < 10 {
		t.Fatalf("ffprobe: %s %dx%d %d frames", codec, w, h, frames)
	}
}

// TestVideoBadInput: refused before anything is written.
func TestVideoBadInput(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"train", "--headless", "--record", "x.mp4"}, 2, "mlpviz render RUN.mlpv -o out.mp4"},
		{[]string{"render", "run.mlpv", "-o", "x.mp4", "--size", "huge"}, 2, "--size must be WIDTHxHEIGHT"},
		{[]string{"render", "run.mlpv", "-o", "x.mp4", "--fps", "0"}, 2, "--fps must be 1..240"},
		{[]string{"render", "run.mlpv"}, 2, "needs -o OUT.mp4"},
		{[]string{"render", filepath.Join(t.TempDir(), "missing.mlpv"), "-o", "x.mp4"}, 1, "no such file"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

// TestRenderBadOutput: an unknown container or an unwritable path fails
// with the reason, and the run file is left as it was.
func TestRenderBadOutput(t *testing.T) {
	needDisplay(t)
	run := trainedRun(t)
	before, err := os.ReadFile(run)
	if err != nil {
		t.Fatal(err)
	}
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ out, want string }{
		{filepath.Join(t.TempDir(), "x.xyz"), ".avi .mkv .mov .mp4"},
		{filepath.Join(notDir, "x.mp4"), "not a directory"},
	} {
		b, err := mlpvizCommand(t, "render", run, "-o", c.out, "--size", "640x400", "--fps", "5").CombinedOutput()
		if err == nil || !strings.Contains(string(b), c.want) || strings.Contains(string(b), "goroutine ") {
			t.Errorf("render -o %s: %v\n%s\nwant an error saying %q", c.out, err, b, c.want)
		}
	}
	if after, _ := os.ReadFile(run); string(after) != string(before) {
		t.Error("rendering changed the run file")
	}
}

// TestHiDPIScale: at UI scale 2 the screen has twice the pixels in each
// direction and the bars keep their logical size (the HUD is 60 device
// pixels tall).
func TestHiDPIScale(t *testing.T) {
	needDisplay(t)
	run := trainedRun(t)
	img := runWindowSized(t, screenshotPath(t, "scale2.png"), 1280, 800, "view", run, "--scale", "2", "--width", "640", "--height", "400", "--frames", "3")
	hud := func(r, g, b int) bool { return r == 0x1d && g == 0x20 && b == 0x27 } // the panel colour
	if n := ink(img, image.Rect(700, 45, 900, 55), hud); n < 1500 {
		t.Errorf("the HUD does not reach 55 device pixels down at scale 2 (%d HUD pixels)", n)
	}
	if n := ink(img, image.Rect(0, 70, 900, 700), bright); n < 300 {
		t.Errorf("no neurons drawn at scale 2 (%d)", n)
	}
}

// TestRenderFullDisk: a render whose video cannot be written whole (files
// limited to 50 KB) fails without saying it rendered anything, and leaves
// neither the video nor its temporary file; an existing video needs
// --force.
func TestRenderFullDisk(t *testing.T) {
	needDisplay(t)
	needFFmpeg(t)
	run := trainedRun(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "v.mp4")
	cmd := mlpvizCommand(t, "render", run, "-o", out, "--size", "640x400", "--fps", "10")
	fileSizeLimited(t, cmd, 50000)
	b, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() == 0 || strings.Contains(string(b), "mlpviz: rendered") {
		t.Fatalf("render onto a full disk: exit %d\n%s", cmd.ProcessState.ExitCode(), b)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
	if hidden, _ := filepath.Glob(filepath.Join(dir, ".*")); len(hidden) != 0 {
		t.Fatalf("left behind: %v", hidden)
	}
	os.WriteFile(out, []byte("an old video"), 0o644)
	b, err := mlpvizCommand(t, "render", run, "-o", out, "--size", "640x400", "--fps", "10").CombinedOutput()
	if err == nil || !strings.Contains(string(b), "add --force") {
		t.Fatalf("render over an existing video without --force: %v\n%s", err, b)
	}
}

// TestRenderDamaged: render refuses a damaged run unless --skip-damaged,
// which leaves the damaged pass out and says which.
func TestRenderDamaged(t *testing.T) {
	needDisplay(t)
	needFFmpeg(t)
	run := trainedRun(t)
	b, _ := os.ReadFile(run)
	b[len(b)/2] ^= 0x10
	bad := filepath.Join(t.TempDir(), "bad.mlpv")
	os.WriteFile(bad, b, 0o644)
	out := filepath.Join(t.TempDir(), "v.avi")
	msg, err := mlpvizCommand(t, "render", bad, "-o", out, "--size", "640x400", "--fps", "4").CombinedOutput()
	if err == nil || !strings.Contains(string(msg), "add --skip-damaged") {
		t.Fatalf("render of a damaged run: %v\n%s", err, msg)
	}
	msg, err = mlpvizCommand(t, "render", bad, "-o", out, "--size", "640x400", "--fps", "4", "--skip-damaged").CombinedOutput()
	if err != nil || !strings.Contains(string(msg), "left out passes ") || !strings.Contains(string(msg), "rendering 3 passes") {
		t.Fatalf("render --skip-damaged: %v\n%s", err, msg)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
}
