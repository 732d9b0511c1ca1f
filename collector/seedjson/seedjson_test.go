package seedjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/collector/runfile"
	"github.com/mlpviz/mlpviz/collector/seedjson/seedjsontest"
)

// readFile reads a seed collection from a file.
func readFile(t testing.TB, path string) (*collector.Architecture, []*collector.Pass) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	arch, passes, err := Read(f)
	if err != nil {
		t.Fatal(err)
	}
	return arch, passes
}

func readString(t testing.TB, s string) (*collector.Architecture, []*collector.Pass) {
	t.Helper()
	arch, passes, err := Read(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return arch, passes
}

// f32s converts literals the way the seed's doubles read into float32.
func f32s(xs ...float64) []float32 {
	v := make([]float32, len(xs))
	for i, x := range xs {
		v[i] = float32(x)
	}
	return v
}

func equalFloats(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		nan := math.IsNaN(float64(got[i])) && math.IsNaN(float64(want[i])) // of any sign or payload
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !nan {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// closeFloats allows float32 rounding of arithmetic done in float64.
func closeFloats(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - float64(want[i])); d > tol*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// wx is scale·W·x + b in float64, for checking computed outputs.
func wx(w []float32, x []float32, b []float32, scale float64) []float32 {
	out := make([]float32, len(b))
	for r := range b {
		var s float64
		for c := range x {
			s += float64(w[r*len(x)+c]) * float64(x[c])
		}
		out[r] = float32(scale*s + float64(b[r]))
	}
	return out
}

func softmaxRef(l []float32) []float32 {
	var sum float64
	for _, x := range l {
		sum += math.Exp(float64(x))
	}
	p := make([]float32, len(l))
	for i, x := range l {
		p[i] = float32(math.Exp(float64(x)) / sum)
	}
	return p
}

// testdata/seed_small.json was made by json.dump(d, f, indent=4,
// separators=(",", ": ")), the seed's own call, from a dict shaped as the
// seed's collector fills it: the collector's Identity wrappers, the model's
// own entry with the debris of its repr, leading-space keys and float sizes,
// pass 0 with layer data only, and float32 values printed as Python doubles.
func TestReadSeedFixture(t *testing.T) {
	arch, passes := readFile(t, filepath.Join("testdata", "seed_small.json"))

	wantArch := &collector.Architecture{
		Model:      "TinyNet",
		InputShape: [3]int{1, 2, 2},
		ClassNames: []string{"cat", "dog", "2"},
		Modules: []collector.Module{
			{Kind: "Conv2d", Settings: []collector.Setting{{Key: "kernel_size", Value: "false"}, {Key: "padding", Value: "false"}}},
			{Kind: "Linear", Settings: []collector.Setting{{Key: "in_features", Value: "4"}, {Key: "out_features", Value: "3"}, {Key: "bias", Value: "true"}}},
			{Kind: "ReLU"},
			{Kind: "Linear", Settings: []collector.Setting{{Key: "in_features", Value: "3"}, {Key: "out_features", Value: "3"}, {Key: "bias", Value: "true"}}},
		},
		Head:     []collector.LinearShape{{In: 4, Out: 3}, {In: 3, Out: 3}},
		FullHead: []collector.LinearShape{{In: 4, Out: 3}, {In: 3, Out: 3}},
	}
	if !reflect.DeepEqual(arch, wantArch) {
		t.Fatalf("architecture\n got %+v\nwant %+v", arch, wantArch)
	}
	if len(passes) != 3 {
		t.Fatalf("%d passes, want 3", len(passes))
	}

	type layer struct{ input, weight, bias []float32 }
	want := []struct {
		step, label, pred int
		loss, acc         float32
		image, logits     []float32
		layers            [2]layer
	}{
		{
			step: 0, label: -1, pred: -1, loss: float32(math.NaN()), acc: float32(math.NaN()),
			layers: [2]layer{
				{f32s(0.5, -1.25, 2.0, 0.0), f32s(0.1, -0.2, 0.3, -0.4, 0.5, 0.6, -0.7, 0.8, -0.9, 1.0, 0.25, -0.125), f32s(0.01, -0.02, 0.03)},
				{f32s(0.0, 1.5, 0.75), f32s(0.2, 0.4, -0.6, -0.8, 1.2, 0.1, 0.3, -0.5, 0.7), f32s(0.0, 0.1, -0.1)},
			},
		},
		{
			step: 1, label: 1, pred: 2, loss: float32(1.0986122886681098), acc: float32(0.3333333432674408),
			image:  f32s(-0.4246, 2.8215, 0.5, 1.0),
			logits: f32s(-0.023540228605270386, 0.322441041469574, 1.4834473133087158),
			layers: [2]layer{
				{f32s(0.75, 0.0, -0.5, 1.0), f32s(0.11, -0.21, 0.31, -0.41, 0.51, 0.61, -0.71, 0.81, -0.91, 1.01, 0.26, -0.126), f32s(0.011, -0.021, 0.031)},
				{f32s(0.25, 0.0, 1.125), f32s(0.21, 0.41, -0.61, -0.81, 1.21, 0.11, 0.31, -0.51, 0.71), f32s(0.001, 0.101, -0.101)},
			},
		},
		{
			step: 2, label: 0, pred: 0, loss: float32(0.9162907318741551), acc: 0.5,
			image:  f32s(0.0, -0.1, 0.2, 3.0),
			logits: f32s(2.5, -1.0, 0.125),
			layers: [2]layer{
				{f32s(0.0, 0.0, 0.0, 2.5), f32s(0.12, -0.22, 0.32, -0.42, 0.52, 0.62, -0.72, 0.82, -0.92, 1.02, 0.27, -0.127), f32s(0.012, -0.022, 0.032)},
				{f32s(3.0, 0.5, 0.0), f32s(0.22, 0.42, -0.62, -0.82, 1.22, 0.12, 0.32, -0.52, 0.72), f32s(0.002, 0.102, -0.102)},
			},
		},
	}
	for i, w := range want {
		p := passes[i]
		what := fmt.Sprintf("pass %d", i)
		if p.Step != w.step || p.Epoch != 0 || !p.Wall.IsZero() || p.TrueLabel != w.label || p.Prediction != w.pred {
			t.Fatalf("%s: step %d epoch %d wall %v label %d prediction %d", what, p.Step, p.Epoch, p.Wall, p.TrueLabel, p.Prediction)
		}
		equalFloats(t, what+" loss/accuracy", []float32{p.Loss, p.Accuracy}, []float32{w.loss, w.acc})
		equalFloats(t, what+" image", p.Image, w.image)
		equalFloats(t, what+" logits", p.Logits, w.logits)
		if w.logits == nil {
			if p.Probs != nil {
				t.Fatalf("%s: probs %v without logits", what, p.Probs)
			}
		} else {
			closeFloats(t, what+" probs", p.Probs, softmaxRef(w.logits), 1e-7)
		}
		if len(p.Layers) != 2 {
			t.Fatalf("%s: %d layers", what, len(p.Layers))
		}
		for j, wl := range w.layers {
			l := p.Layers[j]
			lw := fmt.Sprintf("%s layer %d", what, j)
			equalFloats(t, lw+" input", l.Input, wl.input)
			equalFloats(t, lw+" weight", l.Weight, wl.weight)
			equalFloats(t, lw+" bias", l.Bias, wl.bias)
			closeFloats(t, lw+" output", l.Output, wx(wl.weight, wl.input, wl.bias, 1), 1e-7)
			if l.GradWeight != nil || l.GradBias != nil {
				t.Fatalf("%s: gradients the file does not hold", lw)
			}
		}
	}
}

// cappedSeed is what the seed writes for a Sequential model (no entry of its
// own) with a 6-4-10 head under --neuron_cap 2 on MNIST: every vector longer
// than 2 becomes 2 group means; the 4×6 weight becomes 2 rows of
// int(6/(4/2)) = 3 columns, the 10×4 one 2 rows of max(1, int(4/(10/2))) = 1.
// Python's NaN marks a diverged loss; the image is normalised.
const cappedSeed = `{"architecture": {"1_Identity": {}, "2_Flatten": {"start_dim": 1.0, " end_dim": -1.0},
 "3_Linear": {"in_features": 6.0, " out_features": 4.0, " bias": true}, "4_ReLU": {},
 "5_Linear": {"in_features": 4.0, " out_features": 10.0, " bias": true}, "6_Identity": {}},
 "1": {"input": [[[-0.4246, 0.0], [1.0, 2.8215]]],
  "3_Linear": {"input": [1.5, -0.5], "weight": [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], "bias": [0.01, 0.02]},
  "5_Linear": {"input": [2.0, 0.25], "weight": [[0.7], [-0.8]], "bias": [0.03, -0.04]},
  "prediction": 7, "label": "Class 7, label 7 - seven",
  "logits": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9e-1], "loss": NaN, "accuracy": 0.125}}`

func TestReadSeedCapped(t *testing.T) {
	arch, passes := readString(t, cappedSeed)
	if arch.Dataset != "mnist" || arch.Model != "" || arch.NeuronCap != 2 || arch.InputShape != [3]int{1, 2, 2} {
		t.Fatalf("architecture %+v", arch)
	}
	if !reflect.DeepEqual(arch.ClassNames, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}) {
		t.Fatalf("class names %q", arch.ClassNames)
	}
	if want := []collector.LinearShape{{In: 6, Out: 4}, {In: 4, Out: 10}}; !reflect.DeepEqual(arch.FullHead, want) {
		t.Fatalf("full head %v", arch.FullHead)
	}
	if want := []collector.LinearShape{{In: 2, Out: 2}, {In: 2, Out: 2}}; !reflect.DeepEqual(arch.Head, want) {
		t.Fatalf("head %v", arch.Head)
	}
	if len(arch.Modules) != 4 || arch.Modules[0].Kind != "Flatten" ||
		!reflect.DeepEqual(arch.Modules[0].Settings, []collector.Setting{{Key: "start_dim", Value: "1"}, {Key: "end_dim", Value: "-1"}}) {
		t.Fatalf("modules %+v", arch.Modules)
	}
	p := passes[0]
	if p.Step != 1 || p.TrueLabel != 7 || p.Prediction != 7 || !math.IsNaN(float64(p.Loss)) || p.Accuracy != 0.125 {
		t.Fatalf("pass %+v", p)
	}
	// Un-normalised with MNIST's 0.1310/0.3085.
	un := func(x float64) float64 { return x*0.3085 + 0.1310 }
	closeFloats(t, "image", p.Image, f32s(un(-0.4246), un(0), un(1), un(2.8215)), 1e-7)
	equalFloats(t, "logits", p.Logits, f32s(0, 1, 2, 3, 4, 5, 6, 7, 8, 0.9))

	l0, l1 := p.Layers[0], p.Layers[1]
	equalFloats(t, "layer 0 input", l0.Input, f32s(1.5, -0.5))
	// Three columns to two with PyTorch's windows [0,2) and [1,3).
	closeFloats(t, "layer 0 weight", l0.Weight, f32s(0.15, 0.25, 0.45, 0.55), 1e-7)
	equalFloats(t, "layer 0 bias", l0.Bias, f32s(0.01, 0.02))
	// Each input value stands for 6/2 = 3 inputs.
	closeFloats(t, "layer 0 output", l0.Output, wx(l0.Weight, l0.Input, l0.Bias, 3), 1e-7)
	// One column repeated to two.
	equalFloats(t, "layer 1 weight", l1.Weight, f32s(0.7, 0.7, -0.8, -0.8))
	closeFloats(t, "layer 1 output", l1.Output, wx(l1.Weight, l1.Input, l1.Bias, 2), 1e-7)
}

// TestReadOlderSeed reads what the seed's first collector wrote: the whole
// batch as a layer's input, ReLU and Identity modules hooked too, gradient
// entries, and passes out of order in the file.
func TestReadOlderSeed(t *testing.T) {
	const old = `{"architecture": {"1_Linear": {"in_features": 2.0, " out_features": 2.0, " bias": true},
	 "2_ReLU": {}, "3_Identity": {}},
	 "10": {"1_Linear": {"input": [[1, 2], [3, 4]], "weight": [[1, 0], [0, 1]], "bias": [0, 0],
	        "grad_output": [[0.5, 0.5]], "grad_weight": [[1, 0], [0, 1]], "grad_bias": [0, 0]},
	        "2_ReLU": {"input": [[1, 2], [3, 4]]}, "3_Identity": {"input": [[1, 2]]}},
	 "2": {"1_Linear": {"input": [[0, 0], [2, 2]], "weight": [[1, 0], [0, 1]], "bias": [0, 0]}}}`
	arch, passes := readString(t, old)
	if len(passes) != 2 || passes[0].Step != 2 || passes[1].Step != 10 {
		t.Fatalf("passes not in numeric order: %d passes", len(passes))
	}
	if !arch.Gradients || arch.Model != "" || len(arch.Modules) != 3 {
		t.Fatalf("architecture %+v", arch)
	}
	equalFloats(t, "batch mean", passes[1].Layers[0].Input, f32s(2, 3))
	equalFloats(t, "output", passes[1].Layers[0].Output, f32s(2, 3))
	equalFloats(t, "grad bias", passes[1].Layers[0].GradBias, f32s(0, 0))
	if passes[0].Layers[0].GradWeight != nil {
		t.Fatal("pass 2 has no gradients in the file")
	}
}

// mnistArch is an mlpviz architecture as the trainer describes the cnn.
func mnistArch() *collector.Architecture {
	widths := []int{576, 24, 24, 24, 24, 10}
	a := &collector.Architecture{
		Dataset: "mnist", Model: "cnn", InputShape: [3]int{1, 28, 28},
		ClassNames: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
		Modules: []collector.Module{
			{Kind: "Conv2d", Settings: []collector.Setting{{Key: "in_channels", Value: "1"}, {Key: "out_channels", Value: "8"},
				{Key: "kernel_size", Value: "(3, 3)"}, {Key: "stride", Value: "(1, 1)"}, {Key: "padding", Value: "(1, 1)"}}},
			{Kind: "ReLU"},
			{Kind: "MaxPool2d", Settings: []collector.Setting{{Key: "kernel_size", Value: "2"}, {Key: "stride", Value: "2"}}},
			{Kind: "Dropout", Settings: []collector.Setting{{Key: "p", Value: "0.5"}}},
			{Kind: "Flatten"},
		},
		Gradients: true, Interval: 50, BatchSize: 64, Seed: 42,
	}
	for i := 0; i+1 < len(widths); i++ {
		l := collector.LinearShape{In: widths[i], Out: widths[i+1]}
		a.Head = append(a.Head, l)
		a.Modules = append(a.Modules, collector.Module{Kind: "Linear", Settings: []collector.Setting{
			{Key: "in_features", Value: fmt.Sprint(l.In)}, {Key: "out_features", Value: fmt.Sprint(l.Out)}, {Key: "bias", Value: "true"}}})
		if i+2 < len(widths) {
			a.Modules = append(a.Modules, collector.Module{Kind: "ReLU"})
		}
	}
	a.FullHead = a.Head
	return a
}

// randomPass fills every array of a pass for arch with values of assorted
// magnitudes.
func randomPass(rng *rand.Rand, arch *collector.Architecture, step int, grads bool) *collector.Pass {
	vec := func(n int, sd float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * sd)
		}
		return v
	}
	img := make([]float32, arch.InputShape[0]*arch.InputShape[1]*arch.InputShape[2])
	for i := range img {
		if rng.IntN(5) == 0 {
			img[i] = rng.Float32()
		}
	}
	nc := len(arch.ClassNames)
	logits := vec(nc, 3)
	p := &collector.Pass{
		Step: step, Epoch: step / 938, Wall: time.Unix(1_700_000_000+int64(step), int64(rng.IntN(1e9))),
		Loss: rng.Float32() * 3, Accuracy: rng.Float32(),
		Image: img, TrueLabel: rng.IntN(nc), Prediction: rng.IntN(nc),
		Logits: logits, Probs: softmaxRef(logits),
	}
	for _, l := range arch.Head {
		lp := collector.LayerPass{
			Input: vec(l.In, 1), Output: vec(l.Out, 2), Weight: vec(l.In*l.Out, 0.05), Bias: vec(l.Out, 0.01),
		}
		if grads {
			lp.GradWeight, lp.GradBias = vec(l.In*l.Out, 1e-4), vec(l.Out, 1e-3)
		}
		p.Layers = append(p.Layers, lp)
	}
	return p
}

