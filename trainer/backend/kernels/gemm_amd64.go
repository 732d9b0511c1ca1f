//go:build amd64 && !purego

package kernels

// Micro-kernels and peak loops in gemm_amd64.s; kc must be at least 1.

//go:noescape
func sgemm8x32AVX512(kc int, a, b, c *float32, ldc int, accumulate bool)

//go:noescape
func sgemm6x16AVX2(kc int, a, b, c *float32, ldc int, accumulate bool)

func peakAVX512(rounds int)
func peakAVX2(rounds int)

//go:noescape
func transpose8(src *float32, ld int, dst *float32, stride, blocks int)
