package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// forLevels runs f as a subtest at every level.
func forLevels(t *testing.T, f func(t *testing.T)) {
	for _, l := range levels() {
		t.Run(l, func(t *testing.T) {
			useLevel(t, l)
			f(t)
		})
	}
}

var ewLengths = []int{0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 1000, 1031}

const canary = 12345.678

// guarded is n values at a random offset inside a larger buffer of
// canaries; intact reports whether the canaries around them survived.
type guarded struct {
	buf    []float32
	lo, hi int
}

func newGuarded(rng *rand.Rand, n int) guarded {
	lo := rng.IntN(8)
	buf := make([]float32, lo+n+8+rng.IntN(8))
	for i := range buf {
		buf[i] = canary
	}
	return guarded{buf, lo, lo + n}
}

func (g guarded) s() []float32 { return g.buf[g.lo:g.hi:g.hi] }

func (g guarded) intact(t *testing.T, what string) {
	t.Helper()
	for i, v := range g.buf {
		if (i < g.lo || i >= g.hi) && v != canary {
			t.Fatalf("%s: value %d outside the slice [%d, %d) overwritten: %v", what, i, g.lo, g.hi, v)
		}
	}
}

// specials are values whose handling tests look for.
var specials = []float32{
	0, float32(math.Copysign(0, -1)), 1, -1, float32(math.Inf(1)), float32(math.Inf(-1)),
	float32(math.NaN()), -float32(math.NaN()), math.Float32frombits(0x7fa00001), // a signalling NaN
	math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, math.MaxFloat32, -math.MaxFloat32,
}

// ewRandom is n normal values with one in eight a special.
func ewRandom(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		if rng.IntN(8) == 0 {
			s[i] = specials[rng.IntN(len(specials))]
		} else {
			s[i] = float32(rng.NormFloat64())
		}
	}
	return s
}

func isNaN(v float32) bool { return v != v }

// sameBits: equal bits, or both NaN where nanAny.
func sameBits(a, b float32, nanAny bool) bool {
	return math.Float32bits(a) == math.Float32bits(b) || nanAny && isNaN(a) && isNaN(b)
}

func checkSame(t *testing.T, what string, got, want []float32, nanAny bool) {
	t.Helper()
	for i := range want {
		if !sameBits(got[i], want[i], nanAny) {
			t.Fatalf("%s: [%d] = %v (%#x), want %v (%#x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

func TestRelu(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, n := range ewLengths {
			x := ewRandom(rng, n)
			want := make([]float32, n)
			for i, v := range x {
				want[i] = max(v, 0) // cpu.go's ReLU
			}
			y := newGuarded(rng, n)
			Relu(x, y.s())
			// Go's max may flip a NaN's sign; a NaN is all that is promised.
			checkSame(t, fmt.Sprint("n=", n), y.s(), want, true)
			y.intact(t, fmt.Sprint("n=", n))
			Relu(y.s(), y.s()) // in place: relu is idempotent
			checkSame(t, fmt.Sprint("in place n=", n), y.s(), want, true)
		}
	})
}

func TestReluBackward(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, n := range ewLengths {
			y, dy := ewRandom(rng, n), ewRandom(rng, n)
			want := make([]float32, n)
			for i, v := range y {
				if v > 0 {
					want[i] = dy[i]
				}
			}
			dx := newGuarded(rng, n)
			ReluBackward(y, dy, dx.s())
			checkSame(t, fmt.Sprint("n=", n), dx.s(), want, false)
			dx.intact(t, fmt.Sprint("n=", n))
			ReluBackward(y, dy, dy) // in place
			checkSame(t, fmt.Sprint("in place n=", n), dy, want, false)
		}
	})
}

type poolCase struct{ planes, h, w, size int }

func poolCases() []poolCase {
	var cs []poolCase
	for _, hw := range [][2]int{{2, 2}, {2, 3}, {3, 2}, {4, 4}, {5, 7}, {6, 32}, {6, 33}, {4, 34}, {28, 28}, {29, 29}, {14, 14}, {7, 7}, {8, 64}, {3, 66}, {1, 1}} {
		for _, size := range []int{2, 3, 1} {
			cs = append(cs, poolCase{5, hw[0], hw[1], size})
		}
	}
	return cs
}

