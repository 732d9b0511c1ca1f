package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	pathpkg "path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mlpviz/mlpviz/collector/runfile"
	"github.com/mlpviz/mlpviz/engine"
	"github.com/mlpviz/mlpviz/engine/video"
	"github.com/mlpviz/mlpviz/internal/tempfile"
	"github.com/mlpviz/mlpviz/scene"
)

// windowFlags are the window settings shared by "train" and "view".
type windowFlags struct {
	width, height, frames, hover int
	delayMS                      int
	screenshot, colourRange      string
	bench                        int
	zoom                         float64
	record                       string
	fps                          int
	fullscreen                   bool
	pass                         int
	probeShown                   int
	scale                        float64
	viewMode                     string
}

func (w *windowFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&w.width, "width", 1280, "window width in `pixels`")
	fs.IntVar(&w.height, "height", 800, "window height in `pixels`")
	fs.IntVar(&w.delayMS, "delay", 500, "playback delay per pass in `ms`, 200..2000")
	fs.StringVar(&w.colourRange, "range", "layer", "activation colour `range`: layer (per layer) or global")
	fs.StringVar(&w.screenshot, "screenshot", "", "render --frames frames, save the window as this `PNG` and exit")
	fs.IntVar(&w.frames, "frames", 30, "`frames` to render before --screenshot")
	fs.IntVar(&w.hover, "hover", -1, "with --screenshot: hover this `neuron` (global id; default -1: none)")
	fs.StringVar(&w.record, "record", "", "record the window into this `video` (.mp4 .mkv .mov through ffmpeg, or .avi); R starts and stops recording")
	fs.IntVar(&w.fps, "fps", 60, "frame `rate` of recorded video")
	fs.BoolVar(&w.fullscreen, "fullscreen", false, "start fullscreen (F or F11 toggles)")
	fs.Float64Var(&w.scale, "scale", 0, "UI `scale` (0: the display's, e.g. 2 on HiDPI)")
	fs.IntVar(&w.pass, "pass", 0, "start at this `pass` (1 is the first)")
	fs.IntVar(&w.probeShown, "probe-shown", 1, "show this `probe` of the run's probe set (1 is each pass's own; , and . step through them)")
	fs.Float64Var(&w.zoom, "zoom", 1, "start zoomed in by this `factor` at the centre of the view")
	fs.IntVar(&w.bench, "bench", 0, "render this many `frames` while panning and zooming along a fixed path, print frame times and exit")
	fs.StringVar(&w.viewMode, "mode", "activations", "the view `mode` to start in: activations, gradients, updates, biases or change (keys 1..5, V)")
}

func (w *windowFlags) options(title string) (engine.Options, error) {
	mode := scene.PerLayer
	switch w.colourRange {
	case "layer":
	case "global":
		mode = scene.Global
	default:
		return engine.Options{}, usageError{fmt.Sprintf("--range must be layer or global, got %q", w.colourRange)}
	}
	if w.width < scene.MinWidth || w.height < scene.MinHeight || w.width > scene.MaxSide || w.height > scene.MaxSide {
		return engine.Options{}, usageError{fmt.Sprintf("window %dx%d is out of range (%dx%d to %dx%d)",
			w.width, w.height, scene.MinWidth, scene.MinHeight, scene.MaxSide, scene.MaxSide)}
	}
	if w.delayMS < 200 || w.delayMS > 2000 {
		return engine.Options{}, usageError{fmt.Sprintf("--delay must be 200..2000 ms, got %d", w.delayMS)}
	}
	if !(w.zoom >= 1 && w.zoom <= 40) {
		return engine.Options{}, usageError{fmt.Sprintf("--zoom must be 1..40, got %g", w.zoom)}
	}
	if !(w.scale == 0 || (w.scale >= 0.5 && w.scale <= 4)) {
		return engine.Options{}, usageError{fmt.Sprintf("--scale must be 0 (the display's) or 0.5..4, got %g", w.scale)}
	}
	if w.fps < 1 || w.fps > 240 {
		return engine.Options{}, usageError{fmt.Sprintf("--fps must be 1..240, got %d", w.fps)}
	}
	if w.probeShown < 1 {
		return engine.Options{}, usageError{fmt.Sprintf("--probe-shown must be 1 or more, got %d", w.probeShown)}
	}
	if w.frames < 1 {
		return engine.Options{}, usageError{fmt.Sprintf("--frames must be at least 1, got %d", w.frames)}
	}
	viewMode, ok := parseViewMode(w.viewMode)
	if !ok {
		return engine.Options{}, usageError{fmt.Sprintf("--mode must be activations, gradients, updates, biases or change, got %q", w.viewMode)}
	}
	opt := engine.Options{
		Title: title, Width: w.width, Height: w.height, Delay: time.Duration(w.delayMS) * time.Millisecond,
		RangeMode: mode, ViewMode: viewMode, Zoom: w.zoom, Record: w.record, FPS: w.fps, Fullscreen: w.fullscreen, Pass: w.pass, Scale: w.scale,
		Probe: max(w.probeShown-1, 0),
	}
	if w.screenshot != "" {
		opt.Shot = &engine.ShotPlan{Path: w.screenshot, Frames: w.frames, Hover: w.hover}
	}
	if w.bench > 0 {
		opt.Bench = &engine.BenchPlan{Frames: w.bench}
	}
	return opt, nil
}

