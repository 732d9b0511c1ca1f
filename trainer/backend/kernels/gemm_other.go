//go:build !amd64 || purego

package kernels

// Without assembly microKernelFor never returns these; they exist so that
// the dispatch compiles everywhere.

func sgemm8x32AVX512(kc int, a, b, c *float32, ldc int, accumulate bool) {
	panic("kernels: no assembly in this build")
}

func sgemm6x16AVX2(kc int, a, b, c *float32, ldc int, accumulate bool) {
	panic("kernels: no assembly in this build")
}

func peakAVX512(rounds int) { panic("kernels: no assembly in this build") }
func peakAVX2(rounds int)   { panic("kernels: no assembly in this build") }

func transpose8(src *float32, ld int, dst *float32, stride, blocks int) {
	panic("kernels: no assembly in this build")
}
