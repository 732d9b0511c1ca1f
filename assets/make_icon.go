//go:build ignore

// make_icon draws icon.png, the window and README icon: three layers of
// neurons joined by red and blue connections on the window's dark ground.
// Run it with "go run make_icon.go" in this folder after changing it.
package main

import (
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
)

const size = 256

func main() {
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	bg := color.RGBA{0x1d, 0x20, 0x27, 0xff}
	red := [3]float64{0xe0, 0x52, 0x4f}
	blue := [3]float64{0x4f, 0x8f, 0xe0}
	layers := [][]float64{{56, 100, 144, 188}, {78, 128, 178}, {104, 152}}
	xs := []float64{52, 128, 204}
	// A rounded square, anti-aliased by coverage along its edge.
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			if a := roundedCover(float64(x)+0.5, float64(y)+0.5); a > 0 {
				img.SetRGBA(x, y, scale(bg, a))
			}
		}
	}
	for k := 0; k+1 < len(layers); k++ {
		for i, y0 := range layers[k] {
			for j, y1 := range layers[k+1] {
				c := red
				if (i+j+k)%3 == 0 {
					c = blue
				}
				line(img, xs[k], y0, xs[k+1], y1, 3.2, c)
			}
		}
	}
	for k, ys := range layers {
		for _, y := range ys {
			disc(img, xs[k], y, 13, [3]float64{0xe6, 0xe8, 0xec})
		}
	}
	f, err := os.Create("icon.png")
	if err != nil {
		log.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

// roundedCover is how much of the pixel at (x, y) the rounded square covers.
func roundedCover(x, y float64) float64 {
	const r, m = 48.0, 4.0
	cx := math.Min(math.Max(x, m+r), size-m-r)
	cy := math.Min(math.Max(y, m+r), size-m-r)
	d := math.Hypot(x-cx, y-cy)
	return clamp(r - d + 0.5)
}

func clamp(v float64) float64 { return math.Min(math.Max(v, 0), 1) }

func scale(c color.RGBA, a float64) color.RGBA {
	return color.RGBA{uint8(float64(c.R) * a), uint8(float64(c.G) * a), uint8(float64(c.B) * a), uint8(255 * a)}
}

// blend paints colour c at coverage a over the pixel (premultiplied).
func blend(img *image.RGBA, x, y int, c [3]float64, a float64) {
	if a <= 0 || !(image.Pt(x, y).In(img.Rect)) {
		return
	}
	p := img.RGBAAt(x, y)
	if p.A == 0 {
		return // keep the corners clear
	}
	mixc := func(dst uint8, src float64) uint8 { return uint8(float64(dst)*(1-a) + src*a + 0.5) }
	img.SetRGBA(x, y, color.RGBA{mixc(p.R, c[0]), mixc(p.G, c[1]), mixc(p.B, c[2]), p.A})
}

func line(img *image.RGBA, x0, y0, x1, y1, w float64, c [3]float64) {
	dx, dy := x1-x0, y1-y0
	l2 := dx*dx + dy*dy
	for y := int(math.Min(y0, y1) - w); y <= int(math.Max(y0, y1)+w); y++ {
		for x := int(x0 - w); x <= int(x1+w); x++ {
			px, py := float64(x)+0.5, float64(y)+0.5
			t := math.Min(math.Max(((px-x0)*dx+(py-y0)*dy)/l2, 0), 1)
			d := math.Hypot(px-(x0+t*dx), py-(y0+t*dy))
			blend(img, x, y, c, 0.85*clamp(w/2-d+0.5))
		}
	}
}

func disc(img *image.RGBA, cx, cy, r float64, c [3]float64) {
	for y := int(cy - r - 1); y <= int(cy+r+1); y++ {
		for x := int(cx - r - 1); x <= int(cx+r+1); x++ {
			d := math.Hypot(float64(x)+0.5-cx, float64(y)+0.5-cy)
			blend(img, x, y, c, clamp(r-d+0.5))
		}
	}
}
