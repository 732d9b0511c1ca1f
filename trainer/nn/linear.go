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
	l := &Linear{In: in, Out: out, be: be,
		Weight: Param{Name: "weight", W: make([]float32, out*in), G: make([]float32, out*in)},
		Bias:   Param{Name: "bias", W: make([]float32, out), G: make([]float32, out)},
	}
	bound := 1 / math.Sqrt(float64(in))
	uniform(rng, l.Weight.W, bound)
	uniform(rng, l.Bias.W, bound)
	return l
}

// uniform fills w with values uniform in [-bound, bound).
func uniform(rng *rand.Rand, w []float32, bound float64) {
	for i := range w {
		w[i] = float32((rng.Float64()*2 - 1) * bound)
	}
}

// Forward implements Layer.
func (l *Linear) Forward(x *Tensor, _ bool) *Tensor {
	n := x.Shape[0]
	l.x = x
	l.y = buffer(l.y, n, l.Out)
	for r := 0; r < n; r++ {
		copy(l.y.Data[r*l.Out:(r+1)*l.Out], l.Bias.W)
	}
	l.be.Gemm(false, true, n, l.Out, l.In, x.Data, l.Weight.W, 1, l.y.Data)
	return l.y
}

// Backward implements Layer.
func (l *Linear) Backward(dy *Tensor, needInput bool) *Tensor {
	n := dy.Shape[0]
	l.be.Gemm(true, false, l.Out, l.In, n, dy.Data, l.x.Data, 1, l.Weight.G)
	for r := 0; r < n; r++ {
		for j, v := range dy.Data[r*l.Out : (r+1)*l.Out] {
			l.Bias.G[j] += v
		}
	}
	if !needInput {
		return nil
	}
	l.dx = buffer(l.dx, l.x.Shape...)
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
