// Package backend is the interface the trainer's layers run their maths
// through, so that a GPU backend can replace the CPU one without touching
// the layers above it, and the CPU backend: package kernels' functions
// dispatched over a pool of worker goroutines.
//
// Every tensor is a flat []float32 in row-major (NCHW) order; shapes travel
// in small geometry structs. Kernels that take a gradient output accumulate
// into it (+=) where PyTorch accumulates parameter gradients, and overwrite it
// for activation gradients, as each method says.
package backend

import "github.com/mlpviz/mlpviz/trainer/backend/kernels"

// Backend is the set of kernels a model needs for training and inference.
type Backend interface {
	// Name identifies the backend in logs ("cpu").
	Name() string

	// Gemm computes C = op(A)·op(B) + beta·C with C m×n, op(A) m×k and
	// op(B) k×n, all row-major; transA/transB mean A is stored k×m and B n×k.
	Gemm(transA, transB bool, m, n, k int, a, b []float32, beta float32, c []float32)

	// Conv2D runs a convolution over a batch: x is N×C×H×W, w is K×C×R×R,
	// bias has K values, y is N×K×OH×OW.
	Conv2D(g ConvGeom, x, w, bias, y []float32)
	// Conv2DBackward adds the weight and bias gradients to dw and db and, if
	// dx is not nil, overwrites dx with the input gradient.
	Conv2DBackward(g ConvGeom, x, w, dy, dx, dw, db []float32)

	// MaxPool2D pools windows of g.Size with stride g.Size (floor mode) and
	// records each output's winning input index in arg for the backward pass.
	MaxPool2D(g PoolGeom, x, y []float32, arg []int32)
	// MaxPool2DBackward overwrites dx with dy routed to the winning inputs.
	MaxPool2DBackward(g PoolGeom, dy []float32, arg []int32, dx []float32)

	// ReLU writes max(x, 0) to y (y may alias x).
	ReLU(x, y []float32)
	// ReLUBackward overwrites dx with dy where y > 0, else 0 (dx may alias dy).
	ReLUBackward(y, dy, dx []float32)

	// BatchNorm normalises x (N×C×S, S = H·W or 1) per channel. In training
	// it uses the batch statistics, stores x̂ and 1/σ for the backward pass and
	// updates the running statistics with momentum; otherwise it uses them.
	BatchNorm(g NormGeom, x, y []float32, s *NormState, train bool)
	// BatchNormBackward overwrites dx and adds to the scale and shift gradients.
	BatchNormBackward(g NormGeom, dy, dx []float32, s *NormState)

	// SoftmaxCrossEntropy writes softmax probabilities of logits (N×classes)
	// to probs and the gradient of the mean loss to dlogits; it returns the
	// mean loss and how many rows predict their label.
	SoftmaxCrossEntropy(logits []float32, labels []int32, classes int, probs, dlogits []float32) (loss float64, correct int)

	// Dropout zeroes each value of x with probability p and scales the
	// others by 1/(1-p), writing y and the mask it multiplied by. Whether
	// value i is dropped is a hash of seed and offset+i (kernels.Dropout
	// gives the rule), so a run is the same for any number of workers and on
	// any backend.
	Dropout(p float32, seed, offset uint64, x, y, mask []float32)
	// DropoutBackward overwrites dx with dy times the mask.
	DropoutBackward(mask, dy, dx []float32)

	// AdamW applies one decoupled-weight-decay Adam step (PyTorch's AdamW)
	// to w given its gradient g and moments m, v; step counts from 1.
	AdamW(h AdamWHyper, step int, w, g, m, v []float32)
}

// ConvGeom is a stride-1 square convolution with zero padding.
type ConvGeom struct {
	N, C, H, W int // input
	K, R, Pad  int // output channels, kernel size, padding
}

// OutH is the output height.
func (g ConvGeom) OutH() int { return g.H + 2*g.Pad - g.R + 1 }

// OutW is the output width.
func (g ConvGeom) OutW() int { return g.W + 2*g.Pad - g.R + 1 }

// PoolGeom is a square max-pool whose stride equals its size.
type PoolGeom struct {
	N, C, H, W int
	Size       int
}

// OutH is the output height (floor mode, as PyTorch's default).
func (g PoolGeom) OutH() int { return g.H / g.Size }

// OutW is the output width.
func (g PoolGeom) OutW() int { return g.W / g.Size }

// NormGeom is the layout of a batch-norm input: N samples of C channels of S
// values each.
type NormGeom struct{ N, C, S int }

// NormState is a batch-norm layer's parameters, running statistics and the
// values its backward pass needs.
type NormState struct {
	Gamma, Beta     []float32 // learned scale and shift, C each
	DGamma, DBeta   []float32 // their gradients (accumulated)
	RunMean, RunVar []float32 // running statistics, C each
	Momentum, Eps   float32
	XHat            []float32 // N×C×S, saved in training
	InvStd          []float32 // C, saved in training
}

// AdamWHyper holds AdamW's hyper-parameters.
type AdamWHyper = kernels.AdamWHyper
