package seedjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mlpviz/mlpviz/catalog"
	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/collector/seedjson/seedjsontest"
)

// toolCollections are collections as the PyTorch tool writes them: the five
// it ships (default cap 24), uncapped heads, gradients, Python's NaN and
// Infinity, a cap below the classes, and a run too short for a first
// collection.
var toolCollections = []seedjsontest.Collection{
	{Model: "cnn", Dataset: "mnist", NeuronCap: 24, Passes: 3, Seed: 1},
	{Model: "cnn", Dataset: "fashion_mnist", NeuronCap: 24, Passes: 3, Seed: 2},
	{Model: "cifar10_cnn", Dataset: "cifar10", NeuronCap: 24, Passes: 3, Seed: 3},
	{Model: "cnn_large", Dataset: "mnist", NeuronCap: 24, Passes: 3, Seed: 4},
	{Model: "cnn_large", Dataset: "fashion_mnist", NeuronCap: 24, Passes: 3, Seed: 5},
	{Model: "cnn", Dataset: "mnist", Passes: 2, Seed: 6, NonFinite: true},
	// Uncapped cnn_large, tens of megabytes a pass: pass 0 alone.
	{Model: "cnn_large", Dataset: "fashion_mnist", Seed: 7},
	{Model: "cifar10_cnn", Dataset: "cifar10", NeuronCap: 24, Passes: 2, Seed: 8, NonFinite: true, Gradients: true},
	{Model: "cnn_large", Dataset: "mnist", NeuronCap: 8, Passes: 2, Seed: 9, Interval: 500, Gradients: true},
}

func TestReadToolCollections(t *testing.T) {
	for _, c := range toolCollections {
		name := fmt.Sprintf("%s/%s/cap%d/%d", c.Model, c.Dataset, c.NeuronCap, c.Passes)
		if c.NonFinite {
			name += "/nonfinite"
		}
		if c.Gradients {
			name += "/gradients"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			run, err := seedjsontest.New(c)
			if err != nil {
				t.Fatal(err)
			}
			arch, passes := readTool(t, run)
			checkToolArch(t, run, arch)
			if len(passes) != c.Passes+1 {
				t.Fatalf("%d passes, want %d (pass 0 included)", len(passes), c.Passes+1)
			}
			for n, p := range passes {
				checkToolPass(t, run, arch, n, p)
			}

			// mlpviz → JSON → mlpviz loses nothing, and the JSON's classes
			// are pairs the tool's viewer can unpack.
			out := writeJSON(t, arch, passes)
			arch2, passes2 := readString(t, string(out))
			if !reflect.DeepEqual(arch2, arch) {
				t.Fatalf("round trip: architecture\n got %+v\nwant %+v", arch2, arch)
			}
			for i := range passes {
				samePass(t, i, passes[i], passes2[i])
			}
			checkPairs(t, run, out)
		})
	}
}

// readTool reads the run's collection as it is written, through a pipe:
// the uncapped ones are tens of megabytes.
func readTool(t *testing.T, run *seedjsontest.Run) (*collector.Architecture, []*collector.Pass) {
	t.Helper()
	pr, pw := io.Pipe()
	go func() {
		_, err := run.WriteTo(pw)
		pw.CloseWithError(err)
	}()
	arch, passes, err := Read(pr)
	pr.Close()
	if err != nil {
		t.Fatal(err)
	}
	return arch, passes
}