// poolInput is a plane stack with many ties (values on a coarse grid) and
// some NaNs and infinities.
func poolInput(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		switch r := rng.IntN(40); {
		case r == 0:
			x[i] = float32(math.NaN())
		case r == 1:
			x[i] = float32(math.Inf(-1))
		case r == 2:
			x[i] = float32(math.Inf(1))
		case r == 3:
			x[i] = float32(math.Copysign(0, -1))
		default:
			x[i] = float32(rng.IntN(5) - 2)
		}
	}
	return x
}

func TestMaxPool(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, c := range poolCases() {
			oh, ow := c.h/c.size, c.w/c.size
			o := oh * ow
			x := poolInput(rng, c.planes*c.h*c.w)
			wantY, wantArg := make([]float32, c.planes*o), make([]int32, c.planes*o)
			maxPoolGo(x, c.h, c.w, c.size, 0, c.planes, wantY, wantArg)
			for _, r := range [][2]int{{0, c.planes}, {1, 3}, {4, 5}, {2, 2}} {
				name := fmt.Sprintf("%+v planes [%d,%d)", c, r[0], r[1])
				y := make([]float32, c.planes*o)
				arg := make([]int32, c.planes*o)
				for i := range y {
					y[i], arg[i] = canary, -7
				}
				MaxPool(x, c.h, c.w, c.size, r[0], r[1], y, arg)
				for i := range y {
					in := i >= r[0]*o && i < r[1]*o
					switch {
					case !in && (y[i] != canary || arg[i] != -7):
						t.Fatalf("%s: output %d outside the planes written", name, i)
					case in && (!sameBits(y[i], wantY[i], false) || arg[i] != wantArg[i]):
						t.Fatalf("%s: output %d = %v at %d, want %v at %d", name, i, y[i], arg[i], wantY[i], wantArg[i])
					}
				}
			}
		}
	})
}

func TestMaxPoolBackward(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		for _, c := range poolCases() {
			oh, ow := c.h/c.size, c.w/c.size
			o, hw := oh*ow, c.h*c.w
			x := poolInput(rng, c.planes*hw)
			y, arg := make([]float32, c.planes*o), make([]int32, c.planes*o)
			maxPoolGo(x, c.h, c.w, c.size, 0, c.planes, y, arg)
			dy := ewRandom(rng, c.planes*o)
			for _, r := range [][2]int{{0, c.planes}, {1, 3}, {4, 5}, {2, 2}} {
				name := fmt.Sprintf("%+v planes [%d,%d)", c, r[0], r[1])
				want := make([]float32, c.planes*hw)
				for i := range want {
					want[i] = canary
				}
				maxPoolBackwardGo(dy[r[0]*o:r[1]*o], arg[r[0]*o:r[1]*o], r[0]*hw, want[r[0]*hw:r[1]*hw])
				dx := ewRandom(rng, c.planes*hw) // garbage that must be cleared
				for i := range dx {
					if i < r[0]*hw || i >= r[1]*hw {
						dx[i] = canary
					}
				}
				MaxPoolBackward(dy, arg, c.h, c.w, c.size, r[0], r[1], dx)
				checkSame(t, name, dx, want, false)
			}
		}
	})
}

// TestMaxPoolMatchesDefinition checks the reference itself on a case worked
// by hand: the first maximum wins ties, a NaN first in its window wins, a
// NaN later never does.
func TestMaxPoolMatchesDefinition(t *testing.T) {
	nan := float32(math.NaN())
	x := []float32{
		1, 1, 2, nan, nan, 0,
		0, 1, 2, 3, 5, 5,
	}
	forLevels(t, func(t *testing.T) {
		y, arg := make([]float32, 3), make([]int32, 3)
		MaxPool(x, 2, 6, 2, 0, 1, y, arg)
		if y[0] != 1 || arg[0] != 0 || y[1] != 3 || arg[1] != 9 || !isNaN(y[2]) || arg[2] != 4 {
			t.Fatalf("got %v %v", y, arg)
		}
	})
}

type normCase struct{ n, c, s int }

var normCases = []normCase{
	{1, 1, 1}, {3, 5, 1}, {2, 8, 1}, {64, 17, 1}, {5, 70, 1}, {64, 100, 1}, {7, 200, 1},
	{2, 3, 2}, {2, 3, 7}, {4, 3, 15}, {4, 3, 16}, {4, 3, 17}, {3, 2, 33}, {8, 6, 196}, {3, 2, 1000}, {1, 2, 49},
	{2, 12, 17}, {2, 70, 3},
}

