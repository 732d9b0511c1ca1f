// A stand-in for libcuda.so.1 that runs mlpviz's kernels on the CPU, so
// that the CUDA backend's Go code (the driver binding, argument packing,
// launch shapes, the convolution's chunks and GEMM layouts, staging) and
// kernels.cu's indexing are tested against the CPU backend on a machine
// without a GPU. It ignores the PTX: the kernels are kernels.cu itself,
// compiled by g++ through cuda_shim.h. Everything is synchronous; device
// memory is host memory, each allocation ending at a page that faults, so
// a kernel or a copy that overruns a tensor crashes the test instead of
// passing by luck.
//
// Environment knobs, read at each call, for the probe's tests:
// EMULATOR_INIT (cuInit's result), EMULATOR_VERSION (the CUDA version the
// driver reports, default 12040), EMULATOR_DEVICES (default 1).
//
// Build: g++ -shared -fPIC -ffp-contract=off -O2 -I<cuda dir> driver.cpp
//        -o libcuda_emulator.so

#include "cuda_shim.h"

#include <sys/mman.h>
#include <setjmp.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "kernels.cu"

dim3 threadIdx;
dim3 blockIdx;
dim3 blockDim;
dim3 gridDim;

typedef int CUresult;
typedef unsigned long long CUdeviceptr;

enum {
    SUCCESS = 0,
    INVALID_VALUE = 1,
    OUT_OF_MEMORY = 2,
    NO_DEVICE = 100,
    INVALID_HANDLE = 400,
    NOT_FOUND = 500,
};

static int env_int(const char *name, int fallback) {
    const char *v = getenv(name);
    return v && *v ? atoi(v) : fallback;
}

// ---------------------------------------------------------------- kernels

// call unpacks cuLaunchKernel's parameter array into f's arguments.
template <typename... A, size_t... I>
static void call_with(void (*f)(A...), void **p, std::index_sequence<I...>) {
    f(*static_cast<A *>(p[I])...);
}

template <typename... A>
static void call(void (*f)(A...), void **p) {
    call_with(f, p, std::index_sequence_for<A...>{});
}

struct Kernel {
    const char *name;
    void (*run)(void **);
    bool barrier; // uses __syncthreads: its threads run as a team
};

#define K(f, barrier) {#f, [](void **p) { call(f, p); }, barrier}

static const Kernel kernels[] = {
    K(relu_forward, false),     K(relu_backward, false),   K(dropout_forward, false),
    K(dropout_backward, false), K(adamw, false),           K(broadcast_rows, false),
    K(channel_sum, true),       K(maxpool_forward, false), K(maxpool_backward, false),
    K(im2col, false),           K(col2im, false),          K(conv_scatter, false),
    K(conv_gather, false),      K(bn_stats, true),         K(bn_eval_params, false),
    K(bn_apply, false),         K(bn_backward_sums, true), K(bn_backward_apply, false),
    K(softmax_xent, true),      K(sgemm, true),
};

// ---------------------------------------------------------------- fibers

// A block of a kernel with __syncthreads runs its threads as fibers on this
// thread: the scheduler resumes each in turn until it reaches the next
// __syncthreads (or ends), so every thread is at the barrier before any
// passes it. A fiber starts on its own stack with makecontext; after that
// the switches are _setjmp/_longjmp, which unlike swapcontext make no
// system call (the signal mask stays as it is).
const unsigned max_threads = 1024; // a block's limit, as cuLaunchKernel checks
struct Jump {
    jmp_buf at;
};
static ucontext_t fibers[max_threads];
static std::vector<char> stacks[max_threads];
static Jump fiber_at[max_threads];
static jmp_buf scheduler_at;
static std::vector<char> finished, started;
static const Kernel *fiber_kernel;
static void **fiber_params;
static unsigned running;
static bool in_fiber;

static void fiber_main() {
    fiber_kernel->run(fiber_params);
    finished[running] = 1;
    _longjmp(scheduler_at, 1); // never return: uc_link would resume a stale frame
}

void emulator_sync_threads() {
    if (!in_fiber) {
        fprintf(stderr, "emulator: a kernel calls __syncthreads but its table entry says it does not\n");
        abort();
    }
    if (!_setjmp(fiber_at[running].at)) {
        _longjmp(scheduler_at, 1);
    }
}

