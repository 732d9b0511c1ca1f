package driver

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"
)

// Result is a CUresult, the status every driver call returns.
type Result uint32

// The results the package looks for by value.
const (
	Success                Result = 0
	ErrorOutOfMemory       Result = 2
	ErrorNotInitialized    Result = 3
	ErrorStubLibrary       Result = 34
	ErrorInsufficientDrv   Result = 35
	ErrorNoDevice          Result = 100
	ErrorInvalidPTX        Result = 218
	ErrorUnsupportedPTX    Result = 222
	ErrorNotSupported      Result = 801
	ErrorCompatNotOnDevice Result = 804
)

// What Probe finds missing, for errors.Is; each error's text says more.
var (
	ErrUnsupported  = errors.New("cuda: the CUDA backend runs on Linux only")
	ErrNoLibrary    = errors.New("cuda: no NVIDIA driver")
	ErrNoDevice     = errors.New("cuda: no NVIDIA GPU")
	ErrDriverTooOld = errors.New("cuda: the NVIDIA driver is too old")
)

// Error is a driver call that failed: "cuda: cuMemAlloc:
// CUDA_ERROR_OUT_OF_MEMORY (out of memory)".
type Error struct {
	Func string // the call, without its _v2 suffix
	Code Result
	Name string // CUDA_ERROR_..., from cuGetErrorName
	Text string // the driver's description, from cuGetErrorString
}

func (e *Error) Error() string {
	name := e.Name
	if name == "" {
		name = fmt.Sprintf("CUresult %d", e.Code)
	}
	if e.Text == "" {
		return fmt.Sprintf("cuda: %s: %s", e.Func, name)
	}
	return fmt.Sprintf("cuda: %s: %s (%s)", e.Func, name, e.Text)
}

// Is lets errors.Is match the sentinel that the code means.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNoDevice:
		return e.Code == ErrorNoDevice
	case ErrDriverTooOld:
		return e.Code == ErrorUnsupportedPTX || e.Code == ErrorInsufficientDrv
	}
	return false
}

// check turns a call's result into nil or an *Error named after fn.
func (d *Driver) check(fn string, r Result) error {
	if r == Success {
		return nil
	}
	e := &Error{Func: fn, Code: r}
	if d.fn.getErrorName != 0 {
		var name, text *byte
		if call(d.fn.getErrorName, uintptr(r), uintptr(unsafe.Pointer(&name))) == Success {
			e.Name = goString(name)
		}
		if call(d.fn.getErrorString, uintptr(r), uintptr(unsafe.Pointer(&text))) == Success {
			e.Text = goString(text)
		}
	}
	return e
}

// oneLine joins a multi-line message (a JIT log) into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
