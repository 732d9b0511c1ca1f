// Package driver is the part of the NVIDIA CUDA driver API that mlpviz's
// CUDA backend uses, loaded from libcuda.so.1 at run time (with purego, no
// cgo), so that one binary builds everywhere and runs on the CPU where
// there is no driver: device discovery, the primary context, memory, a
// stream, modules of PTX and kernel launches, each failure an *Error that
// reads as one line ("cuda: cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY (out of
// memory)").
//
// Probe says whether the driver can run mlpviz's kernels and, when not,
// precisely what is missing. Outside Linux it always reports ErrUnsupported.
//
// The driver keeps a current context per OS thread: callers lock their
// goroutine to its thread (runtime.LockOSThread) and call SetCurrent before
// a run of calls, because the Go scheduler may move a goroutine between
// threads at any call.
package driver

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"unsafe"

	"github.com/mlpviz/mlpviz/trainer/backend/cuda/internal/dl"
)

// DevicePtr is a CUdeviceptr: an address in the GPU's memory.
type DevicePtr uint64

// Device is a CUdevice, the ordinal of a GPU.
type Device int32

// Handles the driver gives out; they are opaque pointers to its own state.
type (
	Context  uintptr // CUcontext
	Stream   uintptr // CUstream
	Module   uintptr // CUmodule
	Function uintptr // CUfunction
)

// Dim3 is a grid or block shape.
type Dim3 struct{ X, Y, Z uint32 }

// libraryName is the driver's soname.
const libraryName = "libcuda.so.1"

// LibraryEnv names the environment variable that, when set, is the path of
// the library to load instead of libcuda.so.1: a driver outside the
// loader's search path, or the tests' CPU emulator.
const LibraryEnv = "MLPVIZ_LIBCUDA"

// Driver is the loaded library: its entry points and version.
type Driver struct {
	library string // the name it was loaded by
	version int    // cuDriverGetVersion: 1000*major + 10*minor
	fn      entryPoints
}

// entryPoints are the addresses of the functions used, by name.
type entryPoints struct {
	init, driverGetVersion, getErrorName, getErrorString              uintptr
	deviceGetCount, deviceGet, deviceGetName, deviceGetAttribute      uintptr
	deviceTotalMem                                                    uintptr
	primaryCtxRetain, primaryCtxRelease, ctxSetCurrent                uintptr
	memAlloc, memFree, memGetInfo                                     uintptr
	memcpyHtoDAsync, memcpyDtoHAsync, memcpyDtoDAsync, memsetD32Async uintptr
	streamCreate, streamDestroy, streamSynchronize                    uintptr
	moduleLoadDataEx, moduleUnload, moduleGetFunction, launchKernel   uintptr
	memHostAlloc, memFreeHost                                         uintptr
	eventCreate, eventRecord, eventSynchronize, eventDestroy          uintptr
}

// symbols pairs each entry point with its exported name. The _v2 names are
// the 64-bit-size versions that cuda.h maps the plain names to.
func (e *entryPoints) symbols() []struct {
	name string
	addr *uintptr
} {
	return []struct {
		name string
		addr *uintptr
	}{
		{"cuInit", &e.init},
		{"cuDriverGetVersion", &e.driverGetVersion},
		{"cuGetErrorName", &e.getErrorName},
		{"cuGetErrorString", &e.getErrorString},
		{"cuDeviceGetCount", &e.deviceGetCount},
		{"cuDeviceGet", &e.deviceGet},
		{"cuDeviceGetName", &e.deviceGetName},
		{"cuDeviceGetAttribute", &e.deviceGetAttribute},
		{"cuDeviceTotalMem_v2", &e.deviceTotalMem},
		{"cuDevicePrimaryCtxRetain", &e.primaryCtxRetain},
		{"cuDevicePrimaryCtxRelease_v2", &e.primaryCtxRelease},
		{"cuCtxSetCurrent", &e.ctxSetCurrent},
		{"cuMemAlloc_v2", &e.memAlloc},
		{"cuMemFree_v2", &e.memFree},
		{"cuMemGetInfo_v2", &e.memGetInfo},
		{"cuMemcpyHtoDAsync_v2", &e.memcpyHtoDAsync},
		{"cuMemcpyDtoHAsync_v2", &e.memcpyDtoHAsync},
		{"cuMemcpyDtoDAsync_v2", &e.memcpyDtoDAsync},
		{"cuMemsetD32Async", &e.memsetD32Async},
		{"cuStreamCreate", &e.streamCreate},
		{"cuStreamDestroy_v2", &e.streamDestroy},
		{"cuStreamSynchronize", &e.streamSynchronize},
		{"cuModuleLoadDataEx", &e.moduleLoadDataEx},
		{"cuModuleUnload", &e.moduleUnload},
		{"cuModuleGetFunction", &e.moduleGetFunction},
		{"cuLaunchKernel", &e.launchKernel},
		{"cuMemHostAlloc", &e.memHostAlloc},
		{"cuMemFreeHost", &e.memFreeHost},
		{"cuEventCreate", &e.eventCreate},
		{"cuEventRecord", &e.eventRecord},
		{"cuEventSynchronize", &e.eventSynchronize},
		{"cuEventDestroy_v2", &e.eventDestroy},
	}
}

