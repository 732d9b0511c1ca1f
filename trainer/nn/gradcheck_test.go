package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mlpviz/mlpviz/trainer/backend"
)

// The gradient checks compare each layer's Backward with central finite
// differences of L = Σ y·r for a fixed random r, in float64 sums over the
// float32 forward pass.

func randTensor(rng *rand.Rand, shape ...int) *Tensor {
	t := buffer(nil, shape...)
	for i := range t.Data {
		t.Data[i] = float32(rng.NormFloat64())
	}
	return t
}

// awayFromKinks pushes values out of (-m, m) so ReLU's kink is not crossed
// by the finite-difference step.
func awayFromKinks(t *Tensor, m float32) {
	for i, v := range t.Data {
		if v >= 0 && v < m {
			t.Data[i] = v + m
		} else if v < 0 && v > -m {
			t.Data[i] = v - m
		}
	}
}

func weighted(y, r *Tensor) float64 {
	var s float64
	for i, v := range y.Data {
		s += float64(v) * float64(r.Data[i])
	}
	return s
}

// checkGrads verifies dL/dx (for up to 40 sampled inputs) and dL/dW (for up
// to 40 sampled entries of every parameter). before runs ahead of every
// forward pass (to replay a dropout mask).
func checkGrads(t *testing.T, l Layer, x *Tensor, train bool, before func()) {
	t.Helper()
	const h, tol = 1e-2, 2e-2
	rng := rand.New(rand.NewPCG(7, 7))
	forward := func() *Tensor {
		if before != nil {
			before()
		}
		return l.Forward(x, train)
	}
	y := forward()
	r := randTensor(rng, y.Shape...)
	for _, p := range l.Params() {
		clear(p.G)
	}
	dx := l.Backward(r, true)
	// Copy analytic results before the numeric forwards overwrite buffers.
	dxa := append([]float32(nil), dx.Data...)
	var ga [][]float32
	for _, p := range l.Params() {
		ga = append(ga, append([]float32(nil), p.G...))
	}
	numeric := func(v *float32) float64 {
		old := *v
		*v = old + h
		up := weighted(forward(), r)
		*v = old - h
		down := weighted(forward(), r)
		*v = old
		return (up - down) / (2 * h)
	}
	compare := func(what string, i int, analytic float32, num float64) {
		diff := math.Abs(float64(analytic) - num)
		if diff > tol*math.Max(1, math.Abs(num)) {
			t.Errorf("%T %s[%d]: analytic %.5f, numeric %.5f", l, what, i, analytic, num)
		}
	}
	for _, i := range sample(rng, len(x.Data), 40) {
		compare("dx", i, dxa[i], numeric(&x.Data[i]))
	}
	for pi, p := range l.Params() {
		for _, i := range sample(rng, len(p.W), 40) {
			compare(p.Name, i, ga[pi][i], numeric(&p.W[i]))
		}
	}
}

func sample(rng *rand.Rand, n, k int) []int {
	if n <= k {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	return rng.Perm(n)[:k]
}

func cpu() Backend { return backend.NewCPU(2) }

func TestGradLinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	checkGrads(t, NewLinear(cpu(), 13, 7, rng), randTensor(rng, 5, 13), true, nil)
}

func TestGradConv2D(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	checkGrads(t, NewConv2D(cpu(), 3, 4, 3, 1, rng), randTensor(rng, 3, 3, 6, 5), true, nil)
}

func TestGradConv2DNoPadding(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 3))
	checkGrads(t, NewConv2D(cpu(), 2, 3, 3, 0, rng), randTensor(rng, 2, 2, 5, 6), true, nil)
}

func TestGradReLU(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 4))
	x := randTensor(rng, 4, 10)
	awayFromKinks(x, 0.05)
	checkGrads(t, NewReLU(cpu()), x, true, nil)
}

