package runfile

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/mlpviz/mlpviz/collector"
)

// mnistHead is the head the size budget is stated for.
var mnistHead = []int{576, 24, 24, 24, 24, 10}

// testArch is an architecture whose head has the given layer widths and
// whose classes are as many as the last width.
func testArch(widths []int, inputShape [3]int) *collector.Architecture {
	a := &collector.Architecture{
		Dataset:    "mnist",
		Model:      "cnn-test",
		InputShape: inputShape,
		Modules: []collector.Module{
			{Kind: "Conv2d", Settings: []collector.Setting{{Key: "in", Value: "1"}, {Key: "out", Value: "16"}}},
			{Kind: "ReLU"},
			{Kind: "Flatten"},
		},
		Gradients: true,
		Interval:  10,
		BatchSize: 64,
		Seed:      7,
	}
	for i := 0; i+1 < len(widths); i++ {
		l := collector.LinearShape{In: widths[i], Out: widths[i+1]}
		a.Head = append(a.Head, l)
		a.FullHead = append(a.FullHead, l)
		a.Modules = append(a.Modules, collector.Module{Kind: "Linear"})
	}
	for i := range widths[len(widths)-1] {
		a.ClassNames = append(a.ClassNames, fmt.Sprintf("class %d", i))
	}
	return a
}

func mnistArch() *collector.Architecture { return testArch(mnistHead, [3]int{1, 28, 28}) }

// smallArch keeps records a few hundred bytes long, for tests that try every
// byte offset.
func smallArch() *collector.Architecture { return testArch([]int{6, 4, 3}, [3]int{1, 2, 2}) }

// randomPass fills every array of a pass for arch with values of assorted
// magnitudes, so that float16 scaling is exercised.
func randomPass(rng *rand.Rand, arch *collector.Architecture, step int, grads bool) *collector.Pass {
	vec := func(n int, scale float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * scale)
		}
		return v
	}
	img := arch.InputShape[0] * arch.InputShape[1] * arch.InputShape[2]
	image := make([]float32, img)
	for i := range image {
		image[i] = rng.Float32()
	}
	nc := len(arch.ClassNames)
	p := &collector.Pass{
		Step:       step,
		Epoch:      step / 100,
		Wall:       time.Unix(1_700_000_000+int64(step), int64(rng.IntN(1e9))),
		Loss:       rng.Float32() * 3,
		Accuracy:   rng.Float32(),
		Image:      image,
		TrueLabel:  rng.IntN(nc),
		Prediction: rng.IntN(nc),
		Logits:     vec(nc, 4),
		Probs:      vec(nc, 0.3),
	}
	for _, l := range arch.Head {
		lp := collector.LayerPass{
			Input:  vec(l.In, 2),
			Output: vec(l.Out, 2),
			Weight: vec(l.In*l.Out, 0.05),
			Bias:   vec(l.Out, 0.01),
		}
		if grads {
			lp.GradWeight = vec(l.In*l.Out, 1e-7) // below float16's normal range
			lp.GradBias = vec(l.Out, 1e-4)
		}
		p.Layers = append(p.Layers, lp)
	}
	return p
}

// setArch is arch with a probe set of probes and a health batch.
func setArch(arch *collector.Architecture, probes, batch int) *collector.Architecture {
	a := *arch
	a.Probes, a.HealthBatch = probes, batch
	return &a
}

// withSet gives p the rest of arch's probe set and, when arch measures it,
// the health of every hidden layer, with values of assorted magnitudes.
func withSet(rng *rand.Rand, arch *collector.Architecture, p *collector.Pass) *collector.Pass {
	vec := func(n int, scale float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * scale)
		}
		return v
	}
	nc := arch.ProbeClasses()
	img := arch.InputShape[0] * arch.InputShape[1] * arch.InputShape[2]
	for j := 1; j < arch.Probes; j++ {
		pr := collector.Probe{TrueLabel: j % nc, Prediction: rng.IntN(nc), Image: vec(img, 1), Logits: vec(nc, 4), Probs: vec(nc, 0.3)}
		for _, l := range arch.Head {
			pr.Layers = append(pr.Layers, collector.ProbeLayer{Input: vec(l.In, 2), Output: vec(l.Out, 2)})
		}
		p.Probes = append(p.Probes, pr)
	}
	if arch.HealthBatch > 0 {
		for _, l := range arch.Head[1:] {
			h := collector.LayerHealth{Mean: vec(l.In, 1), Active: make([]float32, l.In), Std: vec(l.In, 1e-2)}
			for i := range h.Active {
				h.Active[i] = float32(rng.IntN(arch.HealthBatch+1)) / float32(arch.HealthBatch)
				h.Std[i] = max(h.Std[i], -h.Std[i])
			}
			h.Active[0], h.Active[len(h.Active)-1] = 0, 1 // a dead neuron and an always active one
			p.Health = append(p.Health, h)
		}
	}
	return p
}

