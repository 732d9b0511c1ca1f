package nn

import "github.com/mlpviz/mlpviz/trainer/backend"

// AdamW is PyTorch's AdamW, applied to every parameter (as the seed's
// torch.optim.AdamW(model.parameters()) does, biases and norms included).
type AdamW struct {
	backend.AdamWHyper
	be     Backend
	params []*Param
	m, v   []backend.Tensor
	step   int
}

// NewAdamW makes the optimiser with PyTorch's defaults (betas 0.9/0.999,
// eps 1e-8, weight decay 0.01) and the given learning rate.
func NewAdamW(be Backend, params []*Param, lr float32) *AdamW {
	o := &AdamW{
		AdamWHyper: backend.AdamWHyper{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01},
		be:         be, params: params,
	}
	for _, p := range params {
		o.m = append(o.m, be.Alloc(p.W.Len()))
		o.v = append(o.v, be.Alloc(p.W.Len()))
	}
	return o
}

// Step updates every parameter from its gradient.
func (o *AdamW) Step() {
	o.step++
	for i, p := range o.params {
		o.be.AdamW(o.AdamWHyper, o.step, p.W, p.G, o.m[i], o.v[i])
	}
}