func writeJSON(t testing.TB, arch *collector.Architecture, passes []*collector.Pass) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, arch, passes); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// samePass fails unless got equals want bit for bit, but for the image,
// which goes through the dataset's normalisation and back.
func samePass(t *testing.T, i int, want, got *collector.Pass) {
	t.Helper()
	what := fmt.Sprintf("pass %d", i)
	if got.Step != want.Step || got.Epoch != want.Epoch || !got.Wall.Equal(want.Wall) ||
		got.TrueLabel != want.TrueLabel || got.Prediction != want.Prediction {
		t.Fatalf("%s: step %d epoch %d wall %v label %d prediction %d, want %d %d %v %d %d", what,
			got.Step, got.Epoch, got.Wall, got.TrueLabel, got.Prediction,
			want.Step, want.Epoch, want.Wall, want.TrueLabel, want.Prediction)
	}
	equalFloats(t, what+" loss/accuracy", []float32{got.Loss, got.Accuracy}, []float32{want.Loss, want.Accuracy})
	closeFloats(t, what+" image", got.Image, want.Image, 1e-6)
	equalFloats(t, what+" logits", got.Logits, want.Logits)
	equalFloats(t, what+" probs", got.Probs, want.Probs)
	if len(got.Layers) != len(want.Layers) {
		t.Fatalf("%s: %d layers, want %d", what, len(got.Layers), len(want.Layers))
	}
	for j, w := range want.Layers {
		g := got.Layers[j]
		lw := fmt.Sprintf("%s layer %d ", what, j)
		equalFloats(t, lw+"input", g.Input, w.Input)
		equalFloats(t, lw+"output", g.Output, w.Output)
		equalFloats(t, lw+"weight", g.Weight, w.Weight)
		equalFloats(t, lw+"bias", g.Bias, w.Bias)
		equalFloats(t, lw+"grad_weight", g.GradWeight, w.GradWeight)
		equalFloats(t, lw+"grad_bias", g.GradBias, w.GradBias)
	}
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	arch := mnistArch()
	passes := []*collector.Pass{randomPass(rng, arch, 50, true), randomPass(rng, arch, 100, false), randomPass(rng, arch, 150, true)}
	// A first pass without metrics, like the seed's pass 0, and odd values.
	passes[0].Loss, passes[0].Accuracy = float32(math.NaN()), float32(math.NaN())
	passes[1].Layers[2].Weight[5] = float32(math.Inf(-1))
	passes[1].Layers[2].Bias[0] = float32(math.NaN())
	passes[2].Layers[0].Input[0] = math.SmallestNonzeroFloat32
	passes[2].Layers[0].Input[1] = math.MaxFloat32
	passes[2].Wall = time.Time{}

	data := writeJSON(t, arch, passes)
	got, gotPasses := readString(t, string(data))
	if !reflect.DeepEqual(got, arch) {
		t.Fatalf("architecture\n got %+v\nwant %+v", got, arch)
	}
	if len(gotPasses) != len(passes) {
		t.Fatalf("%d passes, want %d", len(gotPasses), len(passes))
	}
	for i := range passes {
		samePass(t, i, passes[i], gotPasses[i])
	}
	// Through a reader that hands out one byte at a time, every NaN and
	// Infinity is cut by a read.
	_, slow, err := Read(iotest.OneByteReader(bytes.NewReader(data)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range passes {
		samePass(t, i, passes[i], slow[i])
	}
}

// TestRoundTripCapped writes an mlpviz run with a neuron cap, whose head is
// smaller than the architecture's Linear sizes.
func TestRoundTripCapped(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	arch := cappedArch()
	passes := []*collector.Pass{randomPass(rng, arch, 10, false), randomPass(rng, arch, 20, false)}
	got, gotPasses := readString(t, string(writeJSON(t, arch, passes)))
	if !reflect.DeepEqual(got, arch) {
		t.Fatalf("architecture\n got %+v\nwant %+v", got, arch)
	}
	for i := range passes {
		samePass(t, i, passes[i], gotPasses[i])
	}
}

// cappedArch is an mlpviz run of a CIFAR-10 head under a neuron cap of 8.
func cappedArch() *collector.Architecture {
	return &collector.Architecture{
		Dataset: "cifar10", Model: "cifar10_cnn", InputShape: [3]int{3, 4, 4},
		ClassNames: []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"},
		FullHead:   []collector.LinearShape{{In: 40, Out: 30}, {In: 30, Out: 10}},
		Head:       []collector.LinearShape{{In: 8, Out: 8}, {In: 8, Out: 10}},
		NeuronCap:  8,
		Modules: []collector.Module{{Kind: "Flatten"},
			{Kind: "Linear", Settings: []collector.Setting{{Key: "in_features", Value: "40"}, {Key: "out_features", Value: "30"}, {Key: "bias", Value: "true"}}},
			{Kind: "ReLU"},
			{Kind: "Linear", Settings: []collector.Setting{{Key: "in_features", Value: "30"}, {Key: "out_features", Value: "10"}, {Key: "bias", Value: "true"}}}},
	}
}

var digitNames = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}

// TestWriteIsSeedShaped decodes Write's output as the seed's visualizer
// does and checks what it looks up.
func TestWriteIsSeedShaped(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	arch := mnistArch()
	passes := []*collector.Pass{randomPass(rng, arch, 50, false), randomPass(rng, arch, 100, false)}
	passes[1].TrueLabel = 7
	var doc map[string]map[string]any
	if err := json.Unmarshal(writeJSON(t, arch, passes), &doc); err != nil {
		t.Fatal(err)
	}
	a := doc["architecture"]
	if _, ok := a["1_Identity"]; !ok {
		t.Fatalf("architecture keys %v", a)
	}
	if _, ok := a["2_CNN"]; !ok {
		t.Fatal("no entry for the seed's CNN")
	}
	var linears []string
	for k := range a {
		if strings.HasSuffix(k, "_Linear") {
			linears = append(linears, k)
		}
	}
	if len(linears) != 5 {
		t.Fatalf("%d Linear entries", len(linears))
	}
	first := a["8_Linear"].(map[string]any)
	if first["in_features"] != 576.0 || first[" out_features"] != 24.0 || first[" bias"] != true {
		t.Fatalf("8_Linear settings %v", first)
	}
	p := doc["2"]
	// The seed's viewer unpacks both as (index, name).
	pred := fmt.Sprint(passes[1].Prediction)
	if fmt.Sprint(p["true_label"]) != "[7 7 - seven]" || fmt.Sprint(p["prediction"]) != "["+pred+" "+pred+" - "+digitNames[passes[1].Prediction]+"]" ||
		p["label"] != nil || len(p["logits"].([]any)) != 10 {
		t.Fatalf("pass 2: true_label %v prediction %v label %v", p["true_label"], p["prediction"], p["label"])
	}
	img := p["input"].([]any)
	if len(img) != 1 || len(img[0].([]any)) != 28 {
		t.Fatal("image is not 1×28×28")
	}
	w := p["8_Linear"].(map[string]any)["weight"].([]any)
	if len(w) != 24 || len(w[0].([]any)) != 576 {
		t.Fatal("weight is not 24×576 rows")
	}
}

// TestRunfileF16 takes a seed collection through a float16 run file and
// back: every number stays within float16 precision.
func TestRunfileF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	arch := mnistArch()
	var src []*collector.Pass
	for i := range 3 {
		src = append(src, randomPass(rng, arch, 50*(i+1), i != 1))
	}
	src[0].Loss, src[0].Accuracy = float32(math.NaN()), float32(math.NaN())
	arch1, passes1 := readString(t, string(writeJSON(t, arch, src)))

	path := filepath.Join(t.TempDir(), "run.mlpv")
	w, err := runfile.Create(path, arch1, runfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range passes1 {
		if err := w.Append(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := runfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var fromRun []*collector.Pass
	for i := range r.Len() {
		p, err := r.Pass(i)
		if err != nil {
			t.Fatal(err)
		}
		fromRun = append(fromRun, p)
	}
	arch2, passes2 := readString(t, string(writeJSON(t, r.Architecture(), fromRun)))
	if !reflect.DeepEqual(arch2, arch1) {
		t.Fatalf("architecture\n got %+v\nwant %+v", arch2, arch1)
	}
	if len(passes2) != len(passes1) {
		t.Fatalf("%d passes, want %d", len(passes2), len(passes1))
	}
	for i, want := range passes1 {
		got := passes2[i]
		if got.Step != want.Step || got.Epoch != want.Epoch || !got.Wall.Equal(want.Wall) ||
			got.TrueLabel != want.TrueLabel || got.Prediction != want.Prediction ||
			math.Float32bits(got.Loss) != math.Float32bits(want.Loss) || math.Float32bits(got.Accuracy) != math.Float32bits(want.Accuracy) {
			t.Fatalf("pass %d: scalars differ:\n got %+v\nwant %+v", i, got, want)
		}
		nearF16(t, fmt.Sprintf("pass %d image", i), want.Image, got.Image)
		nearF16(t, fmt.Sprintf("pass %d logits", i), want.Logits, got.Logits)
		nearF16(t, fmt.Sprintf("pass %d probs", i), want.Probs, got.Probs)
		for j, wl := range want.Layers {
			gl := got.Layers[j]
			what := fmt.Sprintf("pass %d layer %d ", i, j)
			nearF16(t, what+"input", wl.Input, gl.Input)
			nearF16(t, what+"output", wl.Output, gl.Output)
			nearF16(t, what+"weight", wl.Weight, gl.Weight)
			nearF16(t, what+"bias", wl.Bias, gl.Bias)
			nearF16(t, what+"grad_weight", wl.GradWeight, gl.GradWeight)
			nearF16(t, what+"grad_bias", wl.GradBias, gl.GradBias)
		}
	}
}

// nearF16 allows float16's relative rounding error (2^-11) on each value,
// and, for values float16 holds only as subnormals after the run file's
// per-array power-of-two scale, an error far below the array's largest.
func nearF16(t *testing.T, what string, want, got []float32) {
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
		// The image also goes through the dataset's normalisation twice.
		if d := math.Abs(w - g); d > 0x1p-11*(1+1e-5)*math.Abs(w)+m*0x1p-38+1e-7 {
			t.Fatalf("%s[%d] = %g, want %g (relative error %.2g)", what, i, g, w, d/math.Abs(w))
		}
	}
}

func TestReadBadInput(t *testing.T) {
	good := string(writeJSON(t, mnistArch(), []*collector.Pass{randomPass(rand.New(rand.NewPCG(9, 10)), mnistArch(), 50, false)}))
	small, err := os.ReadFile(filepath.Join("testdata", "seed_small.json"))
	if err != nil {
		t.Fatal(err)
	}
	fixture := string(small)
	// Every row of pass 2's 4_Linear weight gets a fifth column.
	at := strings.Index(fixture, `"2": {`)
	at += strings.Index(fixture[at:], `"weight": [`)
	wideWeight := fixture[:at]
	const rowEnd = "\n                ]"
	for range 3 {
		end := at + strings.Index(fixture[at:], rowEnd)
		wideWeight += fixture[at:end] + ",\n 0.5" + rowEnd
		at = end + len(rowEnd)
	}
	wideWeight += fixture[at:]
	// inPass0 replaces old by new within pass 0 only.
	inPass0 := func(old, new string) string {
		at := strings.Index(fixture, `"0": {`)
		return fixture[:at] + strings.Replace(fixture[at:], old, new, 1)
	}

	for _, c := range []struct{ name, in, want string }{
		{"empty", "", "not a seed collection: the input is empty"},
		{"blank", " \n\t", "not a seed collection: the input is empty"},
		{"array", "[1,2]", "not a seed collection: the top level is an array"},
		{"number", "42", "not a seed collection: the top level is a number"},
		{"other object", `{"hello": 1}`, `not a seed collection: no "architecture" object`},
		{"architecture array", `{"architecture": [1, 2]}`, `not a seed collection: "architecture" is an array, want an object`},
		{"no Linear", `{"architecture": {"1_ReLU": {}}}`, `"architecture" object has no Linear layer`},
		{"bad size", `{"architecture": {"1_Linear": {"in_features": 2.5, " out_features": 2.0}}}`, `architecture "1_Linear": in_features is "2.5", want a positive whole number`},
		{"bad key", `{"architecture": {"Linear": {}}}`, `key "Linear" is not of the form "N_Kind"`},
		{"truncated", good[:len(good)/2], "truncated JSON: the input ends at byte " + fmt.Sprint(len(good)/2)},
		{"truncated in key", good[:30], "truncated JSON: the input ends at byte 30"},
		{"truncated at end", good[:len(good)-3], "truncated JSON"},
		{"syntax", `{"architecture": {"1_Linear": {"in_features": 2.0,, }}}`, "invalid JSON near byte"},
		{"trailing", `{"architecture": {"1_Linear": {"in_features": 2.0, " out_features": 2.0}}} {}`, "more data after the collection, near byte"},
		{"weight size", wideWeight, `pass 2, layer "4_Linear": weight is 3x5, the architecture's Linear(4, 3) takes 3x4`},
		{"ragged", inPass0("-0.125", "-0.125, 7"), `pass 0, layer "4_Linear", "weight" near byte`},
		{"missing layer", inPass0(`"6_Linear": {`, `"9_Other": {`), `pass 0 has no data for layer "6_Linear"`},
		{"input size", strings.Replace(fixture, "-1.25,", "", 1), `pass 0, layer "4_Linear": input has 3 values, the architecture's Linear(4, 3) takes 4`},
		{"string in array", strings.Replace(fixture, "-1.25", `"x"`, 1), `string "x" where a number belongs`},
		{"layer not object", inPass0(`"6_Linear": {`, `"6_Linear": 5, "x": {`), `pass 0, layer "6_Linear" is a number, want an object`},
		{"bad prediction", strings.Replace(fixture, `"prediction": 2`, `"prediction": 2.5`, 1), `pass 1, "prediction" near byte 4333: class index 2.5 is not a whole number ≥ 0`},
		{"negative prediction", strings.Replace(fixture, `"prediction": 2`, `"prediction": -1`, 1), `pass 1, "prediction" near byte 4332: class index -1 is not`},
		{"prediction text", strings.Replace(fixture, `"prediction": 2`, `"prediction": "dog"`, 1), `"prediction" near byte 4335: the string "dog", want a class index or an [index, name] pair`},
		{"prediction triple", strings.Replace(fixture, `"prediction": 2`, `"prediction": [2, "dog", 3]`, 1), `"prediction" near byte 4343: an array of 3 values, want a class index or an [index, name] pair`},
		{"pair index", strings.Replace(fixture, `"prediction": 2`, `"prediction": [2.5, "dog"]`, 1), `"prediction" near byte 4342: class index 2.5 is not a whole number ≥ 0`},
		{"pair index text", strings.Replace(fixture, `"prediction": 2`, `"prediction": ["2", "dog"]`, 1), `an [index, name] pair whose index is the string "2", want a whole number ≥ 0`},
		{"pair name", strings.Replace(fixture, `"prediction": 2`, `"prediction": [2, 2]`, 1), `an [index, name] pair whose name is the number 2, want a string`},
		{"true_label object", strings.Replace(fixture, `"label": "Class 1, label dog"`, `"true_label": {}`, 1), `pass 1, "true_label" near byte`},
		{"label object", strings.Replace(fixture, `"label": "Class 1, label dog"`, `"label": {}`, 1), `"label" near byte 4352: an object, want a string, a class index or an [index, name] pair`},
		{"bad word", strings.Replace(fixture, "-1.25", "Nan", 1), "invalid JSON near byte"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Read(strings.NewReader(c.in))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if _, _, derr := decodeAll(strings.NewReader(c.in)); derr == nil || derr.Error() != err.Error() {
				t.Fatalf("Decode's error %v, Read's %v", derr, err)
			}
		})
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(b []byte) (int, error) {
	if r.n == 0 {
		return 0, fmt.Errorf("disk on fire")
	}
	k := copy(b, `{"architecture": {`[:min(r.n, len(b))])
	r.n = 0
	return k, nil
}

func TestReadReaderError(t *testing.T) {
	_, _, err := Read(&failingReader{n: 5})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") || strings.Contains(err.Error(), "truncated") {
		t.Fatalf("error %v", err)
	}
}

// TestPythonWords reads the bare NaN, Infinity and -Infinity Python writes,
// in arrays and as metrics, without touching them inside strings.
func TestPythonWords(t *testing.T) {
	const s = `{"architecture": {"1_Linear": {"in_features": 2.0, " out_features": 1.0, " bias": true}},
	 "1": {"1_Linear": {"input": [NaN,-Infinity], "weight": [[Infinity, -1]], "bias": [-0.0]},
	       "label": "Class 0, label NaN Infinity \"-Infinity\\", "loss": Infinity, "accuracy": NaN, "logits": [-Infinity]}}`
	readers := map[string]func() io.Reader{
		"whole":    func() io.Reader { return strings.NewReader(s) },
		"bytewise": func() io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
	}
	for name, r := range readers {
		arch, passes, err := Read(r())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		l := passes[0].Layers[0]
		if !math.IsNaN(float64(l.Input[0])) || !math.IsInf(float64(l.Input[1]), -1) || !math.IsInf(float64(l.Weight[0]), 1) {
			t.Fatalf("%s: layer %+v", name, l)
		}
		p := passes[0]
		if !math.IsInf(float64(p.Loss), 1) || !math.IsNaN(float64(p.Accuracy)) || !math.IsInf(float64(p.Logits[0]), -1) {
			t.Fatalf("%s: pass %+v", name, p)
		}
		if want := `NaN Infinity "-Infinity\`; arch.ClassNames[0] != want {
			t.Fatalf("%s: class name %q, want %q", name, arch.ClassNames[0], want)
		}
	}
}

func TestWriteRefuses(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	arch := mnistArch()
	p := randomPass(rng, arch, 50, false)
	p.Layers[3].Weight = p.Layers[3].Weight[1:]
	var buf bytes.Buffer
	err := Write(&buf, arch, []*collector.Pass{randomPass(rng, arch, 0, false), p})
	if err == nil || err.Error() != "write: pass at step 50: layer 4 weight has 575 values, the head's 24x24 layer takes 576" {
		t.Fatalf("error %v", err)
	}
	if buf.Len() != 0 {
		t.Fatalf("a refused Write wrote %d bytes", buf.Len())
	}
	if err := Write(&buf, nil, nil); err == nil {
		t.Fatal("nil architecture accepted")
	}
	bad := mnistArch()
	bad.Modules = bad.Modules[:len(bad.Modules)-1] // one Linear short
	if err := Write(&buf, bad, nil); err == nil || !strings.Contains(err.Error(), "4 Linear modules for a head of 5 layers") {
		t.Fatalf("error %v", err)
	}
}

// FuzzRead feeds Read arbitrary bytes: it must never panic, and what it
// accepts must survive Write and Read again.
func FuzzRead(f *testing.F) {
	small, err := os.ReadFile(filepath.Join("testdata", "seed_small.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(small)
	f.Add([]byte(cappedSeed))
	f.Add([]byte(`{"architecture": {"1_Linear": {"in_features": 1.0, " out_features": 1.0}}, "1": {"1_Linear": {"input": [NaN], "weight": [[1]], "bias": [-Infinity]}}}`))
	f.Add([]byte(`{"architecture": {}, "mlpviz": {"input_shape": [1, 2, 2]}}`))
	f.Add([]byte(`{"architecture": {"1_Linear": {"in_features": 1.0, " out_features": 2.0}}, "1": {"1_Linear": {"input": [1], "weight": [[1], [2]], "bias": [0, 0]},
	 "prediction": [1, "dog"], "true_label": [0, "cat"], "logits": [Infinity, 0]}}`))
	f.Add(seedjsontest.Bytes(seedjsontest.Collection{Model: "cnn", Dataset: "mnist", NeuronCap: 24, Passes: 1, NonFinite: true}))
	f.Fuzz(func(t *testing.T, data []byte) {
		arch, passes, err := Read(bytes.NewReader(data))
		darch, dpasses, derr := decodeAll(bytes.NewReader(data))
		if fmt.Sprint(derr) != fmt.Sprint(err) || !reflect.DeepEqual(darch, arch) || len(dpasses) != len(passes) {
			t.Fatalf("Decode gives %d passes, error %v; Read %d, error %v", len(dpasses), derr, len(passes), err)
		}
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := Write(&buf, arch, passes); err != nil {
			return // a seed file may hold what mlpviz cannot write back, e.g. class names that do not match the logits
		}
		if _, again, err := Read(&buf); err != nil || len(again) != len(passes) {
			t.Fatalf("Write's output reads back as %d passes, error %v", len(again), err)
		}
	})
}