// realisticPass resembles what a trainer captures on MNIST: weights near
// N(0, 0.05), ReLU activations (half zero), a mostly black image, softmax
// probabilities and small gradients.
func realisticPass(rng *rand.Rand, arch *collector.Architecture, step int, grads bool) *collector.Pass {
	normal := func(n int, sd float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * sd)
		}
		return v
	}
	relu := func(n int) []float32 {
		v := normal(n, 1)
		for i, x := range v {
			v[i] = max(x, 0)
		}
		return v
	}
	img := arch.InputShape[0] * arch.InputShape[1] * arch.InputShape[2]
	image := make([]float32, img)
	for i := range image {
		if rng.Float64() < 0.19 {
			image[i] = rng.Float32()
		}
	}
	nc := len(arch.ClassNames)
	logits := normal(nc, 3)
	probs := make([]float32, nc)
	var sum float64
	for i, x := range logits {
		e := math.Exp(float64(x))
		probs[i] = float32(e)
		sum += e
	}
	for i := range probs {
		probs[i] /= float32(sum)
	}
	p := &collector.Pass{
		Step: step, Epoch: step / 938, Wall: time.Now(),
		Loss: 0.31, Accuracy: 0.91,
		Image: image, TrueLabel: 3, Prediction: 3,
		Logits: logits, Probs: probs,
	}
	for i, l := range arch.Head {
		lp := collector.LayerPass{
			Input:  relu(l.In),
			Output: normal(l.Out, 1),
			Weight: normal(l.In*l.Out, 0.05),
			Bias:   normal(l.Out, 0.01),
		}
		if i == 0 {
			lp.Input = relu(l.In) // conv features: ReLU too
		}
		if grads {
			lp.GradWeight = normal(l.In*l.Out, 1e-3)
			lp.GradBias = normal(l.Out, 1e-3)
		}
		p.Layers = append(p.Layers, lp)
	}
	return p
}

// writeRun writes passes to a new file in a temp dir. With closeIt false the
// writer is abandoned as a killed trainer would leave it.
func writeRun(t testing.TB, arch *collector.Architecture, prec Precision, passes []*collector.Pass, closeIt bool) (path string, offsets []int64, indexOff int64) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "run.mlpv")
	w, err := Create(path, arch, Options{Precision: prec})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range passes {
		if err := w.Append(p); err != nil {
			t.Fatal(err)
		}
	}
	offsets = append([]int64(nil), w.offsets...)
	indexOff = w.Bytes()
	if closeIt {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	} else {
		abandon(w)
	}
	return path, offsets, indexOff
}

// abandon closes the writer's file without index or footer, as SIGKILL would.
func abandon(w *Writer) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	w.out.Close()
	w.enc.Close()
}

func passes(rng *rand.Rand, arch *collector.Architecture, n int, grads bool) []*collector.Pass {
	ps := make([]*collector.Pass, n)
	for i := range ps {
		ps[i] = randomPass(rng, arch, 10*(i+1), grads)
	}
	return ps
}

// sameExact fails unless got equals want bit for bit (the wall time as an
// instant).
func sameExact(t *testing.T, i int, want, got *collector.Pass) {
	t.Helper()
	if !got.Wall.Equal(want.Wall) {
		t.Fatalf("pass %d: wall %v, want %v", i, got.Wall, want.Wall)
	}
	w, g := *want, *got
	w.Wall, g.Wall = time.Time{}, time.Time{}
	if !reflect.DeepEqual(w, g) {
		t.Fatalf("pass %d differs after the round trip", i)
	}
}

