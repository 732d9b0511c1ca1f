package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/collector/runfile"
	"github.com/mlpviz/mlpviz/collector/seedjson"
)

// lines splits output into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// TestHelp: "mlpviz help", "mlpviz help CMD" and "CMD --help" print on
// stdout and exit 0; each command's help has a usage line naming its
// arguments, a one-line description and its flags with clean defaults.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		code, stdout, stderr := runCLI(t, args...)
		if code != 0 || stderr != "" || !strings.Contains(stdout, "usage: mlpviz COMMAND") {
			t.Errorf("%v: exit %d, stderr %q, stdout:\n%s", args, code, stderr, stdout)
		}
		for _, c := range commandNames() {
			if !strings.Contains(stdout, "\n  "+c+" ") {
				t.Errorf("%v does not list %s", args, c)
			}
		}
	}
	usage := map[string]string{
		"train":   "usage: mlpviz train [flags]\n",
		"view":    "usage: mlpviz view [flags] FILE [FILE2]\n",
		"render":  "usage: mlpviz render [flags] FILE -o OUT.mp4\n",
		"inspect": "usage: mlpviz inspect [flags] FILE\n",
		"import":  "usage: mlpviz import [flags] COLLECTION.json -o FILE.mlpv\n",
		"export":  "usage: mlpviz export [flags] FILE [-o OUT.json]\n",
	}
	for name, want := range usage {
		for _, args := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}} {
			code, stdout, stderr := runCLI(t, args...)
			if code != 0 || stderr != "" {
				t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
			}
			if !strings.HasPrefix(stdout, want) || !strings.Contains(stdout, "\nflags:\n") {
				t.Errorf("%v: stdout does not start with %q and list flags:\n%s", args, want, stdout)
			}
		}
	}
	_, stdout, _ := runCLI(t, "train", "--help")
	for _, l := range lines(stdout) {
		if strings.Contains(l, "--dropout") && strings.Contains(l, "(default -1)") {
			t.Errorf("dropout's default is shown as -1: %q", l)
		}
		if strings.HasPrefix(strings.TrimSpace(l), "--o ") {
			t.Errorf("a one-letter flag with two dashes: %q", l)
		}
	}
	for _, want := range []string{"--epochs EPOCHS", "(default 1)", "--headless ", "--output FILE"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("train --help lacks %q:\n%s", want, stdout)
		}
	}
	if _, stdout, _ := runCLI(t, "render", "--help"); !strings.Contains(stdout, "\n  -o VIDEO ") {
		t.Errorf("render --help does not show -o:\n%s", stdout)
	}
}

// TestCommandLineMistakes: a mistake is one line plus a pointer to the
// command's help, exit 2, with a suggestion where one is near, and no
// package names.
func TestCommandLineMistakes(t *testing.T) {
	cases := []struct {
		args []string
		want string
		see  string
	}{
		{[]string{"train", "--epoch", "3"}, `unknown flag --epoch (did you mean --epochs?)`, "see mlpviz train --help"},
		{[]string{"train", "--epochs", "two"}, `invalid value "two" for --epochs: want a whole number`, "see mlpviz train --help"},
		{[]string{"train", "--epochs"}, `--epochs needs a value`, "see mlpviz train --help"},
		{[]string{"veiw", "run.mlpv"}, `unknown command "veiw" (did you mean "view"?)`, "see mlpviz help"},
		{[]string{"help", "veiw"}, `unknown command "veiw" (did you mean "view"?)`, "see mlpviz help"},
		{[]string{"view", "--pas", "3", "x.mlpv"}, `unknown flag --pas (did you mean --pass?)`, "see mlpviz view --help"},
		{[]string{"render", "run.mlpv"}, "render needs -o OUT.mp4, the video to write", "see mlpviz render --help"},
		{[]string{"render", "run.mlpv", "-o", "x.gif"}, `-o x.gif: cannot write ".gif" videos (supported: .avi .mkv .mov .mp4)`, "see mlpviz render --help"},
		{[]string{"inspect"}, "inspect needs a file: mlpviz inspect [flags] FILE", "see mlpviz inspect --help"},
		{[]string{"train", "--dataset", "mnsit"}, `unknown dataset "mnsit" (did you mean "mnist"?)`, "see mlpviz train --help"},
		{[]string{"train", "--model", "cnn-large"}, `unknown model "cnn-large" (did you mean "cnn_large"?)`, "see mlpviz train --help"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(t, c.args...)
			got := lines(stderr)
			if code != 2 || stdout != "" || len(got) != 2 {
				t.Fatalf("exit %d, stdout %q, want exit 2 and two lines on stderr:\n%s", code, stdout, stderr)
			}
			if got[0] != "mlpviz: "+c.want && !strings.HasPrefix(got[0], "mlpviz: "+c.want+" ") {
				t.Errorf("first line %q, want %q", got[0], "mlpviz: "+c.want)
			}
			if got[1] != c.see {
				t.Errorf("second line %q, want %q", got[1], c.see)
			}
			if strings.Contains(stderr, "mlpviz: mlpviz") {
				t.Errorf("doubled prefix: %q", stderr)
			}
		})
	}
}

