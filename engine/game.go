// Package engine is the mlpviz window: an Ebitengine game that shows the
// head of a training network pass by pass, with a timeline, side panels and
// a HUD. The maths of what is drawn lives in scene; this package owns the
// window, input and GPU calls.
package engine

import (
	"errors"
	"fmt"
	"image"
	"math"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/inpututil"

	"github.com/mlpviz/mlpviz/assets"
	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/scene"
)

// Status is what a live run reports for the HUD.
type Status struct {
	ImagesPerSecond float64
	State           string // "training", "done", "stopped", or an error
}

// Options configure a window.
type Options struct {
	Title         string
	Width, Height int
	Delay         time.Duration
	RangeMode     scene.RangeMode
	Live          bool          // the source is still being written: follow its newest pass
	WaitForPass   bool          // a screenshot waits for the first pass (a trainer in this process will write it)
	Status        func() Status // live runs: trainer figures for the HUD; may be nil
	Device        string        // live runs: what the trainer runs on ("cpu", "cuda"), shown with the img/s

	// Shot, when set, saves one frame as a PNG and closes the window.
	Shot *ShotPlan
	// Record, when set, records the window into this video file from the
	// first frame (R starts and stops recording at any time); FPS is the
	// video's frame rate.
	Record string
	FPS    int
	// Fullscreen starts on the whole screen (F or F11 toggles).
	Fullscreen bool
	// Render, when set, renders every pass into Record offline and closes.
	Render *RenderPlan
	// OnRecorded receives a line for each finished recording (path,
	// frames, encoder, drops).
	OnRecorded func(string)
	// Stop, when it closes, closes the window (Ctrl-C in the terminal).
	Stop <-chan struct{}
	// Pass, when > 0, starts at this pass (1-based) instead of the first.
	Pass int
	// Probe is the probe of a run's probe set the window shows first
	// (0-based; 0 is each pass's own probe); one the run lacks shows 0.
	Probe int
	// Scale is the UI scale; 0 follows the monitor's device scale factor
	// (HiDPI), so text and controls keep their size and only get sharper.
	Scale float64
	// Zoom, when > 1, starts the view zoomed in by this factor at its
	// centre (after fitting the head).
	Zoom float64
	// Bench, when set, measures frame times along a fixed camera path and
	// closes the window.
	Bench *BenchPlan
	// ViewMode is what the network view shows first (keys 1..5 and V
	// switch).
	ViewMode scene.ViewMode
	// Compare, when set, shows a second run with the first (compare.go).
	Compare *Compare
}

// frameClock times frames for the HUD's rate and the camera's easing.
type frameClock struct {
	lastFrame, lastUpdate time.Time
	fps                   float64   // smoothed frames per second
	fpsShown              float64   // the FPS in the HUD, updated twice a second
	fpsAt                 time.Time // when fpsShown was last updated
}

// metricHistory is the run's loss and accuracy per pass as the plots have
// them, and what they were last set for.
type metricHistory struct {
	steps     []int
	loss, acc []float32
	plotsFor  int // metrics count the plots were set for
	cursor    int // the pass the plots' cursor was set to
}

// ShotPlan is a screenshot run ("--screenshot"): Frames frames with
// something to show, then the window saved as a PNG at Path.
type ShotPlan struct {
	Path   string
	Frames int
	Hover  int // a neuron to hover (global id), or -1
}

// BenchPlan is a frame-time benchmark ("--bench"): Frames frames as fast as
// possible while the camera pans and zooms along a fixed path; Result
// receives the summary.
type BenchPlan struct {
	Frames int
	Result func(string)
}

// Game is the window's state; it implements ebiten.Game.
type Game struct {
	opt   Options
	src   *Source
	arch  *collector.Architecture
	theme *Theme
	fonts *Fonts
	net   *network
	tl    timeline
	pass  *collector.Pass // the shown pass as probe saw it
	whole *collector.Pass // the shown pass with its whole probe set
	shown int             // index of the pass in pass, or -1
	probe int             // the probe chosen to show (, and . or a thumbnail); kept from pass to pass

	side   *sidebar
	legend legend
	modes  modeState

	ptr pointer

	width, height int
	scale         float64 // UI scale: device pixels per logical pixel
	frames        int
	shotFrames    int // frames drawn with something to show
	clock         frameClock
	tooltip       tooltip
	hud           hudState
	hudCache      panelCache
	bar           barLayout
	barState      barState
	barCache      panelCache
	emptyCache    panelCache
	bannerErr     error
	bannerCache   panelCache
	shot          error // result of a requested screenshot
	done          bool

	hist  metricHistory
	bench *benchRun

	idle idleWatch

	rec recording

	cmp *comparison // the second run of a window of two, or nil
}

