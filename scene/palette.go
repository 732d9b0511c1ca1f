package scene

// The colour scales of the view, in 0..1 channels. The Kage shaders paint
// with the same numbers (shaders/neurons.kage, shaders/edges.kage); the
// legend is drawn from these functions, and a test compares the two.
var (
	scaleBlue  = [3]float32{0.19, 0.42, 0.86}
	scaleWhite = [3]float32{0.9, 0.91, 0.93}
	scaleRed   = [3]float32{0.86, 0.24, 0.22}

	weightNegative = [3]float32{0.32, 0.55, 0.95}
	weightPositive = [3]float32{0.95, 0.33, 0.3}

	// The marks over unhealthy hidden neurons (FlagDead, FlagSaturated):
	// a dark cross through a dead one, a green ring inside a saturated one,
	// colours that the blue-white-red scale never takes.
	markDead      = [3]float32{0.08, 0.08, 0.1}
	markSaturated = [3]float32{0.3, 0.86, 0.5}
)

// Diverging is a neuron's colour for t in -1..1 (value over its layer's
// range; a probability is 0..1): blue through white to red.
func Diverging(t float32) (r, g, b float32) {
	t = min(max(t, -1), 1)
	end := scaleRed
	if t < 0 {
		end, t = scaleBlue, -t
	}
	return mixChannel(scaleWhite[0], end[0], t), mixChannel(scaleWhite[1], end[1], t), mixChannel(scaleWhite[2], end[2], t)
}

// WeightColour is a connection's colour and opacity at full strength for
// w in -1..1 (weight over its layer pair's scale): blue or red by sign,
// strong weights opaque and weak ones a faint haze.
func WeightColour(w float32) (r, g, b, a float32) {
	c := weightNegative
	if w > 0 {
		c = weightPositive
	}
	m := min(max(w, -w), 1)
	return c[0], c[1], c[2], 0.03 + 0.8*m*m
}

func mixChannel(a, b, t float32) float32 { return a + (b-a)*t }
