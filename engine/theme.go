package engine

import "image/color"

// Theme is the palette of the window. It is a plain value so that every
// panel and the scene take their colours from one place, and a light theme
// or a colour-blind palette later is one more constructor, not an edit of
// every draw call.
type Theme struct {
	Background color.RGBA // behind everything
	Panel      color.RGBA // panel fill, a step lighter than Background
	Border     color.RGBA // 1px panel outlines and plot grids
	Text       color.RGBA // primary text
	TextDim    color.RGBA // labels, axes, secondary text
	Accent     color.RGBA // focus: the predicted class, the head's layers
	Positive   color.RGBA // positive values (red, as in the weight colours) and wrong predictions
	Negative   color.RGBA // negative values (blue)
	Good       color.RGBA // right predictions, rising accuracy
	Warning    color.RGBA // attention without alarm
	RunA, RunB color.RGBA // the two runs of a window of two, in titles and plots
}

// DarkTheme is the default palette: a dark, low-glare scheme like a modern
// IDE or game HUD, because mlpviz is watched for whole training runs and the
// red/blue weight colours read best on a near-black ground.
func DarkTheme() *Theme {
	return &Theme{
		Background: rgb(0x14161b),
		Panel:      rgb(0x1d2027),
		Border:     rgb(0x2c313a),
		Text:       rgb(0xd7dae0),
		TextDim:    rgb(0x8a8f98),
		Accent:     rgb(0x4fa3ff),
		Positive:   rgb(0xe0524f),
		Negative:   rgb(0x4f8fe0),
		Good:       rgb(0x5cc46e),
		Warning:    rgb(0xe5a93a),
		RunA:       rgb(0x4fa3ff),
		RunB:       rgb(0xe07bd6),
	}
}

// rgb makes an opaque colour from 0xRRGGBB, so the palette reads like the
// hex codes designers use.
func rgb(hex uint32) color.RGBA {
	return color.RGBA{R: uint8(hex >> 16), G: uint8(hex >> 8), B: uint8(hex), A: 0xff}
}

// mix blends a towards b by t (0: a, 1: b). Panels derive their tints (bar
// tracks, grid lines) from the theme this way instead of adding colours that
// a different theme would have to keep in step.
func mix(a, b color.RGBA, t float64) color.RGBA {
	t = min(max(t, 0), 1)
	l := func(x, y uint8) uint8 { return uint8(float64(x) + (float64(y)-float64(x))*t + 0.5) }
	return color.RGBA{R: l(a.R, b.R), G: l(a.G, b.G), B: l(a.B, b.B), A: l(a.A, b.A)}
}

// fade scales c's opacity by a (0..1). color.RGBA is alpha-premultiplied,
// so every channel is scaled, not only A.
func fade(c color.RGBA, a float64) color.RGBA {
	a = min(max(a, 0), 1)
	s := func(x uint8) uint8 { return uint8(float64(x)*a + 0.5) }
	return color.RGBA{R: s(c.R), G: s(c.G), B: s(c.B), A: s(c.A)}
}
