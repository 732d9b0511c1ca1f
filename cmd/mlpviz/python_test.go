package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlpviz/mlpviz/collector/runfile"
)

// The Python recorder (python/) writes run files from a PyTorch user's own
// training script; these tests run it with Debian's PyTorch and read what
// it wrote with the Go reader and the mlpviz commands.

const systemPython = "/usr/bin/python3"

// needTorch skips unless the system Python has torch and numpy.
func needTorch(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs PyTorch")
	}
	if err := exec.Command(systemPython, "-c", "import torch, numpy").Run(); err != nil {
		t.Skipf("%s has no torch and numpy (apt-get install python3-torch python3-numpy): %v", systemPython, err)
	}
}

// pythonCommand runs a Python script of the repository with the recorder on
// its path.
func pythonCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(systemPython, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(root, "python"), "OMP_NUM_THREADS=1")
	return cmd
}

// TestPythonExample: the example script's run file has a pass every K steps,
// the head the script's model has, and nothing damaged, by inspect.
func TestPythonExample(t *testing.T) {
	needTorch(t)
	out := filepath.Join(t.TempDir(), "example.mlpv")
	b, err := pythonCommand(t, "python/examples/train_mnist.py", "--out", out, "--steps", "60", "--every", "10").CombinedOutput()
	if err != nil {
		t.Fatalf("train_mnist.py: %v\n%s", err, b)
	}
	s, code, stderr := inspectJSON(t, out)
	if code != 0 {
		t.Fatalf("inspect: exit %d\n%s", code, stderr)
	}
	// Ten probes, one per class: a probe set, which format version 4 holds.
	if s.WholePasses != 6 || s.Damaged || !s.Closed || s.FormatVersion != 4 || s.Probes != 10 {
		t.Fatalf("inspect: %d passes, damaged %v, closed %v, format %d, %d probes; want 6, false, true, 4, 10\n%s",
			s.WholePasses, s.Damaged, s.Closed, s.FormatVersion, s.Probes, stderr)
	}
	r, err := runfile.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	head := r.Architecture().Head
	if len(head) < 2 || head[len(head)-1].Out != 10 {
		t.Fatalf("head %v: want a chain of Linear layers ending in 10 classes", head)
	}
	for i := 1; i < len(head); i++ {
		if head[i].In != head[i-1].Out {
			t.Fatalf("head %v does not chain", head)
		}
	}
	for i := range r.Len() {
		p, err := r.Pass(i)
		if err != nil {
			t.Fatalf("pass %d: %v", i, err)
		}
		if p.Step != 10*(i+1) {
			t.Fatalf("pass %d at step %d, want %d", i, p.Step, 10*(i+1))
		}
	}
}

// probeSetScript records a run of a probe set of five: probe i is an image
// of the value (i+1)/8 everywhere (exact in float16), labels 0 1 2 0 1, and
// the pass's own probe is probes[1], so that the set is probes 1, 0, 2, 3, 4.
const probeSetScript = `
import sys
import torch, torch.nn as nn, torch.nn.functional as F
from mlpviz import Recorder
torch.manual_seed(0)
probes = torch.stack([torch.full((1, 2, 3), (i + 1) / 8) for i in range(5)])
model = nn.Sequential(nn.Flatten(), nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
with Recorder(sys.argv[1], model, probes, labels=[0, 1, 2, 0, 1], probe=1, every=2, gradients=True) as rec:
    for step in range(6):
        x, y = torch.randn(8, 1, 2, 3), torch.randint(0, 3, (8,))
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        rec.step(loss=loss.item())
`

