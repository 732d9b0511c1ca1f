package engine

import (
	"fmt"
	"image"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/text/v2"
	"github.com/hajimehoshi/ebiten/v2/vector"
)

// Delay bounds, as the seed's slider: 200 ms to 2 s per pass.
const (
	minDelay  = 200 * time.Millisecond
	maxDelay  = 2000 * time.Millisecond
	delayStep = 100 * time.Millisecond
)

// timeline is the pass cursor: which pass is shown, whether it plays, and
// whether it follows the newest pass of a live run.
type timeline struct {
	index   int
	playing bool
	follow  bool // live: jump to each new pass until the user scrubs back
	live    bool // the source is a run still being trained
	delay   time.Duration
	next    time.Time // when playing, the next advance
	drag    bool      // the slider knob is held
}

// advance moves the cursor for n passes available at now and reports
// whether the shown pass changed.
func (t *timeline) advance(n int, now time.Time) bool {
	old := t.index
	switch {
	case n == 0:
		t.index = 0
	case t.follow:
		t.index = n - 1
	case t.playing && !now.Before(t.next):
		if t.index < n-1 {
			t.index++
		} else if !t.live {
			t.playing = false // a replay stops at its end
		}
		t.next = now.Add(t.delay)
	}
	t.index = min(max(t.index, 0), max(n-1, 0))
	return t.index != old
}

func (t *timeline) setIndex(i, n int) {
	t.follow = false
	t.index = min(max(i, 0), max(n-1, 0))
}

func (t *timeline) togglePlay(now time.Time) {
	t.playing = !t.playing
	t.follow = false
	t.next = now.Add(t.delay)
}

// stop pauses and rewinds to the first pass, as the seed's stop button.
func (t *timeline) stop() {
	t.playing, t.follow, t.index = false, false, 0
}

func (t *timeline) changeDelay(d time.Duration) {
	t.delay = min(max(t.delay+d, minDelay), maxDelay)
}

// barLayout is where the timeline's controls sit inside its rectangle.
type barLayout struct {
	play, stop, live, slider, slower, faster image.Rectangle
	label                                    image.Point
}

func layoutBar(r image.Rectangle, s float64) barLayout {
	u := func(v float64) int { return int(v * s) }
	h := u(28)
	y := r.Min.Y + u(8)
	row := func(x, w int) image.Rectangle { return image.Rect(x, y, x+w, y+h) }
	var b barLayout
	x := r.Min.X + u(12)
	b.play = row(x, h)
	b.stop = row(b.play.Max.X+u(6), h)
	b.live = row(b.stop.Max.X+u(6), u(48))
	b.faster = row(r.Max.X-u(12)-h, h)
	b.slower = row(b.faster.Min.X-u(110)-h, h)
	b.slider = image.Rect(b.live.Max.X+u(16), y, b.slower.Min.X-u(16), y+h)
	b.label = image.Pt(b.slider.Min.X, y+h+u(4))
	return b
}

// sliderIndex maps an x position on the slider to a pass index.
func (b barLayout) sliderIndex(x, n int) int {
	if n <= 1 || b.slider.Dx() <= 0 {
		return 0
	}
	f := float64(x-b.slider.Min.X) / float64(b.slider.Dx())
	return min(max(int(f*float64(n-1)+0.5), 0), n-1)
}

