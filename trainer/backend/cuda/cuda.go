// Package cuda is the trainer's backend on an NVIDIA GPU: backend.Backend
// over tensors in the GPU's memory, its kernels CUDA C compiled to PTX (see
// kernels.go), its GEMMs through cuBLAS when that is installed and through
// its own tiled kernel when not. The driver and cuBLAS are loaded at run
// time (packages driver and cublas), so the binary builds and runs without
// them; Available says whether this machine can use the backend.
//
// All work goes to one stream in call order and the methods return without
// waiting for it, except Download and DownloadFloat64, which wait; so a
// training loop that downloads only its figures, now and then, keeps the
// GPU busy without stopping for it. A device failure is kept (see Err):
// later calls do nothing and downloads give NaN.
package cuda

import (
	"errors"
	"fmt"
	"math"
	"runtime"

	"github.com/mlpviz/mlpviz/trainer/backend"
	"github.com/mlpviz/mlpviz/trainer/backend/cuda/cublas"
	"github.com/mlpviz/mlpviz/trainer/backend/cuda/driver"
)

// Available reports whether the backend can run here: nil, or one line
// saying what is missing (no driver library, no GPU, a driver too old for
// the kernels, or a system other than Linux), matching driver.ErrNoLibrary,
// ErrNoDevice, ErrDriverTooOld or ErrUnsupported under errors.Is.
func Available() error {
	_, _, err := probe()
	return err
}

func probe() (*driver.Driver, driver.Info, error) {
	need, err := requiredDriver(ptx)
	if err != nil {
		return nil, driver.Info{}, err
	}
	return driver.Probe(need)
}

// Backend runs the trainer's maths on the first GPU.
type Backend struct {
	drv    *driver.Driver
	info   driver.Info
	ctx    driver.Context
	stream driver.Stream
	module driver.Module
	fn     [numKernels]driver.Function
	blas   *cublas.Handle // nil: the sgemm kernel
	gemm   string         // which GEMM runs, for Describe
	blocks int            // the grid of a flat kernel: enough to fill the GPU

	args    driver.Args
	err     error
	allocs  map[uintptr]int // live allocations by address: their bytes
	staging staging

	// Scratch, grown as needed: convolution columns and products, batch
	// norm's per-channel figures.
	conv    backend.Tensor
	channel backend.Tensor
}

var _ backend.Backend = (*Backend)(nil)

// New starts the backend on the first GPU: it checks the driver (as
// Available), retains the GPU's primary context, JIT-compiles the kernels
// for it and loads cuBLAS if it can.
func New() (*Backend, error) {
	drv, info, err := probe()
	if err != nil {
		return nil, err
	}
	b := &Backend{drv: drv, info: info, allocs: map[uintptr]int{}}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := b.start(); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func (b *Backend) start() error {
	var err error
	if b.ctx, err = b.drv.PrimaryContext(b.info.Device); err != nil {
		return err
	}
	if err := b.drv.SetCurrent(b.ctx); err != nil {
		return err
	}
	if b.stream, err = b.drv.NewStream(); err != nil {
		return err
	}
	if b.module, err = b.drv.LoadModule(ptx); err != nil {
		var e *driver.Error
		if errors.As(err, &e) && errors.Is(e, driver.ErrDriverTooOld) {
			return fmt.Errorf("%w: it cannot compile the kernels (%s: %s)", driver.ErrDriverTooOld, e.Func, e.Name)
		}
		return fmt.Errorf("compile the kernels for %s: %w", b.info.Name, err)
	}
	for k, name := range kernelNames {
		if b.fn[k], err = b.drv.Function(b.module, name); err != nil {
			return err
		}
	}
	sms, err := b.drv.DeviceAttribute(b.info.Device, driver.AttrMultiprocessorCount)
	if err != nil {
		return err
	}
	b.blocks = max(1, sms) * 8 // 8 blocks of 256 fill an SM's 2048 threads
	if b.staging, err = newStaging(b.drv); err != nil {
		return err
	}
	if h, err := cublas.New(uintptr(b.stream)); err == nil {
		b.blas = h
		b.gemm = "cuBLAS (" + h.Library() + ")"
	} else {
		b.gemm = "own SGEMM kernel (" + err.Error() + ")"
	}
	return nil
}

// Name implements backend.Backend.
func (b *Backend) Name() string { return "cuda" }

// Device describes the GPU: its name, architecture, memory and driver.
func (b *Backend) Device() driver.Info { return b.info }

// Describe is the GPU and the GEMM in one line, for the progress line and
// the window: "NVIDIA H100 80GB HBM3 (sm_90, 80 GiB, driver CUDA 12.4),
// GEMM by cuBLAS (libcublas.so.12)".
func (b *Backend) Describe() string { return b.info.String() + ", GEMM by " + b.gemm }

// Err implements backend.Backend: the first failure, kept.
func (b *Backend) Err() error { return b.err }

// Close waits for queued work and releases the GPU's memory, the kernels,
// cuBLAS and the context. The backend must not be used after.
func (b *Backend) Close() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := b.drv.SetCurrent(b.ctx); err != nil {
		return err
	}
	return b.close()
}