var (
	loadOnce sync.Once
	loaded   *Driver
	loadErr  error
)

// Load opens the driver library (libcuda.so.1, or $MLPVIZ_LIBCUDA) and runs
// cuInit, once per process; later calls return the first result. A Driver
// comes back with cuInit's error too, so that Probe can say which driver
// found no GPU.
func Load() (*Driver, error) {
	loadOnce.Do(func() {
		name := libraryName
		if v := os.Getenv(LibraryEnv); v != "" {
			name = v
		}
		loaded, loadErr = load(name)
	})
	return loaded, loadErr
}

// load opens the library at name, resolves every entry point, runs cuInit
// and reads the version.
func load(name string) (*Driver, error) {
	if !dl.Supported {
		return nil, fmt.Errorf("%w (this is %s/%s)", ErrUnsupported, runtime.GOOS, runtime.GOARCH)
	}
	lib, err := dl.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot load %s (%v)", ErrNoLibrary, name, err)
	}
	d := &Driver{library: name}
	for _, s := range d.fn.symbols() {
		if *s.addr, err = lib.Symbol(s.name); err != nil {
			return nil, fmt.Errorf("%w: %s has no %s: the driver is older than CUDA 11", ErrDriverTooOld, name, s.name)
		}
	}
	var v int32
	if err := d.check("cuDriverGetVersion", call(d.fn.driverGetVersion, uintptr(unsafe.Pointer(&v)))); err != nil {
		return nil, err
	}
	d.version = int(v)
	return d, d.check("cuInit", call(d.fn.init, 0))
}

// Library is the name the driver was loaded by.
func (d *Driver) Library() string { return d.library }

// Version is the CUDA version the driver supports, 1000*major + 10*minor
// (12040 is CUDA 12.4).
func (d *Driver) Version() int { return d.version }

// VersionString writes a version as 1000*major + 10*minor in the usual form ("12.4").
func VersionString(v int) string { return fmt.Sprintf("%d.%d", v/1000, v%1000/10) }

// DeviceCount is how many GPUs the driver sees.
func (d *Driver) DeviceCount() (int, error) {
	var n int32
	err := d.check("cuDeviceGetCount", call(d.fn.deviceGetCount, uintptr(unsafe.Pointer(&n))))
	return int(n), err
}

// Device returns the GPU of the given ordinal.
func (d *Driver) Device(ordinal int) (Device, error) {
	var dev Device
	err := d.check("cuDeviceGet", call(d.fn.deviceGet, uintptr(unsafe.Pointer(&dev)), uintptr(ordinal)))
	return dev, err
}

// DeviceName is the GPU's marketing name ("NVIDIA H100 80GB HBM3").
func (d *Driver) DeviceName(dev Device) (string, error) {
	var buf [256]byte
	if err := d.check("cuDeviceGetName", call(d.fn.deviceGetName, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), uintptr(dev))); err != nil {
		return "", err
	}
	return cString(buf[:]), nil
}

// Attribute is a CUdevice_attribute.
type Attribute int32

// The attributes read.
const (
	AttrMaxThreadsPerBlock  Attribute = 1
	AttrMultiprocessorCount Attribute = 16
	AttrComputeCapMajor     Attribute = 75
	AttrComputeCapMinor     Attribute = 76
)

