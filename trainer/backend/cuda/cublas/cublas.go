// Package cublas binds the one cuBLAS routine mlpviz needs, SGEMM, loading
// libcublas at run time (with purego, no cgo) when it is installed; the
// CUDA backend falls back to its own SGEMM kernel when it is not.
//
// cuBLAS is column-major and mlpviz row-major. A row-major matrix read as
// column-major is its transpose, so C = op(A)·op(B) in row-major is
// Cᵀ = op(B)ᵀ·op(A)ᵀ in column-major: Sgemm swaps the operands and their
// dimensions and passes the layouts through unchanged.
package cublas

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"github.com/mlpviz/mlpviz/trainer/backend/cuda/internal/dl"
)

// libraryNames are tried in order: CUDA 12's, CUDA 11's, then whatever the
// unversioned development link points at.
var libraryNames = []string{"libcublas.so.12", "libcublas.so.11", "libcublas.so"}

// Handle is a cuBLAS context bound to the CUDA context current when New
// ran, queuing its work on one stream.
type Handle struct {
	lib                        string
	h                          uintptr
	create, destroy, setStream uintptr
	sgemm, getVersion          uintptr
}

// Status is a cublasStatus_t.
type Status uint32

var statusNames = map[Status]string{
	0:  "CUBLAS_STATUS_SUCCESS",
	1:  "CUBLAS_STATUS_NOT_INITIALIZED",
	3:  "CUBLAS_STATUS_ALLOC_FAILED",
	7:  "CUBLAS_STATUS_INVALID_VALUE",
	8:  "CUBLAS_STATUS_ARCH_MISMATCH",
	11: "CUBLAS_STATUS_MAPPING_ERROR",
	13: "CUBLAS_STATUS_EXECUTION_FAILED",
	14: "CUBLAS_STATUS_INTERNAL_ERROR",
	15: "CUBLAS_STATUS_NOT_SUPPORTED",
	16: "CUBLAS_STATUS_LICENSE_ERROR",
}

// Error is a cuBLAS call that failed: "cublas: cublasSgemm:
// CUBLAS_STATUS_EXECUTION_FAILED".
type Error struct {
	Func   string
	Status Status
}

func (e *Error) Error() string {
	name, ok := statusNames[e.Status]
	if !ok {
		name = fmt.Sprintf("status %d", e.Status)
	}
	return fmt.Sprintf("cublas: %s: %s", e.Func, name)
}

// ErrNotFound is New's error when no libcublas loads.
var ErrNotFound = errors.New("cublas: not installed")

func check(fn string, r uintptr) error {
	if s := Status(uint32(r)); s != 0 {
		return &Error{Func: fn, Status: s}
	}
	return nil
}

// New loads cuBLAS and creates a handle in the calling thread's current
// CUDA context (which must be the device's primary context: cuBLAS uses
// the runtime API, which shares it), queuing work on stream.
func New(stream uintptr) (*Handle, error) {
	var lib dl.Library
	var tried []string
	for _, name := range libraryNames {
		l, err := dl.Open(name)
		if err == nil {
			lib = l
			tried = []string{name}
			break
		}
		tried = append(tried, err.Error())
	}
	if lib == 0 {
		return nil, fmt.Errorf("%w (%s)", ErrNotFound, strings.Join(tried, "; "))
	}
	h := &Handle{lib: tried[0]}
	for _, s := range []struct {
		name string
		addr *uintptr
	}{
		{"cublasCreate_v2", &h.create},
		{"cublasDestroy_v2", &h.destroy},
		{"cublasSetStream_v2", &h.setStream},
		{"cublasSgemm_v2", &h.sgemm},
		{"cublasGetVersion_v2", &h.getVersion},
	} {
		addr, err := lib.Symbol(s.name)
		if err != nil {
			return nil, fmt.Errorf("cublas: %s has no %s", h.lib, s.name)
		}
		*s.addr = addr
	}
	if err := check("cublasCreate", dl.Call(h.create, uintptr(unsafe.Pointer(&h.h)))); err != nil {
		return nil, err
	}
	// The default math mode is plain FP32 (TF32 only when asked for), so
	// products match the CPU backend's to rounding.
	if err := check("cublasSetStream", dl.Call(h.setStream, h.h, stream)); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// Library is the file name New loaded.
func (h *Handle) Library() string { return h.lib }

// Version is cuBLAS's version number (11 11 3 as 111103).
func (h *Handle) Version() (int, error) {
	var v int32
	err := check("cublasGetVersion", dl.Call(h.getVersion, h.h, uintptr(unsafe.Pointer(&v))))
	return int(v), err
}

// Close destroys the handle.
func (h *Handle) Close() error {
	if h.h == 0 {
		return nil
	}
	err := check("cublasDestroy", dl.Call(h.destroy, h.h))
	h.h = 0
	return err
}

// Sgemm queues C = op(A)·op(B) + beta·C on row-major device matrices with
// the backend's conventions: C m×n with ldc floats a row, op(A) m×k stored
// m×k (or k×m when transA) with lda, op(B) k×n stored k×n (or n×k when
// transB) with ldb. beta 0 ignores C's old values, NaNs included.
func (h *Handle) Sgemm(transA, transB bool, m, n, k int, a uint64, lda int, b uint64, ldb int, beta float32, c uint64, ldc int) error {
	alpha := float32(1)
	// Column-major: Cᵀ (n×m) = op(B)ᵀ (n×k) · op(A)ᵀ (k×m). B's row-major
	// storage read column-major is already op(B)ᵀ unless transB, and so
	// for A: the operation flags carry over as they are.
	r := dl.Call(h.sgemm, h.h, op(transB), op(transA), uintptr(n), uintptr(m), uintptr(k),
		uintptr(unsafe.Pointer(&alpha)), uintptr(b), uintptr(ldb), uintptr(a), uintptr(lda),
		uintptr(unsafe.Pointer(&beta)), uintptr(c), uintptr(ldc))
	return check("cublasSgemm", r)
}

// op is a cublasOperation_t: CUBLAS_OP_T (1) or CUBLAS_OP_N (0).
func op(trans bool) uintptr {
	if trans {
		return 1
	}
	return 0
}
