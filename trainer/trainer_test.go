package trainer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mlpviz/mlpviz/catalog"
	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/trainer/dataset"
)

var (
	mnistOnce sync.Once
	mnist     *dataset.Dataset
	mnistErr  error
)

// realMNIST loads the MNIST copy bundled with the Go module cache, once.
func realMNIST(t *testing.T) *dataset.Dataset {
	t.Helper()
	mnistOnce.Do(func() {
		mnist, mnistErr = dataset.Load(context.Background(), "mnist", dataset.Options{Dir: t.TempDir(), Offline: true})
	})
	if mnistErr != nil {
		t.Fatal(mnistErr)
	}
	return mnist
}

func config() Config {
	return Config{Model: "cnn", Epochs: 1, BatchSize: 32, LR: 0.002, Dropout: -1, Interval: 5, MaxSteps: 15, Seed: 7}
}

// losses trains cfg and returns the loss after every step.
func losses(t *testing.T, cfg Config) []float64 {
	t.Helper()
	tr, err := New(cfg, realMNIST(t))
	if err != nil {
		t.Fatal(err)
	}
	var ls []float64
	last := 0.0
	res, err := tr.Run(context.Background(), Hooks{Progress: func(p Progress) {
		// Progress reports the running mean since the last pass; recover
		// each step's own loss from it.
		n := float64((p.Step-1)%cfg.Interval + 1)
		ls = append(ls, p.Loss*n-last*(n-1))
		last = p.Loss
		if int(n) == cfg.Interval {
			last = 0
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != cfg.MaxSteps {
		t.Fatalf("ran %d steps, want %d", res.Steps, cfg.MaxSteps)
	}
	return ls
}

// TestSameSeedSameLosses: the same seed and workers give the same loss
// sequence, a different seed a different one.
func TestSameSeedSameLosses(t *testing.T) {
	for _, workers := range []int{1, 3} {
		cfg := config()
		cfg.Workers = workers
		a, b := losses(t, cfg), losses(t, cfg)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%d workers, step %d: loss %v then %v with the same seed", workers, i+1, a[i], b[i])
			}
		}
	}
	a := losses(t, config())
	cfg := config()
	cfg.Seed = 8
	if c := losses(t, cfg); c[0] == a[0] && c[len(c)-1] == a[len(a)-1] {
		t.Fatalf("seed 8 gave the same losses as seed 7: %v", c)
	}
}

// TestPasses: a pass every Interval steps, each a self-consistent picture of
// the head for one test image.
func TestPasses(t *testing.T) {
	cfg := config()
	cfg.Gradients = true
	tr, err := New(cfg, realMNIST(t))
	if err != nil {
		t.Fatal(err)
	}
	arch := tr.Architecture()
	if len(arch.Head) != 5 || arch.Head[0] != (collector.LinearShape{In: 576, Out: 24}) || arch.Head[4] != (collector.LinearShape{In: 24, Out: 10}) {
		t.Fatalf("head %v, want 576-24-24-24-24-10", arch.Head)
	}
	var passes []*collector.Pass
	if _, err := tr.Run(context.Background(), Hooks{Pass: func(p *collector.Pass) error {
		passes = append(passes, p)
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	if len(passes) != 3 {
		t.Fatalf("%d passes, want 3 (15 steps, interval 5)", len(passes))
	}
	for i, p := range passes {
		if p.Step != 5*(i+1) || p.TrueLabel != int(realMNIST(t).Test.Labels[0]) { // the default probe: test image 0
			t.Errorf("pass %d: step %d label %d", i, p.Step, p.TrueLabel)
		}
		for l, lp := range p.Layers {
			sh := arch.Head[l]
			if len(lp.Input) != sh.In || len(lp.Output) != sh.Out || len(lp.Weight) != sh.In*sh.Out || len(lp.GradWeight) != sh.In*sh.Out {
				t.Fatalf("pass %d layer %d: sizes do not match %v", i, l, sh)
			}
			// Output must be W·input + b for the probe itself.
			for o := 0; o < sh.Out; o++ {
				s := float64(lp.Bias[o])
				for j := 0; j < sh.In; j++ {
					s += float64(lp.Weight[o*sh.In+j]) * float64(lp.Input[j])
				}
				if math.Abs(s-float64(lp.Output[o])) > 1e-4 {
					t.Fatalf("pass %d layer %d out %d: %v, recomputed %v", i, l, o, lp.Output[o], s)
				}
			}
			if l > 0 { // ReLU between layers: the next input is the previous output clipped at 0
				for j, v := range p.Layers[l-1].Output {
					if float32(math.Max(float64(v), 0)) != lp.Input[j] {
						t.Fatalf("pass %d layer %d input %d: %v is not relu(%v)", i, l, j, lp.Input[j], v)
					}
				}
			}
		}
		var sum float64
		for j, v := range p.Probs {
			sum += float64(v)
			if v > p.Probs[p.Prediction] {
				t.Errorf("pass %d: prediction %d is not the most probable class %d", i, p.Prediction, j)
			}
		}
		if math.Abs(sum-1) > 1e-5 || p.Loss <= 0 || p.Accuracy < 0 || p.Accuracy > 1 || len(p.Image) != 784 {
			t.Errorf("pass %d: probs sum %v, loss %v, accuracy %v, image %d", i, sum, p.Loss, p.Accuracy, len(p.Image))
		}
	}
}

// TestStopOnCancel: cancelling the context stops training between batches.
func TestStopOnCancel(t *testing.T) {
	cfg := config()
	cfg.MaxSteps = 0
	tr, err := New(cfg, realMNIST(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	res, err := tr.Run(ctx, Hooks{Progress: func(p Progress) {
		if p.Step == 3 {
			cancel()
		}
	}})
	if err != nil || !res.Stopped || res.Steps != 3 {
		t.Fatalf("got %+v, %v; want stopped after 3 steps", res, err)
	}
}

// TestDivergence: a NaN in the weights stops the run with ErrDiverged
// instead of training on garbage.
func TestDivergence(t *testing.T) {
	// Random images suffice: the NaN, not the data, must stop the run.
	tr, err := New(config(), dataset.Random(catalog.Shape{1, 28, 28}, 64, 8, 1))
	if err != nil {
		t.Fatal(err)
	}
	tr.be.Upload(tr.Model.Params()[0].W.Slice(0, 1), []float32{float32(math.NaN())})
	_, err = tr.Run(context.Background(), Hooks{})
	if !errors.Is(err, ErrDiverged) {
		t.Fatalf("err = %v, want ErrDiverged", err)
	}
}

func TestValidate(t *testing.T) {
	bad := []func(*Config){
		func(c *Config) { c.Epochs = 0 },
		func(c *Config) { c.BatchSize = -1 },
		func(c *Config) { c.Interval = 0 },
		func(c *Config) { c.MaxSteps = -1 },
		func(c *Config) { c.LR = float32(math.NaN()) },
		func(c *Config) { c.Dropout = 1 },
		func(c *Config) { c.Probes = collector.MaxProbes + 1 },
		func(c *Config) { c.HealthBatch = -1 },
	}
	for i, f := range bad {
		c := config()
		f(&c)
		if c.Validate() == nil {
			t.Errorf("case %d: %+v accepted", i, c)
		}
	}
	c := config()
	c.Model = "cifar10_cnn"
	if _, err := New(c, dataset.Random(catalog.Shape{1, 28, 28}, 4, 2, 1)); err == nil {
		t.Error("cifar10_cnn accepted 28x28 grey images")
	}
	c.Model = "resnet"
	if _, err := New(c, dataset.Random(catalog.Shape{1, 28, 28}, 4, 2, 1)); err == nil {
		t.Error("an unknown model was built")
	}
}

// BenchmarkCapture is the trainer's side of collecting one pass of the cnn
// head at full size with the default probe set and health batch: their
// eval-mode forward pass and copying the head.
func BenchmarkCapture(b *testing.B) {
	data, err := dataset.Load(context.Background(), "mnist", dataset.Options{Dir: b.TempDir(), Offline: true})
	if err != nil {
		b.Fatal(err)
	}
	cfg := config()
	cfg.Probes, cfg.HealthBatch = 10, 256 // mlpviz train's defaults
	tr, err := New(cfg, data)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tr.Capture(i%data.Test.N, i, 1)
		i++
	}
}

// TestCapturedPassesFitTheCap: with a neuron cap, every pass the trainer
// hands out already fits the capped head of its architecture, gradients
// included, so a caller can write it as it is.
func TestCapturedPassesFitTheCap(t *testing.T) {
	cfg := config()
	cfg.BatchSize, cfg.MaxSteps, cfg.Interval = 4, 6, 2
	cfg.NeuronCap, cfg.Gradients = 8, true
	tr, err := New(cfg, dataset.Random(catalog.Shape{1, 28, 28}, 24, 3, 1))
	if err != nil {
		t.Fatal(err)
	}
	arch := tr.Architecture()
	if arch.Head[0] != (collector.LinearShape{In: 8, Out: 8}) || arch.FullHead[0] != (collector.LinearShape{In: 576, Out: 24}) {
		t.Fatalf("head %v, full head %v: want the cap of 8 on the first layer", arch.Head, arch.FullHead)
	}
	n := 0
	if _, err := tr.Run(context.Background(), Hooks{Pass: func(p *collector.Pass) error {
		n++
		if len(p.Layers[0].GradWeight) == 0 {
			t.Errorf("pass at step %d: no gradients", p.Step)
		}
		return arch.Check(p)
	}}); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("%d passes, want 3 (6 steps, interval 2)", n)
	}
}

// TestProbe: by default every pass shows the same test image, so passes
// compare; ProbeRandom shows others; the run file says which.
func TestProbe(t *testing.T) {
	data := dataset.Random(catalog.Shape{1, 28, 28}, 512, 16, 1) // 16 steps of 32
	images := func(probe int) (map[string]bool, string) {
		cfg := config()
		cfg.Interval, cfg.MaxSteps, cfg.Probe = 1, 8, probe
		tr, err := New(cfg, data)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		if _, err := tr.Run(context.Background(), Hooks{Pass: func(p *collector.Pass) error {
			seen[fmt.Sprint(p.Image)] = true
			return nil
		}}); err != nil {
			t.Fatal(err)
		}
		return seen, tr.Architecture().Probe
	}
	if seen, probe := images(3); len(seen) != 1 || probe != "3" {
		t.Errorf("--probe 3: %d different images in 8 passes, recorded as %q", len(seen), probe)
	}
	if seen, probe := images(ProbeRandom); len(seen) < 3 || probe != "random" {
		t.Errorf("--probe random: %d different images in 8 passes, recorded as %q", len(seen), probe)
	}
	cfg := config()
	cfg.Probe = 16
	if _, err := New(cfg, data); err == nil || !strings.Contains(err.Error(), "--probe 16: ") {
		t.Errorf("a probe past the test set: %v", err)
	}
}

// TestStopWhileHookWaits: cancelling while the pass hook waits (the run
// file's writer is behind) stops the run cleanly, as a cancel between
// steps does.
func TestStopWhileHookWaits(t *testing.T) {
	tr, err := New(config(), dataset.Random(catalog.Shape{1, 28, 28}, 512, 8, 1))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	res, err := tr.Run(ctx, Hooks{Pass: func(*collector.Pass) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	}})
	if err != nil || !res.Stopped {
		t.Fatalf("Run = %+v, %v; want stopped without error", res, err)
	}
}

// TestFiguresOnDevice: where the figures stay on the backend until a pass
// or the end needs them (a GPU), the progress and the passes report the
// same figures as when every step's reach the host, and a loss that is not
// finite still names its own step.
func TestFiguresOnDevice(t *testing.T) {
	type report struct{ loss, acc float64 }
	run := func(eager bool) (map[int]report, []float32) {
		tr, err := New(config(), realMNIST(t))
		if err != nil {
			t.Fatal(err)
		}
		tr.figs.eager = eager
		seen := map[int]report{}
		var passes []float32
		if _, err := tr.Run(context.Background(), Hooks{
			Progress: func(p Progress) { seen[p.Step] = report{p.Loss, p.Accuracy} },
			Pass: func(p *collector.Pass) error {
				passes = append(passes, p.Loss, p.Accuracy)
				return nil
			},
		}); err != nil {
			t.Fatal(err)
		}
		return seen, passes
	}
	every, passesEvery := run(true)
	some, passesSome := run(false)
	if len(every) != 15 {
		t.Fatalf("%d progress reports from the CPU's figures, want 15", len(every))
	}
	for _, step := range []int{5, 10, 15} {
		if _, ok := some[step]; !ok {
			t.Errorf("no progress at step %d, where a pass is due", step)
		}
	}
	for step, r := range some {
		if every[step] != r {
			t.Errorf("step %d: progress %+v, want %+v", step, r, every[step])
		}
	}
	if fmt.Sprint(passesSome) != fmt.Sprint(passesEvery) {
		t.Errorf("passes report %v, want %v", passesSome, passesEvery)
	}

	tr, err := New(config(), dataset.Random(catalog.Shape{1, 28, 28}, 64, 8, 1))
	if err != nil {
		t.Fatal(err)
	}
	tr.figs.eager = false
	tr.be.Upload(tr.Model.Params()[0].W.Slice(0, 1), []float32{float32(math.NaN())})
	res, err := tr.Run(context.Background(), Hooks{})
	if !errors.Is(err, ErrDiverged) || !strings.Contains(err.Error(), "at step 1:") || res.Steps != 0 {
		t.Fatalf("Run = %+v, %v; want ErrDiverged at step 1 after 0 steps", res, err)
	}
}

// TestProbeSetAndHealth: a pass holds one probe per class, each as the head
// saw it (probe 0 as a single-probe run sees it, with the same weights),
// and the health of every hidden neuron over the health batch.
func TestProbeSetAndHealth(t *testing.T) {
	data := realMNIST(t)
	capture := func(probes, health int) (*collector.Pass, *collector.Architecture) {
		cfg := config()
		cfg.MaxSteps, cfg.Interval, cfg.Probes, cfg.HealthBatch = 5, 5, probes, health
		tr, err := New(cfg, data)
		if err != nil {
			t.Fatal(err)
		}
		var pass *collector.Pass
		if _, err := tr.Run(context.Background(), Hooks{Pass: func(p *collector.Pass) error { pass = p; return nil }}); err != nil {
			t.Fatal(err)
		}
		arch := tr.Architecture()
		if err := arch.Check(pass); err != nil {
			t.Fatal(err)
		}
		return pass, arch
	}
	one, _ := capture(1, 0)
	p, arch := capture(10, 64)
	if arch.Probes != 10 || arch.HealthBatch != 64 || p.NumProbes() != 10 {
		t.Fatalf("architecture says %d probes, %d health images; the pass holds %d probes", arch.Probes, arch.HealthBatch, p.NumProbes())
	}
	labels := map[int]bool{}
	for j := range p.NumProbes() {
		q := p.ForProbe(j)
		labels[q.TrueLabel] = true
		if j > 0 && slices.Equal(q.Image, p.Image) {
			t.Errorf("probe %d shows probe 0's image", j)
		}
		if pred := slices.Index(q.Probs, slices.Max(q.Probs)); pred != q.Prediction {
			t.Errorf("probe %d: prediction %d, most probable %d", j, q.Prediction, pred)
		}
	}
	if len(labels) != 10 {
		t.Errorf("the 10 probes show %d classes, want one of each", len(labels))
	}
	// Probe 0 in a batch of 74 is what a batch of one gives, to rounding.
	for k := range one.Layers {
		a, b := one.Layers[k].Output, p.Layers[k].Output
		for i := range a {
			if d := math.Abs(float64(a[i] - b[i])); d > 1e-3*(1+math.Abs(float64(a[i]))) {
				t.Fatalf("layer %d output %d: %g alone, %g in the capture batch", k, i, a[i], b[i])
			}
		}
	}
	if len(one.Probes) != 0 || len(one.Health) != 0 {
		t.Errorf("a single-probe run without health holds %d probes, %d health layers", len(one.Probes), len(one.Health))
	}
	if len(p.Health) != len(p.Layers)-1 {
		t.Fatalf("%d health layers for %d hidden layers", len(p.Health), len(p.Layers)-1)
	}
	for h, lh := range p.Health {
		for i, a := range lh.Active {
			if a < 0 || a > 1 || lh.Std[i] < 0 || (a == 0 && lh.Mean[i] != 0) {
				t.Fatalf("hidden layer %d neuron %d: active %g, mean %g, std %g", h+1, i, a, lh.Mean[i], lh.Std[i])
			}
		}
	}
}

// TestHealth: the figures of one layer over a batch, and the collector's
// rule applied to them.
func TestHealth(t *testing.T) {
	// Three images, four neurons: always off, always 2 (saturated), on for
	// one image, varying and always on.
	a := []float32{
		0, 2, 0, 1,
		0, 2, 0, 2,
		-1, 2, 3, 3,
	}
	h := health(a, 3, 4)
	want := collector.LayerHealth{
		Mean:   []float32{-1.0 / 3, 2, 1, 2},
		Active: []float32{0, 1, 1.0 / 3, 1},
		Std:    []float32{float32(math.Sqrt(2.0 / 9)), 0, float32(math.Sqrt(2)), float32(math.Sqrt(2.0 / 3))},
	}
	for i := range 4 {
		for _, f := range [][2]float32{{h.Mean[i], want.Mean[i]}, {h.Active[i], want.Active[i]}, {h.Std[i], want.Std[i]}} {
			if math.Abs(float64(f[0]-f[1])) > 1e-6 {
				t.Fatalf("neuron %d: got %+v, want %+v", i, h, want)
			}
		}
	}
	if dead, sat := h.Counts(); dead != 1 || sat != 1 || !h.Dead(0) || !h.Saturated(1) {
		t.Errorf("%d dead, %d saturated; want neuron 0 dead and neuron 1 saturated", dead, sat)
	}
}

// TestGradientsByDefault: cnn's small head records gradients unless told
// not to; the large heads do not.
func TestGradientsByDefault(t *testing.T) {
	for _, c := range []struct {
		model string
		cap   int
		want  bool
	}{{"cnn", 0, true}, {"cnn_large", 0, false}, {"cifar10_cnn", 0, false}, {"cifar10_cnn", 16, true}, {"nope", 0, false}} {
		if got := GradientsByDefault(c.model, c.cap); got != c.want {
			t.Errorf("%s with cap %d: %v, want %v", c.model, c.cap, got, c.want)
		}
	}
}