// drawTimeline draws the bar: buttons, slider with a knob at the shown pass,
// pass, step and epoch, and the playback delay.
func drawTimeline(dst *ebiten.Image, r image.Rectangle, t *timeline, n int, step, epoch int, th *Theme, f *Fonts) {
	s := f.Scale
	b := layoutBar(r, s)
	fillRect(dst, float64(r.Min.X), float64(r.Min.Y), float64(r.Dx()), float64(r.Dy()), th.Panel)
	fillRect(dst, float64(r.Min.X), float64(r.Min.Y), float64(r.Dx()), s, th.Border)

	button := func(rc image.Rectangle, on bool) {
		c := th.Border
		if on {
			c = mix(th.Border, th.Accent, 0.55)
		}
		fillRoundedRect(dst, float32(rc.Min.X), float32(rc.Min.Y), float32(rc.Dx()), float32(rc.Dy()), float32(4*s), c)
	}
	button(b.play, t.playing)
	cx, cy := float32(b.play.Min.X+b.play.Dx()/2), float32(b.play.Min.Y+b.play.Dy()/2)
	k := float32(6 * s)
	if t.playing { // pause: two bars
		vector.FillRect(dst, cx-k, cy-k, k*0.7, 2*k, th.Text, false)
		vector.FillRect(dst, cx+k*0.3, cy-k, k*0.7, 2*k, th.Text, false)
	} else { // play: a triangle
		var p vector.Path
		p.MoveTo(cx-k*0.7, cy-k)
		p.LineTo(cx+k, cy)
		p.LineTo(cx-k*0.7, cy+k)
		p.Close()
		vector.FillPath(dst, &p, nil, &vector.DrawPathOptions{AntiAlias: true, ColorScale: colorScale(th.Text)})
	}
	button(b.stop, false)
	cx, cy = float32(b.stop.Min.X+b.stop.Dx()/2), float32(b.stop.Min.Y+b.stop.Dy()/2)
	vector.FillRect(dst, cx-k*0.8, cy-k*0.8, 1.6*k, 1.6*k, th.Text, false)

	liveOn := t.live && t.follow
	button(b.live, liveOn)
	liveColour := th.TextDim
	if t.live {
		liveColour = th.Text
	}
	// The dot and the word are centred together, with a gap between them.
	liveMid := float64(b.live.Min.X+b.live.Dx()/2) + 0.5*s
	if liveOn {
		const dot, gap = 7.0, 5.0
		start := liveMid - (dot*s+gap*s+text.Advance("LIVE", f.Bold))/2
		vector.FillCircle(dst, float32(start+dot*s/2), float32(b.live.Min.Y+b.live.Dy()/2), float32(dot*s/2), th.Positive, true)
		drawTextMiddle(dst, "LIVE", f.Bold, start+dot*s+gap*s, b.live, liveColour, text.AlignStart)
	} else {
		drawTextMiddle(dst, "LIVE", f.Bold, liveMid, b.live, liveColour, text.AlignCenter)
	}

	// Slider: track, filled part, knob.
	ty := float32(b.slider.Min.Y + b.slider.Dy()/2)
	vector.FillRect(dst, float32(b.slider.Min.X), ty-float32(2*s), float32(b.slider.Dx()), float32(4*s), th.Border, false)
	if n > 0 {
		frac := float32(0)
		if n > 1 {
			frac = float32(t.index) / float32(n-1)
		}
		kx := float32(b.slider.Min.X) + frac*float32(b.slider.Dx())
		vector.FillRect(dst, float32(b.slider.Min.X), ty-float32(2*s), kx-float32(b.slider.Min.X), float32(4*s), th.Accent, false)
		vector.FillCircle(dst, kx, ty, float32(7*s), th.Text, true)
	}
	label := "no passes yet"
	if n > 0 {
		label = fmt.Sprintf("pass %d / %d   step %d   epoch %d", t.index+1, n, step, epoch)
	}
	drawText(dst, label, f.Mono, float64(b.label.X), float64(b.label.Y), th.TextDim, text.AlignStart)

	button(b.slower, false)
	button(b.faster, false)
	drawTextMiddle(dst, "−", f.Bold, float64(b.slower.Min.X+b.slower.Dx()/2), b.slower, th.Text, text.AlignCenter)
	drawTextMiddle(dst, "+", f.Bold, float64(b.faster.Min.X+b.faster.Dx()/2), b.faster, th.Text, text.AlignCenter)
	mid := (b.slower.Max.X + b.faster.Min.X) / 2
	drawTextMiddle(dst, fmt.Sprintf("delay %d ms", t.delay.Milliseconds()), f.Body, float64(mid), b.slower.Union(b.faster), th.TextDim, text.AlignCenter)
}

func colorScale(c interface{ RGBA() (r, g, b, a uint32) }) ebiten.ColorScale {
	var cs ebiten.ColorScale
	cs.ScaleWithColor(c)
	return cs
}

// barState is everything the timeline bar shows; it is drawn again only
// when it changes.
type barState struct {
	size                  image.Point
	index, n, step, epoch int
	playing, follow, live bool
	delay                 time.Duration
}

// drawTimeline lays out the bar for input and draws it from its cache.
func (g *Game) drawTimeline(screen *ebiten.Image) {
	r := g.barRect()
	g.bar = layoutBar(r, g.fonts.Scale)
	st := barState{size: r.Size(), index: g.tl.index, n: g.src.Len(), playing: g.tl.playing, follow: g.tl.follow, live: g.tl.live, delay: g.tl.delay}
	if g.pass != nil {
		st.step, st.epoch = g.pass.Step, g.pass.Epoch
	}
	if st != g.barState {
		g.barState = st
		g.barCache.invalidate()
	}
	g.barCache.draw(screen, r, g.renderTimeline)
}

func (g *Game) renderTimeline(dst *ebiten.Image) {
	st := &g.barState
	drawTimeline(dst, dst.Bounds(), &g.tl, st.n, st.step, st.epoch, g.theme, g.fonts)
}