// DeviceAttribute reads one of the GPU's properties.
func (d *Driver) DeviceAttribute(dev Device, a Attribute) (int, error) {
	var v int32
	err := d.check("cuDeviceGetAttribute", call(d.fn.deviceGetAttribute, uintptr(unsafe.Pointer(&v)), uintptr(a), uintptr(dev)))
	return int(v), err
}

// ComputeCapability is the GPU's architecture version (9, 0 for an H100).
func (d *Driver) ComputeCapability(dev Device) (major, minor int, err error) {
	if major, err = d.DeviceAttribute(dev, AttrComputeCapMajor); err != nil {
		return 0, 0, err
	}
	minor, err = d.DeviceAttribute(dev, AttrComputeCapMinor)
	return major, minor, err
}

// TotalMemory is the GPU's memory in bytes.
func (d *Driver) TotalMemory(dev Device) (uint64, error) {
	var n uint64
	err := d.check("cuDeviceTotalMem", call(d.fn.deviceTotalMem, uintptr(unsafe.Pointer(&n)), uintptr(dev)))
	return n, err
}

// PrimaryContext retains the GPU's primary context, the one the CUDA
// runtime (and so cuBLAS) uses too, so both share memory and streams.
func (d *Driver) PrimaryContext(dev Device) (Context, error) {
	var c Context
	err := d.check("cuDevicePrimaryCtxRetain", call(d.fn.primaryCtxRetain, uintptr(unsafe.Pointer(&c)), uintptr(dev)))
	return c, err
}

// ReleasePrimaryContext drops a reference PrimaryContext took.
func (d *Driver) ReleasePrimaryContext(dev Device) error {
	return d.check("cuDevicePrimaryCtxRelease", call(d.fn.primaryCtxRelease, uintptr(dev)))
}

// SetCurrent binds c to the calling OS thread.
func (d *Driver) SetCurrent(c Context) error {
	return d.check("cuCtxSetCurrent", call(d.fn.ctxSetCurrent, uintptr(c)))
}

// Alloc allocates bytes of device memory.
func (d *Driver) Alloc(bytes int) (DevicePtr, error) {
	var p DevicePtr
	err := d.check("cuMemAlloc", call(d.fn.memAlloc, uintptr(unsafe.Pointer(&p)), uintptr(bytes)))
	return p, err
}

// Free releases memory from Alloc.
func (d *Driver) Free(p DevicePtr) error {
	return d.check("cuMemFree", call(d.fn.memFree, uintptr(p)))
}

// MemInfo is the free and total device memory in bytes.
func (d *Driver) MemInfo() (free, total uint64, err error) {
	err = d.check("cuMemGetInfo", call(d.fn.memGetInfo, uintptr(unsafe.Pointer(&free)), uintptr(unsafe.Pointer(&total))))
	return free, total, err
}

// HostAlloc allocates bytes of page-locked host memory, which copies to
// the device read without staging, so a queued copy from it does not wait
// for the stream. The memory is C memory, outside Go's heap.
func (d *Driver) HostAlloc(bytes int) (unsafe.Pointer, error) {
	var p unsafe.Pointer
	err := d.check("cuMemHostAlloc", call(d.fn.memHostAlloc, uintptr(unsafe.Pointer(&p)), uintptr(bytes), 0))
	return p, err
}

// FreeHost releases memory from HostAlloc.
func (d *Driver) FreeHost(p unsafe.Pointer) error {
	return d.check("cuMemFreeHost", call(d.fn.memFreeHost, uintptr(p)))
}

// CopyToDeviceFrom queues a copy of bytes from host memory at src (which
// must be HostAlloc memory and stay untouched until the copy is done) to
// dst on s.
func (d *Driver) CopyToDeviceFrom(dst DevicePtr, src unsafe.Pointer, bytes int, s Stream) error {
	if bytes == 0 {
		return nil
	}
	return d.check("cuMemcpyHtoDAsync", call(d.fn.memcpyHtoDAsync, uintptr(dst), uintptr(src), uintptr(bytes), uintptr(s)))
}

// Event marks a point in a stream's work.
type Event uintptr

// NewEvent makes an event without timing, the cheap kind.
func (d *Driver) NewEvent() (Event, error) {
	const disableTiming = 2 // CU_EVENT_DISABLE_TIMING
	var e Event
	err := d.check("cuEventCreate", call(d.fn.eventCreate, uintptr(unsafe.Pointer(&e)), disableTiming))
	return e, err
}