func (b *Backend) close() error {
	var errs []error
	keep := func(err error) { errs = append(errs, err) }
	if b.stream != 0 {
		keep(b.drv.Synchronize(b.stream))
	}
	if b.blas != nil {
		keep(b.blas.Close())
		b.blas = nil
	}
	for addr := range b.allocs {
		keep(b.drv.Free(driver.DevicePtr(addr)))
	}
	clear(b.allocs)
	keep(b.staging.close(b.drv))
	if b.module != 0 {
		keep(b.drv.UnloadModule(b.module))
		b.module = 0
	}
	if b.stream != 0 {
		keep(b.drv.DestroyStream(b.stream))
		b.stream = 0
	}
	if b.ctx != 0 {
		keep(b.drv.ReleasePrimaryContext(b.info.Device))
		b.ctx = 0
	}
	return errors.Join(errs...)
}

// do runs f with the backend's context current, unless an earlier call
// failed; f's error is kept. The goroutine stays on its OS thread meanwhile,
// since the driver's current context is per thread.
func (b *Backend) do(f func() error) {
	if b.err != nil {
		return
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := b.drv.SetCurrent(b.ctx); err != nil {
		b.err = err
		return
	}
	if err := f(); err != nil {
		b.err = err
	}
}

// ptr is t's device address. A tensor in host memory cannot be used here:
// that is a bug in the caller (a tensor from another backend), not bad
// input.
func ptr[T backend.Elem](t backend.TensorOf[T]) driver.DevicePtr {
	if t.Device() == 0 && t.Len() > 0 {
		panic("cuda: a tensor in host memory was handed to the CUDA backend; tensors must come from its Alloc")
	}
	return driver.DevicePtr(t.Device())
}

// optional is t's address, or 0 (a null pointer for the kernel) for the
// zero tensor.
func optional[T backend.Elem](t backend.TensorOf[T]) driver.DevicePtr {
	if t.Len() == 0 {
		return 0
	}
	return ptr(t)
}

// flat launches k over n values with the parameters in b.args: blocks of
// 256 threads, at most b.blocks of them (the kernels loop over the rest).
func (b *Backend) flat(k kernel, n int) error {
	if n <= 0 {
		return nil
	}
	grid := min((n+255)/256, b.blocks)
	return b.launch(k, driver.Dim3{X: uint32(grid), Y: 1, Z: 1}, 256)
}

// perChannel launches k with one block of 256 threads for each of c
// channels (the reductions' fixed block size, REDUCE_THREADS).
func (b *Backend) perChannel(k kernel, c int) error {
	if c <= 0 {
		return nil
	}
	return b.launch(k, driver.Dim3{X: uint32(c), Y: 1, Z: 1}, 256)
}

func (b *Backend) launch(k kernel, grid driver.Dim3, threads uint32) error {
	if err := b.args.Err(); err != nil {
		return err
	}
	if err := b.drv.Launch(b.fn[k], grid, driver.Dim3{X: threads, Y: 1, Z: 1}, 0, b.stream, &b.args); err != nil {
		return fmt.Errorf("%s: %w", kernelNames[k], err)
	}
	return nil
}

// checkLen panics unless a tensor or slice has the length a method needs:
// mismatched shapes are a bug in the layer above.
func checkLen(what string, got, want int) {
	if got != want {
		panic(fmt.Sprintf("cuda: %s has %d values, want %d", what, got, want))
	}
}

// nan fills dst with NaN: what a download gives after a failure.
func nan[T float32 | float64](dst []T) {
	for i := range dst {
		dst[i] = T(math.NaN())
	}
}
