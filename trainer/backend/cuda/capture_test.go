package cuda

import (
	"context"
	"math"
	"testing"

	"github.com/mlpviz/mlpviz/catalog"
	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/trainer"
	"github.com/mlpviz/mlpviz/trainer/backend"
	"github.com/mlpviz/mlpviz/trainer/dataset"
)

// TestGPUCapture: a pass captured on the GPU, with a probe set and a
// health batch downloaded from slices of the capture batch's tensors, is
// the pass the CPU captures from the same seed and data, to float
// rounding.
func TestGPUCapture(t *testing.T) {
	g := gpu(t)
	data := dataset.Random(catalog.Shape{1, 28, 28}, 8, 12, 5)
	capture := func(be backend.Backend) *collector.Pass {
		cfg := trainer.Config{Model: "cnn", Epochs: 1, BatchSize: 2, LR: 0.002, Dropout: -1, Interval: 1, MaxSteps: 1,
			Seed: 3, Gradients: true, Probes: 3, HealthBatch: 4, Backend: be}
		tr, err := trainer.New(cfg, data)
		if err != nil {
			t.Fatal(err)
		}
		var pass *collector.Pass
		if _, err := tr.Run(context.Background(), trainer.Hooks{Pass: func(p *collector.Pass) error { pass = p; return nil }}); err != nil {
			t.Fatal(err)
		}
		if err := tr.Architecture().Check(pass); err != nil {
			t.Fatal(err)
		}
		return pass
	}
	want, got := capture(backend.NewCPU(0)), capture(g)
	near := func(what string, a, b []float32) {
		t.Helper()
		if len(a) != len(b) {
			t.Fatalf("%s: %d values on the GPU, %d on the CPU", what, len(a), len(b))
		}
		for i := range a {
			if d := math.Abs(float64(a[i] - b[i])); d > 1e-3*(1+math.Abs(float64(b[i]))) {
				t.Fatalf("%s[%d]: %g on the GPU, %g on the CPU", what, i, a[i], b[i])
			}
		}
	}
	if got.NumProbes() != 3 || len(got.Health) != len(want.Health) {
		t.Fatalf("GPU pass: %d probes, %d health layers; CPU %d and %d", got.NumProbes(), len(got.Health), want.NumProbes(), len(want.Health))
	}
	for j := range got.NumProbes() {
		a, b := got.ForProbe(j), want.ForProbe(j)
		near("probs", a.Probs, b.Probs)
		for k := range a.Layers {
			near("input", a.Layers[k].Input, b.Layers[k].Input)
			near("output", a.Layers[k].Output, b.Layers[k].Output)
		}
	}
	for k := range got.Layers {
		near("weight gradient", got.Layers[k].GradWeight, want.Layers[k].GradWeight)
	}
	for h := range got.Health {
		near("health mean", got.Health[h].Mean, want.Health[h].Mean)
		near("health active", got.Health[h].Active, want.Health[h].Active)
	}
}
