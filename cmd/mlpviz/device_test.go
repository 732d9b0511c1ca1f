package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlpviz/mlpviz/trainer/backend/cuda"
)

// skipWithGPU skips tests of the machine without a usable GPU.
func skipWithGPU(t *testing.T) {
	t.Helper()
	if cuda.Available() == nil {
		t.Skip("a GPU is here: scripts/gpu_check.sh trains on it")
	}
}

// --device cuda without a GPU: one line naming what is missing, exit
// status 2, and nothing created, not even the run's folder.
func TestDeviceCUDAWithoutGPU(t *testing.T) {
	skipWithGPU(t)
	dir := t.TempDir()
	t.Chdir(dir)
	code, stdout, stderr := runCLI(t, "train", "--headless", "--offline", "--device", "cuda", "--max-steps", "1",
		"--data-dir", filepath.Join(dir, "cache"))
	if code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "mlpviz: --device cuda: ") || stdout != "" {
		t.Errorf("want one line on stderr; stdout %q, stderr:\n%s", stdout, stderr)
	}
	missing := []string{"no NVIDIA driver: ", "no NVIDIA GPU: ", "the NVIDIA driver is too old: ", "the CUDA backend runs on Linux only"}
	if !strings.Contains(stderr, missing[0]) && !strings.Contains(stderr, missing[1]) &&
		!strings.Contains(stderr, missing[2]) && !strings.Contains(stderr, missing[3]) {
		t.Errorf("the line does not say what is missing: %s", stderr)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("created %v (%v)", entries, err)
	}
}

// --device auto trains on the CPU where there is no GPU, and says so.
func TestDeviceAutoTrainsOnCPU(t *testing.T) {
	skipWithGPU(t)
	if testing.Short() {
		t.Skip("trains on MNIST")
	}
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, "train", "--headless", "--offline", "--device", "auto", "--max-steps", "3",
		"--batch-size", "8", "--interval", "3", "--data-dir", filepath.Join(dir, "cache"), "--output", filepath.Join(dir, "run.mlpv"))
	if code != 0 {
		t.Fatalf("exit status %d:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, ", on cpu (--device auto: ") || !strings.HasPrefix(stdout, "done: steps=3 ") {
		t.Errorf("does not say it trains on the CPU; stdout %q, stderr:\n%s", stdout, stderr)
	}
}

func TestDeviceFlag(t *testing.T) {
	code, _, stderr := runCLI(t, "train", "--headless", "--device", "x")
	if code != 2 || !strings.Contains(stderr, `--device must be cpu, cuda or auto, got "x"`) ||
		!strings.Contains(stderr, "see mlpviz train --help") {
		t.Errorf("exit status %d, stderr:\n%s", code, stderr)
	}
	// The profile key and its variable set it; the flag beats both.
	file := filepath.Join(t.TempDir(), "gpu.yaml")
	if err := os.WriteFile(file, []byte("device: auto\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		env  string
		args []string
		want string
	}{
		{"", nil, "cpu"},
		{"", []string{"--profile", file}, "auto"},
		{"cuda", []string{"--profile", file}, "cuda"},
		{"cuda", []string{"--profile", file, "--device", "cpu"}, "cpu"},
	} {
		t.Setenv("MLPVIZ_DEVICE", c.env)
		f, err := parseTrain(t, c.args...)
		if err != nil || f.device != c.want {
			t.Errorf("MLPVIZ_DEVICE=%q %q: device %q, %v; want %q", c.env, c.args, f.device, err, c.want)
		}
	}
}