// normRanges are channel ranges to test a case on.
func normRanges(c int) [][2]int {
	return [][2]int{{0, c}, {c / 3, c}, {0, (c + 1) / 2}, {c - 1, c}}
}

// normInput has per-channel means up to 1e4 and spreads down to 0.002.
func normInput(rng *rand.Rand, nc normCase) []float32 {
	x := make([]float32, nc.n*nc.c*nc.s)
	mu, sd := make([]float64, nc.c), make([]float64, nc.c)
	for ch := range mu {
		// The last: a spread near float32's resolution at the mean, where
		// summing x and x² in one pass loses everything.
		mu[ch] = []float64{0, 1, -3, 1000, 250, 1e4}[ch%6]
		sd[ch] = []float64{1, 0.01, 2, 0.5, 0.1, 2e-3}[ch%6] * (1 + rng.Float64())
	}
	for i := range x {
		ch := i / nc.s % nc.c
		x[i] = float32(mu[ch] + sd[ch]*rng.NormFloat64())
	}
	return x
}

// normChannel lists channel ch's flat indices.
func normChannel(nc normCase, ch int) []int {
	var idx []int
	for i := range nc.n {
		for j := range nc.s {
			idx = append(idx, (i*nc.c+ch)*nc.s+j)
		}
	}
	return idx
}

func TestNormStats(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	inputs := make([][]float32, len(normCases))
	for i, nc := range normCases {
		inputs[i] = normInput(rng, nc)
	}
	results := map[string][][]float32{} // level -> case -> means then variances
	forLevels(t, func(t *testing.T) {
		level := Level()
		for ci, nc := range normCases {
			x := inputs[ci]
			for ri, r := range normRanges(nc.c) {
				name := fmt.Sprintf("%+v channels [%d,%d)", nc, r[0], r[1])
				mean, variance := make([]float32, nc.c), make([]float32, nc.c)
				for i := range mean {
					mean[i], variance[i] = canary, canary
				}
				NormStats(x, nc.n, nc.c, nc.s, r[0], r[1], mean, variance)
				for ch := range nc.c {
					if ch < r[0] || ch >= r[1] {
						if mean[ch] != canary || variance[ch] != canary {
							t.Fatalf("%s: channel %d written", name, ch)
						}
						continue
					}
					// Two passes in float64.
					idx := normChannel(nc, ch)
					var mu, v float64
					for _, i := range idx {
						mu += float64(x[i])
					}
					mu /= float64(len(idx))
					for _, i := range idx {
						d := float64(x[i]) - mu
						v += d * d
					}
					v /= float64(len(idx))
					if math.Abs(float64(mean[ch])-mu) > 1e-5*max(math.Abs(mu), math.Sqrt(v)) ||
						math.Abs(float64(variance[ch])-v) > 1e-5*v+1e-30 {
						t.Fatalf("%s: channel %d: mean %v variance %v, want %v %v", name, ch, mean[ch], variance[ch], mu, v)
					}
				}
				if ri == 0 { // the whole range
					results[level] = append(results[level], slices.Concat(mean, variance))
				} else {
					// The same bits however the channels are split.
					full := results[level][ci]
					for ch := r[0]; ch < r[1]; ch++ {
						if mean[ch] != full[ch] || variance[ch] != full[nc.c+ch] {
							t.Fatalf("%s: channel %d differs from the whole range's", name, ch)
						}
					}
				}
			}
		}
	})
	// With s = 1 every level sums in the same order.
	for l, res := range results {
		for ci, nc := range normCases {
			if nc.s == 1 && !slices.Equal(res[ci], results["go"][ci]) {
				t.Errorf("%s: %+v: s = 1 statistics differ from the reference's", l, nc)
			}
		}
	}
}

// normApplyWant is NormApply for one value, as cpu.go's BatchNorm.
func normApplyWant(x, mean, inv, gamma, beta float32) (y, xh float32) {
	xh = (x - mean) * inv
	return float32(gamma*xh) + beta, xh
}

