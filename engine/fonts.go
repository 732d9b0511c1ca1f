package engine

import (
	"bytes"
	"fmt"
	"math"
	"sync"

	"github.com/hajimehoshi/ebiten/v2/text/v2"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"
)

// Font sizes in logical pixels (before the device scale). Chosen to stay
// readable at 1280x800 without crowding the panels: body text at 13 px,
// axis labels and the architecture list at 11 px, numbers in a monospaced
// face at 12 px so that changing values do not jitter sideways.
const (
	bodySize  = 13
	smallSize = 11
	monoSize  = 12
)

// Fonts are the faces every panel draws with, already scaled for the
// display.
type Fonts struct {
	Body  *text.GoTextFace // labels and values
	Bold  *text.GoTextFace // panel titles, the prediction
	Small *text.GoTextFace // axes, class names, the module list
	Mono  *text.GoTextFace // numbers that change while training
	// Scale is the device scale factor the faces were made for; panels
	// multiply their paddings and line widths by it so that a HiDPI
	// window looks like a normal one, only sharper.
	Scale float64
}

// goSources holds the parsed Go fonts. They are parsed once per process:
// the glyph cache lives in the source, so Fonts made again for another
// scale (the window moved to a HiDPI monitor) share it.
var goSources = sync.OnceValues(func() (*fontSources, error) {
	var s fontSources
	for _, f := range []struct {
		dst  **text.GoTextFaceSource
		ttf  []byte
		name string
	}{
		{&s.regular, goregular.TTF, "Go Regular"},
		{&s.bold, gobold.TTF, "Go Bold"},
		{&s.mono, gomono.TTF, "Go Mono"},
	} {
		src, err := text.NewGoTextFaceSource(bytes.NewReader(f.ttf))
		if err != nil {
			return nil, fmt.Errorf("engine: parse font %s: %w", f.name, err)
		}
		*f.dst = src
	}
	return &s, nil
})

type fontSources struct{ regular, bold, mono *text.GoTextFaceSource }

// NewFonts makes the faces for a device scale factor (1 on a normal
// display, 2 on most HiDPI ones).
func NewFonts(scale float64) (*Fonts, error) {
	if !(scale > 0) || math.IsInf(scale, 0) {
		return nil, fmt.Errorf("engine: font scale %g is not a positive number", scale)
	}
	src, err := goSources()
	if err != nil {
		return nil, err
	}
	face := func(s *text.GoTextFaceSource, size float64) *text.GoTextFace {
		return &text.GoTextFace{Source: s, Size: size * scale}
	}
	return &Fonts{
		Body:  face(src.regular, bodySize),
		Bold:  face(src.bold, bodySize),
		Small: face(src.regular, smallSize),
		Mono:  face(src.mono, monoSize),
		Scale: scale,
	}, nil
}

// px converts a length in logical pixels to device pixels, rounded so that
// lines and boxes land on whole pixels and stay crisp.
func (f *Fonts) px(v float64) float64 { return math.Round(v * f.Scale) }

// lineHeight is the height of one line of face without extra leading.
func lineHeight(face *text.GoTextFace) float64 {
	m := face.Metrics()
	return math.Ceil(m.HAscent + m.HDescent)
}
