package backend

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mlpviz/mlpviz/trainer/backend/kernels"
)

// BenchmarkPeak measures this core's fp32 peak: an assembly loop of
// independent fused multiply-adds on the widest vectors the CPU has.
func BenchmarkPeak(b *testing.B) {
	if kernels.PeakFLOPs(1) == 0 {
		b.Skip("no assembly on this build")
	}
	const rounds = 1 << 16
	var flops int
	start := time.Now()
	for b.Loop() {
		flops += kernels.PeakFLOPs(rounds)
	}
	b.ReportMetric(float64(flops)/time.Since(start).Seconds()/1e9, "GFLOP/s")
}

// BenchmarkSgemm times a 512×512×512 product on one thread (kernels.Sgemm)
// and split across two (CPU.Gemm with two workers).
func BenchmarkSgemm(b *testing.B) {
	const n = 512
	rng := rand.New(rand.NewPCG(1, 1))
	x, y := randSlice(rng, n*n), randSlice(rng, n*n)
	z := make([]float32, n*n)
	report := func(b *testing.B) {
		b.ReportMetric(2*n*n*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	}
	b.Run("512", func(b *testing.B) {
		for b.Loop() {
			kernels.Sgemm(false, false, n, n, n, x, n, y, n, 0, z, n)
		}
		report(b)
	})
	b.Run("512/threads=2", func(b *testing.B) {
		cpu := NewCPU(2)
		for b.Loop() {
			cpu.Gemm(false, false, n, n, n, OnHost(x), OnHost(y), 0, OnHost(z))
		}
		report(b)
	})
}