func TestNormApply(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	forLevels(t, func(t *testing.T) {
		for _, nc := range normCases {
			x := normInput(rng, nc)
			mean, inv, gamma, beta := ewRandom(rng, nc.c), ewRandom(rng, nc.c), ewRandom(rng, nc.c), ewRandom(rng, nc.c)
			for _, r := range normRanges(nc.c) {
				for _, withXhat := range []bool{true, false} {
					name := fmt.Sprintf("%+v channels [%d,%d) xhat %v", nc, r[0], r[1], withXhat)
					y, xhat := make([]float32, len(x)), []float32(nil)
					for i := range y {
						y[i] = canary
					}
					if withXhat {
						xhat = slices.Clone(y)
					}
					NormApply(x, y, xhat, nc.n, nc.c, nc.s, r[0], r[1], mean, inv, gamma, beta)
					for i := range x {
						ch := i / nc.s % nc.c
						wy, wxh := normApplyWant(x[i], mean[ch], inv[ch], gamma[ch], beta[ch])
						if ch < r[0] || ch >= r[1] {
							wy, wxh = canary, canary
						}
						if !sameBits(y[i], wy, true) || withXhat && !sameBits(xhat[i], wxh, true) {
							t.Fatalf("%s: value %d (channel %d)", name, i, ch)
						}
					}
				}
			}
			// In place.
			want := make([]float32, len(x))
			for i := range x {
				ch := i / nc.s % nc.c
				want[i], _ = normApplyWant(x[i], mean[ch], inv[ch], gamma[ch], beta[ch])
			}
			NormApply(x, x, nil, nc.n, nc.c, nc.s, 0, nc.c, mean, inv, gamma, beta)
			checkSame(t, fmt.Sprintf("%+v in place", nc), x, want, true)
		}
	})
}

func TestNormBackwardSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	type input struct{ dy, xhat []float32 }
	inputs := make([]input, len(normCases))
	for i, nc := range normCases {
		inputs[i] = input{normInput(rng, nc), normInput(rng, nc)}
	}
	results := map[string][][]float32{}
	forLevels(t, func(t *testing.T) {
		level := Level()
		for ci, nc := range normCases {
			dy, xhat := inputs[ci].dy, inputs[ci].xhat
			for ri, r := range normRanges(nc.c) {
				name := fmt.Sprintf("%+v channels [%d,%d)", nc, r[0], r[1])
				s1, s2 := make([]float32, nc.c), make([]float32, nc.c)
				for i := range s1 {
					s1[i], s2[i] = canary, canary
				}
				NormBackwardSums(dy, xhat, nc.n, nc.c, nc.s, r[0], r[1], s1, s2)
				for ch := range nc.c {
					if ch < r[0] || ch >= r[1] {
						if s1[ch] != canary || s2[ch] != canary {
							t.Fatalf("%s: channel %d written", name, ch)
						}
						continue
					}
					var w1, w2, a1, a2 float64
					for _, i := range normChannel(nc, ch) {
						d, p := float64(dy[i]), float64(dy[i])*float64(xhat[i])
						w1, w2, a1, a2 = w1+d, w2+p, a1+math.Abs(d), a2+math.Abs(p)
					}
					// float32 rounding of the result plus float64 sums.
					if math.Abs(float64(s1[ch])-w1) > 1e-7*math.Abs(w1)+1e-12*a1 ||
						math.Abs(float64(s2[ch])-w2) > 1e-7*math.Abs(w2)+1e-12*a2 {
						t.Fatalf("%s: channel %d: %v %v, want %v %v", name, ch, s1[ch], s2[ch], w1, w2)
					}
				}
				if ri == 0 { // the whole range
					results[level] = append(results[level], slices.Concat(s1, s2))
				} else {
					full := results[level][ci]
					for ch := r[0]; ch < r[1]; ch++ {
						if s1[ch] != full[ch] || s2[ch] != full[nc.c+ch] {
							t.Fatalf("%s: channel %d differs from the whole range's", name, ch)
						}
					}
				}
			}
		}
	})
	for l, res := range results {
		for ci, nc := range normCases {
			if nc.s == 1 && !slices.Equal(res[ci], results["go"][ci]) {
				t.Errorf("%s: %+v: s = 1 sums differ from the reference's", l, nc)
			}
		}
	}
}

