package cuda

import (
	"testing"

	"github.com/mlpviz/mlpviz/catalog"
	"github.com/mlpviz/mlpviz/trainer/backend"
)

// BenchmarkTrainStep reports each model's training throughput at batch 64
// on the GPU and, beside it, on this machine's CPU backend (all cores), on
// random batches: scripts/gpu_check.sh's figures for a model whose dataset
// is not at hand. The GPU's time includes waiting for its last step.
func BenchmarkTrainStep(b *testing.B) {
	const batch = 64
	var gpu *Backend
	if err := Available(); err == nil {
		if gpu, err = New(); err != nil {
			b.Fatal(err)
		}
		defer gpu.Close()
	}
	for _, spec := range catalog.Models() {
		for _, dev := range []string{"cuda", "cpu"} {
			b.Run(dev+"/"+spec.Name, func(b *testing.B) {
				var be backend.Backend = backend.NewCPU(0)
				if dev == "cuda" {
					if gpu == nil {
						b.Skipf("no GPU: %v", Available())
					}
					be = gpu
				}
				r, err := newRun(be, spec, batch)
				if err != nil {
					b.Fatal(err)
				}
				r.step() // buffers reach their size, the kernels are loaded
				r.loss()
				b.ResetTimer()
				for range b.N {
					r.step()
				}
				r.loss()
				b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "img/s")
				if err := be.Err(); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}
