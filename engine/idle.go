package engine

import (
	"image"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/inpututil"
)

// An idle window costs next to nothing: once nothing that is drawn has
// changed for idleAfter, Draw leaves the screen as it is (Ebiten keeps it
// when it is not cleared every frame) and Update runs idleTPS times a
// second, which is still quick enough to wake on the first input.
const (
	idleAfter = 500 * time.Millisecond
	idleTPS   = 10
)

// frameKey is everything the picture depends on that can change while the
// window is open; two equal keys draw the same frame.
type frameKey struct {
	width, height   int
	cursor          image.Point
	index, shown, n int
	metrics         int
	hovered, pinned int
	zoom, panX      float32
	panY            float32
	playing, follow bool
	drag            bool
	delay           time.Duration
	hud             hudState
	banner          string
}

// idleWatch decides from one Update to the next whether the window is idle.
type idleWatch struct {
	last  frameKey
	since time.Time // when last was first seen
	idle  bool
	drawn bool // the frame that says "idle" is on the screen
}

func (g *Game) frameKey() frameKey {
	k := frameKey{
		width: g.width, height: g.height, index: g.tl.index, shown: g.shown, n: g.src.Len(),
		metrics: len(g.src.Metrics()), hovered: g.ptr.hovered, pinned: g.ptr.pinned,
		zoom: g.net.cam.Zoom, panX: g.net.cam.PanX, panY: g.net.cam.PanY,
		playing: g.tl.playing, follow: g.tl.follow, drag: g.tl.drag || g.ptr.dragging, delay: g.tl.delay,
		hud: g.hudNow(),
	}
	k.hud.fps, k.hud.idle = 0, false // the counter itself is not a change to draw
	k.cursor.X, k.cursor.Y = ebiten.CursorPosition()
	if err := g.runErr(); err != nil {
		k.banner = err.Error()
	}
	return k
}

// update notes this tick's state and switches the window in and out of
// idling. busy marks what the key does not show: a camera still easing, a
// pass being built, a key or button held, a modal run (recording,
// screenshot, benchmark, render) that must draw every frame.
func (w *idleWatch) update(g *Game, now time.Time, busy bool) {
	k := g.frameKey()
	busy = busy || g.net.building || g.rec.video != nil || g.opt.Shot != nil || g.bench != nil || g.opt.Render != nil ||
		len(inpututil.AppendPressedKeys(nil)) > 0 || anyMouseButton()
	if _, wy := ebiten.Wheel(); wy != 0 {
		busy = true
	}
	switch {
	case busy || k != w.last || w.since.IsZero():
		w.last, w.since = k, now
		if w.idle {
			w.idle, w.drawn = false, false
			ebiten.SetTPS(ebiten.DefaultTPS)
		}
	case !w.idle && now.Sub(w.since) >= idleAfter:
		w.idle = true
		ebiten.SetTPS(idleTPS)
	}
}

func anyMouseButton() bool {
	for _, b := range []ebiten.MouseButton{ebiten.MouseButtonLeft, ebiten.MouseButtonRight, ebiten.MouseButtonMiddle} {
		if ebiten.IsMouseButtonPressed(b) {
			return true
		}
	}
	return false
}
