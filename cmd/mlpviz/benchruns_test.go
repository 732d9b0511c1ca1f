package main

import (
	"context"
	"math/rand/v2"
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
		data := randomData(m.shape, 512)
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

// randomData is a dataset of n random images of shape with random labels.
func randomData(shape [3]int, n int) *dataset.Dataset {
	rng := rand.New(rand.NewPCG(3, 4))
	split := func() dataset.Split {
		s := dataset.Split{N: n, Pixels: make([]uint8, n*shape[0]*shape[1]*shape[2]), Labels: make([]uint8, n)}
		for i := range s.Pixels {
			s.Pixels[i] = uint8(rng.IntN(256))
		}
		for i := range s.Labels {
			s.Labels[i] = uint8(rng.IntN(10))
		}
		return s
	}
	d := &dataset.Dataset{Name: "random", Shape: shape, Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
		Train: split(), Test: split()}
	for range shape[0] {
		d.Mean, d.Std = append(d.Mean, 0.5), append(d.Std, 0.25)
	}
	return d
}
