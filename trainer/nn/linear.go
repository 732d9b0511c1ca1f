package nn

import (
	"math"
	"math/rand/v2"

	"github.com/mlpviz/mlpviz/collector"
)

// Linear is a fully connected layer, y = x·Wᵀ + b, with W stored out×in as
// PyTorch does (so collected weights read the same way).
type Linear struct {
	In, Out int
	Weight  Param
	Bias    Param
	be      Backend
	x       *Tensor // last input, for the backward pass and the collector
	y, dx   *Tensor
}

// NewLinear makes a Linear layer initialised as PyTorch's default
// (uniform in ±1/√in for weights and bias).
func NewLinear(be Backend, in, out int, rng *rand.Rand) *Linear {
	bound := 1 / math.Sqrt(float64(in))
	w := uniform(rng, out*in, bound)
	return &Linear{In: in, Out: out, be: be,
		Weight: newParam(be, "weight", w),
		Bias:   newParam(be, "bias", uniform(rng, out, bound)),
	}
}

// uniform draws n values uniform in [-bound, bound).
func uniform(rng *rand.Rand, n int, bound float64) []float32 {
	w := make([]float32, n)
	for i := range w {
		w[i] = float32((rng.Float64()*2 - 1) * bound)
	}
	return w
}

// Forward implements Layer.
func (l *Linear) Forward(x *Tensor, _ bool) *Tensor {
	n := x.Shape[0]
	l.x = x
	l.y = buffer(l.be, l.y, n, l.Out)
	l.be.Broadcast(l.Bias.W, l.y.Data)
	l.be.Gemm(false, true, n, l.Out, l.In, x.Data, l.Weight.W, 1, l.y.Data)
	return l.y
}

// Backward implements Layer.
func (l *Linear) Backward(dy *Tensor, needInput bool) *Tensor {
	n := dy.Shape[0]
	l.be.Gemm(true, false, l.Out, l.In, n, dy.Data, l.x.Data, 1, l.Weight.G)
	l.be.SumRows(dy.Data, l.Bias.G)
	if !needInput {
		return nil
	}
	l.dx = buffer(l.be, l.dx, l.x.Shape...)
	l.be.Gemm(false, false, n, l.In, l.Out, dy.Data, l.Weight.W, 0, l.dx.Data)
	return l.dx
}

// Params implements Layer.
func (l *Linear) Params() []*Param { return []*Param{&l.Weight, &l.Bias} }

// Describe implements Layer.
func (l *Linear) Describe() collector.Module {
	return collector.Module{Kind: "Linear", Settings: []collector.Setting{
		setting("in_features", l.In), setting("out_features", l.Out), setting("bias", true)}}
}

// LastInput and LastOutput are the tensors of the latest Forward: what the
// collector records as the activations left and right of this layer.
func (l *Linear) LastInput() *Tensor  { return l.x }
func (l *Linear) LastOutput() *Tensor { return l.y }