func checkToolArch(t *testing.T, run *seedjsontest.Run, arch *collector.Architecture) {
	t.Helper()
	c := run.Collection()
	m, ds := catalog.LookupModel(c.Model), catalog.LookupDataset(c.Dataset)
	var full []collector.LinearShape
	for _, l := range m.Head() {
		full = append(full, collector.LinearShape{In: l.In, Out: l.Out})
	}
	if !reflect.DeepEqual(arch.FullHead, full) {
		t.Errorf("full head %v, want %v", arch.FullHead, full)
	}
	// The tool keeps the class outputs whole under a cap of 24, not of 8.
	head := collector.CapHead(full, c.NeuronCap)
	if last := &head[len(head)-1]; c.NeuronCap > 0 && last.Out > c.NeuronCap {
		last.Out = c.NeuronCap
	}
	if !reflect.DeepEqual(arch.Head, head) || arch.NeuronCap != c.NeuronCap {
		t.Errorf("head %v under cap %d, want %v under %d", arch.Head, arch.NeuronCap, head, c.NeuronCap)
	}
	if arch.Model != c.Model || arch.Gradients != c.Gradients {
		t.Errorf("model %q gradients %v", arch.Model, arch.Gradients)
	}
	// Without a pass of probe data nothing tells the classes, nor the
	// dataset of a model that takes two.
	wantDS, wantShape := ds.Name, [3]int(ds.Shape)
	if c.Passes == 0 {
		wantShape = [3]int{}
		if c.Model != "cifar10_cnn" {
			wantDS = ""
		}
	}
	if arch.Dataset != wantDS || arch.InputShape != wantShape {
		t.Errorf("dataset %q input %v, want %q %v", arch.Dataset, arch.InputShape, wantDS, wantShape)
	}
	if wantDS != "" && !slices.Equal(arch.ClassNames, ds.Classes) {
		t.Errorf("class names %q, want %q", arch.ClassNames, ds.Classes)
	}
	var kinds []string
	entries := run.Architecture()
	for _, e := range entries[2 : len(entries)-1] { // not the wrappers or the model
		_, kind, _ := strings.Cut(e.Tag, "_")
		kinds = append(kinds, kind)
	}
	var got []string
	for _, mod := range arch.Modules {
		got = append(got, mod.Kind)
	}
	if !slices.Equal(got, kinds) {
		t.Errorf("modules %q, want %q", got, kinds)
	}
}

func checkToolPass(t *testing.T, run *seedjsontest.Run, arch *collector.Architecture, n int, p *collector.Pass) {
	t.Helper()
	want := run.Pass(n)
	what := fmt.Sprintf("pass %d", n)
	if p.Step != n || p.Prediction != want.Prediction || p.TrueLabel != want.TrueLabel {
		t.Fatalf("%s: step %d prediction %d true label %d, want %d %d %d", what, p.Step, p.Prediction, p.TrueLabel, n, want.Prediction, want.TrueLabel)
	}
	equalFloats(t, what+" loss, accuracy", []float32{p.Loss, p.Accuracy}, []float32{float32(want.Loss), want.Accuracy})
	if n == 0 && (!math.IsNaN(float64(p.Loss)) || !math.IsNaN(float64(p.Accuracy)) || p.Image != nil || p.Logits != nil) {
		t.Fatalf("pass 0 holds more than layer data: %+v", p)
	}
	closeFloats(t, what+" image", p.Image, want.Pixels, 1e-6)
	equalFloats(t, what+" logits", p.Logits, want.Logits)
	for j, l := range p.Layers {
		w, h := want.Layers[j], arch.Head[j]
		lw := fmt.Sprintf("%s layer %d ", what, j+1)
		equalFloats(t, lw+"input", l.Input, w.Input)
		equalFloats(t, lw+"bias", l.Bias, w.Bias)
		equalFloats(t, lw+"grad_bias", l.GradBias, w.GradBias)
		if w.Cols == h.In {
			equalFloats(t, lw+"weight", l.Weight, w.Weight)
			equalFloats(t, lw+"grad_weight", l.GradWeight, w.GradWeight)
		} else if len(l.Weight) != h.In*h.Out || len(l.GradWeight) != len(w.GradWeight)/w.Cols*h.In {
			// The tool's columns, pooled to the input's groups.
			t.Fatalf("%sweight of %d values, gradient %d, for %dx%d", lw, len(l.Weight), len(l.GradWeight), h.Out, h.In)
		}
		if len(l.Output) != h.Out {
			t.Fatalf("%soutput of %d values", lw, len(l.Output))
		}
	}
}

