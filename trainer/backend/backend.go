// Package backend is the interface the trainer's layers run their maths
// through, so that a GPU backend can replace the CPU one without touching
// the layers above it, and the CPU backend: package kernels' functions
// dispatched over a pool of worker goroutines.
//
// Every tensor is a handle (TensorOf) on values the backend owns, flat and
// row-major (NCHW); shapes travel in small geometry structs. Code above the
// backend moves values in and out only with Upload and Download, so that on a
// GPU they stay on the device between kernels and only what leaves the
// trainer crosses to the host. Kernels that take a gradient output accumulate
// into it (+=) where PyTorch accumulates parameter gradients, and overwrite it
// for activation gradients, as each method says.
//
// A backend is used by one goroutine at a time. Its calls take effect in the
// order they are made; a GPU backend may queue them and return before they
// run, so only Download waits for earlier work.
package backend

import "github.com/mlpviz/mlpviz/trainer/backend/kernels"

// Backend is the memory and the set of kernels a model needs for training
// and inference. Every tensor it is handed must come from its own Alloc
// methods or be a Slice of one (the CPU backend takes any OnHost tensor);
// the zero tensor stands for an optional argument left out, where a method
// says so.
type Backend interface {
	// Name identifies the backend in logs and the progress line ("cpu").
	Name() string
	// Err is the backend's first failure (a device error), nil while all is
	// well. After one, its calls do nothing and downloads fill dst with NaN,
	// so callers check Err after a Download before they trust the values.
	// The CPU backend never fails (a bug panics).
	Err() error

	// Alloc returns a tensor of n float32 zeros.
	Alloc(n int) Tensor
	// AllocInt returns a tensor of n int32 zeros.
	AllocInt(n int) IntTensor
	// AllocFloat64 returns a tensor of n float64 zeros.
	AllocFloat64(n int) Float64Tensor
	// Free releases a tensor from one of the Alloc methods once no queued
	// call uses it; t must not be used after. Free of a Slice or of the zero
	// tensor does nothing.
	Free(t Storage)
	// Upload copies src (len(src) == dst.Len()) into dst. It returns once
	// src may be reused; the copy is ordered before every later call.
	Upload(dst Tensor, src []float32)
	// UploadInt is Upload for int32 values.
	UploadInt(dst IntTensor, src []int32)
	// Download copies src into dst (len(dst) == src.Len()) once every
	// earlier call has finished; it returns when dst holds the values (on a
	// GPU it waits for the device).
	Download(dst []float32, src Tensor)
	// DownloadFloat64 is Download for float64 values.
	DownloadFloat64(dst []float64, src Float64Tensor)
	// Zero sets every value of t to 0.
	Zero(t Tensor)

	// Gemm computes C = op(A)·op(B) + beta·C with C m×n, op(A) m×k and
	// op(B) k×n, all row-major; transA/transB mean A is stored k×m and B n×k.
	Gemm(transA, transB bool, m, n, k int, a, b Tensor, beta float32, c Tensor)
	// Broadcast writes row into each of the y.Len()/row.Len() consecutive
	// rows of y (a bias ahead of a Gemm with beta 1).
	Broadcast(row, y Tensor)
	// SumRows adds the x.Len()/sum.Len() consecutive rows of x, in order,
	// to sum (a bias gradient).
	SumRows(x, sum Tensor)

	// Conv2D runs a convolution over a batch: x is N×C×H×W, w is K×C×R×R,
	// bias has K values, y is N×K×OH×OW.
	Conv2D(g ConvGeom, x, w, bias, y Tensor)
	// Conv2DBackward adds the weight and bias gradients to dw and db and,
	// unless dx is the zero Tensor, overwrites dx with the input gradient.
	Conv2DBackward(g ConvGeom, x, w, dy, dx, dw, db Tensor)

	// MaxPool2D pools windows of g.Size with stride g.Size (floor mode) and
	// records each output's winner in arg, as a flat index into x, for the
	// backward pass (kernels.MaxPool gives the rule among equal values).
	MaxPool2D(g PoolGeom, x, y Tensor, arg IntTensor)
	// MaxPool2DBackward overwrites dx with dy routed to the winning inputs.
	MaxPool2DBackward(g PoolGeom, dy Tensor, arg IntTensor, dx Tensor)

	// ReLU writes max(x, 0) to y (y may alias x).
	ReLU(x, y Tensor)
	// ReLUBackward overwrites dx with dy where y > 0, else 0 (dx may alias dy).
	ReLUBackward(y, dy, dx Tensor)

	// BatchNorm normalises x (N×C×S, S = H·W or 1) per channel. In training
	// it uses the batch statistics, stores x̂ and 1/σ for the backward pass and
	// updates the running statistics with momentum; otherwise it uses them.
	BatchNorm(g NormGeom, x, y Tensor, s *NormState, train bool)
	// BatchNormBackward overwrites dx and adds to the scale and shift gradients.
	BatchNormBackward(g NormGeom, dy, dx Tensor, s *NormState)

	// SoftmaxCrossEntropy writes the softmax probabilities of logits
	// (N×classes, N = labels.Len()) to probs and, unless dlogits is the
	// zero Tensor, the gradient of the mean loss to it. It writes the mean
	// loss to figures[0] and how many rows predict their label to figures[1]
	// (figures.Len() == 2), so that the figures reach the host only when
	// the caller downloads them.
	SoftmaxCrossEntropy(logits Tensor, labels IntTensor, classes int, probs, dlogits Tensor, figures Float64Tensor)

	// Dropout zeroes each value of x with probability p and scales the
	// others by 1/(1-p), writing y and the mask it multiplied by. Whether
	// value i is dropped is a hash of seed and offset+i (kernels.Dropout
	// gives the rule), so a run is the same for any number of workers and on
	// any backend.
	Dropout(p float32, seed, offset uint64, x, y, mask Tensor)
	// DropoutBackward overwrites dx with dy times the mask.
	DropoutBackward(mask, dy, dx Tensor)

	// AdamW applies one decoupled-weight-decay Adam step (PyTorch's AdamW)
	// to w given its gradient g and moments m, v; step counts from 1.
	AdamW(h AdamWHyper, step int, w, g, m, v Tensor)
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
	Gamma, Beta     Tensor // learned scale and shift, C each
	DGamma, DBeta   Tensor // their gradients (accumulated)
	RunMean, RunVar Tensor // running statistics, C each
	Momentum, Eps   float32
	XHat            Tensor // N×C×S, saved in training
	InvStd          Tensor // C, saved in training
}

// AdamWHyper holds AdamW's hyper-parameters.
type AdamWHyper = kernels.AdamWHyper
