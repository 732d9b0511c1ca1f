package main

import (
	"fmt"
	"path/filepath"
	"testing"
)

// TestInspectHealth: a run at the defaults records gradients (cnn's head is
// small), ten probes and the health of every hidden layer, and inspect
// --json counts the dead and saturated neurons of its last pass; a run at
// --lr 0.5, which kills its ReLUs, counts more dead ones. Without probes,
// health and gradients the file says so and has no counts.
func TestInspectHealth(t *testing.T) {
	train := func(steps int, args ...string) summary {
		t.Helper()
		out := filepath.Join(t.TempDir(), "run.mlpv")
		args = append([]string{"train", "--headless", "--offline", "--interval", "10", "--max-steps", fmt.Sprint(steps),
			"--output", out, "--data-dir", t.TempDir()}, args...)
		if code, _, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("train: exit %d\n%s", code, stderr)
		}
		s, code, stderr := inspectJSON(t, out)
		if code != 0 {
			t.Fatalf("inspect: exit %d\n%s", code, stderr)
		}
		return s
	}
	sum := func(v []int) (n int) {
		for _, x := range v {
			n += x
		}
		return n
	}
	healthy := train(60)
	if !healthy.Gradients || healthy.Probes != 10 || healthy.HealthBatch != 256 {
		t.Errorf("defaults: gradients %v, %d probes, health batch %d; want true, 10, 256", healthy.Gradients, healthy.Probes, healthy.HealthBatch)
	}
	if len(healthy.Dead) != 4 || len(healthy.Saturated) != 4 {
		t.Fatalf("dead %v, saturated %v: want a count for each of cnn's 4 hidden layers", healthy.Dead, healthy.Saturated)
	}
	killed := train(60, "--lr", "0.5")
	if sum(killed.Dead) <= sum(healthy.Dead) || killed.Dead[0] < 20 {
		t.Errorf("dead neurons: %v at --lr 0.5, %v at the default rate; want clearly more at 0.5", killed.Dead, healthy.Dead)
	}
	bare := train(20, "--gradients=false", "--probes", "1", "--health-batch", "0")
	if bare.Gradients || bare.Probes != 1 || bare.HealthBatch != 0 || bare.Dead != nil {
		t.Errorf("without them: gradients %v, %d probes, health batch %d, dead %v", bare.Gradients, bare.Probes, bare.HealthBatch, bare.Dead)
	}
}

// TestOldFormatOpens: a run file written before probe sets and neuron
// health (format 2, kept in the runfile package's testdata) still opens in
// inspect, export and view.
func TestOldFormatOpens(t *testing.T) {
	old := filepath.Join("..", "..", "collector", "runfile", "testdata", "v2_f16.mlpv")
	s, code, stderr := inspectJSON(t, old)
	if code != 0 || s.FormatVersion != 2 || s.WholePasses == 0 || s.Probes != 1 || s.Dead != nil {
		t.Fatalf("inspect: exit %d, format %d, %d whole passes, %d probes, dead %v\n%s", code, s.FormatVersion, s.WholePasses, s.Probes, s.Dead, stderr)
	}
	out := filepath.Join(t.TempDir(), "old.json")
	if code, _, stderr := runCLI(t, "export", old, "-o", out); code != 0 {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	if _, passes := readCollectionFile(t, out); len(passes) != s.WholePasses {
		t.Errorf("export wrote %d passes of %d", len(passes), s.WholePasses)
	}
	needDisplay(t)
	img := runWindow(t, screenshotPath(t, "old_format.png"), "view", old, "--frames", "5")
	if n := ink(img, networkView(), func(r, g, b int) bool { return reddish(r, g, b) || bluish(r, g, b) }); n < 500 {
		t.Errorf("the old run's view shows %d coloured pixels", n)
	}
}