// checkPairs decodes Write's output as the tool's viewer does: prediction
// and true label are (index, torchvision name) pairs, and "label" is gone.
func checkPairs(t *testing.T, run *seedjsontest.Run, out []byte) {
	t.Helper()
	// No class name here holds Python's words for non-finite floats.
	for _, word := range []string{"-Infinity", "Infinity", "NaN"} {
		out = bytes.ReplaceAll(out, []byte(word), []byte("null"))
	}
	var doc map[string]map[string]json.RawMessage
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	names := catalog.LookupDataset(run.Collection().Dataset).TorchClasses
	for n := range run.Collection().Passes + 1 {
		p, want := doc[fmt.Sprint(n)], run.Pass(n)
		if p == nil || p["label"] != nil {
			t.Fatalf("pass %d missing, or with a label", n)
		}
		for key, i := range map[string]int{"prediction": want.Prediction, "true_label": want.TrueLabel} {
			if i < 0 {
				if p[key] != nil {
					t.Errorf("pass %d has a %s", n, key)
				}
				continue
			}
			var pair []any
			if err := json.Unmarshal(p[key], &pair); err != nil || len(pair) != 2 || pair[0] != float64(i) || pair[1] != names[i] {
				t.Errorf("pass %d %s: %s, want [%d, %q]", n, key, p[key], i, names[i])
			}
		}
	}
}

// TestReadClassPairs: the names a collection's pairs carry name its classes
// when they are no dataset's, and the indices no pass names are numbers.
func TestReadClassPairs(t *testing.T) {
	small := seedjsontest.Bytes(seedjsontest.Collection{Model: "cnn", Dataset: "mnist", NeuronCap: 24, Passes: 1, Seed: 11})
	r, _ := seedjsontest.New(seedjsontest.Collection{Model: "cnn", Dataset: "mnist", NeuronCap: 24, Passes: 1, Seed: 11})
	p := r.Pass(1)
	s := string(small)
	for _, i := range []int{p.Prediction, p.TrueLabel} {
		name := catalog.LookupDataset("mnist").TorchClasses[i]
		s = strings.ReplaceAll(s, fmt.Sprintf("%q", name), fmt.Sprintf(`"digit %d"`, i))
	}
	arch, passes := readString(t, s)
	if arch.Dataset != "" || len(arch.ClassNames) != 10 {
		t.Fatalf("dataset %q, class names %q", arch.Dataset, arch.ClassNames)
	}
	for i, name := range arch.ClassNames {
		want := fmt.Sprint(i)
		if i == p.Prediction || i == p.TrueLabel {
			want = "digit " + want
		}
		if name != want {
			t.Errorf("class %d is %q, want %q", i, name, want)
		}
	}
	if passes[1].Prediction != p.Prediction || passes[1].TrueLabel != p.TrueLabel {
		t.Errorf("prediction %d true label %d", passes[1].Prediction, passes[1].TrueLabel)
	}

	// The oldest main.py: a bare prediction and its class's name as "label".
	old := `{"architecture": {"1_Linear": {"in_features": 1.0, " out_features": 10.0}},
	 "1": {"1_Linear": {"input": [1], "weight": [[0],[0],[0],[0],[0],[0],[0],[0],[0],[0]], "bias": [0,0,0,0,0,0,0,0,0,0]},
	       "prediction": 3, "label": "cat", "logits": [0,0,0,9,0,0,0,0,0,0]}}`
	arch, passes = readString(t, old)
	if arch.Dataset != "cifar10" || passes[0].Prediction != 3 || passes[0].TrueLabel != -1 {
		t.Fatalf("dataset %q, prediction %d, true label %d", arch.Dataset, passes[0].Prediction, passes[0].TrueLabel)
	}
}

// TestWriteClassNames: Write names classes by torchvision's names for a
// catalog dataset, by the run's own otherwise, and by number past them.
func TestWriteClassNames(t *testing.T) {
	arch := &collector.Architecture{
		InputShape: [3]int{1, 1, 2}, ClassNames: []string{"left", "right"},
		Head: []collector.LinearShape{{In: 2, Out: 2}}, FullHead: []collector.LinearShape{{In: 2, Out: 2}},
	}
	p := &collector.Pass{Step: 1, Loss: 1, Accuracy: 0.5, TrueLabel: 1, Prediction: 5,
		Layers: []collector.LayerPass{{Input: f32s(1, 2), Output: f32s(0, 0), Weight: f32s(0, 0, 0, 0), Bias: f32s(0, 0)}}}
	out := string(writeJSON(t, arch, []*collector.Pass{p}))
	if !strings.Contains(out, `"prediction": [5, "5"], "true_label": [1, "right"]`) {
		t.Fatalf("classes not written as pairs:\n%s", out)
	}
}
