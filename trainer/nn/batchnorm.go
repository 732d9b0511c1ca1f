package nn

import (
	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/trainer/backend"
)

// BatchNorm normalises each channel (2d: over batch and pixels; 1d: over the
// batch), keeping running statistics for evaluation, as PyTorch's
// BatchNorm1d/2d with eps 1e-5 and momentum 0.1.
type BatchNorm struct {
	C           int
	Gamma, Beta Param
	state       backend.NormState
	be          Backend
	twoD        bool
	g           backend.NormGeom
	xhat        backend.Tensor // the storage of state.XHat
	y, dx       *Tensor
}

// NewBatchNorm makes a batch-norm layer over c channels; twoD selects
// BatchNorm2d (N×C×H×W input) over BatchNorm1d (N×C).
func NewBatchNorm(be Backend, c int, twoD bool) *BatchNorm {
	ones := make([]float32, c)
	for i := range ones {
		ones[i] = 1
	}
	b := &BatchNorm{C: c, be: be, twoD: twoD,
		Gamma: newParam(be, "weight", ones),
		Beta:  newParam(be, "bias", make([]float32, c)),
	}
	b.state = backend.NormState{
		Gamma: b.Gamma.W, Beta: b.Beta.W, DGamma: b.Gamma.G, DBeta: b.Beta.G,
		RunMean: be.Alloc(c), RunVar: be.Alloc(c),
		Momentum: 0.1, Eps: 1e-5, InvStd: be.Alloc(c),
	}
	be.Upload(b.state.RunVar, ones)
	return b
}

// Forward implements Layer.
func (b *BatchNorm) Forward(x *Tensor, train bool) *Tensor {
	b.g = backend.NormGeom{N: x.Shape[0], C: b.C, S: x.Sample() / b.C}
	b.y = buffer(b.be, b.y, x.Shape...)
	if train {
		b.state.XHat = grow(b.be, &b.xhat, x.Data.Len())
	}
	b.be.BatchNorm(b.g, x.Data, b.y.Data, &b.state, train)
	return b.y
}

// Backward implements Layer.
func (b *BatchNorm) Backward(dy *Tensor, _ bool) *Tensor {
	b.dx = buffer(b.be, b.dx, dy.Shape...)
	b.be.BatchNormBackward(b.g, dy.Data, b.dx.Data, &b.state)
	return b.dx
}

// Params implements Layer.
func (b *BatchNorm) Params() []*Param { return []*Param{&b.Gamma, &b.Beta} }

// Describe implements Layer.
func (b *BatchNorm) Describe() collector.Module {
	kind := "BatchNorm1d"
	if b.twoD {
		kind = "BatchNorm2d"
	}
	return collector.Module{Kind: kind, Settings: []collector.Setting{
		setting("num_features", b.C), setting("eps", 1e-05), setting("momentum", 0.1)}}
}
