package kernels

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkElementwise runs each kernel on one thread at the trainer's sizes
// (a 64-image batch of 64 channels of 28×28, cnn_large's BatchNorm1d and
// dropout, 5.8M parameters) at every level; the bytes are those each call
// must read and write.
func BenchmarkElementwise(b *testing.B) {
	const (
		n, c, h, w = 64, 64, 28, 28
		conv       = n * c * h * w // one conv layer's activations
		params     = 5_800_000
		mlpN, mlpC = 64, 128          // cnn_large's BatchNorm1d(128)
		drop       = 64 * 128 * 7 * 7 // cnn_large's dropout before its first Linear
	)
	rng := rand.New(rand.NewPCG(1, 1))
	x, dy := benchFloats(rng, conv), benchFloats(rng, conv)
	y, y2 := make([]float32, conv), make([]float32, conv)
	arg := make([]int32, conv/4)
	mean, inv, gamma, beta := benchFloats(rng, mlpC), benchFloats(rng, mlpC), benchFloats(rng, mlpC), benchFloats(rng, mlpC)
	s1, s2 := make([]float32, mlpC), make([]float32, mlpC)
	MaxPool(x, h, w, 2, 0, n*c, y[:conv/4], arg)

	type bench struct {
		name  string
		bytes int
		f     func()
	}
	benches := []bench{
		{"relu", 8 * conv, func() { Relu(x, y) }},
		{"reluBackward", 12 * conv, func() { ReluBackward(x, dy, y) }},
		{"maxPool", 6 * conv, func() { MaxPool(x, h, w, 2, 0, n*c, y, arg) }},
		{"maxPoolBackward", 6 * conv, func() { MaxPoolBackward(dy[:conv/4], arg, h, w, 2, 0, n*c, y) }},
		{"normStats2d", 4 * conv, func() { NormStats(x, n, c, h*w, 0, c, mean, inv) }},
		{"normApply2d", 12 * conv, func() { NormApply(x, y, y2, n, c, h*w, 0, c, mean, inv, gamma, beta) }},
		{"normBackwardSums2d", 8 * conv, func() { NormBackwardSums(dy, x, n, c, h*w, 0, c, s1, s2) }},
		{"normBackwardApply2d", 12 * conv, func() { NormBackwardApply(dy, x, y, n, c, h*w, 0, c, gamma, inv, s1, s2) }},
		{"normStats1d", 4 * mlpN * mlpC, func() { NormStats(x, mlpN, mlpC, 1, 0, mlpC, mean, inv) }},
		{"normApply1d", 12 * mlpN * mlpC, func() { NormApply(x, y, y2, mlpN, mlpC, 1, 0, mlpC, mean, inv, gamma, beta) }},
		{"normBackwardSums1d", 8 * mlpN * mlpC, func() { NormBackwardSums(dy, x, mlpN, mlpC, 1, 0, mlpC, s1, s2) }},
		{"normBackwardApply1d", 12 * mlpN * mlpC, func() {
			NormBackwardApply(dy, x, y, mlpN, mlpC, 1, 0, mlpC, gamma, inv, s1, s2)
		}},
		{"dropout", 12 * drop, func() { Dropout(x[:drop], y, y2, 0.5, 7, 0) }},
		{"dropoutBackward", 12 * drop, func() { DropoutBackward(dy[:drop], x, y) }},
	}
	for _, bc := range benches {
		b.Run(bc.name, func(b *testing.B) {
			for _, l := range levels() {
				b.Run(l, func(b *testing.B) {
					useLevel(b, l)
					b.SetBytes(int64(bc.bytes))
					for b.Loop() {
						bc.f()
					}
				})
			}
		})
	}

	b.Run("adamW", func(b *testing.B) {
		pw, pg := benchFloats(rng, params), benchFloats(rng, params)
		pm, pv := make([]float32, params), make([]float32, params)
		hp := AdamWHyper{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}
		for _, l := range levels() {
			b.Run(l, func(b *testing.B) {
				useLevel(b, l)
				b.SetBytes(28 * params) // reads w, g, m, v; writes w, m, v
				for b.Loop() {
					AdamW(hp, 10, pw, pg, pm, pv)
				}
			})
		}
	})

	// The softmax has only a Go version (see SoftmaxCrossEntropy).
	b.Run("softmax/go", func(b *testing.B) {
		const rows, classes = 64, 10
		logits, probs, dl := benchFloats(rng, rows*classes), make([]float32, rows*classes), make([]float32, rows*classes)
		labels := make([]int32, rows)
		for i := range labels {
			labels[i] = int32(rng.IntN(classes))
		}
		b.SetBytes(12 * rows * classes)
		for b.Loop() {
			SoftmaxCrossEntropy(logits, labels, classes, 0, rows, rows, probs, dl)
		}
	})
}

// benchFloats is n normal values: no NaNs or subnormals to take slow paths.
func benchFloats(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}
