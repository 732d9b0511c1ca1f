package main

import (
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/mlpviz/mlpviz/scene"
)

// TestViewModeFlag: --mode names the view mode the window starts in, by
// the names the window's control shows; another name is a usage error
// that lists them.
func TestViewModeFlag(t *testing.T) {
	parse := func(args ...string) (scene.ViewMode, error) {
		var w windowFlags
		fs := flag.NewFlagSet("view", flag.ContinueOnError)
		w.register(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		opt, err := w.options("t")
		return opt.ViewMode, err
	}
	if m, err := parse(); err != nil || m != scene.ViewActivations {
		t.Errorf("no --mode: %v, %v; want activations", m, err)
	}
	for _, m := range scene.ViewModes() {
		if got, err := parse("--mode", m.String()); err != nil || got != m {
			t.Errorf("--mode %s: %v, %v", m, got, err)
		}
	}
	_, err := parse("--mode", "gradient")
	var u usageError
	if !errors.As(err, &u) || !strings.Contains(err.Error(), "activations, gradients, updates, biases or change") {
		t.Errorf("--mode gradient: %v; want a usage error naming the modes", err)
	}
}