// TestPythonProbeSet: a Python run of several probes opens in Go as a run
// of that probe set (format version 4): every pass holds all the probes, in
// the set's order, each with its image, label and activations of every
// layer, and passes the architecture's Check.
func TestPythonProbeSet(t *testing.T) {
	needTorch(t)
	const k = 5
	out := filepath.Join(t.TempDir(), "probes.mlpv")
	if b, err := pythonCommand(t, "-c", probeSetScript, out).CombinedOutput(); err != nil {
		t.Fatalf("recording a probe set: %v\n%s", err, b)
	}
	r, err := runfile.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	a := r.Architecture()
	if r.FormatVersion() != 4 || a.Probes != k || a.Probe != "1" || r.Len() != 3 || !r.Closed() {
		t.Fatalf("format %d, probes %d, probe %q, %d passes, closed %v; want 4, %d, \"1\", 3, true",
			r.FormatVersion(), a.Probes, a.Probe, r.Len(), r.Closed(), k)
	}
	order, labels := []int{1, 0, 2, 3, 4}, []int{0, 1, 2, 0, 1}
	for i := range r.Len() {
		p, err := r.Pass(i)
		if err != nil {
			t.Fatalf("pass %d: %v", i, err)
		}
		if p.NumProbes() != k {
			t.Fatalf("pass %d holds %d probes, want %d", i, p.NumProbes(), k)
		}
		if err := a.Check(p); err != nil {
			t.Fatalf("pass %d: %v", i, err)
		}
		for j := range k {
			q := p.ForProbe(j)
			want := float32(order[j]+1) / 8
			if len(q.Image) != 6 || q.TrueLabel != labels[order[j]] {
				t.Fatalf("pass %d probe %d: %d image values, label %d; want 6, %d", i, j+1, len(q.Image), q.TrueLabel, labels[order[j]])
			}
			for _, v := range q.Image {
				if v != want {
					t.Fatalf("pass %d probe %d: image %v, want all %g (probes[%d])", i, j+1, q.Image, want, order[j])
				}
			}
			var sum float64
			best := 0
			for c, v := range q.Probs {
				sum += float64(v)
				if v > q.Probs[best] {
					best = c
				}
			}
			if len(q.Logits) != 3 || len(q.Probs) != 3 || math.Abs(sum-1) > 1e-2 || q.Prediction != best {
				t.Fatalf("pass %d probe %d: logits %v probs %v prediction %d", i, j+1, q.Logits, q.Probs, q.Prediction)
			}
			// The first layer's input is the probe's image, flattened.
			closeF16(t, fmt.Sprintf("pass %d probe %d layer 1 input", i, j+1), q.Layers[0].Input, q.Image)
			if len(q.Layers[1].Input) != 5 || len(q.Layers[1].Output) != 3 {
				t.Fatalf("pass %d probe %d: layer 2 activations of %d and %d values", i, j+1, len(q.Layers[1].Input), len(q.Layers[1].Output))
			}
		}
	}
	s, code, stderr := inspectJSON(t, out)
	if code != 0 {
		t.Fatalf("inspect: exit %d\n%s", code, stderr)
	}
	if s.Probes != k || s.FormatVersion != 4 || s.Damaged || s.WholePasses != 3 {
		t.Fatalf("inspect: %d probes, format %d, damaged %v, %d passes; want %d, 4, false, 3\n%s", s.Probes, s.FormatVersion, s.Damaged, s.WholePasses, k, stderr)
	}
}

// expectedPass is what testdata/record_values.py computed in PyTorch at a
// capture, independently of the recorder.
type expectedPass struct {
	Step       int         `json:"step"`
	Loss       float64     `json:"loss"`
	Accuracy   float64     `json:"accuracy"`
	Label      int         `json:"label"`
	Prediction int         `json:"prediction"`
	Image      []float32   `json:"image"`
	Logits     []float32   `json:"logits"`
	Inputs     [][]float32 `json:"inputs"`
	Outputs    [][]float32 `json:"outputs"`
	Weights    [][]float32 `json:"weights"`
	Biases     [][]float32 `json:"biases"`
}

// TestPythonValues: every value the recorder wrote equals, within float16
// precision, what PyTorch computed for the same pass outside the recorder.
func TestPythonValues(t *testing.T) {
	needTorch(t)
	dir := t.TempDir()
	run, want := filepath.Join(dir, "values.mlpv"), filepath.Join(dir, "expected.json")
	if b, err := pythonCommand(t, "cmd/mlpviz/testdata/record_values.py", run, want).CombinedOutput(); err != nil {
		t.Fatalf("record_values.py: %v\n%s", err, b)
	}
	data, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	var expected []expectedPass
	if err := json.Unmarshal(data, &expected); err != nil {
		t.Fatal(err)
	}
	r, err := runfile.Open(run)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Len() != len(expected) || len(expected) == 0 {
		t.Fatalf("%d passes in the file, %d computed", r.Len(), len(expected))
	}
	for i, e := range expected {
		p, err := r.Pass(i)
		if err != nil {
			t.Fatal(err)
		}
		if p.Step != e.Step || p.TrueLabel != e.Label || p.Prediction != e.Prediction ||
			math.Abs(float64(p.Loss)-e.Loss) > 1e-6*math.Max(1, e.Loss) || math.Abs(float64(p.Accuracy)-e.Accuracy) > 1e-6 {
			t.Fatalf("pass %d: step %d label %d prediction %d loss %g accuracy %g; want %d %d %d %g %g",
				i, p.Step, p.TrueLabel, p.Prediction, p.Loss, p.Accuracy, e.Step, e.Label, e.Prediction, e.Loss, e.Accuracy)
		}
		closeF16(t, fmt.Sprintf("pass %d image", i), p.Image, e.Image)
		closeF16(t, fmt.Sprintf("pass %d logits", i), p.Logits, e.Logits)
		if len(p.Layers) != len(e.Weights) {
			t.Fatalf("pass %d: %d layers, want %d", i, len(p.Layers), len(e.Weights))
		}
		for j, l := range p.Layers {
			closeF16(t, fmt.Sprintf("pass %d layer %d input", i, j), l.Input, e.Inputs[j])
			closeF16(t, fmt.Sprintf("pass %d layer %d output", i, j), l.Output, e.Outputs[j])
			closeF16(t, fmt.Sprintf("pass %d layer %d weight", i, j), l.Weight, e.Weights[j])
			closeF16(t, fmt.Sprintf("pass %d layer %d bias", i, j), l.Bias, e.Biases[j])
		}
	}
}

