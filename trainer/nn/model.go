package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/mlpviz/mlpviz/catalog"
	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/trainer/backend"
)

// Model is a sequence of layers ending in class logits.
type Model struct {
	Name       string
	InputShape catalog.Shape // C, H, W
	Classes    int
	Layers     []Layer
	be         Backend
	probs, dz  *Tensor
	params     []*Param // every layer's, listed once: ZeroGrad runs every step
}

// Forward runs every layer and returns the logits.
func (m *Model) Forward(x *Tensor, train bool) *Tensor {
	for _, l := range m.Layers {
		x = l.Forward(x, train)
	}
	return x
}

// Backward back-propagates dLoss/dlogits through every layer, adding to the
// parameters' gradients.
func (m *Model) Backward(dlogits *Tensor) {
	d := dlogits
	for i := len(m.Layers) - 1; i >= 0; i-- {
		d = m.Layers[i].Backward(d, i > 0)
	}
}

// Loss runs the forward pass on x and the softmax cross-entropy against
// labels (one per sample); in training it also runs the backward pass. It
// writes the mean loss and the number of correct predictions to figures[0]
// and figures[1] on the backend, where they stay until downloaded.
func (m *Model) Loss(x *Tensor, labels backend.IntTensor, train bool, figures backend.Float64Tensor) {
	logits := m.Forward(x, train)
	n := logits.Shape[0]
	m.probs = buffer(m.be, m.probs, n, m.Classes)
	var dz backend.Tensor // none
	if train {
		m.dz = buffer(m.be, m.dz, n, m.Classes)
		dz = m.dz.Data
	}
	m.be.SoftmaxCrossEntropy(logits.Data, labels, m.Classes, m.probs.Data, dz, figures)
	if train {
		m.Backward(m.dz)
	}
}

// Probs are the softmax probabilities of the last Loss call.
func (m *Model) Probs() *Tensor { return m.probs }

// Params lists every learned tensor in layer order.
func (m *Model) Params() []*Param {
	if m.params == nil {
		for _, l := range m.Layers {
			m.params = append(m.params, l.Params()...)
		}
	}
	return m.params
}

// ZeroGrad clears every gradient.
func (m *Model) ZeroGrad() {
	for _, p := range m.Params() {
		m.be.Zero(p.G)
	}
}

// Head lists the Linear layers: the MLP classification head mlpviz shows.
func (m *Model) Head() []*Linear {
	var h []*Linear
	for _, l := range m.Layers {
		if lin, ok := l.(*Linear); ok {
			h = append(h, lin)
		}
	}
	return h
}

// Modules describes every layer for the architecture summary.
func (m *Model) Modules() []collector.Module {
	ms := make([]collector.Module, len(m.Layers))
	for i, l := range m.Layers {
		ms[i] = l.Describe()
	}
	return ms
}

// New builds a model from its catalog recipe, with weights drawn from rng
// and dropout masks from a generator derived from it; every dropout layer
// uses the given rate.
func New(be Backend, spec *catalog.Model, dropout float32, rng *rand.Rand) (*Model, error) {
	if dropout < 0 || dropout >= 1 {
		return nil, fmt.Errorf("dropout %g is out of range [0, 1)", dropout)
	}
	if _, err := spec.Trace(); err != nil {
		return nil, err
	}
	drng := rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
	m := &Model{Name: spec.Name, InputShape: spec.InputShape, Classes: spec.Classes, be: be}
	for _, l := range spec.Layers {
		var layer Layer
		switch l.Kind {
		case catalog.Conv2D:
			layer = NewConv2D(be, l.In, l.Out, l.Kernel, l.Pad, rng)
		case catalog.BatchNorm2D:
			layer = NewBatchNorm(be, l.Out, true)
		case catalog.BatchNorm1D:
			layer = NewBatchNorm(be, l.Out, false)
		case catalog.ReLU:
			layer = NewReLU(be)
		case catalog.MaxPool2D:
			layer = NewMaxPool2D(be, l.Kernel)
		case catalog.Dropout:
			layer = NewDropout(be, dropout, drng.Uint64())
		case catalog.Flatten:
			layer = NewFlatten()
		case catalog.Linear:
			layer = NewLinear(be, l.In, l.Out, rng)
		}
		m.Layers = append(m.Layers, layer)
	}
	return m, nil
}