// New makes the window's game for a source.
func New(src *Source, opt Options) (*Game, error) {
	if opt.Width <= 0 || opt.Height <= 0 {
		opt.Width, opt.Height = 1280, 800
	}
	if opt.Delay == 0 {
		opt.Delay = 500 * time.Millisecond
	}
	fonts, err := NewFonts(1) // remade for the display's scale at the first Layout
	if err != nil {
		return nil, err
	}
	th := DarkTheme()
	net, err := newNetwork(src.Architecture())
	if err != nil {
		return nil, err
	}
	net.mode = opt.RangeMode
	g := &Game{
		opt: opt, src: src, arch: src.Architecture(), theme: th, fonts: fonts, net: net, shown: -1, probe: max(opt.Probe, 0),
		side: newSidebar(th, fonts), ptr: pointer{hovered: -1, pinned: -1}, hist: metricHistory{plotsFor: -1}, scale: 1,
		modes: modeState{mode: opt.ViewMode, refAt: -1},
	}
	g.tl.delay = min(max(opt.Delay, minDelay), maxDelay)
	g.tl.live, g.tl.follow = opt.Live, opt.Live
	if opt.Pass > 0 {
		g.tl.index, g.tl.follow = opt.Pass-1, false
	}
	if opt.Bench != nil {
		g.bench = &benchRun{frames: opt.Bench.Frames}
	}
	g.side.sum.Set(g.arch)
	g.side.setPass(g.arch, nil, 0)
	if opt.Compare != nil {
		if g.cmp, err = newComparison(opt.Compare, g.arch, opt.RangeMode); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// Run opens the window and blocks until it is closed.
func Run(src *Source, opt Options) error {
	g, err := New(src, opt)
	if err != nil {
		return err
	}
	ebiten.SetWindowTitle(opt.Title)
	ebiten.SetWindowIcon([]image.Image{assets.Icon()})
	ebiten.SetWindowSize(g.opt.Width, g.opt.Height)
	ebiten.SetWindowResizingMode(ebiten.WindowResizingModeEnabled)
	// Draw paints the whole screen, so Ebiten need not clear it, and an
	// idle window can leave it as it is.
	ebiten.SetScreenClearedEveryFrame(false)
	if g.bench != nil { // measure frames, not the display's refresh rate
		ebiten.SetVsyncEnabled(false)
		ebiten.SetTPS(ebiten.SyncWithFPS)
	}
	ebiten.SetFullscreen(opt.Fullscreen)
	if opt.Render != nil { // as fast as frames can be made, none skipped
		ebiten.SetVsyncEnabled(false)
		ebiten.SetTPS(ebiten.SyncWithFPS)
	}
	err = ebiten.RunGame(g)
	g.stopRecording()
	if err != nil && !errors.Is(err, ebiten.Termination) {
		if CheckDisplay() != nil {
			return fmt.Errorf("%w (%v)", ErrNoDisplay, err)
		}
		return fmt.Errorf("window: %w", err)
	}
	return errors.Join(g.shot, g.rec.err)
}

// Layout implements ebiten.Game: the screen is the window's size.
// The screen has device pixels: the outside size times the scale.
func (g *Game) Layout(w, h int) (int, int) {
	s := g.opt.Scale
	if s <= 0 {
		s = ebiten.Monitor().DeviceScaleFactor()
	}
	if s != g.scale {
		g.setScale(s)
	}
	g.width, g.height = int(math.Round(float64(w)*s)), int(math.Round(float64(h)*s))
	return g.width, g.height
}

// setScale remakes the fonts and panels for a new UI scale.
func (g *Game) setScale(s float64) {
	fonts, err := NewFonts(s)
	if err != nil {
		return // keep the faces we have; NewFonts fails only for a bad scale
	}
	g.scale, g.fonts = s, fonts
	hidden, selected := g.side.hidden, g.side.selected
	g.side = newSidebar(g.theme, fonts)
	g.side.hidden, g.side.selected = hidden, selected
	g.side.sum.Set(g.arch)
	g.side.setPass(g.arch, g.whole, g.shownProbe())
	g.side.sum.SetHealth(g.pass)
	g.hist.plotsFor = -1
	g.hudCache, g.barCache, g.emptyCache, g.bannerCache = panelCache{}, panelCache{}, panelCache{}, panelCache{}
	g.modes.key, g.modes.cache = modeBarKey{}, panelCache{}
	g.legend = legend{}
	g.tooltip = tooltip{}
	g.net.cam.PixelScale = float32(s)
}

// px scales a length in logical pixels to device pixels.
func (g *Game) px(v int) int { return int(math.Round(float64(v) * g.scale)) }

// Regions of the screen.
func (g *Game) hudRect() image.Rectangle { return image.Rect(0, 0, g.width, g.px(30)) }
func (g *Game) barRect() image.Rectangle {
	return image.Rect(0, g.height-g.px(62), g.width, g.height)
}

// sideRect is the side bar: a quarter of the width within 260..340
// logical pixels, and none when hidden (P) or when the window is so narrow
// that the network would get less than the side bar.
func (g *Game) sideRect() image.Rectangle {
	w := min(g.px(340), max(g.width/4, g.px(260)))
	if g.side.hidden || g.width-w < w {
		w = 0
	}
	return image.Rect(g.width-w, g.px(30), g.width, g.height-g.px(62))
}

// viewRect is the network view: what the side bar leaves between the HUD
// and the timeline.
func (g *Game) viewRect() image.Rectangle {
	return image.Rect(0, g.px(30), g.sideRect().Min.X, g.height-g.px(62))
}

// legendRect is the colour legend's row along the bottom of the view.
func (g *Game) legendRect() image.Rectangle {
	v := g.viewRect()
	return image.Rect(v.Min.X, v.Max.Y-g.px(legendHeight), v.Max.X, v.Max.Y)
}

// netRect is the part of the view the network is fitted into: between the
// mode bar and the legend, so that none overlap until the user pans.
func (g *Game) netRect() image.Rectangle {
	if g.cmp != nil {
		return g.compareNetRect()
	}
	v := g.viewRect()
	v.Min.Y, v.Max.Y = g.modeBarRect().Max.Y, g.legendRect().Min.Y
	return v
}

// Update implements ebiten.Game: input, the timeline and new passes.
func (g *Game) Update() error {
	if g.done {
		return ebiten.Termination
	}
	select {
	case <-g.opt.Stop: // a nil channel never fires
		return ebiten.Termination
	default:
	}
	now := time.Now()
	if g.bench != nil {
		g.bench.frameStart(now)
		defer func() { g.bench.work += time.Since(now) }()
	}
	g.src.Refresh(now)
	g.src.LoadMetrics(4 * time.Millisecond)
	n := g.src.Len()
	g.side.layout(g.sideRect(), g.px)
	v := g.netRect()
	g.net.setView(scene.Rect{MinX: float32(v.Min.X), MinY: float32(v.Min.Y), MaxX: float32(v.Max.X), MaxY: float32(v.Max.Y)}, g.opt.Zoom)

	if g.opt.Render != nil {
		if g.rec.video == nil && g.rec.err == nil {
			g.startRecording()
		}
		if g.rec.err != nil || !g.renderStep(g.frames, n) {
			g.done = true
			return ebiten.Termination
		}
		return nil
	}
	// Recording starts with the window; a benchmark records its second half
	// only, so one run compares frame times with and without it.
	startAt := 0
	if g.bench != nil {
		startAt = g.bench.frames / 2
	}
	if g.opt.Record != "" && g.rec.video == nil && g.rec.err == nil && g.frames == startAt {
		g.startRecording()
	}
	g.handleKeys(now, n)
	g.handleMouse(now, n)
	if g.bench != nil {
		g.bench.step(g, g.frames)
	}
	g.tl.advance(n, now)
	if n > 0 && g.tl.index != g.shown {
		g.showPass(g.tl.index)
	}
	g.net.poll()
	if g.bench != nil && !g.net.building && g.shown == g.tl.index {
		g.bench.switchShown = true // this frame draws the newest pass's geometry
	}
	g.updatePlots()
	// Ease by the real time since the last update: TPS may be "as fast as
	// frames" (-1) when benchmarking, and frames can be late.
	dt := 1.0 / 60
	if !g.clock.lastUpdate.IsZero() {
		dt = min(max(now.Sub(g.clock.lastUpdate).Seconds(), 0), 0.1)
	}
	g.clock.lastUpdate = now
	moving := g.net.cam.Step(float32(dt))

	if g.opt.Shot != nil && g.opt.Shot.Hover >= 0 && g.ptr.hovered < 0 {
		g.ptr.hovered = g.opt.Shot.Hover
	}
	g.net.setHover(g.ptr.hovered, g.ptr.pinned)
	moving = g.updateCompare(now) || moving
	g.idle.update(g, now, moving)
	return nil
}

// showPass makes pass i the shown one: the single place geometry rebuilds.
func (g *Game) showPass(i int) {
	p, err := g.src.Pass(i)
	if err != nil {
		return // the banner shows the error; keep the last good pass
	}
	g.whole, g.shown = p, i
	g.side.sum.SetHealth(p)
	g.showProbe()
}

// showProbe shows the shown pass as the chosen probe saw it: in the view
// (in the chosen mode, and B's pass in a window of two), the input panel
// and the probabilities.
func (g *Game) showProbe() {
	j := g.shownProbe()
	g.pass = g.whole.ForProbe(j)
	g.setNetPass()
	g.side.setPass(g.arch, g.whole, j)
	g.tooltip.invalidate()
}

// shownProbe is the probe shown: the chosen one, or the pass's own when
// the shown pass has no probe of that number.
func (g *Game) shownProbe() int {
	if g.whole == nil || g.probe >= g.whole.NumProbes() {
		return 0
	}
	return g.probe
}

// chooseProbe shows probe j of the probe set (wrapping around at its ends,
// so , and . cycle through it).
func (g *Game) chooseProbe(j int) {
	if g.whole == nil || g.whole.NumProbes() < 2 {
		return
	}
	n := g.whole.NumProbes()
	if j = (j%n + n) % n; j != g.shownProbe() {
		g.probe = j
		g.showProbe()
	}
}

// updatePlots feeds the loss and accuracy plots when metrics or the cursor
// changed, and the weight distributions (which check that themselves).
func (g *Game) updatePlots() {
	g.side.dist.Set(g.src.histograms(), g.net.layout, g.shown, g.src.Len())
	m := g.src.Metrics()
	if len(m) == g.hist.plotsFor && g.tl.index == g.hist.cursor {
		return
	}
	for _, x := range m[len(g.hist.steps):] {
		g.hist.steps = append(g.hist.steps, x.Step)
		g.hist.loss = append(g.hist.loss, x.Loss)
		g.hist.acc = append(g.hist.acc, x.Accuracy)
	}
	cursor := -1
	if g.tl.index < len(m) {
		cursor = g.tl.index
	}
	g.side.loss.Set(g.hist.steps, g.hist.loss, cursor)
	g.side.acc.Set(g.hist.steps, g.hist.acc, cursor)
	g.hist.plotsFor, g.hist.cursor = len(m), g.tl.index
}

func (g *Game) handleKeys(now time.Time, n int) {
	pressed := inpututil.IsKeyJustPressed
	switch {
	case pressed(ebiten.KeySpace):
		g.tl.togglePlay(now)
	case pressed(ebiten.KeyS):
		g.tl.stop()
	case pressed(ebiten.KeyArrowRight):
		g.tl.setIndex(g.tl.index+1, n)
	case pressed(ebiten.KeyArrowLeft):
		g.tl.setIndex(g.tl.index-1, n)
	case pressed(ebiten.KeyHome):
		g.tl.setIndex(0, n)
	case pressed(ebiten.KeyEnd):
		g.tl.setIndex(n-1, n)
	case pressed(ebiten.KeyL):
		g.tl.follow = g.tl.live
	case pressed(ebiten.KeyBracketLeft):
		g.tl.changeDelay(-delayStep)
	case pressed(ebiten.KeyBracketRight):
		g.tl.changeDelay(delayStep)
	case pressed(ebiten.KeyG):
		g.net.mode = 1 - g.net.mode
		g.setNetPass()
	case pressed(ebiten.Key0), pressed(ebiten.KeyC):
		g.net.fit()
	case pressed(ebiten.KeyEqual), pressed(ebiten.KeyKPAdd):
		g.zoomAtCentre(1.25)
	case pressed(ebiten.KeyMinus), pressed(ebiten.KeyKPSubtract):
		g.zoomAtCentre(0.8)
	case pressed(ebiten.KeyEscape):
		g.ptr.pinned = -1
	case pressed(ebiten.KeyF), pressed(ebiten.KeyF11):
		toggleFullscreen()
	case pressed(ebiten.KeyP):
		g.side.hidden = !g.side.hidden
	case pressed(ebiten.KeyTab):
		g.side.nextTab()
	case pressed(ebiten.KeyD):
		g.switchCompare()
	case pressed(ebiten.KeyComma):
		g.chooseProbe(g.shownProbe() - 1)
	case pressed(ebiten.KeyPeriod):
		g.chooseProbe(g.shownProbe() + 1)
	case pressed(ebiten.KeyR):
		if g.rec.video != nil {
			g.stopRecording()
		} else {
			g.rec.err = nil
			g.startRecording()
		}
	case g.handleModeKeys():
	}
}

func (g *Game) zoomAtCentre(f float32) {
	v := g.netRect()
	g.net.cam.ZoomAt(float32(v.Min.X+v.Dx()/2), float32(v.Min.Y+v.Dy()/2), f)
}

// Draw implements ebiten.Game.
func (g *Game) Draw(screen *ebiten.Image) {
	if g.idle.idle && g.idle.drawn {
		return // the screen keeps the last frame (see Run)
	}
	g.idle.drawn = g.idle.idle
	now := time.Now()
	if g.bench != nil {
		defer func() { g.bench.work += time.Since(now) }()
	}
	if !g.clock.lastFrame.IsZero() {
		if dt := now.Sub(g.clock.lastFrame).Seconds(); dt > 0 {
			g.clock.fps = 0.9*g.clock.fps + 0.1/dt
		}
	}
	g.clock.lastFrame = now
	if now.Sub(g.clock.fpsAt) > 500*time.Millisecond {
		g.clock.fpsShown, g.clock.fpsAt = g.clock.fps, now
	}
	screen.Fill(g.theme.Background)
	g.drawNets(screen)
	g.drawLayerLabels(screen)
	g.drawModeBar(screen)
	g.drawLegend(screen)
	if r := g.sideRect(); !r.Empty() {
		g.side.layout(r, g.px)
		g.side.draw(screen, r)
	}
	g.drawTimeline(screen)
	g.drawHUD(screen)
	g.drawTooltips(screen)
	g.drawBanner(screen)
	g.recordFrame(screen)
	g.drawRecording(screen)
	g.frames++
	// A live training screenshot waits for its first pass; a file with no
	// passes is captured as it is.
	ready := !g.net.building && g.compareReady() // a screenshot shows the pass, not the one before it
	if ready && (g.pass != nil || (g.src.Len() == 0 && (g.src.Closed() || !g.opt.WaitForPass))) {
		g.shotFrames++
	}
	if g.bench != nil && !g.done && g.bench.frame(time.Now()) {
		g.done = true
		if g.opt.Bench.Result != nil {
			lines := g.bench.Latency() + "\n"
			if g.opt.Record != "" {
				lines += g.bench.recordingRatio() + "\n"
			}
			g.opt.Bench.Result(lines + g.bench.Result())
		}
	}
	if g.opt.Shot != nil && g.shotFrames >= max(g.opt.Shot.Frames, 1) && !g.done {
		g.shot = saveScreenshot(screen, g.opt.Shot.Path)
		g.done = true
	}
}

// Err reports a failed screenshot.
func (g *Game) Err() error { return g.shot }

// String names the window for logs.
func (g *Game) String() string { return fmt.Sprintf("mlpviz window %dx%d", g.width, g.height) }
