package collector

// Blend returns the pass a fraction t of the way from a to b (0: a, 1: b):
// every float of the head, logits and probabilities interpolated linearly,
// so a rendered video glides between collections instead of jumping. Labels,
// image and counters come from the nearer pass. Arrays whose sizes differ
// are taken from the nearer pass unblended. The probe set blends probe by
// probe as the pass's own probe does, and the neuron health value by value
// (a neuron dead, or saturated, in both passes stays so); a probe set or
// health of another size in the other pass is taken from the nearer.
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
	out.Layers = each(a.Layers, b.Layers, near.Layers, func(x, y, n *LayerPass) LayerPass {
		return LayerPass{
			Input:      lerp(x.Input, y.Input, t, n.Input),
			Output:     lerp(x.Output, y.Output, t, n.Output),
			Weight:     lerp(x.Weight, y.Weight, t, n.Weight),
			Bias:       lerp(x.Bias, y.Bias, t, n.Bias),
			GradWeight: lerp(x.GradWeight, y.GradWeight, t, n.GradWeight),
			GradBias:   lerp(x.GradBias, y.GradBias, t, n.GradBias),
		}
	})
	out.Probes = each(a.Probes, b.Probes, near.Probes, func(x, y, n *Probe) Probe {
		pr := *n
		pr.Logits = lerp(x.Logits, y.Logits, t, n.Logits)
		pr.Probs = lerp(x.Probs, y.Probs, t, n.Probs)
		pr.Layers = each(x.Layers, y.Layers, n.Layers, func(u, v, m *ProbeLayer) ProbeLayer {
			return ProbeLayer{Input: lerp(u.Input, v.Input, t, m.Input), Output: lerp(u.Output, v.Output, t, m.Output)}
		})
		return pr
	})
	out.Health = each(a.Health, b.Health, near.Health, func(x, y, n *LayerHealth) LayerHealth {
		return LayerHealth{
			Mean:   lerp(x.Mean, y.Mean, t, n.Mean),
			Active: lerp(x.Active, y.Active, t, n.Active),
			Std:    lerp(x.Std, y.Std, t, n.Std),
		}
	})
	return &out
}

// each blends a and b element by element with f, given each element of
// the nearer pass too; it returns near itself when their lengths differ,
// or when there is nothing to blend.
func each[T any](a, b, near []T, f func(x, y, n *T) T) []T {
	if len(a) != len(b) || len(a) == 0 {
		return near
	}
	out := make([]T, len(a))
	for i := range a {
		out[i] = f(&a[i], &b[i], &near[i])
	}
	return out
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
