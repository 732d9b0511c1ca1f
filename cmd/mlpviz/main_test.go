package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// runCLI runs one command line in-process and returns its exit status and
// what it wrote.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestBadInput tries each kind of bad command line: each must exit non-zero
// with one clear line naming the problem, and never panic.
func TestBadInput(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	corrupt := t.TempDir()
	if err := os.MkdirAll(filepath.Join(corrupt, "fashion_mnist"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
		if err := os.WriteFile(filepath.Join(corrupt, "fashion_mnist", f), []byte("\x1f\x8bnot really gzip"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"train", "--headless", "--dataset", "imagenet"}, 2, `unknown dataset "imagenet" (valid: mnist, fashion_mnist, cifar10)`},
		{[]string{"train", "--headless", "--model", "resnet"}, 2, `unknown model "resnet" (valid: cnn, cnn_large, cifar10_cnn)`},
		{[]string{"train", "--headless", "--epochs", "0"}, 2, "--epochs must be at least 1, got 0"},
		{[]string{"train", "--headless", "--epochs", "-3"}, 2, "--epochs must be at least 1, got -3"},
		{[]string{"train", "--headless", "--interval", "0"}, 2, "--interval must be at least 1, got 0"},
		{[]string{"train", "--headless", "--interval", "-1"}, 2, "--interval must be at least 1, got -1"},
		{[]string{"train", "--headless", "--batch-size", "0"}, 2, "--batch-size must be at least 1, got 0"},
		{[]string{"train", "--headless", "--batch-size", "-64"}, 2, "--batch-size must be at least 1, got -64"},
		{[]string{"train", "--headless", "--lr", "-1"}, 2, "--lr must be a positive number"},
		{[]string{"train", "--headless", "--dropout", "1"}, 2, "--dropout must be in [0, 1), got 1"},
		{[]string{"train", "--headless", "--probes", "0"}, 2, "--probes must be 1 to 100, got 0"},
		{[]string{"train", "--headless", "--probes", "101"}, 2, "--probes must be 1 to 100, got 101"},
		{[]string{"train", "--headless", "--health-batch", "-1"}, 2, "--health-batch must not be negative (0: off), got -1"},
		{[]string{"train", "--headless", "--gradients=sometimes"}, 2, `want true, false or auto, got "sometimes"`},
		{[]string{"train", "--headless", "--epochs", "two"}, 2, `invalid value "two" for --epochs: want a whole number`},
		{[]string{"train", "--headless", "--colour", "red"}, 2, "unknown flag --colour"},
		{[]string{"train", "--headless", "--dataset", "cifar10", "--model", "cnn"}, 2, "model cnn takes 28x28 grey images; cifar10 has 32x32 colour images: use --model cifar10_cnn"},
		{[]string{"train", "--headless", "--model", "cifar10_cnn"}, 2, "model cifar10_cnn takes 32x32 colour images"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"train", "--headless", "--batch-size", "64", "stray"}, 2, `train takes no arguments, got "stray"`},
		{[]string{"train", "--headless", "--offline", "--dataset", "fashion_mnist", "--data-dir", notDir}, 1, "dataset fashion_mnist is not in " + filepath.Join(notDir, "fashion_mnist") + ": missing train-images-idx3-ubyte.gz"},
		{[]string{"train", "--headless", "--dataset", "fashion_mnist", "--data-dir", notDir}, 1, "not a directory"},
		{[]string{"train", "--headless", "--offline", "--dataset", "fashion_mnist", "--data-dir", corrupt}, 1, "has md5"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, _, stderr := runCLI(t, c.args...)
			if code != c.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, c.code, stderr)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr does not say %q:\n%s", c.want, stderr)
			}
			if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
				t.Errorf("stderr shows a panic:\n%s", stderr)
			}
		})
	}
}

var doneLine = regexp.MustCompile(`(?m)\Adone: steps=(\d+) test_accuracy=(0\.\d+|1\.0+) img_per_s=(\d+)\n\z`)

// TestTrainHeadless trains the default model on real MNIST for a few dozen
// steps and checks the machine-readable last line: the step count is exact
// and the model has learned well past chance (10%).
func TestTrainHeadless(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on MNIST")
	}
	code, stdout, stderr := runCLI(t, "train", "--headless", "--offline", "--max-steps", "60", "--data-dir", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	m := doneLine.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("stdout is not one done line:\n%q", stdout)
	}
	if m[1] != "60" {
		t.Errorf("steps=%s, want 60", m[1])
	}
	if acc, _ := strconv.ParseFloat(m[2], 64); acc < 0.5 {
		t.Errorf("test accuracy %.3f after 60 steps; the model is not learning", acc)
	}
	if !strings.Contains(stderr, "step 60") {
		t.Errorf("no progress bar reached step 60:\n%s", stderr)
	}
}
