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

func randValues(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// tensor is a batch of the given values and shape on be.
func tensor(be Backend, values []float32, shape ...int) *Tensor {
	t := buffer(be, nil, shape...)
	be.Upload(t.Data, values)
	return t
}

func randTensor(be Backend, rng *rand.Rand, shape ...int) *Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return tensor(be, randValues(rng, n), shape...)
}

// values downloads t.
func values(be Backend, t backend.Tensor) []float32 {
	v := make([]float32, t.Len())
	be.Download(v, t)
	return v
}

// set writes v to value i of t.
func set(be Backend, t backend.Tensor, i int, v float32) {
	be.Upload(t.Slice(i, 1), []float32{v})
}

// awayFromKinks pushes values out of (-m, m) so ReLU's kink is not crossed
// by the finite-difference step.
func awayFromKinks(x []float32, m float32) {
	for i, v := range x {
		if v >= 0 && v < m {
			x[i] = v + m
		} else if v < 0 && v > -m {
			x[i] = v - m
		}
	}
}

func weighted(y, r []float32) float64 {
	var s float64
	for i, v := range y {
		s += float64(v) * float64(r[i])
	}
	return s
}

// checkGrads verifies dL/dx (for up to 40 sampled inputs) and dL/dW (for up
// to 40 sampled entries of every parameter), reading and perturbing the
// values through the backend's Download and Upload. before runs ahead of
// every forward pass (to replay a dropout mask).
func checkGrads(t *testing.T, be Backend, l Layer, x *Tensor, train bool, before func()) {
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
	r := randTensor(be, rng, y.Shape...)
	rv := values(be, r.Data)
	for _, p := range l.Params() {
		be.Zero(p.G)
	}
	// Download analytic results before the numeric forwards overwrite buffers.
	dxa := values(be, l.Backward(r, true).Data)
	var ga [][]float32
	for _, p := range l.Params() {
		ga = append(ga, values(be, p.G))
	}
	numeric := func(w backend.Tensor, i int) float64 {
		old := values(be, w.Slice(i, 1))[0]
		set(be, w, i, old+h)
		up := weighted(values(be, forward().Data), rv)
		set(be, w, i, old-h)
		down := weighted(values(be, forward().Data), rv)
		set(be, w, i, old)
		return (up - down) / (2 * h)
	}
	compare := func(what string, i int, analytic float32, num float64) {
		diff := math.Abs(float64(analytic) - num)
		if diff > tol*math.Max(1, math.Abs(num)) {
			t.Errorf("%T %s[%d]: analytic %.5f, numeric %.5f", l, what, i, analytic, num)
		}
	}
	for _, i := range sample(rng, x.Data.Len(), 40) {
		compare("dx", i, dxa[i], numeric(x.Data, i))
	}
	for pi, p := range l.Params() {
		for _, i := range sample(rng, p.W.Len(), 40) {
			compare(p.Name, i, ga[pi][i], numeric(p.W, i))
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
	be, rng := cpu(), rand.New(rand.NewPCG(1, 1))
	checkGrads(t, be, NewLinear(be, 13, 7, rng), randTensor(be, rng, 5, 13), true, nil)
}

func TestGradConv2D(t *testing.T) {
	be, rng := cpu(), rand.New(rand.NewPCG(1, 2))
	checkGrads(t, be, NewConv2D(be, 3, 4, 3, 1, rng), randTensor(be, rng, 3, 3, 6, 5), true, nil)
}

func TestGradConv2DNoPadding(t *testing.T) {
	be, rng := cpu(), rand.New(rand.NewPCG(1, 3))
	checkGrads(t, be, NewConv2D(be, 2, 3, 3, 0, rng), randTensor(be, rng, 2, 2, 5, 6), true, nil)
}

func TestGradReLU(t *testing.T) {
	be, rng := cpu(), rand.New(rand.NewPCG(1, 4))
	x := randValues(rng, 4*10)
	awayFromKinks(x, 0.05)
	checkGrads(t, be, NewReLU(be), tensor(be, x, 4, 10), true, nil)
}

func TestGradMaxPool2D(t *testing.T) {
	be, rng := cpu(), rand.New(rand.NewPCG(1, 5))
	// Distinct values spaced wider than the step, so no window changes winner.
	x := make([]float32, 2*3*7*6) // 7 rows: floor mode drops the last
	for i, j := range rng.Perm(len(x)) {
		x[i] = float32(j) * 0.1
	}
	checkGrads(t, be, NewMaxPool2D(be, 2), tensor(be, x, 2, 3, 7, 6), true, nil)
}

func TestGradBatchNorm2D(t *testing.T) {
	be, rng := cpu(), rand.New(rand.NewPCG(1, 6))
	b := NewBatchNorm(be, 3, true)
	for i := range 3 {
		set(be, b.Gamma.W, i, 0.5+float32(i))
		set(be, b.Beta.W, i, float32(i)-1)
	}
	checkGrads(t, be, b, randTensor(be, rng, 4, 3, 3, 2), true, nil)
}

func TestGradBatchNorm1D(t *testing.T) {
	be, rng := cpu(), rand.New(rand.NewPCG(1, 7))
	checkGrads(t, be, NewBatchNorm(be, 5, false), randTensor(be, rng, 6, 5), true, nil)
}

func TestGradDropout(t *testing.T) {
	be, rng := cpu(), rand.New(rand.NewPCG(1, 8))
	d := NewDropout(be, 0.4, 3)
	checkGrads(t, be, d, randTensor(be, rng, 4, 9), true, func() { d.drawn = 0 }) // the same mask every time
}

func TestGradFlatten(t *testing.T) {
	be, rng := cpu(), rand.New(rand.NewPCG(1, 9))
	checkGrads(t, be, NewFlatten(), randTensor(be, rng, 2, 3, 2, 2), true, nil)
}

// TestGradSoftmaxCrossEntropy checks dLoss/dlogits against finite differences
// of the mean loss.
func TestGradSoftmaxCrossEntropy(t *testing.T) {
	be, rng := cpu(), rand.New(rand.NewPCG(1, 10))
	const n, k = 4, 10
	z := randTensor(be, rng, n, k)
	labels := be.AllocInt(n)
	be.UploadInt(labels, []int32{3, 0, 9, 3})
	probs, dz, figures := be.Alloc(n*k), be.Alloc(n*k), be.AllocFloat64(2)
	loss := func() float64 {
		be.SoftmaxCrossEntropy(z.Data, labels, k, probs, backend.Tensor{}, figures)
		f := make([]float64, 2)
		be.DownloadFloat64(f, figures)
		return f[0]
	}
	be.SoftmaxCrossEntropy(z.Data, labels, k, probs, dz, figures)
	d := values(be, dz)
	for i, old := range values(be, z.Data) {
		set(be, z.Data, i, old+1e-2)
		up := loss()
		set(be, z.Data, i, old-1e-2)
		down := loss()
		set(be, z.Data, i, old)
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
	x := randTensor(be, rng, 3, 1, 6, 6)
	labels := be.AllocInt(3)
	be.UploadInt(labels, []int32{1, 3, 0})
	probs, figures := be.Alloc(3*4), be.AllocFloat64(2)
	lossAt := func() float64 { // training-mode forward only, as Loss computes it
		be.SoftmaxCrossEntropy(m.Forward(x, true).Data, labels, 4, probs, backend.Tensor{}, figures)
		f := make([]float64, 2)
		be.DownloadFloat64(f, figures)
		return f[0]
	}
	m.ZeroGrad()
	m.Loss(x, labels, true, figures)
	checked := 0
	for _, p := range m.Params() {
		g, w := values(be, p.G), values(be, p.W)
		for _, i := range sample(rng, p.W.Len(), 10) {
			old := w[i]
			set(be, p.W, i, old+1e-3)
			up := lossAt()
			set(be, p.W, i, old-1e-3)
			down := lossAt()
			set(be, p.W, i, old)
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