static void run_block(const Kernel *f, void **params, unsigned threads) {
    const size_t stack = 64 << 10;
    finished.assign(threads, 0);
    started.assign(threads, 0);
    fiber_kernel = f;
    fiber_params = params;
    in_fiber = true;
    for (volatile unsigned left = threads; left > 0;) {
        left = 0;
        for (volatile unsigned t = 0; t < threads; t++) {
            if (finished[t]) {
                continue;
            }
            running = t;
            threadIdx = dim3{t, 0, 0};
            if (!_setjmp(scheduler_at)) {
                if (started[t]) {
                    _longjmp(fiber_at[t].at, 1);
                }
                started[t] = 1;
                stacks[t].resize(stack);
                getcontext(&fibers[t]);
                fibers[t].uc_stack.ss_sp = stacks[t].data();
                fibers[t].uc_stack.ss_size = stack;
                fibers[t].uc_link = nullptr;
                makecontext(&fibers[t], fiber_main, 0);
                setcontext(&fibers[t]);
            }
            left = left + !finished[t];
        }
    }
    in_fiber = false;
}

// ---------------------------------------------------------------- memory

// Allocations end at a page boundary followed by a PROT_NONE page.
struct Mapping {
    void *base;
    size_t len;
};
static std::map<uintptr_t, Mapping> mappings;

static void *guarded_alloc(size_t bytes) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t rounded = (bytes + 7) / 8 * 8;
    size_t data_pages = (rounded + page - 1) / page;
    size_t len = (data_pages + 1) * page;
    void *base = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        return nullptr;
    }
    char *guard = (char *)base + data_pages * page;
    mprotect(guard, page, PROT_NONE);
    void *p = guard - rounded;
    mappings[(uintptr_t)p] = Mapping{base, len};
    return p;
}

static CUresult guarded_free(void *p) {
    auto it = mappings.find((uintptr_t)p);
    if (it == mappings.end()) {
        return INVALID_VALUE;
    }
    munmap(it->second.base, it->second.len);
    mappings.erase(it);
    return SUCCESS;
}

// ---------------------------------------------------------------- the API

extern "C" {

CUresult cuInit(unsigned flags) { return flags == 0 ? env_int("EMULATOR_INIT", SUCCESS) : INVALID_VALUE; }

CUresult cuDriverGetVersion(int *v) {
    *v = env_int("EMULATOR_VERSION", 12040);
    return SUCCESS;
}

CUresult cuGetErrorName(CUresult r, const char **s) {
    switch (r) {
    case SUCCESS: *s = "CUDA_SUCCESS"; return SUCCESS;
    case INVALID_VALUE: *s = "CUDA_ERROR_INVALID_VALUE"; return SUCCESS;
    case OUT_OF_MEMORY: *s = "CUDA_ERROR_OUT_OF_MEMORY"; return SUCCESS;
    case NO_DEVICE: *s = "CUDA_ERROR_NO_DEVICE"; return SUCCESS;
    case INVALID_HANDLE: *s = "CUDA_ERROR_INVALID_HANDLE"; return SUCCESS;
    case NOT_FOUND: *s = "CUDA_ERROR_NOT_FOUND"; return SUCCESS;
    }
    *s = nullptr;
    return INVALID_VALUE;
}

CUresult cuGetErrorString(CUresult r, const char **s) {
    switch (r) {
    case SUCCESS: *s = "no error"; return SUCCESS;
    case INVALID_VALUE: *s = "invalid argument"; return SUCCESS;
    case OUT_OF_MEMORY: *s = "out of memory"; return SUCCESS;
    case NO_DEVICE: *s = "no CUDA-capable device is detected"; return SUCCESS;
    case INVALID_HANDLE: *s = "invalid resource handle"; return SUCCESS;
    case NOT_FOUND: *s = "named symbol not found"; return SUCCESS;
    }
    *s = nullptr;
    return INVALID_VALUE;
}

CUresult cuDeviceGetCount(int *n) {
    *n = env_int("EMULATOR_DEVICES", 1);
    return SUCCESS;
}

CUresult cuDeviceGet(int *dev, int ordinal) {
    if (ordinal < 0 || ordinal >= env_int("EMULATOR_DEVICES", 1)) {
        return INVALID_VALUE;
    }
    *dev = ordinal;
    return SUCCESS;
}

CUresult cuDeviceGetName(char *name, int len, int) {
    snprintf(name, (size_t)len, "mlpviz CPU emulator");
    return SUCCESS;
}

CUresult cuDeviceGetAttribute(int *v, int attr, int) {
    switch (attr) {
    case 1: *v = 1024; return SUCCESS; // max threads per block
    case 16: *v = 1; return SUCCESS;   // multiprocessors: small grids, fast tests
    case 75: *v = 9; return SUCCESS;   // compute capability 9.0
    case 76: *v = 0; return SUCCESS;
    }
    return INVALID_VALUE;
}

CUresult cuDeviceTotalMem_v2(size_t *bytes, int) {
    *bytes = (size_t)1 << 30;
    return SUCCESS;
}

static int context = 1;

CUresult cuDevicePrimaryCtxRetain(void **ctx, int) {
    *ctx = &context;
    return SUCCESS;
}

CUresult cuDevicePrimaryCtxRelease_v2(int) { return SUCCESS; }

CUresult cuCtxSetCurrent(void *ctx) { return ctx == &context ? SUCCESS : INVALID_HANDLE; }

CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t bytes) {
    if (bytes == 0) {
        return INVALID_VALUE;
    }
    void *m = guarded_alloc(bytes);
    if (!m) {
        return OUT_OF_MEMORY;
    }
    *p = (CUdeviceptr)(uintptr_t)m;
    return SUCCESS;
}