// TestNothingCreatedOnEarlyFailure: what can fail before training fails
// before it starts and creates nothing: an output that is a directory, a
// video container nothing writes, no display for a window, an existing
// collection without --force.
func TestNothingCreatedOnEarlyFailure(t *testing.T) {
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	if err := os.Mkdir(runs, 0o755); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(dir, "old.json")
	if err := os.WriteFile(existing, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "new.mlpv")
	base := []string{"train", "--offline", "--data-dir", filepath.Join(dir, "data")}
	cases := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"output is a directory", nil, []string{"--headless", "--output", runs}, 2, "--output " + runs + " is a directory"},
		{"seed spelling", nil, []string{"--headless", "--output_path", runs}, 2, "--output_path " + runs + " is a directory"},
		{"collection exists", nil, []string{"--headless", "--output_path", existing}, 2, existing + " already exists: add --force"},
		{"gif", nil, []string{"--record", filepath.Join(dir, "x.gif"), "--output", out}, 2, `cannot write ".gif" videos (supported: .avi .mkv .mov .mp4)`},
		{"no display", map[string]string{"DISPLAY": "", "WAYLAND_DISPLAY": ""}, []string{"--output", out}, 1, "no display to open a window on"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			code, _, stderr := runCLI(t, append(base, c.args...)...)
			if code != c.code || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, want %d and %q:\n%s", code, c.code, c.want, stderr)
			}
			if strings.Contains(stderr, "training") || strings.Contains(stderr, "runfile:") {
				t.Errorf("training started or a package name leaked:\n%s", stderr)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if n := e.Name(); n != "runs" && n != "old.json" {
					t.Errorf("%s was created", n)
				}
			}
			if sub, _ := os.ReadDir(runs); len(sub) != 0 {
				t.Errorf("%d files written into %s", len(sub), runs)
			}
		})
	}
}

// TestMissingDataset: a dataset that is not there gets one short message
// naming the files, the folder, --data-dir and the URLs once.
func TestMissingDataset(t *testing.T) {
	dir := t.TempDir()
	for _, ds := range []string{"fashion_mnist", "cifar10"} {
		code, _, stderr := runCLI(t, "train", "--headless", "--offline", "--dataset", ds, "--data-dir", dir,
			"--output", filepath.Join(dir, ds+".mlpv"))
		if code != 1 {
			t.Fatalf("%s: exit %d:\n%s", ds, code, stderr)
		}
		folder := filepath.Join(dir, ds)
		for _, want := range []string{folder, "--data-dir", "downloads are off (--offline)"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%s: does not say %q:\n%s", ds, want, stderr)
			}
		}
		if strings.Contains(stderr, "offline)") && strings.Count(stderr, "offline") != 1 {
			t.Errorf("%s: says offline %d times:\n%s", ds, strings.Count(stderr, "offline"), stderr)
		}
		url := "https://www.cs.toronto.edu/~kriz/"
		file := "cifar-10-binary.tar.gz"
		if ds == "fashion_mnist" {
			url, file = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", "t10k-labels-idx1-ubyte.gz"
		}
		if strings.Count(stderr, url) != 1 || strings.Count(stderr, file) != 1 {
			t.Errorf("%s: the URL appears %d times, %s %d times:\n%s", ds, strings.Count(stderr, url), file, strings.Count(stderr, file), stderr)
		}
		if n := len(lines(stderr)); n > 2 {
			t.Errorf("%s: %d lines:\n%s", ds, n, stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, ds+".mlpv")); err == nil {
			t.Errorf("%s: a run file was created", ds)
		}
	}
}

