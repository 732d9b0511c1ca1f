package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlpviz/mlpviz/collector/runfile"
	"github.com/mlpviz/mlpviz/engine"
)

// trainRun trains cnn on MNIST for two steps, a pass each, into name in
// dir, with extra flags.
func trainRun(t *testing.T, dir, name string, extra ...string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	args := append([]string{"train", "--headless", "--offline", "--interval", "1", "--batch-size", "8",
		"--max-steps", "2", "--output", out, "--data-dir", t.TempDir()}, extra...)
	if code, _, stderr := runCLI(t, args...); code != 0 {
		t.Fatalf("train %v: exit %d\n%s", extra, code, stderr)
	}
	return out
}

// headOf is the head shape of the run file at path.
func headOf(t *testing.T, path string) string {
	t.Helper()
	r, err := runfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return engine.HeadShape(r.Architecture())
}

// TestViewDifferentHeads: "view A B" of two real runs whose heads differ
// (one trained with a neuron cap) is refused before any window opens, in
// one line naming both runs and both shapes, exit 2, no panic.
func TestViewDifferentHeads(t *testing.T) {
	dir := t.TempDir()
	a := trainRun(t, dir, "full.mlpv")
	b := trainRun(t, dir, "capped.mlpv", "--neuron-cap", "12")
	if headOf(t, a) == headOf(t, b) {
		t.Fatalf("both runs have head %s; the test needs two shapes", headOf(t, a))
	}
	for _, args := range [][]string{{"view", a, b}, {"view", "--compare", "diff", b, a}} {
		code, stdout, stderr := runCLI(t, args...)
		first, second := args[len(args)-2], args[len(args)-1]
		want := fmt.Sprintf("mlpviz: %s and %s have different heads (%s and %s): they cannot be compared",
			first, second, headOf(t, first), headOf(t, second))
		got := lines(stderr)
		if code != 2 || stdout != "" || len(got) != 2 || got[0] != want || got[1] != "see mlpviz view --help" {
			t.Errorf("%v: exit %d, stdout %q, stderr:\n%s\nwant exit 2 and:\n%s", args[1:], code, stdout, stderr, want)
		}
		if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
			t.Errorf("stderr shows a panic:\n%s", stderr)
		}
	}
	if !strings.Contains(headOf(t, a), "576→24→") {
		t.Errorf("cnn's head is %s; want it to start 576→24", headOf(t, a))
	}
}

// TestViewArguments: view takes one run or two; --compare takes side or
// diff and only with two runs. Each mistake is one line and exit 2.
func TestViewArguments(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"view"}, "view needs a file: mlpviz view [flags] FILE [FILE2]"},
		{[]string{"view", "a.mlpv", "b.mlpv", "c.mlpv"}, "view takes one run, or two to compare, got 3: a.mlpv b.mlpv c.mlpv"},
		{[]string{"view", "--compare", "diff", "a.mlpv"}, "--compare needs two runs: mlpviz view --compare diff A.mlpv B.mlpv"},
		{[]string{"view", "--compare", "both", "a.mlpv", "b.mlpv"}, `--compare must be side or diff, got "both"`},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, _, stderr := runCLI(t, c.args...)
			if got := lines(stderr); code != 2 || len(got) != 2 || got[0] != "mlpviz: "+c.want {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and %q", code, stderr, "mlpviz: "+c.want)
			}
		})
	}
	// The second run is opened like the first: a missing one says so.
	dir := t.TempDir()
	a := trainRun(t, dir, "a.mlpv")
	missing := filepath.Join(dir, "nothing.mlpv")
	if code, _, stderr := runCLI(t, "view", a, missing); code != 1 || !strings.Contains(stderr, missing+": no such file") {
		t.Errorf("a missing second run: exit %d\n%s", code, stderr)
	}
}

// TestRunName: a window titles a run by its file's name, for a URL too.
func TestRunName(t *testing.T) {
	for in, want := range map[string]string{
		"runs/a.mlpv":                          "a.mlpv",
		"/tmp/x/b.mlpv":                        "b.mlpv",
		"http://host:6160/runs/c.mlpv?token=x": "c.mlpv",
	} {
		if got := runName(in); got != want {
			t.Errorf("runName(%q) = %q, want %q", in, got, want)
		}
	}
}