// Record marks the current end of s's queued work with e.
func (d *Driver) Record(e Event, s Stream) error {
	return d.check("cuEventRecord", call(d.fn.eventRecord, uintptr(e), uintptr(s)))
}

// Wait blocks until the work before e's latest Record is done (at once for
// an event never recorded).
func (d *Driver) Wait(e Event) error {
	return d.check("cuEventSynchronize", call(d.fn.eventSynchronize, uintptr(e)))
}

// DestroyEvent releases e.
func (d *Driver) DestroyEvent(e Event) error {
	return d.check("cuEventDestroy", call(d.fn.eventDestroy, uintptr(e)))
}

// Elem is an element type that can be copied to and from the device.
type Elem interface {
	~float32 | ~int32 | ~uint32 | ~float64 | ~int64 | ~uint64 | ~uint8
}

// CopyToDevice queues a copy of src to dst on s. src is ordinary (pageable)
// Go memory, which the driver stages before returning, so src may be
// reused at once.
func CopyToDevice[T Elem](d *Driver, dst DevicePtr, src []T, s Stream) error {
	if len(src) == 0 {
		return nil
	}
	n := uintptr(len(src)) * unsafe.Sizeof(src[0])
	return d.check("cuMemcpyHtoDAsync", call(d.fn.memcpyHtoDAsync, uintptr(dst), uintptr(unsafe.Pointer(&src[0])), n, uintptr(s)))
}

// CopyToHost copies src to dst on s; into pageable memory the driver
// returns only once the copy is done, after all work queued before it.
func CopyToHost[T Elem](d *Driver, dst []T, src DevicePtr, s Stream) error {
	if len(dst) == 0 {
		return nil
	}
	n := uintptr(len(dst)) * unsafe.Sizeof(dst[0])
	return d.check("cuMemcpyDtoHAsync", call(d.fn.memcpyDtoHAsync, uintptr(unsafe.Pointer(&dst[0])), uintptr(src), n, uintptr(s)))
}

// CopyDevice queues a copy of bytes from src to dst on s.
func (d *Driver) CopyDevice(dst, src DevicePtr, bytes int, s Stream) error {
	if bytes == 0 {
		return nil
	}
	return d.check("cuMemcpyDtoDAsync", call(d.fn.memcpyDtoDAsync, uintptr(dst), uintptr(src), uintptr(bytes), uintptr(s)))
}

// Fill32 queues setting n 32-bit words at dst to v on s (0 clears floats,
// math.Float32bits(x) fills with x).
func (d *Driver) Fill32(dst DevicePtr, v uint32, n int, s Stream) error {
	if n == 0 {
		return nil
	}
	return d.check("cuMemsetD32Async", call(d.fn.memsetD32Async, uintptr(dst), uintptr(v), uintptr(n), uintptr(s)))
}

// NewStream makes a stream that does not synchronise with the legacy
// default stream.
func (d *Driver) NewStream() (Stream, error) {
	const nonBlocking = 1 // CU_STREAM_NON_BLOCKING
	var s Stream
	err := d.check("cuStreamCreate", call(d.fn.streamCreate, uintptr(unsafe.Pointer(&s)), nonBlocking))
	return s, err
}

// DestroyStream releases s once its work is done.
func (d *Driver) DestroyStream(s Stream) error {
	return d.check("cuStreamDestroy", call(d.fn.streamDestroy, uintptr(s)))
}

// Synchronize waits for everything queued on s; a kernel's failure (an
// illegal address, say) surfaces here.
func (d *Driver) Synchronize(s Stream) error {
	return d.check("cuStreamSynchronize", call(d.fn.streamSynchronize, uintptr(s)))
}

// LoadModule JIT-compiles PTX for the current context's GPU. A failure
// carries the compiler's log.
func (d *Driver) LoadModule(ptx string) (Module, error) {
	const (
		errorLogBuffer     = 5 // CU_JIT_ERROR_LOG_BUFFER
		errorLogBufferSize = 6 // CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES
	)
	image := append([]byte(ptx), 0) // the driver reads PTX up to a NUL
	log := make([]byte, 4096)
	opts := [2]int32{errorLogBuffer, errorLogBufferSize}
	// Option values are void*; the size travels as the pointer's value.
	vals := [2]uintptr{uintptr(unsafe.Pointer(&log[0])), uintptr(len(log))}
	var m Module
	r := call(d.fn.moduleLoadDataEx, uintptr(unsafe.Pointer(&m)), uintptr(unsafe.Pointer(&image[0])),
		uintptr(len(opts)), uintptr(unsafe.Pointer(&opts[0])), uintptr(unsafe.Pointer(&vals[0])))
	if err := d.check("cuModuleLoadData", r); err != nil {
		if msg := cString(log); msg != "" {
			return 0, fmt.Errorf("%w: %s", err, oneLine(msg))
		}
		return 0, err
	}
	return m, nil
}

