// Package nn holds the trainer's layers, models and optimiser. Each layer
// owns its parameters and its output and gradient buffers as the backend's
// tensors, runs its maths on a backend.Backend, and keeps what its backward
// pass needs from the forward one, so a training step allocates nothing once
// the batch size is stable and, on a GPU, copies nothing to or from the host.
package nn

import (
	"fmt"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/trainer/backend"
)

// Tensor is a batch of samples: Shape[0] is the batch size, Data holds the
// values row-major on the backend.
type Tensor struct {
	Shape []int
	Data  backend.Tensor
	buf   backend.Tensor // what buffer allocated; Data is its first values
}

// Sample is the number of values per sample (product of Shape[1:]).
func (t *Tensor) Sample() int {
	n := 1
	for _, d := range t.Shape[1:] {
		n *= d
	}
	return n
}

// Param is a learned tensor and its gradient, accumulated by Backward.
type Param struct {
	Name string
	W, G backend.Tensor
}

// newParam allocates a parameter on be with the initial values w and a zero
// gradient.
func newParam(be Backend, name string, w []float32) Param {
	p := Param{Name: name, W: be.Alloc(len(w)), G: be.Alloc(len(w))}
	be.Upload(p.W, w)
	return p
}

// Layer is one module of a Sequential model.
type Layer interface {
	// Forward computes the layer's output; the returned tensor belongs to the
	// layer and stays valid until its next Forward.
	Forward(x *Tensor, train bool) *Tensor
	// Backward takes the gradient of the loss with respect to the last
	// output and returns it with respect to the last input, adding parameter
	// gradients to each Param's G. needInput false lets the first layer skip
	// its input gradient.
	Backward(dy *Tensor, needInput bool) *Tensor
	// Params lists the learned tensors (none for ReLU, pooling, ...).
	Params() []*Param
	// Describe gives the module's kind and settings for the summary.
	Describe() collector.Module
}

// buffer returns t shaped as shape, reusing its storage when it fits.
func buffer(be Backend, t *Tensor, shape ...int) *Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if t == nil {
		t = &Tensor{}
	}
	t.Data = grow(be, &t.buf, n)
	t.Shape = append(t.Shape[:0], shape...)
	return t
}

// grow returns the first n values of *buf, replacing it with a new tensor
// on be (and freeing the old one) when it holds fewer.
func grow(be Backend, buf *backend.Tensor, n int) backend.Tensor {
	if buf.Len() < n {
		be.Free(*buf)
		*buf = be.Alloc(n)
	}
	return buf.Slice(0, n)
}

// setting formats one module setting for the summary.
func setting(key string, v any) collector.Setting {
	return collector.Setting{Key: key, Value: fmt.Sprint(v)}
}

// Backend is re-exported for callers that build models.
type Backend = backend.Backend
