package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mlpviz/mlpviz/catalog"
	"github.com/mlpviz/mlpviz/collector/runfile"
	"github.com/mlpviz/mlpviz/collector/seedjson/seedjsontest"
)

// realShapes are the PyTorch tool's collections in every shape its code
// writes: the five it ships (all under its default cap of 24) and the
// 28x28 models uncapped.
var realShapes = []struct {
	seedjsontest.Collection
	head string // inspect's head line
}{
	{seedjsontest.Collection{Model: "cnn", Dataset: "mnist", NeuronCap: 24}, "24-24-24-24-24-10 (neuron cap 24"},
	{seedjsontest.Collection{Model: "cnn", Dataset: "fashion_mnist", NeuronCap: 24}, "24-24-24-24-24-10 (neuron cap 24"},
	{seedjsontest.Collection{Model: "cifar10_cnn", Dataset: "cifar10", NeuronCap: 24}, "24-24-24-10 (neuron cap 24"},
	{seedjsontest.Collection{Model: "cnn_large", Dataset: "mnist", NeuronCap: 24}, "24-24-24-10 (neuron cap 24"},
	{seedjsontest.Collection{Model: "cnn_large", Dataset: "fashion_mnist", NeuronCap: 24}, "24-24-24-10 (neuron cap 24"},
	{seedjsontest.Collection{Model: "cnn", Dataset: "mnist"}, "576-24-24-24-24-10 (full size"},
	{seedjsontest.Collection{Model: "cnn_large", Dataset: "fashion_mnist", NonFinite: true}, "6272-128-64-10 (full size"},
}

// torchPair matches `"key": [i, "name"]` with one of the dataset's
// torchvision class names.
func torchPair(key, dataset string) *regexp.Regexp {
	names := catalog.LookupDataset(dataset).TorchClasses
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = regexp.QuoteMeta(n)
	}
	return regexp.MustCompile(`"` + key + `": \[\s*\d+,\s*"(` + strings.Join(quoted, "|") + `)"\s*\]`)
}

// writeShape writes one real-shape collection of 3 passes after pass "0".
func writeShape(t *testing.T, dir string, c seedjsontest.Collection) string {
	t.Helper()
	c.Passes, c.Seed = 3, 7
	name := fmt.Sprintf("%s_%s_cap%d.json", c.Dataset, c.Model, c.NeuronCap)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, seedjsontest.Bytes(c), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRealCollections: each real shape is inspected, imported and exported
// by the commands, and the export reads back with its pairs.
func TestRealCollections(t *testing.T) {
	dir := t.TempDir()
	for _, s := range realShapes {
		path := writeShape(t, dir, s.Collection)
		t.Run(filepath.Base(path), func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "inspect", path)
			if code != 0 {
				t.Fatalf("inspect: exit %d:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, "imported in memory (4 passes)") {
				t.Errorf("inspect does not say it imported in memory:\n%s", stderr)
			}
			for _, want := range []string{s.Model + " on " + s.Dataset, s.head, "passes   4, steps 0..3"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("inspect does not say %q:\n%s", want, stdout)
				}
			}

			run := strings.TrimSuffix(path, ".json") + ".mlpv"
			if code, _, stderr := runCLI(t, "import", path, "-o", run); code != 0 {
				t.Fatalf("import: exit %d:\n%s", code, stderr)
			}
			r, err := runfile.Open(run)
			if err != nil {
				t.Fatal(err)
			}
			n, arch := r.Len(), r.Architecture()
			r.Close()
			if n != 4 || arch.Model != s.Model || arch.Dataset != s.Dataset || len(arch.ClassNames) != 10 {
				t.Errorf("imported: %d passes, model %q, dataset %q, %d classes", n, arch.Model, arch.Dataset, len(arch.ClassNames))
			}

			out := strings.TrimSuffix(path, ".json") + ".export.json"
			if code, _, stderr := runCLI(t, "export", run, "-o", out); code != 0 {
				t.Fatalf("export: exit %d:\n%s", code, stderr)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			// The tool's viewer reads both as [index, torchvision name].
			for _, key := range []string{"prediction", "true_label"} {
				if !torchPair(key, s.Dataset).Match(b) {
					t.Errorf("the export has no %q pair with a torchvision class name", key)
				}
			}
			back, passes := readCollectionFile(t, out)
			if len(passes) != 4 || back.Model != s.Model || back.Dataset != s.Dataset {
				t.Errorf("export read back: %d passes, model %q, dataset %q", len(passes), back.Model, back.Dataset)
			}
			// Exporting the collection itself goes through the same reader.
			if code, _, stderr := runCLI(t, "export", path, "-o", out+"2"); code != 0 {
				t.Errorf("export of the JSON: exit %d:\n%s", code, stderr)
			}
		})
	}
}

// TestWindowRealCollections opens real-shape collections directly in the
// window: the head is drawn, with its input image.
func TestWindowRealCollections(t *testing.T) {
	needDisplay(t)
	dir := t.TempDir()
	for _, i := range []int{1, 2, 6} { // Fashion-MNIST cnn, CIFAR-10, cnn_large uncapped with NaN
		s := realShapes[i]
		path := writeShape(t, dir, s.Collection)
		name := fmt.Sprintf("collection_%s_%s.png", s.Dataset, s.Model)
		img := runWindow(t, screenshotPath(t, name), "view", path, "--pass", "4", "--frames", "8")
		v := networkView()
		if red, blue := ink(img, v, reddish), ink(img, v, bluish); red+blue < 1000 {
			t.Errorf("%s: %d red and %d blue pixels: no connections drawn", name, red, blue)
		}
	}
	code, _, stderr := runCLI(t, "view", filepath.Join(dir, "fashion_mnist_cnn_cap24.json"), "--pass", "99")
	if code != 2 || !strings.Contains(stderr, "--pass 99: ") || !strings.Contains(stderr, "has 4 passes") {
		t.Errorf("--pass 99: exit %d:\n%s", code, stderr)
	}
}
