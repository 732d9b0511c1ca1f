package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/collector/runfile"
)

// TestProbeShownFlag: --probe-shown below 1 or past the run's probe set is
// a usage error that says how many probes the run has.
func TestProbeShownFlag(t *testing.T) {
	a := &collector.Architecture{Dataset: "mnist", Model: "cnn", InputShape: [3]int{1, 2, 2},
		ClassNames: []string{"0", "1"}, Head: []collector.LinearShape{{In: 2, Out: 2}}, Probes: 3}
	a.FullHead = a.Head
	layer := collector.LayerPass{Input: []float32{1, 0}, Output: []float32{0.5, -0.5}, Weight: []float32{1, 0, 0, 1}, Bias: []float32{0, 0}}
	probe := collector.Probe{Image: []float32{0, 1, 1, 0}, Logits: []float32{0, 1}, Probs: []float32{0.3, 0.7}, Prediction: 1, TrueLabel: 1,
		Layers: []collector.ProbeLayer{{Input: []float32{0, 1}, Output: []float32{-0.5, 0.5}}}}
	p := &collector.Pass{Step: 10, Image: []float32{1, 0, 0, 1}, Logits: []float32{1, 0}, Probs: []float32{0.7, 0.3},
		Layers: []collector.LayerPass{layer}, Probes: []collector.Probe{probe, probe}}
	data, err := runfile.Encode(a, []*collector.Pass{p}, runfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "probes.mlpv")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ value, want string }{
		{"-1", "--probe-shown must be 1 or more, got -1"},
		{"4", "--probe-shown 4: " + path + " records 3 probe(s) per pass"},
	} {
		code, _, stderr := runCLI(t, "view", path, "--probe-shown", c.value)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("--probe-shown %s: exit %d:\n%s", c.value, code, stderr)
		}
	}
}
