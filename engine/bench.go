package engine

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"
)

// benchPeriod is the length in frames of the benchmark's camera path.
const benchPeriod = 50

// benchRun renders a fixed number of frames while the camera pans and zooms
// along a fixed path, timing each frame: "mlpviz view --bench N".
type benchRun struct {
	frames int
	times  []time.Duration
	last   time.Time

	// Latency from a pass switch or a hover change (made in Update) to the
	// start of the next Update, when the frame showing it has been drawn
	// and presented.
	switchAt, hoverAt time.Time
	switchShown       bool // the frame being drawn shows the last switch
	switches, hovers  []time.Duration
	work              time.Duration // time inside Update and Draw: our CPU work per frame
	lastHover         int
	mallocs           uint64 // heap allocations counted from the first timed frame
}

// frameStart closes the latencies of changes that the previous frame
// showed: a switch once its geometry was in that frame, a hover at once.
func (b *benchRun) frameStart(now time.Time) {
	if !b.switchAt.IsZero() && b.switchShown {
		b.switches = append(b.switches, now.Sub(b.switchAt))
		b.switchAt, b.switchShown = time.Time{}, false
	}
	if !b.hoverAt.IsZero() {
		b.hovers = append(b.hovers, now.Sub(b.hoverAt))
		b.hoverAt = time.Time{}
	}
}

// step moves the camera along the path for frame i, and every 10th frame
// switches to the next pass.
func (b *benchRun) step(g *Game, i int) {
	if n := g.src.Len(); n > 1 && i%10 == 5 {
		g.tl.setIndex((g.tl.index+1)%n, n)
		b.switchAt, b.switchShown = time.Now(), false
	}
	// The camera follows a periodic path set absolutely each frame (fit,
	// then zoom and pan by the phase), so equal stretches of the run see
	// the same views: the recording comparison needs that.
	v := g.viewRect()
	cx, cy := float32(v.Min.X+v.Dx()/2), float32(v.Min.Y+v.Dy()/2)
	phase := 2 * math.Pi * float64(i%benchPeriod) / benchPeriod
	g.net.cam.Fit(g.net.layout.Bounds, g.net.view, true)
	g.net.cam.ZoomAt(cx, cy, float32(1.6+0.6*math.Sin(phase)))
	g.net.cam.Settle()
	g.net.cam.PanBy(float32(60*math.Cos(phase)), float32(40*math.Sin(2*phase)))
	// The cursor visits a different neuron every frame, found by picking at
	// its position as a real hover is, so the hover uniforms change each time.
	l := g.net.layout
	k, j, _ := l.Locate((i * 37) % l.Neurons())
	nx, ny := l.Pos(k, j)
	sx, sy := g.net.cam.ToScreen(nx, ny)
	g.ptr.hovered = g.net.hover(sx, sy)
	if g.ptr.hovered != b.lastHover {
		b.lastHover = g.ptr.hovered
		b.hoverAt = time.Now()
	}
}

// frame records one frame's time and reports whether the run is complete.
func (b *benchRun) frame(now time.Time) bool {
	if b.last.IsZero() {
		b.times = make([]time.Duration, 0, b.frames)
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		b.mallocs = m.Mallocs
	} else {
		b.times = append(b.times, now.Sub(b.last))
	}
	b.last = now
	if len(b.times) < b.frames {
		return false
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b.mallocs = m.Mallocs - b.mallocs
	return true
}

func meanMS(d []time.Duration) float64 {
	if len(d) == 0 {
		return 0
	}
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return sum.Seconds() * 1000 / float64(len(d))
}

// Latency is the line before the result: pass switch and hover to the
// frame that shows them, and our own CPU work per frame.
func (b *benchRun) Latency() string {
	frames := float64(max(len(b.times), 1))
	return fmt.Sprintf("latency: pass_switch_ms=%.2f (%d switches) hover_ms=%.2f (%d hovers) frame_work_ms=%.2f allocs_per_frame=%.1f",
		meanMS(b.switches), len(b.switches), meanMS(b.hovers), len(b.hovers), b.work.Seconds()*1000/frames, float64(b.mallocs)/frames)
}

// recordingRatio compares the mean frame time of the second half of the run
// (recorded, when the bench records) with the first half (not recorded).
func (b *benchRun) recordingRatio() string {
	h := len(b.times) / 2
	if h == 0 {
		return ""
	}
	// Skip the first camera period of each half (shader and ffmpeg
	// start-up) when the halves are long enough to keep one.
	skip := 0
	if h >= 2*benchPeriod {
		skip = benchPeriod
	}
	plain, rec := meanMS(b.times[skip:h]), meanMS(b.times[h+skip:])
	return fmt.Sprintf("recording: plain_ms=%.2f recording_ms=%.2f ratio=%.3f", plain, rec, rec/plain)
}

// Result is the line "mlpviz view --bench" ends with.
func (b *benchRun) Result() string {
	if len(b.times) == 0 {
		return "bench: frames=0 mean_ms=0 p99_ms=0 fps=0"
	}
	s := slices.Clone(b.times)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	mean := sum.Seconds() * 1000 / float64(len(s))
	p99 := s[min(len(s)-1, int(math.Ceil(0.99*float64(len(s))))-1)].Seconds() * 1000
	return fmt.Sprintf("bench: frames=%d mean_ms=%.2f p99_ms=%.2f fps=%.1f", len(s), mean, p99, 1000/mean)
}
