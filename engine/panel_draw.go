package engine

import (
	"image"
	"image/color"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/text/v2"
	"github.com/hajimehoshi/ebiten/v2/vector"
)

// panelCache is the offscreen image a panel draws itself into. Text shaping
// and vector paths allocate and cost far more than one textured quad, and a
// panel's data changes a few times a second while the window redraws at 60
// fps, so each panel renders only when its data or size changed and every
// other frame is a single DrawImage that allocates nothing.
type panelCache struct {
	img     *ebiten.Image
	dirty   bool
	redraws int // renders so far; tests read it to prove that idle frames do not render
	op      ebiten.DrawImageOptions
}

// invalidate marks the cache stale; the next Draw renders again.
func (c *panelCache) invalidate() { c.dirty = true }

// prepare returns the cache image for a panel of size and whether it has to
// be rendered (it is then cleared). It returns nil for an empty size.
func (c *panelCache) prepare(size image.Point) (*ebiten.Image, bool) {
	if size.X <= 0 || size.Y <= 0 {
		return nil, false
	}
	if c.img == nil || c.img.Bounds().Size() != size {
		if c.img != nil {
			c.img.Deallocate()
		}
		c.img = ebiten.NewImage(size.X, size.Y)
		c.dirty = true
	}
	if !c.dirty {
		return c.img, false
	}
	c.img.Clear()
	c.dirty = false
	c.redraws++
	return c.img, true
}

// draw renders a panel with render when its cache is stale (new data or a
// new size), then copies the cache into r of dst.
func (c *panelCache) draw(dst *ebiten.Image, r image.Rectangle, render func(*ebiten.Image)) {
	img, redraw := c.prepare(r.Size())
	if img == nil {
		return
	}
	if redraw {
		saved := textOrigin
		textOrigin = textOrigin.Add(r.Min)
		render(img)
		textOrigin = saved
	}
	c.blit(dst, r.Min)
}

// textLog, when set (the layout tests set it), receives every text drawn:
// its box on the screen and the rectangle it is drawn into, which it must
// not cross. textOrigin is where the image being drawn on sits on the
// screen (a panel's cache is drawn at its rectangle).
var (
	textLog    func(s string, box, clip image.Rectangle)
	textOrigin image.Point
)

// blit draws the cached image at at. The options live in the cache so that
// taking their address does not allocate each frame.
func (c *panelCache) blit(dst *ebiten.Image, at image.Point) {
	c.op.GeoM.Reset()
	c.op.GeoM.Translate(float64(at.X), float64(at.Y))
	dst.DrawImage(c.img, &c.op)
}

// frameLayout splits a panel rectangle into its title row and its content,
// so DrawPanelFrame and panels that put a value beside the title (the plots)
// agree on where the title is. A short panel (under 120 logical pixels)
// gets tighter spacing, because there every pixel of the title row is one
// the content lacks.
func frameLayout(r image.Rectangle, hasTitle bool, f *Fonts) (title, content image.Rectangle) {
	pad, top, below, gap := f.px(10), f.px(8), f.px(6), f.px(6)
	if float64(r.Dy()) < f.px(120) {
		pad, top, below, gap = f.px(8), f.px(5), f.px(4), f.px(4)
	}
	p := int(pad)
	if hasTitle {
		h := int(top) + int(lineHeight(f.Bold)) + int(below)
		title = image.Rect(r.Min.X+p, r.Min.Y, r.Max.X-p, min(r.Min.Y+h, r.Max.Y))
		content = image.Rect(r.Min.X+p, title.Max.Y+int(gap), r.Max.X-p, r.Max.Y-p)
	} else {
		content = r.Inset(p)
	}
	if content.Dx() < 0 || content.Dy() < 0 {
		content = image.Rectangle{Min: content.Min, Max: content.Min}
	}
	return title, content
}

// DrawPanelFrame draws a panel's background, its 1px border with slightly
// rounded corners, and its title, and returns the rectangle left for the
// content. Panels call it on their cache; it is exported so that the rest of
// the window (the scene's overlays, dialogs) can share the same look.
func DrawPanelFrame(dst *ebiten.Image, r image.Rectangle, title string, th *Theme, f *Fonts) image.Rectangle {
	if r.Empty() {
		return image.Rectangle{}
	}
	bw := float32(max(1, f.px(1)))
	rad := float32(f.px(5))
	x, y, w, h := float32(r.Min.X), float32(r.Min.Y), float32(r.Dx()), float32(r.Dy())
	// The border is the outer rounded rectangle showing around an inner one:
	// two fills give an exact pixel-wide line, where a stroke would be
	// smeared over two pixels by anti-aliasing.
	fillRoundedRect(dst, x, y, w, h, rad, th.Border)
	fillRoundedRect(dst, x+bw, y+bw, w-2*bw, h-2*bw, max(rad-bw, 0), th.Panel)

	tr, content := frameLayout(r, title != "", f)
	if title != "" {
		drawTextMiddle(dst, fitText(title, f.Bold, float64(tr.Dx())), f.Bold, float64(tr.Min.X), tr, th.Text, text.AlignStart)
		// A hairline under the title separates it from the content the
		// way IDE tool windows do, without a heavier header bar.
		fillRect(dst, float64(r.Min.X)+float64(bw), float64(tr.Max.Y), float64(r.Dx())-2*float64(bw), float64(bw), mix(th.Panel, th.Border, 0.7))
	}
	return content
}

