package engine

import (
	"image"
	"math"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/inpututil"
)

// pointer is what the mouse is doing to the view: the neuron under it, the
// one a click pinned, and a drag that pans the camera.
type pointer struct {
	hovered, pinned int // neuron ids, or -1
	dragFrom        image.Point
	dragging        bool // the press moved far enough to be a pan, not a click
	pressedInView   bool
}

// handleMouse routes the mouse: wheel zoom over the view, the timeline's
// buttons and slider, the input panel's probe thumbnails, the side bar's
// tabs, and in the view a click that pins a neuron or a drag that pans.
func (g *Game) handleMouse(now time.Time, n int) {
	mx, my := ebiten.CursorPosition()
	pt := image.Pt(mx, my)
	inView := pt.In(g.viewRect())
	vx, vy := g.viewPoint(mx, my) // over B's half of a window of two: the same place over A's
	if _, wy := ebiten.Wheel(); wy != 0 && inView {
		g.net.cam.ZoomAt(vx, vy, float32(math.Pow(1.15, wy)))
	}
	left := ebiten.MouseButtonLeft
	if inpututil.IsMouseButtonJustPressed(left) {
		switch {
		case pt.In(g.bar.play):
			g.tl.togglePlay(now)
		case pt.In(g.bar.stop):
			g.tl.stop()
		case pt.In(g.bar.live):
			g.tl.follow = g.tl.live
		case pt.In(g.bar.slower):
			g.tl.changeDelay(-delayStep)
		case pt.In(g.bar.faster):
			g.tl.changeDelay(delayStep)
		case pt.In(g.bar.slider.Inset(-6)):
			g.tl.drag = true
		case g.clickProbe(pt):
		case g.side.click(pt):
		case g.clickModeBar(pt):
		case inView:
			g.ptr.pressedInView, g.ptr.dragging, g.ptr.dragFrom = true, false, pt
		}
	}
	if ebiten.IsMouseButtonPressed(left) {
		if g.tl.drag {
			g.tl.setIndex(g.bar.sliderIndex(mx, n), n)
		}
		if g.ptr.pressedInView {
			d := pt.Sub(g.ptr.dragFrom)
			if g.ptr.dragging || d.X*d.X+d.Y*d.Y > 9 {
				g.ptr.dragging = true
				g.net.cam.PanBy(float32(d.X), float32(d.Y))
				g.ptr.dragFrom = pt
			}
		}
	}
	if inpututil.IsMouseButtonJustReleased(left) {
		if g.ptr.pressedInView && !g.ptr.dragging {
			// A click pins the neuron under the cursor, or unpins.
			if id := g.net.hover(vx, vy); id >= 0 && id != g.ptr.pinned {
				g.ptr.pinned = id
			} else {
				g.ptr.pinned = -1
			}
		}
		g.tl.drag, g.ptr.pressedInView, g.ptr.dragging = false, false, false
	}
	if !g.ptr.dragging {
		g.ptr.hovered = g.net.hover(vx, vy)
	}
}

// clickProbe shows the probe whose thumbnail is under pt, and reports
// whether there was one.
func (g *Game) clickProbe(pt image.Point) bool {
	j := g.side.probeAt(pt)
	if j < 0 {
		return false
	}
	g.chooseProbe(j)
	return true
}
