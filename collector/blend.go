package collector

// Blend returns the pass a fraction t of the way from a to b (0: a, 1: b):
// every float of the head, logits and probabilities interpolated linearly,
// so a rendered video glides between collections instead of jumping. Labels,
// image and counters come from the nearer pass. Arrays whose sizes differ
// are taken from the nearer pass unblended.
func Blend(a, b *Pass, t float32) *Pass {
	near := a
	if t >= 0.5 {
		near = b
	}
	out := *near
	out.Logits = lerp(a.Logits, b.Logits, t, near.Logits)
	out.Probs = lerp(a.Probs, b.Probs, t, near.Probs)
	out.Loss = a.Loss + (b.Loss-a.Loss)*t
	out.Accuracy = a.Accuracy + (b.Accuracy-a.Accuracy)*t
	if len(a.Layers) != len(b.Layers) {
		return &out
	}
	out.Layers = make([]LayerPass, len(a.Layers))
	for i := range a.Layers {
		x, y, n := &a.Layers[i], &b.Layers[i], &near.Layers[i]
		out.Layers[i] = LayerPass{
			Input:      lerp(x.Input, y.Input, t, n.Input),
			Output:     lerp(x.Output, y.Output, t, n.Output),
			Weight:     lerp(x.Weight, y.Weight, t, n.Weight),
			Bias:       lerp(x.Bias, y.Bias, t, n.Bias),
			GradWeight: lerp(x.GradWeight, y.GradWeight, t, n.GradWeight),
			GradBias:   lerp(x.GradBias, y.GradBias, t, n.GradBias),
		}
	}
	return &out
}

func lerp(a, b []float32, t float32, fallback []float32) []float32 {
	if len(a) != len(b) {
		return fallback
	}
	out := make([]float32, len(a))
	for i := range a {
		out[i] = a[i] + (b[i]-a[i])*t
	}
	return out
}
