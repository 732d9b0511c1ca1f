//go:build linux

package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mlpviz/mlpviz/collector/runfile"
)

// TestWriterFailure runs a pipeline in a child process whose files may not
// grow past a few passes (RLIMIT_FSIZE: the kernel then fails the write
// with EFBIG, as a full disk fails it with ENOSPC). Publishing stops with
// that error, Close reports it, Passes counts what the file holds, and the
// file is cut back to its last whole pass: it reads undamaged (without an
// index, which did not fit either).
func TestWriterFailure(t *testing.T) {
	if path := os.Getenv("PIPELINE_FSIZE_CHILD"); path != "" {
		writeUntilFull(path)
		return
	}
	path := filepath.Join(t.TempDir(), "run.mlpv")
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriterFailure$")
	cmd.Env = append(os.Environ(), "PIPELINE_FSIZE_CHILD="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var passes int
	var pubErr, closeErr string
	for _, line := range strings.Split(string(out), "\n") {
		if n, _ := fmt.Sscanf(line, "passes %d", &passes); n == 1 {
			continue
		}
		if s, ok := strings.CutPrefix(line, "publish: "); ok {
			pubErr = s
		}
		if s, ok := strings.CutPrefix(line, "close: "); ok {
			closeErr = s
		}
	}
	if !strings.Contains(pubErr, "file too large") || !strings.Contains(pubErr, "writing the pass at step") {
		t.Fatalf("Publish after the disk filled: %q, want the write's EFBIG\n%s", pubErr, out)
	}
	if closeErr != pubErr {
		t.Fatalf("Close: %q, want Publish's %q", closeErr, pubErr)
	}
	r, err := runfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if passes < 1 || r.Len() != passes || r.Damage() != nil {
		t.Fatalf("Passes said %d; the file holds %d, damage %v, closed %v", passes, r.Len(), r.Damage(), r.Closed())
	}
}

// writeUntilFull publishes passes into a file limited to 4 KB until the
// pipeline fails, and prints what the test checks.
func writeUntilFull(path string) {
	pl, err := Create(path, testArch(), runfile.Options{Precision: runfile.F32})
	if err != nil {
		fmt.Println("create:", err)
		return
	}
	// Room for the header and a few passes of about 400 bytes, less than a
	// whole one for the index at the end.
	lim := syscall.Rlimit{Cur: 4096, Max: 4096}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		fmt.Println("setrlimit:", err)
		return
	}
	var pubErr error
	for step := 1; pubErr == nil && step < 1000; step++ {
		pubErr = pl.Publish(context.Background(), testPass(step))
	}
	closeErr := pl.Close()
	fmt.Println("publish:", pubErr)
	fmt.Println("close:", closeErr)
	fmt.Println("passes", pl.Passes())
	if !errors.Is(closeErr, syscall.EFBIG) {
		fmt.Println("close error is not EFBIG")
	}
}
