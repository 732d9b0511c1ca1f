package backend

import (
	"fmt"
	"unsafe"
)

// Elem is what a tensor can hold: float32 for the maths, int32 for labels
// and indices, float64 for the figures a step reports (its loss and how many
// it got right), so that they sum as exactly on the host as they did before
// tensors left it.
type Elem interface{ float32 | int32 | float64 }

// TensorOf is a handle on n values of T that a backend owns: in this
// process's memory for the CPU backend, at a device address for a GPU one.
// It is a small value, copied freely; a copy or a Slice refers to the same
// values. The zero TensorOf is no tensor (Len 0): the optional arguments of
// Backend's methods take it for "none".
//
// Only the backend that allocated a tensor may be handed it. Code above the
// backend reads and writes the values only through the backend's Upload and
// Download, so that it runs unchanged on any backend.
type TensorOf[T Elem] struct {
	host []T     // the values, when they live in host memory
	dev  uintptr // the device address of the first value otherwise
	n    int
}

// Tensor holds float32 values: activations, parameters, their gradients and
// the optimiser's moments, row-major (NCHW).
type Tensor = TensorOf[float32]

// IntTensor holds int32 values: class labels, max-pool winners.
type IntTensor = TensorOf[int32]

// Float64Tensor holds float64 values: per-step loss and correct counts.
type Float64Tensor = TensorOf[float64]

// OnHost wraps values in host memory as a tensor without copying them: what
// the CPU backend's Alloc returns, and how its tests hand it data.
func OnHost[T Elem](values []T) TensorOf[T] {
	return TensorOf[T]{host: values, n: len(values)}
}

// OnDevice is the tensor of n values of T starting at device address addr:
// how a GPU backend makes its handles. addr must not be 0 unless n is.
func OnDevice[T Elem](addr uintptr, n int) TensorOf[T] {
	if addr == 0 && n != 0 {
		panic("backend: a device tensor at address 0")
	}
	return TensorOf[T]{dev: addr, n: n}
}

// Host returns t's values when they live in host memory, without copying
// (writes through it change t), and nil when they live on a device. Tests
// of the CPU backend use it; code that must run on any backend uses
// Download.
func Host[T Elem](t TensorOf[T]) []T { return t.host }

// Len is the number of values.
func (t TensorOf[T]) Len() int { return t.n }

// Device is the device address of the first value, or 0 when the values
// live in host memory (or t is the zero tensor).
func (t TensorOf[T]) Device() uintptr { return t.dev }

// Bytes is the size of the values in bytes.
func (t TensorOf[T]) Bytes() int {
	var v T
	return t.n * int(unsafe.Sizeof(v))
}

// Slice is the view of the n values from offset off: no copy, writes
// through it change t. It panics when the range is outside t.
func (t TensorOf[T]) Slice(off, n int) TensorOf[T] {
	if off < 0 || n < 0 || off+n > t.n {
		panic(fmt.Sprintf("backend: slice [%d:%d] of a tensor of %d values", off, off+n, t.n))
	}
	if t.host != nil {
		return TensorOf[T]{host: t.host[off : off+n : off+n], n: n}
	}
	var v T
	if t.dev == 0 {
		return TensorOf[T]{} // a slice of no tensor
	}
	return TensorOf[T]{dev: t.dev + uintptr(off)*unsafe.Sizeof(v), n: n}
}

// Storage is any tensor, whatever it holds: what Backend.Free takes.
type Storage interface {
	Len() int
	Bytes() int
	Device() uintptr
}