func TestNormBackwardApply(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	forLevels(t, func(t *testing.T) {
		for _, nc := range normCases {
			dy, xhat := normInput(rng, nc), normInput(rng, nc)
			gamma, inv, s1, s2 := ewRandom(rng, nc.c), ewRandom(rng, nc.c), ewRandom(rng, nc.c), ewRandom(rng, nc.c)
			m := float32(nc.n * nc.s)
			want := func(i int) float32 { // cpu.go's BatchNormBackward
				ch := i / nc.s % nc.c
				k := gamma[ch] * inv[ch] / m
				return k * (float32(m*dy[i]) - s1[ch] - float32(xhat[i]*s2[ch]))
			}
			for _, r := range normRanges(nc.c) {
				name := fmt.Sprintf("%+v channels [%d,%d)", nc, r[0], r[1])
				dx := make([]float32, len(dy))
				for i := range dx {
					dx[i] = canary
				}
				NormBackwardApply(dy, xhat, dx, nc.n, nc.c, nc.s, r[0], r[1], gamma, inv, s1, s2)
				for i := range dx {
					w := float32(canary)
					if ch := i / nc.s % nc.c; ch >= r[0] && ch < r[1] {
						w = want(i)
					}
					if !sameBits(dx[i], w, true) {
						t.Fatalf("%s: value %d = %v, want %v", name, i, dx[i], w)
					}
				}
			}
			wantAll := make([]float32, len(dy))
			for i := range wantAll {
				wantAll[i] = want(i)
			}
			NormBackwardApply(dy, xhat, dy, nc.n, nc.c, nc.s, 0, nc.c, gamma, inv, s1, s2)
			checkSame(t, fmt.Sprintf("%+v in place", nc), dy, wantAll, true)
		}
	})
}

func TestSoftmaxCrossEntropy(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	const rows, classes = 37, 10
	inf := float32(math.Inf(1))
	logits := make([]float32, rows*classes)
	labels := make([]int32, rows)
	for i := range logits {
		logits[i] = float32(3 * rng.NormFloat64())
	}
	for r := range labels {
		labels[r] = int32(rng.IntN(classes))
	}
	// Row 0: two +Inf, the label one of them; row 1: one +Inf, not the
	// label; row 2: a tie for the largest, the label the second.
	logits[0*classes+2], logits[0*classes+5], labels[0] = inf, inf, 5
	logits[1*classes+7], labels[1] = inf, 3
	logits[2*classes+1], logits[2*classes+4], labels[2] = 50, 50, 4
	logits[3*classes+6], labels[3] = float32(math.Inf(-1)), 0

	probs, dlogits := make([]float32, rows*classes), make([]float32, rows*classes)
	loss, correct := SoftmaxCrossEntropy(logits, labels, classes, 0, rows, rows, probs, dlogits)

	wantLoss := make([]float64, rows)
	wantCorrect := 0
	for r := range rows {
		z := logits[r*classes : (r+1)*classes]
		p := probs[r*classes : (r+1)*classes]
		d := dlogits[r*classes : (r+1)*classes]
		y := int(labels[r])
		top := slices.Max(z)
		if z[y] == top && slices.Index(z, top) == y {
			wantCorrect++
		}
		var want []float64
		if math.IsInf(float64(top), 1) {
			k := 0
			for _, v := range z {
				if v == top {
					k++
				}
			}
			for _, v := range z {
				pv := 0.0
				if v == top {
					pv = 1 / float64(k)
				}
				want = append(want, pv)
			}
		} else {
			var sum float64
			for _, v := range z {
				sum += math.Exp(float64(v) - float64(top))
			}
			for _, v := range z {
				want = append(want, math.Exp(float64(v)-float64(top))/sum)
			}
		}
		wantLoss[r] = -math.Log(want[y])
		for j := range z {
			if isNaN(p[j]) || math.Abs(float64(p[j])-want[j]) > 1e-6 {
				t.Fatalf("row %d: p[%d] = %v, want %v", r, j, p[j], want[j])
			}
			wd := want[j] / rows
			if j == y {
				wd -= 1.0 / rows
			}
			if math.Abs(float64(d[j])-wd) > 1e-7 {
				t.Fatalf("row %d: dlogits[%d] = %v, want %v", r, j, d[j], wd)
			}
		}
	}
	if !math.IsInf(loss, 1) || !math.IsInf(wantLoss[1], 1) {
		t.Fatalf("loss %v, want +Inf (row 1)", loss)
	}
	if correct != wantCorrect {
		t.Fatalf("correct %d, want %d", correct, wantCorrect)
	}
	// Without the +Inf row, the loss is finite and splits add up.
	l0, _ := SoftmaxCrossEntropy(logits, labels, classes, 0, 1, rows, probs, nil)
	if math.Abs(l0-math.Log(2)) > 1e-12 {
		t.Fatalf("row 0 loss %v, want log 2", l0)
	}
	whole, c := SoftmaxCrossEntropy(logits, labels, classes, 2, rows, rows, probs, nil)
	if w := sum64(wantLoss[2:]); math.Abs(whole-w) > 1e-6*w {
		t.Fatalf("loss of rows 2.. %v, want %v", whole, w)
	}
	a, ca := SoftmaxCrossEntropy(logits, labels, classes, 2, 20, rows, probs, nil)
	b, cb := SoftmaxCrossEntropy(logits, labels, classes, 20, rows, rows, probs, nil)
	if math.Abs(whole-(a+b)) > 1e-9*whole || c != ca+cb || math.IsInf(whole, 0) {
		t.Fatalf("split: %v %d, want %v %d", a+b, ca+cb, whole, c)
	}
}

