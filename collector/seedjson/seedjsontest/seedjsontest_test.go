package seedjsontest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/mlpviz/mlpviz/catalog"
)

// TestModelsMatchCatalog: the reprs written here are the catalog's models,
// layer for layer where the tool has a module for the layer.
func TestModelsMatchCatalog(t *testing.T) {
	for _, m := range catalog.Models() {
		var ds string
		for _, d := range catalog.Datasets() {
			if m.Fits(d) == nil {
				ds = d.Name
			}
		}
		r, err := New(Collection{Model: m.Name, Dataset: ds})
		if err != nil {
			t.Fatal(err)
		}
		arch := r.Architecture()
		if arch[0].Tag != "1_Identity" || arch[1].Tag != "2_"+m.TorchClass || arch[len(arch)-1].Tag != fmt.Sprintf("%d_Identity", len(arch)) {
			t.Errorf("%s: entries %s, %s ... %s", m.Name, arch[0].Tag, arch[1].Tag, arch[len(arch)-1].Tag)
		}
		var want, got []string
		for _, l := range m.Layers {
			switch l.Kind {
			case catalog.Conv2D:
				want = append(want, fmt.Sprintf("Conv2d(%d, %d, kernel_size=(%d, %d), stride=(1, 1), padding=(%d, %d))", l.In, l.Out, l.Kernel, l.Kernel, l.Pad, l.Pad))
			case catalog.Linear:
				want = append(want, fmt.Sprintf("Linear(in_features=%d, out_features=%d, bias=True)", l.In, l.Out))
			}
		}
		for _, mod := range modules(models[m.Name]) {
			if strings.HasPrefix(mod.repr, "Conv2d(") || strings.HasPrefix(mod.repr, "Linear(") {
				got = append(got, mod.repr)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: convolutions and Linear layers\n got %q\nwant %q", m.Name, got, want)
		}
	}
}

// TestParseRepr checks the debris of CNN_large's multi-line repr against
// what the tool's _parse_module_str makes of it: a key seen again keeps its
// first place and takes its last value.
func TestParseRepr(t *testing.T) {
	r := models["cnn_large"].String()
	if !strings.HasPrefix(r, "CNN_large(\n  (conv_block): Sequential(\n    (0): Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n") ||
		!strings.HasSuffix(r, "\n    (9): Linear(in_features=64, out_features=10, bias=True)\n  )\n)") {
		t.Fatalf("repr\n%s", r)
	}
	kind, got, err := parseRepr(r)
	if err != nil {
		t.Fatal(err)
	}
	want := []Setting{
		{" kernel_size", false}, {" stride", 2.0}, {" padding", 0.0}, {" eps", 1e-05}, {" momentum", 0.1},
		{" affine", true}, {" track_running_stats", true}, {"kernel_size", 2.0}, {" dilation", 1.0},
		{" ceil_mode", true}, {"p", 0.5}, {" inplace", true}, {"in_features", 64.0}, {" out_features", 10.0}, {" bias", true},
	}
	if kind != "CNN_large" || !reflect.DeepEqual(got, want) {
		t.Fatalf("%s %v\nwant CNN_large %v", kind, got, want)
	}
	if kind, got, _ := parseRepr("ReLU()"); kind != "ReLU" || got != nil {
		t.Fatalf("ReLU(): %s %v", kind, got)
	}
}

func TestPyFloat(t *testing.T) {
	for _, c := range []struct {
		x    float64
		want string
	}{
		{576, "576.0"}, {-1, "-1.0"}, {0, "0.0"}, {math.Copysign(0, -1), "-0.0"},
		{1e-05, "1e-05"}, {0.0001, "0.0001"}, {0.00012345, "0.00012345"}, {-2.5e-7, "-2.5e-07"},
		{0.1, "0.1"}, {float64(float32(0.1)), "0.10000000149011612"}, {12345.678, "12345.678"},
		{1e15, "1000000000000000.0"}, {9999999999999998, "9999999999999998.0"}, {1e16, "1e+16"},
		{1.2345678901234568e+17, "1.2345678901234568e+17"}, {1.5e300, "1.5e+300"}, {5e-324, "5e-324"},
		{math.NaN(), "NaN"}, {math.Inf(1), "Infinity"}, {math.Inf(-1), "-Infinity"},
	} {
		if got := string(appendPyFloat(nil, c.x)); got != c.want {
			t.Errorf("%g: %s, want %s", c.x, got, c.want)
		}
	}
}

func TestPyString(t *testing.T) {
	got := string(appendPyString(nil, "Ankle boot \"a\\b\"\n\t\x01\x7fé😀"))
	if want := `"Ankle boot \"a\\b\"\n\t\u0001\u007f\u00e9\ud83d\ude00"`; got != want {
		t.Fatalf("%s, want %s", got, want)
	}
}

func TestReduceToMaxLen(t *testing.T) {
	v, rows, cols := reduceToMaxLen([]float32{0, 1, 2, 3, 4}, 5, 0, 2)
	if !reflect.DeepEqual(v, []float32{1, 3.5}) || rows != 2 || cols != 0 {
		t.Errorf("vector: %v %dx%d", v, rows, cols)
	}
	// 4 rows to 2: columns pooled to int(6/(4/2)) = 3 windows of 2.
	m := []float32{
		0, 1, 2, 3, 4, 5,
		2, 3, 4, 5, 6, 7,
		10, 10, 10, 10, 10, 10,
		0, 0, 0, 0, 0, 2,
	}
	v, rows, cols = reduceToMaxLen(m, 4, 6, 2)
	if !reflect.DeepEqual(v, []float32{1.5, 3.5, 5.5, 5, 5, 5.5}) || rows != 2 || cols != 3 {
		t.Errorf("matrix: %v %dx%d", v, rows, cols)
	}
	// 5 rows to 2 leave int(4/2.5) = 1 column.
	v, _, cols = reduceToMaxLen(make([]float32, 20), 5, 4, 2)
	if len(v) != 2 || cols != 1 {
		t.Errorf("5x4 under 2: %d values, %d columns", len(v), cols)
	}
	// Overlapping windows: 7 columns to int(7/2) = 3 are [0,3), [2,5), [4,7).
	v, _, cols = reduceToMaxLen(append([]float32{0, 3, 6, 9, 12, 15, 18}, make([]float32, 21)...), 4, 7, 2)
	if want := []float32{1.5, 4.5, 7.5}; cols != 3 || !reflect.DeepEqual(v[:3], want) {
		t.Errorf("7 columns to %d: %v, want %v", cols, v[:3], want)
	}
	if v, rows, _ := reduceToMaxLen(m, 4, 6, 4); &v[0] != &m[0] || rows != 4 {
		t.Error("an array no longer than the cap is not kept whole")
	}
}

// TestLayout checks json.dump's indent-4 layout, the pass keys in the order
// the tool sets them, and that the same collection comes out every time.
func TestLayout(t *testing.T) {
	c := Collection{Model: "cnn", Dataset: "fashion_mnist", NeuronCap: 24, Passes: 2, Seed: 3}
	b := Bytes(c)
	if !bytes.Equal(b, Bytes(c)) {
		t.Fatal("two writes differ")
	}
	s := string(b)
	const head = "{\n    \"architecture\": {\n        \"1_Identity\": {},\n        \"2_CNN\": {\n            \" kernel_size\": false,\n"
	if !strings.HasPrefix(s, head) || !strings.Contains(s[len(s)-60:], ",\n        \"accuracy\": 0.") || !strings.HasSuffix(s, "\n    }\n}") {
		t.Fatalf("layout:\n%s\n...\n%s", s[:200], s[len(s)-100:])
	}
	r, _ := New(c)
	p := r.Pass(1)
	pair := fmt.Sprintf("\"prediction\": [\n            %d,\n            %q\n        ],", p.Prediction, catalog.LookupDataset("fashion_mnist").TorchClasses[p.Prediction])
	if !strings.Contains(s, pair) {
		t.Fatalf("no %s", pair)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for n, want := range map[string][]string{
		"0": {"7_Linear", "8_Linear", "9_Linear", "10_Linear", "11_Linear"},
		"2": {"input", "7_Linear", "8_Linear", "9_Linear", "10_Linear", "11_Linear", "prediction", "true_label", "logits", "loss", "accuracy"},
	} {
		if got := keys(t, doc[n]); !reflect.DeepEqual(got, want) {
			t.Errorf("pass %s keys %q, want %q", n, got, want)
		}
	}
	if len(doc) != 4 {
		t.Errorf("%d top-level keys, want architecture and passes 0-2", len(doc))
	}
}

// keys lists an object's keys in order.
func keys(t *testing.T, obj json.RawMessage) []string {
	dec := json.NewDecoder(bytes.NewReader(obj))
	var out []string
	dec.Token()
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestMetrics: the loss and accuracy are running figures over the whole
// run, NaN poisoning the loss from the step it appears on.
func TestMetrics(t *testing.T) {
	r, err := New(Collection{Model: "cifar10_cnn", Dataset: "cifar10", NeuronCap: 24, Passes: 40, Interval: 25, NonFinite: true})
	if err != nil {
		t.Fatal(err)
	}
	first, last := r.Pass(1), r.Pass(40)
	if first.Loss < 2 || first.Loss > 2.6 || first.Accuracy < 0.05 || first.Accuracy > 0.3 {
		t.Errorf("pass 1: loss %g accuracy %g", first.Loss, first.Accuracy)
	}
	mid := r.Pass(39) // after one whole epoch of 782 steps and its batch of 16
	if mid.Loss > first.Loss || mid.Accuracy < 0.5 || math.IsNaN(mid.Loss) {
		t.Errorf("pass 39: loss %g accuracy %g", mid.Loss, mid.Accuracy)
	}
	if !math.IsNaN(last.Loss) || math.IsNaN(float64(last.Accuracy)) || !math.IsInf(float64(last.Logits[0]), 1) || last.Prediction != 0 {
		t.Errorf("pass 40: loss %g accuracy %g logits %v prediction %d", last.Loss, last.Accuracy, last.Logits[:2], last.Prediction)
	}
	w := last.Layers[0].Weight
	if !math.IsNaN(float64(w[0])) || !math.IsInf(float64(w[len(w)-1]), 1) || !math.IsInf(float64(last.Layers[0].Bias[0]), -1) {
		t.Errorf("pass 40 layer 1: weight %g ... %g, bias %g", w[0], w[len(w)-1], last.Layers[0].Bias[0])
	}
	if p := r.Pass(0); !math.IsNaN(p.Loss) || p.Image != nil || p.Prediction != -1 || r.Pass(41) != nil {
		t.Error("pass 0 has probe data, or pass 41 exists")
	}
}

func TestNewRefuses(t *testing.T) {
	for _, c := range []Collection{
		{Model: "cnn", Dataset: "cifar10"},
		{Model: "mlp", Dataset: "mnist"},
		{Model: "cnn", Dataset: "stl10"},
		{Model: "cnn", Dataset: "mnist", NeuronCap: -1},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// TestCapShapes: the shapes _reduce_to_max_len leaves each Linear layer of
// the seed's models (input, weight rows×columns, bias).
func TestCapShapes(t *testing.T) {
	for _, c := range []struct {
		model, dataset string
		cap            int
		want           string
	}{
		{"cnn", "mnist", 24, "24 24x576 24, 24 24x24 24, 24 24x24 24, 24 24x24 24, 24 10x24 10"},
		{"cnn", "mnist", 0, "576 24x576 24, 24 24x24 24, 24 24x24 24, 24 24x24 24, 24 10x24 10"},
		{"cnn_large", "fashion_mnist", 24, "24 24x1176 24, 24 24x48 24, 24 10x64 10"},
		{"cnn_large", "mnist", 0, "6272 128x6272 128, 128 64x128 64, 64 10x64 10"},
		{"cifar10_cnn", "cifar10", 24, "24 24x96 24, 24 24x48 24, 24 10x512 10"},
		{"cifar10_cnn", "cifar10", 0, "4096 1024x4096 1024, 1024 512x1024 512, 512 10x512 10"},
	} {
		r, err := New(Collection{Model: c.model, Dataset: c.dataset, NeuronCap: c.cap})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range r.Pass(0).Layers {
			if len(l.Weight) != l.Rows*l.Cols {
				t.Fatalf("%s: %s weight of %d values for %dx%d", c.model, l.Tag, len(l.Weight), l.Rows, l.Cols)
			}
			got = append(got, fmt.Sprintf("%d %dx%d %d", len(l.Input), l.Rows, l.Cols, len(l.Bias)))
		}
		if s := strings.Join(got, ", "); s != c.want {
			t.Errorf("%s under cap %d: %s, want %s", c.model, c.cap, s, c.want)
		}
	}
}