// closeF16 allows float16's rounding: half a unit in the last place
// relative to each value, and a little of the array's largest value for
// those that float16 can only hold as subnormals.
func closeF16(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	var top float64
	for _, v := range want {
		top = math.Max(top, math.Abs(float64(v)))
	}
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if d > math.Abs(float64(want[i]))/1024+top/(1<<20) {
			t.Fatalf("%s[%d] = %g, PyTorch computed %g", what, i, got[i], want[i])
		}
	}
}

// startExample starts the example script recording a long run to out and
// returns once the file holds at least n passes.
func startExample(t *testing.T, out string, n int) *exec.Cmd {
	t.Helper()
	// A pass every 25 steps, a few a second: the window under test rebuilds
	// its picture for each, on a software renderer that shares two cores
	// with the script.
	cmd := pythonCommand(t, "python/examples/train_mnist.py", "--out", out, "--steps", "100000", "--every", "25")
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(2 * time.Minute)
	for seen := 0; seen < n; {
		if time.Now().After(deadline) {
			t.Fatalf("no %d passes after 2 minutes (saw %d)\n%s", n, seen, log.String())
		}
		time.Sleep(200 * time.Millisecond)
		if r, err := runfile.Open(out); err == nil {
			seen = r.Len()
			r.Close()
		}
	}
	return cmd
}

// TestPythonKilled: a recording script killed without warning leaves every
// pass it had written readable.
func TestPythonKilled(t *testing.T) {
	needTorch(t)
	out := filepath.Join(t.TempDir(), "killed.mlpv")
	cmd := startExample(t, out, 3)
	r, err := runfile.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	seen := r.Len()
	r.Close()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	stdout, _ := mlpvizCommand(t, "inspect", "--json", out).Output()
	var s summary
	if err := json.Unmarshal(stdout, &s); err != nil {
		t.Fatalf("inspect --json: %v\n%s", err, stdout)
	}
	if s.WholePasses < seen || s.Closed {
		t.Fatalf("after the kill inspect reads %d whole passes (closed %v); %d were readable before it\n%s", s.WholePasses, s.Closed, seen, stdout)
	}
	r, err = runfile.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := range r.Len() {
		if _, err := r.Pass(i); err != nil {
			t.Fatalf("pass %d after the kill: %v", i, err)
		}
	}
	t.Logf("killed after %d passes seen; inspect reads %d whole passes, damaged=%v", seen, s.WholePasses, s.Damaged)
}

// TestWindowPythonLive views a run that the Python example is still
// writing: the window shows its head with connections of both signs.
func TestWindowPythonLive(t *testing.T) {
	needTorch(t)
	needDisplay(t)
	out := filepath.Join(t.TempDir(), "live.mlpv")
	startExample(t, out, 2)
	img := runWindow(t, screenshotPath(t, "python_live.png"), "view", out, "--frames", "10")
	v := networkView()
	if red, blue := ink(img, v, reddish), ink(img, v, bluish); red < 1000 || blue < 1000 {
		t.Errorf("network view has %d red and %d blue pixels: connections missing", red, blue)
	}
	r, err := runfile.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Closed() {
		t.Error("the run was closed before the window looked: not a live run")
	}
}

// TestWindowPythonCompat: a script written for the PyTorch tool's
// collector, with only its import changed, leaves a run file the window
// opens and the tool's JSON, which import reads.
func TestWindowPythonCompat(t *testing.T) {
	needTorch(t)
	needDisplay(t)
	dir := t.TempDir()
	run, js := filepath.Join(dir, "collector.mlpv"), filepath.Join(dir, "collection.json")
	if b, err := pythonCommand(t, "cmd/mlpviz/testdata/seed_style.py", run, js).CombinedOutput(); err != nil {
		t.Fatalf("seed_style.py: %v\n%s", err, b)
	}
	r, err := runfile.Open(run)
	if err != nil {
		t.Fatal(err)
	}
	n, head := r.Len(), r.Architecture().Head
	r.Close()
	if n != 6 || len(head) != 3 || head[0].In != 784 || head[2].Out != 10 {
		t.Fatalf("%d passes, head %v; want 6 passes of 784-32-16-10", n, head)
	}
	img := runWindow(t, screenshotPath(t, "python_compat.png"), "view", run, "--frames", "8")
	if red, blue := ink(img, networkView(), reddish), ink(img, networkView(), bluish); red < 500 || blue < 500 {
		t.Errorf("network view has %d red and %d blue pixels: connections missing", red, blue)
	}
	imported := filepath.Join(dir, "imported.mlpv")
	if b, err := mlpvizCommand(t, "import", js, "-o", imported).CombinedOutput(); err != nil {
		t.Fatalf("import of the collector's JSON: %v\n%s", err, b)
	}
}