func TestGradMaxPool2D(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 5))
	// Distinct values spaced wider than the step, so no window changes winner.
	x := buffer(nil, 2, 3, 7, 6) // 7 rows: floor mode drops the last
	for i, j := range rng.Perm(len(x.Data)) {
		x.Data[i] = float32(j) * 0.1
	}
	checkGrads(t, NewMaxPool2D(cpu(), 2), x, true, nil)
}

func TestGradBatchNorm2D(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 6))
	b := NewBatchNorm(cpu(), 3, true)
	for i := range b.Gamma.W {
		b.Gamma.W[i] = 0.5 + float32(i)
		b.Beta.W[i] = float32(i) - 1
	}
	checkGrads(t, b, randTensor(rng, 4, 3, 3, 2), true, nil)
}

func TestGradBatchNorm1D(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 7))
	checkGrads(t, NewBatchNorm(cpu(), 5, false), randTensor(rng, 6, 5), true, nil)
}

func TestGradDropout(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 8))
	d := NewDropout(cpu(), 0.4, 3)
	checkGrads(t, d, randTensor(rng, 4, 9), true, func() { d.drawn = 0 }) // the same mask every time
}

func TestGradFlatten(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 9))
	checkGrads(t, NewFlatten(), randTensor(rng, 2, 3, 2, 2), true, nil)
}

// TestGradSoftmaxCrossEntropy checks dLoss/dlogits against finite differences
// of the mean loss.
func TestGradSoftmaxCrossEntropy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 10))
	be := cpu()
	const n, k = 4, 10
	z := randTensor(rng, n, k)
	labels := []int32{3, 0, 9, 3}
	probs, d := make([]float32, n*k), make([]float32, n*k)
	be.SoftmaxCrossEntropy(z.Data, labels, k, probs, d)
	for i := range z.Data {
		old := z.Data[i]
		z.Data[i] = old + 1e-2
		up, _ := be.SoftmaxCrossEntropy(z.Data, labels, k, probs, nil)
		z.Data[i] = old - 1e-2
		down, _ := be.SoftmaxCrossEntropy(z.Data, labels, k, probs, nil)
		z.Data[i] = old
		if num := (up - down) / 2e-2; math.Abs(num-float64(d[i])) > 1e-3 {
			t.Errorf("dlogits[%d]: analytic %.5f numeric %.5f", i, d[i], num)
		}
	}
}

// TestGradModel checks a whole small model end to end, loss included, so the
// layers' gradients also compose correctly.
func TestGradModel(t *testing.T) {
	be := cpu()
	rng := rand.New(rand.NewPCG(2, 2))
	m := &Model{Name: "tiny", Classes: 4, be: be, Layers: []Layer{
		NewConv2D(be, 1, 3, 3, 1, rng), NewBatchNorm(be, 3, true), NewMaxPool2D(be, 2), NewReLU(be),
		NewFlatten(), NewLinear(be, 3*3*3, 5, rng), NewBatchNorm(be, 5, false), NewReLU(be), NewLinear(be, 5, 4, rng),
	}}
	x := randTensor(rng, 3, 1, 6, 6)
	labels := []int32{1, 3, 0}
	probs := make([]float32, 3*4)
	lossAt := func() float64 { // training-mode forward only, as Loss computes it
		l, _ := be.SoftmaxCrossEntropy(m.Forward(x, true).Data, labels, 4, probs, nil)
		return l
	}
	m.ZeroGrad()
	m.Loss(x, labels, true)
	checked := 0
	for _, p := range m.Params() {
		g := append([]float32(nil), p.G...)
		for _, i := range sample(rng, len(p.W), 10) {
			old := p.W[i]
			p.W[i] = old + 1e-3
			up := lossAt()
			p.W[i] = old - 1e-3
			down := lossAt()
			p.W[i] = old
			num := (up - down) / 2e-3
			if math.Abs(num-float64(g[i])) > 2e-2*math.Max(0.1, math.Abs(num)) {
				t.Errorf("%s[%d]: analytic %.5f numeric %.5f", p.Name, i, g[i], num)
			}
			checked++
		}
	}
	if checked < 50 {
		t.Fatalf("checked only %d parameters", checked)
	}
}
