package cuda

import (
	_ "embed"
	"fmt"
	"regexp"
	"strconv"
)

// The kernels are CUDA C in kernels.cu, compiled to PTX, the GPU's portable
// assembly, which the driver compiles for the GPU in hand when the backend
// starts. kernels.ptx is committed: users and CI need only the NVIDIA
// driver, never the toolkit. To change a kernel, install the toolkit
// (Debian: nvidia-cuda-toolkit, non-free) and run go generate here.
//
// compute_52 (Maxwell) is the oldest virtual architecture CUDA 11 and 12
// both build without deprecation: the driver JIT-compiles PTX for any GPU
// at or above its target, so this one file runs on every GPU a current
// driver supports (an H100 is sm_90), and the kernels need nothing newer
// (their reductions use shared memory, not double-precision atomics).
// --fmad=false keeps the CPU backend's roundings (see kernels.cu).
//
//go:generate nvcc -ptx -arch=compute_52 --fmad=false -O3 -o kernels.ptx kernels.cu

//go:embed kernels.ptx
var ptx string

// kernel names one of the PTX's entry points.
type kernel int

const (
	kReLUForward kernel = iota
	kReLUBackward
	kDropoutForward
	kDropoutBackward
	kAdamW
	kBroadcastRows
	kChannelSum
	kMaxPoolForward
	kMaxPoolBackward
	kIm2col
	kCol2im
	kConvScatter
	kConvGather
	kBNStats
	kBNEvalParams
	kBNApply
	kBNBackwardSums
	kBNBackwardApply
	kSoftmaxXent
	kSgemm
	numKernels
)

// kernelNames are the entry points the backend looks up, by kernel; a test
// checks them against the .entry lines of kernels.ptx.
var kernelNames = [numKernels]string{
	kReLUForward:     "relu_forward",
	kReLUBackward:    "relu_backward",
	kDropoutForward:  "dropout_forward",
	kDropoutBackward: "dropout_backward",
	kAdamW:           "adamw",
	kBroadcastRows:   "broadcast_rows",
	kChannelSum:      "channel_sum",
	kMaxPoolForward:  "maxpool_forward",
	kMaxPoolBackward: "maxpool_backward",
	kIm2col:          "im2col",
	kCol2im:          "col2im",
	kConvScatter:     "conv_scatter",
	kConvGather:      "conv_gather",
	kBNStats:         "bn_stats",
	kBNEvalParams:    "bn_eval_params",
	kBNApply:         "bn_apply",
	kBNBackwardSums:  "bn_backward_sums",
	kBNBackwardApply: "bn_backward_apply",
	kSoftmaxXent:     "softmax_xent",
	kSgemm:           "sgemm",
}

// ptxVersion is the ISA version the PTX declares (".version 7.8").
var ptxVersion = regexp.MustCompile(`(?m)^\.version (\d+)\.(\d+)\s*$`)

// requiredDriver is the CUDA version, as cuDriverGetVersion reports it
// (11080 for 11.8), of the oldest driver that JIT-compiles src: PTX ISA
// 7.x came with CUDA 11.x, 8.0 to 8.5 with 12.0 to 12.5, then 8.6 with
// 12.7, 8.7 with 12.8 and 8.8 with 12.9.
func requiredDriver(src string) (int, error) {
	m := ptxVersion.FindStringSubmatch(src)
	if m == nil {
		return 0, fmt.Errorf("cuda: the embedded PTX has no .version line")
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	switch {
	case major == 7 && minor <= 8:
		return 11000 + 10*minor, nil
	case major == 8 && minor <= 5:
		return 12000 + 10*minor, nil
	case major == 8 && minor <= 8:
		return 12010 + 10*minor, nil
	}
	return 0, fmt.Errorf("cuda: the embedded PTX is ISA %s.%s, which this build does not know the driver for", m[1], m[2])
}
