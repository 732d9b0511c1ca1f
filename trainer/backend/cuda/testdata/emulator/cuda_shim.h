// cuda_shim.h lets g++ compile kernels.cu for the CPU: the test emulator
// (driver.cpp) runs each kernel's blocks one after another and a block's
// threads either one after another (kernels without __syncthreads) or as
// fibers on one thread that switch at each __syncthreads. __shared__
// arrays become static, shared by the block's threads; blocks never
// overlap, so that is exact.
#pragma once

#include <cfloat>
#include <cmath>

struct dim3 {
    unsigned x, y, z;
};

extern dim3 threadIdx;
extern dim3 blockIdx;
extern dim3 blockDim;
extern dim3 gridDim;

#define __global__
#define __device__ static inline
#define __shared__ static
#define __launch_bounds__(n)
#define __syncthreads() emulator_sync_threads()

void emulator_sync_threads();

using std::exp;
using std::fma;
using std::fmax;
using std::log;
using std::nan;
using std::sqrt;
