// Package nn holds the trainer's layers, models and optimiser. Each layer
// owns its parameters and its output and gradient buffers, runs its maths on
// a backend.Backend, and keeps what its backward pass needs from the forward
// one, so a training step allocates nothing once the batch size is stable.
package nn

import (
	"fmt"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/trainer/backend"
)

// Tensor is a batch of samples: Shape[0] is the batch size, Data is row-major.
type Tensor struct {
	Shape []int
	Data  []float32
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
	W, G []float32
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
func buffer(t *Tensor, shape ...int) *Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if t == nil {
		t = &Tensor{}
	}
	if cap(t.Data) < n {
		t.Data = make([]float32, n)
	}
	t.Data = t.Data[:n]
	t.Shape = append(t.Shape[:0], shape...)
	return t
}

// setting formats one module setting for the summary.
func setting(key string, v any) collector.Setting {
	return collector.Setting{Key: key, Value: fmt.Sprint(v)}
}

// Backend is re-exported for callers that build models.
type Backend = backend.Backend