// parseViewMode finds the view mode called name (scene.ViewMode's String);
// "" is the first, for commands without the flag (render).
func parseViewMode(name string) (scene.ViewMode, bool) {
	if name == "" {
		return scene.ViewActivations, true
	}
	for _, m := range scene.ViewModes() {
		if m.String() == name {
			return m, true
		}
	}
	return 0, false
}

func runView(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("view")
	var wf windowFlags
	wf.register(fs)
	layout := fs.String("compare", "side", "with two runs, the `layout` to start in: side (side by side) or diff (their difference B − A); D switches")
	paths, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	switch {
	case len(paths) == 0:
		return usageError{"view needs a file: mlpviz view [flags] FILE [FILE2]"}
	case len(paths) > 2:
		return usageError{fmt.Sprintf("view takes one run, or two to compare, got %d: %s", len(paths), strings.Join(paths, " "))}
	}
	path := paths[0]
	title := "mlpviz · " + path
	if len(paths) == 2 {
		title += " and " + paths[1]
	}
	opt, err := wf.options(title)
	if err != nil {
		return err
	}
	if opt.Compare, err = compareOptions(paths, *layout, fs); err != nil {
		return err
	}
	r, err := openRun(path, stderr)
	if err != nil {
		return err
	}
	src := engine.NewSource(r, nil)
	defer src.Close()
	if opt.Pass > src.Len() {
		return usageError{fmt.Sprintf("--pass %d: %s has %d passes", opt.Pass, path, src.Len())}
	}
	if k := max(src.Architecture().Probes, 1); opt.Probe >= k {
		return usageError{fmt.Sprintf("--probe-shown %d: %s records %d probe(s) per pass", opt.Probe+1, path, k)}
	}
	if opt.Compare != nil {
		rb, err := openRun(paths[1], stderr)
		if err != nil {
			return err
		}
		opt.Compare.B = engine.NewSource(rb, nil)
		defer opt.Compare.B.Close()
		if err := engine.Comparable(path, src.Architecture(), paths[1], opt.Compare.B.Architecture()); err != nil {
			return usageError{err.Error()}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opt.Stop = ctx.Done() // Ctrl-C in the terminal closes the window
	// A file still being written is followed like a live run (the first
	// of two: the timeline steps through its passes).
	opt.Live = !src.Closed()
	var benchLine string
	if opt.Bench != nil {
		opt.Bench.Result = func(s string) { benchLine = s }
	}
	opt.OnRecorded = func(s string) { fmt.Fprintln(stderr, "mlpviz: recorded", s) }
	if err := engine.Run(src, opt); err != nil {
		return err
	}
	if opt.Shot != nil {
		fmt.Fprintf(stderr, "mlpviz: screenshot %s\n", opt.Shot.Path)
	}
	if benchLine != "" {
		fmt.Fprintln(stdout, benchLine)
	}
	return nil
}

// runRender turns a run file into a video with no interaction: each pass
// held for --seconds-per-pass, blended into the next.
func runRender(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("render")
	out := fs.String("o", "", "`video` to write: .mp4 .mkv .mov (H.264 through ffmpeg) or .avi (MJPEG, pure Go)")
	size := fs.String("size", "1920x1080", "video `size` WIDTHxHEIGHT")
	fps := fs.Int("fps", 60, "`frames` per second")
	spp := fs.Float64("seconds-per-pass", 0.5, "`seconds` each pass is shown")
	colourRange := fs.String("range", "layer", "activation colour `range`: layer or global")
	force := fs.Bool("force", false, "overwrite an existing video")
	skip := fs.Bool("skip-damaged", false, "leave out damaged passes, saying which, instead of refusing a damaged run")
	viewMode := fs.String("mode", "activations", "what the network shows: activations, gradients, updates, biases or change (since the first pass)")
	probeShown := fs.Int("probe-shown", 1, "the `probe` of each pass's probe set to show (1 is each pass's own)")
	path, err := parseWithFile(fs, args, stdout)
	if err != nil {
		return err
	}
	if *out == "" {
		return usageError{"render needs -o OUT.mp4, the video to write"}
	}
	var w, h int
	if n, err := fmt.Sscanf(*size, "%dx%d", &w, &h); n != 2 || err != nil || w < scene.MinWidth || h < scene.MinHeight || w > video.MaxWidth || h > video.MaxHeight {
		return usageError{fmt.Sprintf("--size must be WIDTHxHEIGHT between %dx%d and %dx%d, got %q",
			scene.MinWidth, scene.MinHeight, video.MaxWidth, video.MaxHeight, *size)}
	}
	if !(*spp > 0 && *spp <= 60) {
		return usageError{fmt.Sprintf("--seconds-per-pass must be in (0, 60], got %g", *spp)}
	}
	wf := windowFlags{width: w, height: h, delayMS: 500, colourRange: *colourRange, frames: 1, hover: -1, zoom: 1, fps: *fps, record: *out,
		viewMode: *viewMode, probeShown: *probeShown}
	opt, err := wf.options("mlpviz · rendering " + path)
	if err != nil {
		return err
	}
	if err := checkOutput(*out, "-o", *force); err != nil {
		return err
	}
	if err := video.CheckPath(*out); err != nil {
		return usageError{"-o " + err.Error()}
	}
	r, err := openRun(path, stderr)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := engine.CheckDisplay(); err != nil {
		return err
	}
	if err := checkDamage(r, *skip, stderr); err != nil {
		return err
	}
	src := engine.NewSource(r, nil)
	if src.Len() == 0 {
		return fmt.Errorf("%s has no passes to render", path)
	}
	if k := max(src.Architecture().Probes, 1); opt.Probe >= k {
		return usageError{fmt.Sprintf("--probe-shown %d: %s records %d probe(s) per pass", opt.Probe+1, path, k)}
	}
	// The video is made under a temporary name beside it, with its
	// extension (the encoder goes by it), and renamed into place only
	// when whole: a failed or killed render leaves no cut video.
	tmp, err := tempfile.Create(filepath.Dir(*out), "."+strings.TrimSuffix(filepath.Base(*out), filepath.Ext(*out))+".*.partial"+filepath.Ext(*out))
	if err != nil {
		return fmt.Errorf("-o %s: %w", *out, err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	opt.Record = tmp.Name()
	opt.Render = &engine.RenderPlan{FPS: *fps, SecondsPerPass: *spp}
	var done string
	opt.OnRecorded = func(s string) { done = strings.Replace(s, tmp.Name(), *out, 1) }
	fmt.Fprintf(stderr, "mlpviz: rendering %d passes into %d frames at %dx%d\n", src.Len(), opt.Render.Frames(src.Len()), w, h)
	if err := engine.Run(src, opt); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return fmt.Errorf("-o %s: %w", *out, err)
	}
	fmt.Fprintln(stderr, "mlpviz: rendered", done)
	return nil
}

// compareOptions are the window's settings for a second run: nil for one
// run, where --compare has no meaning and is refused if given.
func compareOptions(paths []string, layout string, fs *flag.FlagSet) (*engine.Compare, error) {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "compare" })
	if len(paths) < 2 {
		if given {
			return nil, usageError{"--compare needs two runs: mlpviz view --compare " + layout + " A.mlpv B.mlpv"}
		}
		return nil, nil
	}
	c := &engine.Compare{}
	switch layout {
	case "side":
	case "diff":
		c.Layout = engine.Difference
	default:
		return nil, usageError{fmt.Sprintf("--compare must be side or diff, got %q", layout)}
	}
	c.NameA, c.NameB = runName(paths[0]), runName(paths[1])
	if c.NameA == c.NameB { // runs/a/run.mlpv and runs/b/run.mlpv: the paths tell them apart
		c.NameA, c.NameB = paths[0], paths[1]
	}
	return c, nil
}

// runName is how a window titles a run: its file's name, also for the URL
// of one that "mlpviz serve" serves.
func runName(path string) string {
	if runfile.IsURL(path) {
		if u, err := url.Parse(path); err == nil {
			return pathpkg.Base(u.Path)
		}
	}
	return filepath.Base(path)
}