// adamWCPU is cpu.go's AdamW as it was, the maths the kernels must keep.
func adamWCPU(h AdamWHyper, step int, w, g, m, v []float32) {
	bc1 := 1 - math.Pow(float64(h.Beta1), float64(step))
	bc2 := 1 - math.Pow(float64(h.Beta2), float64(step))
	stepSize := float32(float64(h.LR) / bc1)
	sqrtBc2 := float32(math.Sqrt(bc2))
	decay := 1 - float32(h.LR*h.WeightDecay)
	for i := range w {
		gi := g[i]
		m[i] = float32(h.Beta1*m[i]) + float32((1-h.Beta1)*gi)
		v[i] = float32(h.Beta2*v[i]) + float32(float32((1-h.Beta2)*gi)*gi)
		denom := float32(math.Sqrt(float64(v[i])))/sqrtBc2 + h.Eps
		w[i] = float32(w[i]*decay) - float32(stepSize*m[i])/denom
	}
}

func TestAdamW(t *testing.T) {
	h := AdamWHyper{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}
	forLevels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(19, 20))
		for _, n := range ewLengths {
			w := newGuarded(rng, n)
			copy(w.s(), ewRandom(rng, n))
			m, v := make([]float32, n), make([]float32, n)
			ww, wm, wv := slices.Clone(w.s()), make([]float32, n), make([]float32, n)
			for step := 1; step <= 3; step++ {
				g := ewRandom(rng, n)
				for i := range g {
					if rng.IntN(4) == 0 {
						g[i] *= 1e-20 // tiny gradients: denormal moments
					}
				}
				AdamW(h, step, w.s(), g, m, v)
				adamWCPU(h, step, ww, g, wm, wv)
				name := fmt.Sprintf("n=%d step %d", n, step)
				checkSame(t, name+" w", w.s(), ww, true)
				checkSame(t, name+" m", m, wm, true)
				checkSame(t, name+" v", v, wv, true)
				w.intact(t, name)
			}
		}
	})
}

func TestAdamWReference(t *testing.T) {
	h := AdamWHyper{LR: 3e-4, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, WeightDecay: 0.1}
	rng := rand.New(rand.NewPCG(21, 22))
	w, g := ewRandom(rng, 1000), ewRandom(rng, 1000)
	m, v := make([]float32, 1000), make([]float32, 1000)
	ww, wm, wv := slices.Clone(w), slices.Clone(m), slices.Clone(v)
	adamWGo(h, 7, w, g, m, v)
	adamWCPU(h, 7, ww, g, wm, wv)
	checkSame(t, "w", w, ww, true)
	checkSame(t, "m", m, wm, true)
	checkSame(t, "v", v, wv, true)
}

