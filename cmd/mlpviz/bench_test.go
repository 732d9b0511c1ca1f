package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/collector/pipeline"
	"github.com/mlpviz/mlpviz/collector/runfile"
	"github.com/mlpviz/mlpviz/trainer"
	"github.com/mlpviz/mlpviz/trainer/dataset"
)

// BenchmarkCollectionOverhead trains cnn on MNIST at mlpviz train's
// defaults in blocks of one interval (50 steps), alternating a trainer that
// collects a full-size pass at the end of each block into a run file
// (through the ring buffer, as "mlpviz train" does), with gradients, the
// probe set of 10 and the health batch of 256, with one that collects
// nothing, so both see the same machine load. It reports each one's img/s
// and the overhead in percent.
func BenchmarkCollectionOverhead(b *testing.B) {
	data, err := dataset.Load(context.Background(), "mnist", dataset.Options{Dir: b.TempDir(), Offline: true})
	if err != nil {
		b.Fatal(err)
	}
	const steps = 50 // the default --interval
	cfg := trainer.Config{Model: "cnn", Epochs: 1, BatchSize: 64, LR: 0.002, Dropout: -1, Interval: steps, MaxSteps: steps, Seed: 1,
		Gradients: trainer.GradientsByDefault("cnn", 0), Probes: 10, HealthBatch: 256}
	plain, err := trainer.New(cfg, data)
	if err != nil {
		b.Fatal(err)
	}
	collecting, err := trainer.New(cfg, data)
	if err != nil {
		b.Fatal(err)
	}
	sink, err := pipeline.Create(filepath.Join(b.TempDir(), "bench.mlpv"), collecting.Architecture(), runfile.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	hooks := trainer.Hooks{Pass: func(p *collector.Pass) error { return sink.Publish(ctx, p) }}
	var tPlain, tCollect time.Duration
	timed := func(tr *trainer.Trainer, h trainer.Hooks, total *time.Duration) {
		start := time.Now()
		if _, err := tr.Run(ctx, h); err != nil {
			b.Fatal(err)
		}
		*total += time.Since(start)
	}
	i := 0
	for b.Loop() {
		// Alternate which goes first, so neither always meets a warmer cache.
		if i%2 == 0 {
			timed(plain, trainer.Hooks{}, &tPlain)
			timed(collecting, hooks, &tCollect)
		} else {
			timed(collecting, hooks, &tCollect)
			timed(plain, trainer.Hooks{}, &tPlain)
		}
		i++
	}
	if err := sink.Close(); err != nil {
		b.Fatal(err)
	}
	images := float64(b.N * steps * cfg.BatchSize)
	b.ReportMetric(images/tPlain.Seconds(), "img/s_plain")
	b.ReportMetric(images/tCollect.Seconds(), "img/s_collect")
	b.ReportMetric(100*(tCollect.Seconds()/tPlain.Seconds()-1), "overhead_%")
	b.ReportMetric(float64(sink.Bytes())/float64(sink.Passes()), "bytes/pass")
}