// TestJSONOutput: --output_path run.json (the PyTorch tool's habit) writes
// the run file beside it as always and the collection at the asked path at
// the end, naming both.
func TestJSONOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on MNIST")
	}
	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "data", "collections", "run.json")
	code, stdout, stderr := runCLI(t, "train", "--headless", "--offline", "--max-steps", "20", "--interval", "10",
		"--batch-size", "16", "--data-dir", filepath.Join(dir, "cache"), "--output_path", jsonPath)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	runPath := filepath.Join(dir, "data", "collections", "run.mlpv")
	r, err := runfile.Open(runPath)
	if err != nil {
		t.Fatalf("the run file beside the JSON: %v", err)
	}
	if r.Len() != 2 || !r.Closed() {
		t.Errorf("run file: %d passes, closed %v", r.Len(), r.Closed())
	}
	r.Close()
	arch, passes := readCollectionFile(t, jsonPath)
	if len(passes) != 2 || arch.Model != "cnn" || arch.Dataset != "mnist" {
		t.Errorf("collection: %d passes, model %q, dataset %q", len(passes), arch.Model, arch.Dataset)
	}
	for _, want := range []string{"run file " + runPath + ": 2 passes", "collection " + jsonPath + ": 2 passes"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
	if !doneLine.MatchString(stdout) {
		t.Errorf("stdout: %q", stdout)
	}
	// The progress bar counts to --max-steps, not to the epoch's end.
	if !strings.Contains(stderr, "step 20/20") || strings.Contains(stderr, "/3750") {
		t.Errorf("progress does not count to --max-steps:\n%s", stderr)
	}
	// Run again without --force: both files are kept.
	code, _, stderr = runCLI(t, "train", "--headless", "--offline", "--max-steps", "10", "--data-dir", filepath.Join(dir, "cache"), "--output_path", jsonPath)
	if code != 2 || !strings.Contains(stderr, "already exists") {
		t.Errorf("second run: exit %d:\n%s", code, stderr)
	}
}

func readCollectionFile(t *testing.T, path string) (*collector.Architecture, []*collector.Pass) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	arch, passes, err := seedjson.Read(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return arch, passes
}

// TestRunFileErrorsInUserTerms: reading a directory or a missing file says
// so without package names; --pass past the last pass is an error.
func TestRunFileErrorsInUserTerms(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := runCLI(t, "inspect", dir)
	if code != 1 || !strings.Contains(stderr, dir+" is a directory, not a run file") || strings.Contains(stderr, "runfile") {
		t.Errorf("inspect DIR: exit %d:\n%s", code, stderr)
	}
	code, _, stderr = runCLI(t, "view", filepath.Join(dir, "none.mlpv"))
	if code != 1 || !strings.Contains(stderr, "no such file") || strings.Contains(stderr, "runfile") {
		t.Errorf("view missing: exit %d:\n%s", code, stderr)
	}
}

// TestWindowClosingLines: when the window ends before training does (here
// --frames runs out), the closing lines still say where the run file is,
// with its passes, and where the screenshot went.
func TestWindowClosingLines(t *testing.T) {
	needDisplay(t)
	dir := t.TempDir()
	run, shot := filepath.Join(dir, "live.mlpv"), filepath.Join(dir, "live.png")
	cmd := mlpvizCommand(t, "train", "--offline", "--max-steps", "100000", "--interval", "5", "--batch-size", "16",
		"--output", run, "--data-dir", filepath.Join(dir, "data"), "--screenshot", shot, "--frames", "20")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	r, err := runfile.Open(run)
	if err != nil {
		t.Fatal(err)
	}
	n := r.Len()
	r.Close()
	for _, want := range []string{fmt.Sprintf("mlpviz: run file %s: %d passes", run, n), "mlpviz: screenshot " + shot, "window closed: training stopped after"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
		}
	}
}