// UnloadModule releases a module.
func (d *Driver) UnloadModule(m Module) error {
	return d.check("cuModuleUnload", call(d.fn.moduleUnload, uintptr(m)))
}

// Function looks a kernel up by its (extern "C") name.
func (d *Driver) Function(m Module, name string) (Function, error) {
	var f Function
	cname := append([]byte(name), 0)
	if err := d.check("cuModuleGetFunction", call(d.fn.moduleGetFunction, uintptr(unsafe.Pointer(&f)), uintptr(m), uintptr(unsafe.Pointer(&cname[0])))); err != nil {
		return 0, fmt.Errorf("kernel %s: %w", name, err)
	}
	return f, nil
}

// Launch queues f on s over grid blocks of block threads with shared bytes
// of dynamic shared memory; args holds its parameters. The driver copies
// the parameters during the call, so args may be reused at once.
func (d *Driver) Launch(f Function, grid, block Dim3, shared int, s Stream, args *Args) error {
	for i := range args.n {
		args.ptrs[i] = uintptr(unsafe.Pointer(&args.vals[i]))
	}
	var params uintptr
	if args.n > 0 {
		params = uintptr(unsafe.Pointer(&args.ptrs[0]))
	}
	r := call(d.fn.launchKernel, uintptr(f),
		uintptr(grid.X), uintptr(grid.Y), uintptr(grid.Z),
		uintptr(block.X), uintptr(block.Y), uintptr(block.Z),
		uintptr(shared), uintptr(s), params, 0)
	return d.check("cuLaunchKernel", r)
}

// maxArgs bounds a kernel's parameters; mlpviz's take at most 16.
const maxArgs = 24

// Args are a kernel's parameters, each in an 8-byte slot: cuLaunchKernel
// reads each through a pointer and takes as many bytes as the parameter's
// type has, which on little-endian machines are the slot's first ones.
type Args struct {
	vals [maxArgs]uint64
	ptrs [maxArgs]uintptr // to vals, set by Launch
	n    int
	over bool
}

// Reset empties a for the next launch.
func (a *Args) Reset() { a.n, a.over = 0, false }

func (a *Args) add(v uint64) *Args {
	if a.n == maxArgs {
		a.over = true
		return a
	}
	a.vals[a.n] = v
	a.n++
	return a
}

// Ptr adds a device pointer.
func (a *Args) Ptr(p DevicePtr) *Args { return a.add(uint64(p)) }

// Int adds a 32-bit int.
func (a *Args) Int(v int) *Args { return a.add(uint64(uint32(int32(v)))) }

// Uint64 adds an unsigned 64-bit value.
func (a *Args) Uint64(v uint64) *Args { return a.add(v) }

// Float adds a float.
func (a *Args) Float(v float32) *Args { return a.add(uint64(*(*uint32)(unsafe.Pointer(&v)))) }

// Err reports parameters beyond the slots.
func (a *Args) Err() error {
	if a.over {
		return fmt.Errorf("cuda: a kernel takes at most %d parameters", maxArgs)
	}
	return nil
}

// call runs a driver function; CUresult is a C enum, the low 32 bits.
//
//go:uintptrescapes
func call(fn uintptr, args ...uintptr) Result {
	return Result(uint32(dl.Call(fn, args...)))
}

// cString is the NUL-terminated string at the start of b.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// goString copies the NUL-terminated C string at p (at most 1024 bytes).
func goString(p *byte) string {
	if p == nil {
		return ""
	}
	var b []byte
	for i := 0; i < 1024; i++ {
		c := *(*byte)(unsafe.Add(unsafe.Pointer(p), i))
		if c == 0 {
			break
		}
		b = append(b, c)
	}
	return string(b)
}
