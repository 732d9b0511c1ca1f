package scene

import "math"

// Camera maps world to screen: screen = world·Zoom + Pan. It eases towards a
// target so that wheel steps and "fit" glide instead of jumping.
type Camera struct {
	Zoom, PanX, PanY       float32 // what is drawn this frame
	toZoom, toPanX, toPanY float32 // where it is going
	MinZoom, MaxZoom       float32
	fitZoom                float32 // the zoom of the last Fit: lines are drawn relative to it
	// PixelScale is device pixels per logical pixel (HiDPI): line widths
	// and the smallest neuron size are in logical pixels.
	PixelScale float32
}

// NewCamera returns a camera at zoom 1 with no pan.
func NewCamera() *Camera {
	return &Camera{Zoom: 1, toZoom: 1, MinZoom: 0.02, MaxZoom: 40, PixelScale: 1}
}

// ToScreen maps a world point to the screen.
func (c *Camera) ToScreen(x, y float32) (float32, float32) {
	return x*c.Zoom + c.PanX, y*c.Zoom + c.PanY
}

// ToWorld maps a screen point to the world.
func (c *Camera) ToWorld(x, y float32) (float32, float32) {
	return (x - c.PanX) / c.Zoom, (y - c.PanY) / c.Zoom
}

// Fit aims the camera so that world rectangle w fills screen rectangle s
// with a margin; now skips the easing.
func (c *Camera) Fit(w, s Rect, now bool) {
	const margin = 0.92
	ww, wh := w.MaxX-w.MinX, w.MaxY-w.MinY
	sw, sh := s.MaxX-s.MinX, s.MaxY-s.MinY
	if ww <= 0 || wh <= 0 || sw <= 0 || sh <= 0 {
		return
	}
	z := clamp(min(sw/ww, sh/wh)*margin, c.MinZoom, c.MaxZoom)
	c.toZoom, c.fitZoom = z, z
	c.toPanX = (s.MinX+s.MaxX)/2 - (w.MinX+w.MaxX)/2*z
	c.toPanY = (s.MinY+s.MaxY)/2 - (w.MinY+w.MaxY)/2*z
	if now {
		c.Zoom, c.PanX, c.PanY = c.toZoom, c.toPanX, c.toPanY
	}
}

// ZoomAt multiplies the target zoom by factor, keeping the world point under
// screen point (sx, sy) where it is.
func (c *Camera) ZoomAt(sx, sy, factor float32) {
	wx, wy := (sx-c.toPanX)/c.toZoom, (sy-c.toPanY)/c.toZoom
	c.toZoom = clamp(c.toZoom*factor, c.MinZoom, c.MaxZoom)
	c.toPanX = sx - wx*c.toZoom
	c.toPanY = sy - wy*c.toZoom
}

// Target is where the camera is going: the zoom and pan it eases to.
func (c *Camera) Target() (zoom, panX, panY float32) { return c.toZoom, c.toPanX, c.toPanY }

// Settle jumps to the target at once, skipping the easing.
func (c *Camera) Settle() { c.Zoom, c.PanX, c.PanY = c.toZoom, c.toPanX, c.toPanY }

// PanBy moves the view by (dx, dy) screen pixels at once (dragging follows
// the hand exactly, without easing).
func (c *Camera) PanBy(dx, dy float32) {
	c.toPanX += dx
	c.toPanY += dy
	c.PanX += dx
	c.PanY += dy
}

// Step eases the camera towards its target over dt seconds and reports
// whether it moved.
func (c *Camera) Step(dt float32) bool {
	k := float32(1 - math.Exp(-float64(dt)*14))
	moved := false
	ease := func(v *float32, to float32, eps float32) {
		if d := to - *v; d > eps || d < -eps {
			*v += d * k
			moved = true
		} else {
			*v = to
		}
	}
	// Ease the zoom in log space so zooming in and out feel the same.
	lz, lt := float32(math.Log(float64(c.Zoom))), float32(math.Log(float64(c.toZoom)))
	ease(&lz, lt, 1e-4)
	c.Zoom = float32(math.Exp(float64(lz)))
	ease(&c.PanX, c.toPanX, 0.05)
	ease(&c.PanY, c.toPanY, 0.05)
	return moved
}

func clamp(v, lo, hi float32) float32 { return max(lo, min(hi, v)) }