CUresult cuMemFree_v2(CUdeviceptr p) { return guarded_free((void *)(uintptr_t)p); }

CUresult cuMemGetInfo_v2(size_t *free_bytes, size_t *total) {
    *free_bytes = *total = (size_t)1 << 30;
    return SUCCESS;
}

CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t n, void *) {
    memcpy((void *)(uintptr_t)dst, src, n);
    return SUCCESS;
}

CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t n, void *) {
    memcpy(dst, (const void *)(uintptr_t)src, n);
    return SUCCESS;
}

CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, void *) {
    memmove((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, n);
    return SUCCESS;
}

CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned v, size_t n, void *) {
    unsigned *p = (unsigned *)(uintptr_t)dst;
    for (size_t i = 0; i < n; i++) {
        p[i] = v;
    }
    return SUCCESS;
}

static int streams = 0;

CUresult cuStreamCreate(void **s, unsigned) {
    *s = &streams;
    return SUCCESS;
}

CUresult cuStreamDestroy_v2(void *) { return SUCCESS; }
CUresult cuStreamSynchronize(void *) { return SUCCESS; }

static int module = 0;

CUresult cuModuleLoadDataEx(void **m, const void *image, unsigned, int *, void **) {
    if (!strstr((const char *)image, ".version")) {
        return 218; // CUDA_ERROR_INVALID_PTX
    }
    *m = &module;
    return SUCCESS;
}

CUresult cuModuleUnload(void *) { return SUCCESS; }

CUresult cuModuleGetFunction(const Kernel **f, void *, const char *name) {
    for (const Kernel &k : kernels) {
        if (strcmp(k.name, name) == 0) {
            *f = &k;
            return SUCCESS;
        }
    }
    return NOT_FOUND;
}

CUresult cuLaunchKernel(const Kernel *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                        unsigned bz, unsigned shared, void *, void **params, void **extra) {
    if (!f || by != 1 || bz != 1 || bx == 0 || bx > max_threads || gx == 0 || gy == 0 || gz == 0 || shared != 0 ||
        extra != nullptr) {
        return INVALID_VALUE;
    }
    gridDim = dim3{gx, gy, gz};
    blockDim = dim3{bx, by, bz};
    for (unsigned z = 0; z < gz; z++) {
        for (unsigned y = 0; y < gy; y++) {
            for (unsigned x = 0; x < gx; x++) {
                blockIdx = dim3{x, y, z};
                if (f->barrier) {
                    run_block(f, params, bx);
                    continue;
                }
                for (unsigned t = 0; t < bx; t++) {
                    threadIdx = dim3{t, 0, 0};
                    f->run(params);
                }
            }
        }
    }
    return SUCCESS;
}

CUresult cuMemHostAlloc(void **p, size_t bytes, unsigned) {
    *p = guarded_alloc(bytes);
    return *p ? SUCCESS : OUT_OF_MEMORY;
}

CUresult cuMemFreeHost(void *p) { return guarded_free(p); }

static int events = 0;

CUresult cuEventCreate(void **e, unsigned) {
    *e = &events;
    return SUCCESS;
}

CUresult cuEventRecord(void *, void *) { return SUCCESS; }
CUresult cuEventSynchronize(void *) { return SUCCESS; }
CUresult cuEventDestroy_v2(void *) { return SUCCESS; }

} // extern "C"
