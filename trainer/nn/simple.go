package nn

import (
	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/trainer/backend"
)

// ReLU is max(x, 0).
type ReLU struct {
	be    Backend
	y, dx *Tensor
}

// NewReLU makes a ReLU layer.
func NewReLU(be Backend) *ReLU { return &ReLU{be: be} }

// Forward implements Layer.
func (r *ReLU) Forward(x *Tensor, _ bool) *Tensor {
	r.y = buffer(r.be, r.y, x.Shape...)
	r.be.ReLU(x.Data, r.y.Data)
	return r.y
}

// Backward implements Layer.
func (r *ReLU) Backward(dy *Tensor, _ bool) *Tensor {
	r.dx = buffer(r.be, r.dx, dy.Shape...)
	r.be.ReLUBackward(r.y.Data, dy.Data, r.dx.Data)
	return r.dx
}

// Params implements Layer.
func (r *ReLU) Params() []*Param { return nil }

// Describe implements Layer.
func (r *ReLU) Describe() collector.Module { return collector.Module{Kind: "ReLU"} }

// MaxPool2D takes the maximum of each size×size window, stride size.
type MaxPool2D struct {
	Size  int
	be    Backend
	g     backend.PoolGeom
	arg   backend.IntTensor // each output's winner, for Backward
	args  backend.IntTensor // the storage of arg
	y, dx *Tensor
}

// NewMaxPool2D makes a pooling layer.
func NewMaxPool2D(be Backend, size int) *MaxPool2D { return &MaxPool2D{Size: size, be: be} }

// Forward implements Layer.
func (p *MaxPool2D) Forward(x *Tensor, _ bool) *Tensor {
	p.g = backend.PoolGeom{N: x.Shape[0], C: x.Shape[1], H: x.Shape[2], W: x.Shape[3], Size: p.Size}
	p.y = buffer(p.be, p.y, p.g.N, p.g.C, p.g.OutH(), p.g.OutW())
	if n := p.y.Data.Len(); p.args.Len() < n {
		p.be.Free(p.args)
		p.args = p.be.AllocInt(n)
	}
	p.arg = p.args.Slice(0, p.y.Data.Len())
	p.be.MaxPool2D(p.g, x.Data, p.y.Data, p.arg)
	return p.y
}

// Backward implements Layer.
func (p *MaxPool2D) Backward(dy *Tensor, _ bool) *Tensor {
	p.dx = buffer(p.be, p.dx, p.g.N, p.g.C, p.g.H, p.g.W)
	p.be.MaxPool2DBackward(p.g, dy.Data, p.arg, p.dx.Data)
	return p.dx
}

// Params implements Layer.
func (p *MaxPool2D) Params() []*Param { return nil }

// Describe implements Layer.
func (p *MaxPool2D) Describe() collector.Module {
	return collector.Module{Kind: "MaxPool2d", Settings: []collector.Setting{
		setting("kernel_size", p.Size), setting("stride", p.Size)}}
}

// Flatten turns N×C×H×W into N×(C·H·W); the data is shared, not copied.
type Flatten struct {
	in    []int
	y, dx Tensor
}

// NewFlatten makes a Flatten layer.
func NewFlatten() *Flatten { return &Flatten{} }

// Forward implements Layer.
func (f *Flatten) Forward(x *Tensor, _ bool) *Tensor {
	f.in = append(f.in[:0], x.Shape...)
	f.y.Shape = append(f.y.Shape[:0], x.Shape[0], x.Sample())
	f.y.Data = x.Data
	return &f.y
}

// Backward implements Layer.
func (f *Flatten) Backward(dy *Tensor, _ bool) *Tensor {
	f.dx.Shape = append(f.dx.Shape[:0], f.in...)
	f.dx.Data = dy.Data
	return &f.dx
}

// Params implements Layer.
func (f *Flatten) Params() []*Param { return nil }

// Describe implements Layer.
func (f *Flatten) Describe() collector.Module { return collector.Module{Kind: "Flatten"} }

// Dropout zeroes each value with probability P in training and scales the
// survivors by 1/(1-P) (inverted dropout, as PyTorch); evaluation is the
// identity. Its masks come from a counter-based hash of the layer's seed and
// a running count of the values it has masked, so a run does not depend on
// how many workers share the work.
type Dropout struct {
	P     float32
	be    Backend
	seed  uint64
	drawn uint64 // values masked so far: the next mask's offset
	mask  backend.Tensor
	masks backend.Tensor // the storage of mask
	train bool
	y, dx *Tensor
}

// NewDropout makes a dropout layer whose masks derive from seed.
func NewDropout(be Backend, p float32, seed uint64) *Dropout {
	return &Dropout{P: p, be: be, seed: seed}
}

// Forward implements Layer.
func (d *Dropout) Forward(x *Tensor, train bool) *Tensor {
	d.train = train && d.P > 0
	if !d.train {
		return x
	}
	d.y = buffer(d.be, d.y, x.Shape...)
	d.mask = grow(d.be, &d.masks, x.Data.Len())
	d.be.Dropout(d.P, d.seed, d.drawn, x.Data, d.y.Data, d.mask)
	d.drawn += uint64(x.Data.Len())
	return d.y
}

// Backward implements Layer.
func (d *Dropout) Backward(dy *Tensor, _ bool) *Tensor {
	if !d.train {
		return dy
	}
	d.dx = buffer(d.be, d.dx, dy.Shape...)
	d.be.DropoutBackward(d.mask, dy.Data, d.dx.Data)
	return d.dx
}

// Params implements Layer.
func (d *Dropout) Params() []*Param { return nil }

// Describe implements Layer.
func (d *Dropout) Describe() collector.Module {
	return collector.Module{Kind: "Dropout", Settings: []collector.Setting{setting("p", d.P)}}
}
