package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/mlpviz/mlpviz/engine"
	"github.com/mlpviz/mlpviz/scene"
)

// windowFlags are the window settings shared by "train" and "view".
type windowFlags struct {
	width, height, frames, hover int
	delayMS                      int
	screenshot, colourRange      string
	bench                        int
	zoom                         float64
}

func (w *windowFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&w.width, "width", 1280, "window width")
	fs.IntVar(&w.height, "height", 800, "window height")
	fs.IntVar(&w.delayMS, "delay", 500, "playback delay per pass in ms (200-2000)")
	fs.StringVar(&w.colourRange, "range", "layer", "activation colour range: layer (per layer) or global")
	fs.StringVar(&w.screenshot, "screenshot", "", "render --frames frames, save the window as this PNG and exit")
	fs.IntVar(&w.frames, "frames", 30, "frames to render before --screenshot")
	fs.IntVar(&w.hover, "hover", -1, "with --screenshot: hover this neuron (global id)")
	fs.Float64Var(&w.zoom, "zoom", 1, "start zoomed in by this factor at the centre of the view")
	fs.IntVar(&w.bench, "bench", 0, "render this many frames while panning and zooming along a fixed path, print frame times and exit")
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
	if w.width < 320 || w.height < 200 {
		return engine.Options{}, usageError{fmt.Sprintf("window %dx%d is too small (at least 320x200)", w.width, w.height)}
	}
	if w.delayMS < 200 || w.delayMS > 2000 {
		return engine.Options{}, usageError{fmt.Sprintf("--delay must be 200..2000 ms, got %d", w.delayMS)}
	}
	if !(w.zoom >= 1 && w.zoom <= 40) {
		return engine.Options{}, usageError{fmt.Sprintf("--zoom must be 1..40, got %g", w.zoom)}
	}
	if w.frames < 1 {
		return engine.Options{}, usageError{fmt.Sprintf("--frames must be at least 1, got %d", w.frames)}
	}
	return engine.Options{
		Title: title, Width: w.width, Height: w.height, Delay: time.Duration(w.delayMS) * time.Millisecond,
		RangeMode: mode, Screenshot: w.screenshot, Frames: w.frames, Hover: w.hover, Bench: w.bench, Zoom: w.zoom,
	}, nil
}

func runView(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mlpviz view", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var wf windowFlags
	wf.register(fs)
	path, err := parseWithFile(fs, args)
	if err != nil {
		return err
	}
	opt, err := wf.options("mlpviz · " + path)
	if err != nil {
		return err
	}
	src, err := engine.OpenSource(path, nil)
	if err != nil {
		return err
	}
	defer src.Close()
	// A file still being written is followed like a live run.
	opt.Live = !src.Closed()
	var benchLine string
	opt.BenchResult = func(s string) { benchLine = s }
	if err := engine.Run(src, opt); err != nil {
		return err
	}
	if opt.Screenshot != "" {
		fmt.Fprintf(stderr, "mlpviz: screenshot %s\n", opt.Screenshot)
	}
	if benchLine != "" {
		fmt.Fprintln(stdout, benchLine)
	}
	return nil
}
