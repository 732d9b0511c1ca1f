package engine

import (
	"fmt"
	"math"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/text/v2"
	"github.com/hajimehoshi/ebiten/v2/vector"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/engine/video"
)

// RenderPlan turns the window into an offline renderer ("mlpviz render"):
// each pass is held for SecondsPerPass at FPS, blended smoothly into the
// next, every frame recorded without drops, then the window closes.
type RenderPlan struct {
	FPS            int
	SecondsPerPass float64
}

// Frames is how many frames a run of n passes renders to.
func (p RenderPlan) Frames(n int) int {
	return n * p.framesPerPass()
}

func (p RenderPlan) framesPerPass() int {
	return max(1, int(math.Round(float64(p.FPS)*p.SecondsPerPass)))
}

// recording is the video being made of the window, if any.
type recording struct {
	video *video.Recorder
	buf   []byte    // the frame read back from the screen
	start time.Time // for the REC clock
	err   error     // why recording failed; shown in the view
}

// startRecording opens a recorder for the window's current size.
func (g *Game) startRecording() {
	path := g.opt.Record
	if path == "" {
		path = time.Now().Format("mlpviz_20060102-150405.mp4")
	}
	fps := g.opt.FPS
	if fps <= 0 {
		fps = 60
	}
	rec, err := video.Open(video.Options{Path: path, Width: g.width, Height: g.height, FPS: fps})
	if err != nil {
		g.rec.err = err
		return
	}
	g.rec.video, g.rec.start = rec, time.Now()
}

// stopRecording finishes the file and notes what it holds.
func (g *Game) stopRecording() {
	if g.rec.video == nil {
		return
	}
	err := g.rec.video.Close()
	if g.opt.OnRecorded != nil {
		g.opt.OnRecorded(fmt.Sprintf("%s: %d frames (%s), %d dropped", g.rec.video.Path(), g.rec.video.Frames(), g.rec.video.Encoder(), g.rec.video.Dropped()))
	}
	if err != nil && g.rec.err == nil {
		g.rec.err = err
	}
	g.rec.video = nil
}

// recordFrame hands the finished screen to the recorder: never blocking
// a live window (a full queue drops and counts the frame), always waiting
// when rendering offline.
func (g *Game) recordFrame(screen *ebiten.Image) {
	if g.rec.video == nil {
		return
	}
	n := 4 * g.width * g.height
	if cap(g.rec.buf) < n {
		g.rec.buf = make([]byte, n)
	}
	g.rec.buf = g.rec.buf[:n]
	screen.ReadPixels(g.rec.buf)
	ok := false
	if g.opt.Render != nil {
		ok = g.rec.video.FrameWait(g.rec.buf)
	} else {
		ok = g.rec.video.Frame(g.rec.buf)
	}
	if !ok && g.rec.video.Err() != nil && g.rec.err == nil {
		g.rec.err = g.rec.video.Err()
		g.stopRecording()
	}
}

// drawRecording shows that the window is being recorded, after the frame
// was captured so the indicator itself stays out of the video.
func (g *Game) drawRecording(screen *ebiten.Image) {
	if g.rec.video == nil || g.opt.Render != nil {
		if g.rec.err != nil {
			r := g.viewRect()
			drawText(screen, "recording failed: "+g.rec.err.Error(), g.fonts.Body, float64(r.Min.X+g.px(12)), float64(r.Max.Y-g.px(24)), g.theme.Positive, text.AlignStart)
		}
		return
	}
	v := g.viewRect()
	x, y := float32(v.Min.X+g.px(18)), float32(v.Min.Y+g.px(18))
	if (time.Since(g.rec.start)/500)%2 == 0 { // a blinking dot, like a camera
		vector.FillCircle(screen, x, y, float32(g.px(6)), g.theme.Positive, true)
	}
	secs := int(time.Since(g.rec.start).Seconds())
	label := fmt.Sprintf("REC %02d:%02d", secs/60, secs%60)
	if d := g.rec.video.Dropped(); d > 0 {
		label += fmt.Sprintf("  %d dropped", d)
	}
	drawText(screen, label, g.fonts.Bold, float64(x)+g.fonts.px(12), float64(y)-g.fonts.px(8), g.theme.Positive, text.AlignStart)
}

// renderStep shows frame f of an offline render: pass i blended a fraction
// of the way into pass i+1.
func (g *Game) renderStep(f, n int) bool {
	per := g.opt.Render.framesPerPass()
	if f >= g.opt.Render.Frames(n) {
		return false
	}
	i, t := f/per, float32(f%per)/float32(per)
	a, err := g.src.Pass(i)
	if err != nil {
		return false
	}
	p := a
	if i+1 < n && t > 0 {
		b, err := g.src.Pass(i + 1)
		if err != nil {
			return false
		}
		p = collector.Blend(a, b, t)
	}
	// The labels are the nearer pass's (collector.Blend), and so is the
	// timeline's, so that the frame reads one pass throughout.
	near := i
	if p != a && t >= 0.5 {
		near = i + 1
	}
	g.tl.setIndex(near, n)
	g.whole, g.shown = p, near
	g.pass = p.ForProbe(g.shownProbe())
	// Offline: built on this goroutine, so that the frame shows it.
	g.net.in = g.viewInput(near, g.pass)
	g.net.shown = g.net.in.build(g.net.geom, g.net.mode)
	g.net.adopt()
	g.side.setPass(g.arch, p, g.shownProbe())
	g.src.LoadMetrics(time.Second) // the plots show the whole run from the first frame
	g.updatePlots()
	return true
}

// toggleFullscreen switches between the window and the whole screen.
func toggleFullscreen() { ebiten.SetFullscreen(!ebiten.IsFullscreen()) }
