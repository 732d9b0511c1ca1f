package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// parseTrain parses a train command line the way runTrain does.
func parseTrain(t *testing.T, args ...string) (*trainFlags, error) {
	t.Helper()
	fs, f := newTrainFlags()
	return f, f.parse(fs, args, io.Discard, io.Discard)
}

// TestProfilePrecedence: flags > MLPVIZ_* environment > profile > defaults.
func TestProfilePrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "mine.yaml")
	if err := os.WriteFile(file, []byte("dataset: mnist\nepochs: 4\ninterval: 7\nbatch_size: 32\ncollect:\n  neuron_cap: 16\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MLPVIZ_INTERVAL", "9")
	f, err := parseTrain(t, "--profile", file, "--batch-size", "16")
	if err != nil {
		t.Fatal(err)
	}
	got := [4]int{f.cfg.Epochs, f.cfg.Interval, f.cfg.BatchSize, f.cfg.NeuronCap}
	if want := [4]int{4, 9, 16, 16}; got != want {
		t.Fatalf("epochs, interval, batch, cap = %v, want %v (profile, env, flag, profile)", got, want)
	}
	// The seed's spelling of a flag beats the profile too.
	if f, err = parseTrain(t, "--profile", file, "--neuron_cap", "8"); err != nil || f.cfg.NeuronCap != 8 {
		t.Fatalf("--neuron_cap 8 over a profile's 16: got %d, %v", f.cfg.NeuronCap, err)
	}
}

// TestDatasetProfile: without --profile, the dataset's own profile applies.
func TestDatasetProfile(t *testing.T) {
	f, err := parseTrain(t, "--dataset", "cifar10")
	if err != nil {
		t.Fatal(err)
	}
	if f.model != "cifar10_cnn" || f.cfg.Epochs != 10 {
		t.Fatalf("cifar10 gave model %s, %d epochs; want its profile's cifar10_cnn, 10", f.model, f.cfg.Epochs)
	}
	if f, err = parseTrain(t); err != nil || f.model != "cnn" || f.dataset != "mnist" || f.cfg.Epochs != 1 {
		t.Fatalf("no flags: %s on %s, %d epochs, %v; want the mnist profile", f.model, f.dataset, f.cfg.Epochs, err)
	}
}

func TestProfileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("epohcs: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := parseTrain(t, "--profile", bad)
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), `"epohcs"`) {
		t.Fatalf("unknown key: %v", err)
	}
	if _, err = parseTrain(t, "--profile", "imagenet"); err == nil {
		t.Fatal("unknown profile name accepted")
	}
	t.Setenv("MLPVIZ_EPOCHS", "three")
	if _, err = parseTrain(t); err == nil || !strings.Contains(err.Error(), "MLPVIZ_EPOCHS") {
		t.Fatalf("bad environment value: %v", err)
	}
}