// sameF16 fails unless the scalars are exact and every float is within
// float16 precision of the original.
func sameF16(t *testing.T, i int, want, got *collector.Pass) {
	t.Helper()
	if !got.Wall.Equal(want.Wall) || got.Step != want.Step || got.Epoch != want.Epoch ||
		math.Float32bits(got.Loss) != math.Float32bits(want.Loss) ||
		math.Float32bits(got.Accuracy) != math.Float32bits(want.Accuracy) ||
		got.TrueLabel != want.TrueLabel || got.Prediction != want.Prediction {
		t.Fatalf("pass %d: scalars differ: got %+v", i, *got)
	}
	near(t, fmt.Sprintf("pass %d image", i), want.Image, got.Image)
	near(t, fmt.Sprintf("pass %d logits", i), want.Logits, got.Logits)
	near(t, fmt.Sprintf("pass %d probs", i), want.Probs, got.Probs)
	if len(got.Layers) != len(want.Layers) {
		t.Fatalf("pass %d: %d layers, want %d", i, len(got.Layers), len(want.Layers))
	}
	for j := range want.Layers {
		for f := range layerFields {
			near(t, fmt.Sprintf("pass %d layer %d %s", i, j, layerFields[f]),
				*layerField(&want.Layers[j], f), *layerField(&got.Layers[j], f))
		}
	}
	if len(got.Probes) != len(want.Probes) || len(got.Health) != len(want.Health) {
		t.Fatalf("pass %d: %d probes and %d health layers, want %d and %d", i, len(got.Probes), len(got.Health), len(want.Probes), len(want.Health))
	}
	for j := range want.Probes {
		w, g := &want.Probes[j], &got.Probes[j]
		if g.TrueLabel != w.TrueLabel || g.Prediction != w.Prediction || len(g.Layers) != len(w.Layers) {
			t.Fatalf("pass %d probe %d: labels %d %d, %d layers; want %d %d, %d", i, j, g.TrueLabel, g.Prediction, len(g.Layers), w.TrueLabel, w.Prediction, len(w.Layers))
		}
		near(t, fmt.Sprintf("pass %d probe %d image", i, j), w.Image, g.Image)
		near(t, fmt.Sprintf("pass %d probe %d logits", i, j), w.Logits, g.Logits)
		near(t, fmt.Sprintf("pass %d probe %d probs", i, j), w.Probs, g.Probs)
		for k := range w.Layers {
			near(t, fmt.Sprintf("pass %d probe %d layer %d input", i, j, k), w.Layers[k].Input, g.Layers[k].Input)
			near(t, fmt.Sprintf("pass %d probe %d layer %d output", i, j, k), w.Layers[k].Output, g.Layers[k].Output)
		}
	}
	for h := range want.Health {
		w, g := &want.Health[h], &got.Health[h]
		near(t, fmt.Sprintf("pass %d health %d mean", i, h), w.Mean, g.Mean)
		near(t, fmt.Sprintf("pass %d health %d std", i, h), w.Std, g.Std)
		near(t, fmt.Sprintf("pass %d health %d active", i, h), w.Active, g.Active)
	}
	// The rule reads the same on both sides: 0 and 1 are exact in float16.
	wd, ws := want.HealthCounts()
	gd, gs := got.HealthCounts()
	if !reflect.DeepEqual(wd, gd) || !reflect.DeepEqual(ws, gs) {
		t.Fatalf("pass %d: dead %v saturated %v, want %v %v", i, gd, gs, wd, ws)
	}
}

// near allows float16's half-ulp relative error (2^-11, rounding to nearest;
// truncation would double it), and an absolute
// error far below the array's largest value for values that float16 can only
// hold as subnormals even after scaling.
func near(t *testing.T, what string, want, got []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	var m float64
	for _, x := range want {
		m = max(m, math.Abs(float64(x)))
	}
	for i := range want {
		w, g := float64(want[i]), float64(got[i])
		if math.IsInf(w, 0) && w == g {
			continue
		}
		if d := math.Abs(w - g); d > 0x1p-11*(1+1e-6)*math.Abs(w)+m*0x1p-38 {
			t.Fatalf("%s[%d] = %g, want %g (relative error %.2g)", what, i, g, w, d/math.Abs(w))
		}
	}
}