// fillRoundedRect fills a rectangle with corners of radius rad.
func fillRoundedRect(dst *ebiten.Image, x, y, w, h, rad float32, c color.RGBA) {
	if w <= 0 || h <= 0 {
		return
	}
	rad = min(rad, w/2, h/2)
	if rad <= 0 {
		vector.FillRect(dst, x, y, w, h, c, false)
		return
	}
	var p vector.Path
	p.MoveTo(x+rad, y)
	p.LineTo(x+w-rad, y)
	p.ArcTo(x+w, y, x+w, y+rad, rad)
	p.LineTo(x+w, y+h-rad)
	p.ArcTo(x+w, y+h, x+w-rad, y+h, rad)
	p.LineTo(x+rad, y+h)
	p.ArcTo(x, y+h, x, y+h-rad, rad)
	p.LineTo(x, y+rad)
	p.ArcTo(x, y, x+rad, y, rad)
	p.Close()
	op := &vector.DrawPathOptions{AntiAlias: true}
	op.ColorScale.ScaleWithColor(c)
	vector.FillPath(dst, &p, nil, op)
}

// fillRect fills an axis-aligned rectangle without anti-aliasing: panels
// snap their boxes to whole pixels, so the edges stay sharp.
func fillRect(dst *ebiten.Image, x, y, w, h float64, c color.RGBA) {
	if w <= 0 || h <= 0 {
		return
	}
	vector.FillRect(dst, float32(x), float32(y), float32(w), float32(h), c, false)
}

// drawText draws s with its line box's top at y; align says whether x is
// the left end, the centre or the right end of the text. Positions are
// rounded so that glyphs land on whole pixels and stay crisp.
func drawText(dst *ebiten.Image, s string, face *text.GoTextFace, x, y float64, c color.RGBA, align text.Align) {
	if s == "" {
		return
	}
	if textLog != nil {
		w := text.Advance(s, face)
		left := x
		switch align {
		case text.AlignCenter:
			left -= w / 2
		case text.AlignEnd:
			left -= w
		}
		box := image.Rect(int(math.Round(left)), int(math.Round(y)), int(math.Round(left+w)), int(math.Round(y+lineHeight(face))))
		textLog(s, box.Add(textOrigin), dst.Bounds().Add(textOrigin))
	}
	op := &text.DrawOptions{}
	op.GeoM.Translate(math.Round(x), math.Round(y))
	op.ColorScale.ScaleWithColor(c)
	op.PrimaryAlign = align
	text.Draw(dst, s, face, op)
}

// drawTextMiddle draws s centred vertically in row.
func drawTextMiddle(dst *ebiten.Image, s string, face *text.GoTextFace, x float64, row image.Rectangle, c color.RGBA, align text.Align) {
	y := float64(row.Min.Y) + (float64(row.Dy())-lineHeight(face))/2
	drawText(dst, s, face, x, y, c, align)
}

// ellipsis is what fitText puts where it cut a text.
const ellipsis = "…"

// fitText returns s, or the longest prefix of s followed by an ellipsis,
// whichever is the longest that is at most maxW pixels wide in face, so a
// long class or module name never runs over its column.
func fitText(s string, face *text.GoTextFace, maxW float64) string {
	if s == "" || text.Advance(s, face) <= maxW {
		return s
	}
	if text.Advance(ellipsis, face) > maxW {
		return ""
	}
	// Binary search over rune boundaries for the longest prefix that fits.
	lo, hi := 0, utf8.RuneCountInString(s)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if text.Advance(prefixRunes(s, mid)+ellipsis, face) <= maxW {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return prefixRunes(s, lo) + ellipsis
}

// wrapText breaks s at spaces into lines at most maxW pixels wide in face,
// at most maxLines of them; the last one is cut with an ellipsis if the
// text goes on, and a word wider than a line is cut the same way.
func wrapText(s string, face *text.GoTextFace, maxW float64, maxLines int) []string {
	var lines []string
	words := strings.Fields(s)
	for len(words) > 0 && len(lines) < maxLines {
		line := words[0]
		n := 1
		for ; n < len(words); n++ {
			next := line + " " + words[n]
			if text.Advance(next, face) > maxW {
				break
			}
			line = next
		}
		words = words[n:]
		if len(lines) == maxLines-1 && len(words) > 0 {
			line = fitText(line+" "+strings.Join(words, " "), face, maxW)
		}
		lines = append(lines, fitText(line, face, maxW))
	}
	return lines
}

// prefixRunes is the first n runes of s.
func prefixRunes(s string, n int) string {
	i := 0
	for n > 0 && i < len(s) {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n--
	}
	return s[:i]
}

// sameFloats reports whether a and b hold the same values bit for bit, so
// that NaN equals NaN and an unchanged series is recognised as unchanged.
func sameFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
