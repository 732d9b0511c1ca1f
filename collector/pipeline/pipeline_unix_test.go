//go:build linux || darwin

package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlpviz/mlpviz/collector/runfile"
)

// TestWriterFailure writes the run "file" into a pipe whose reader goes
// away: the next write fails with EPIPE, as a real device can fail under
// the writer. Publishing then stops with that error, and Close reports it.
func TestWriterFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.mlpv")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	// The reading end first, so that Create's open for writing does not
	// block; the header fits the pipe's buffer.
	rd, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := Create(path, testArch(), runfile.Options{Force: true})
	if err != nil {
		rd.Close()
		t.Fatal(err)
	}
	defer pl.Close()
	rd.Close()

	ctx := context.Background()
	var pubErr error
	deadline := time.Now().Add(10 * time.Second)
	for step := 1; pubErr == nil && time.Now().Before(deadline); step++ {
		pubErr = pl.Publish(ctx, testPass(step))
		if pubErr == nil {
			time.Sleep(time.Millisecond) // let the writer meet the broken pipe
		}
	}
	if !errors.Is(pubErr, syscall.EPIPE) || !strings.Contains(pubErr.Error(), "writing the pass at step 1 to "+path) {
		t.Fatalf("Publish after the writer failed: %v, want the broken pipe of the first write", pubErr)
	}
	if err := pl.Publish(ctx, testPass(1000)); err == nil || err.Error() != pubErr.Error() {
		t.Fatalf("Publish again: %v, want %v", err, pubErr)
	}
	if err := pl.Close(); err == nil || err.Error() != pubErr.Error() {
		t.Fatalf("Close: %v, want %v", err, pubErr)
	}
	if pl.Passes() != 0 {
		t.Fatalf("Passes %d after the first write failed", pl.Passes())
	}
}
