package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/collector/runfile"
	"github.com/mlpviz/mlpviz/trainer"
	"github.com/mlpviz/mlpviz/trainer/dataset"
)

// TestMakeBenchRuns writes a short run of every model into the folder named
// by MLPVIZ_BENCH_RUNS, for "mlpviz view --bench" on all three heads. The
// models train for a few steps on random images of their dataset's shape
// (CIFAR-10 cannot be downloaded everywhere): the heads, weights and
// activations are the real ones of a model at the start of training.
func TestMakeBenchRuns(t *testing.T) {
	dir := os.Getenv("MLPVIZ_BENCH_RUNS")
	if dir == "" {
		t.Skip("set MLPVIZ_BENCH_RUNS=dir to write the benchmark runs")
	}
	for _, m := range []struct {
		model string
		shape [3]int
		steps int
	}{{"cnn", [3]int{1, 28, 28}, 40}, {"cnn_large", [3]int{1, 28, 28}, 8}, {"cifar10_cnn", [3]int{3, 32, 32}, 8}} {
		data := dataset.Random(m.shape, 512, 512, 3)
		tr, err := trainer.New(trainer.Config{Model: m.model, Epochs: 1, BatchSize: 16, LR: 0.002, Dropout: -1,
			Interval: max(1, m.steps/8), MaxSteps: m.steps, Seed: 1}, data)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, m.model+".mlpv")
		w, err := runfile.Create(path, tr.Architecture(), runfile.Options{Force: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Run(context.Background(), trainer.Hooks{Pass: func(p *collector.Pass) error { return w.Append(p) }}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes", path, w.Bytes())
	}
}
