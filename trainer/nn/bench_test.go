package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/mlpviz/mlpviz/catalog"
	"github.com/mlpviz/mlpviz/trainer/backend"
)

// BenchmarkTrainStep times one AdamW training step (forward, backward,
// update) of each seed model at batch 64 on random data, as
// shared/bench/torch_reference.py does for PyTorch; img/s is the figure
// "make bench" compares.
func BenchmarkTrainStep(b *testing.B) {
	for _, spec := range catalog.Models() {
		b.Run(spec.Name, func(b *testing.B) {
			be := backend.NewCPU(0)
			rng := rand.New(rand.NewPCG(1, 1))
			m, err := New(be, spec, float32(spec.DefaultDropout), rng)
			if err != nil {
				b.Fatal(err)
			}
			const batch = 64
			s := m.InputShape
			x := randTensor(be, rng, batch, s[0], s[1], s[2])
			labels := make([]int32, batch)
			for i := range labels {
				labels[i] = int32(rng.IntN(10))
			}
			y, figures := be.AllocInt(batch), be.AllocFloat64(2)
			be.UploadInt(y, labels)
			opt := NewAdamW(be, m.Params(), 0.002)
			step := func() {
				m.ZeroGrad()
				m.Loss(x, y, true, figures)
				opt.Step()
			}
			step() // warm-up: buffers reach their size
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				step()
			}
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}