func TestDropout(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(23, 24))
		for _, p := range []float32{0, 0.1, 0.5, 0.999, 1} {
			for _, n := range ewLengths {
				seed, off := rng.Uint64(), rng.Uint64N(1<<40)
				x := ewRandom(rng, n)
				y, mask := newGuarded(rng, n), newGuarded(rng, n)
				Dropout(x, y.s(), mask.s(), p, seed, off)
				wy, wm := make([]float32, n), make([]float32, n)
				dropoutGo(x, wy, wm, p, seed, off)
				name := fmt.Sprintf("p=%v n=%d", p, n)
				checkSame(t, name+" y", y.s(), wy, false)
				checkSame(t, name+" mask", mask.s(), wm, false)
				y.intact(t, name)
				mask.intact(t, name)
				for i, mk := range wm {
					if mk != 0 && mk != 1/(1-p) || p == 0 && (mk != 1 || !sameBits(wy[i], x[i], false)) || p == 1 && mk != 0 {
						t.Fatalf("%s: mask[%d] = %v", name, i, mk)
					}
				}
				// In place, and split in two calls.
				k := n / 3
				Dropout(x[:k], x[:k], mask.s()[:k], p, seed, off)
				Dropout(x[k:], x[k:], mask.s()[k:], p, seed, off+uint64(k))
				checkSame(t, name+" split", x, wy, false)
				checkSame(t, name+" split mask", mask.s(), wm, false)
			}
		}
	})
}

// TestDropoutHash pins the hash, which a CUDA kernel must reproduce: with
// seed 0 the key is 0 and element i's bits are SplitMix64's (i+1)-th
// output from state 0.
func TestDropoutHash(t *testing.T) {
	if mix64(0) != 0 {
		t.Fatal("mix64(0) != 0")
	}
	for i, want := range []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f} {
		if got := mix64(uint64(i+1) * dropGamma); got != want {
			t.Errorf("output %d: %#x, want %#x", i, got, want)
		}
	}
	if dropThreshold(0.5) != 1<<23 || dropThreshold(1) != 1<<24 || dropThreshold(1e-9) != 1 {
		t.Error("dropThreshold")
	}
}

func TestDropoutStatistics(t *testing.T) {
	const n = 1 << 20
	x := make([]float32, n)
	for i := range x {
		x[i] = 1
	}
	forLevels(t, func(t *testing.T) {
		y, mask := make([]float32, n), make([]float32, n)
		for _, p := range []float32{0.1, 0.3, 0.5, 0.9} {
			Dropout(x, y, mask, p, 42, 0)
			dropped := 0
			for _, m := range mask {
				if m == 0 {
					dropped++
				}
			}
			// Six standard deviations of a binomial.
			if f, sd := float64(dropped)/n, math.Sqrt(float64(p)*(1-float64(p))/n); math.Abs(f-float64(p)) > 6*sd {
				t.Errorf("p=%v: dropped %v of the values", p, f)
			}
		}
		// Other seeds and offsets give other masks: about 2p(1-p) of the
		// values differ, and nearby seeds are unrelated.
		const p = 0.5
		base := make([]float32, n)
		Dropout(x, y, base, p, 42, 0)
		for _, v := range []struct{ seed, off uint64 }{{43, 0}, {41, 0}, {42, 1}, {42, 16}, {42 + dropGamma, 0}, {0, 0}} {
			Dropout(x, y, mask, p, v.seed, v.off)
			diff := 0
			for i := range mask {
				if mask[i] != base[i] {
					diff++
				}
			}
			if f := float64(diff) / n; math.Abs(f-0.5) > 0.01 {
				t.Errorf("seed %d offset %d: %v of the mask differs from seed 42's, want about 0.5", v.seed, v.off, f)
			}
		}
		// Split anywhere, the mask is the same.
		for _, k := range []int{1, 15, 16, 17, 1000, n / 2, n - 3} {
			Dropout(x[:k], y[:k], mask[:k], p, 42, 0)
			Dropout(x[k:], y[k:], mask[k:], p, 42, uint64(k))
			if !slices.Equal(mask, base) {
				t.Fatalf("split at %d: mask differs", k)
			}
		}
	})
}

func TestDropoutBackward(t *testing.T) {
	forLevels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(25, 26))
		for _, n := range ewLengths {
			dy, mask := ewRandom(rng, n), ewRandom(rng, n)
			want := make([]float32, n)
			for i := range dy {
				want[i] = dy[i] * mask[i]
			}
			dx := newGuarded(rng, n)
			DropoutBackward(dy, mask, dx.s())
			checkSame(t, fmt.Sprint("n=", n), dx.s(), want, true)
			dx.intact(t, fmt.Sprint("n=", n))
			DropoutBackward(dy, mask, dy)
			checkSame(t, fmt.Sprint("in place n=", n), dy, want, true)
		}
	})
}

func sum64(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}
