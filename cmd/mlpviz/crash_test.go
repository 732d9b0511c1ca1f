package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mlpviz/mlpviz/collector/runfile"
)

// TestMain lets the test binary stand in for the mlpviz command, so tests
// can run it as a separate process (and kill it).
func TestMain(m *testing.M) {
	if os.Getenv("MLPVIZ_RUN_AS_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// mlpvizCommand prepares the test binary to run as "mlpviz args...".
func mlpvizCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "MLPVIZ_RUN_AS_MAIN=1")
	return cmd
}

// TestCrashKeepsPasses SIGKILLs a training process while it writes its run
// file: every pass written before the kill must read back, and inspect must
// report that the file was cut.
func TestCrashKeepsPasses(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on MNIST")
	}
	out := filepath.Join(t.TempDir(), "crash.mlpv")
	cmd := mlpvizCommand(t, "train", "--headless", "--offline", "--interval", "1", "--batch-size", "16",
		"--max-steps", "100000", "--output", out, "--data-dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	// Wait until a few passes are on disk, then kill without warning.
	seen := 0
	deadline := time.Now().Add(2 * time.Minute)
	for seen < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("no 5 passes after 2 minutes (saw %d)", seen)
		}
		time.Sleep(100 * time.Millisecond)
		if r, err := runfile.Open(out); err == nil {
			seen = r.Len()
			r.Close()
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	r, err := runfile.Open(out)
	if err != nil {
		t.Fatalf("open after kill: %v", err)
	}
	defer r.Close()
	if r.Len() < seen {
		t.Fatalf("%d whole passes after the kill, but %d were readable before it", r.Len(), seen)
	}
	if r.Closed() {
		t.Fatal("a killed writer's file claims to be closed")
	}
	for i := 0; i < r.Len(); i++ {
		p, err := r.Pass(i)
		if err != nil {
			t.Fatalf("pass %d: %v", i, err)
		}
		if p.Step != i+1 {
			t.Fatalf("pass %d has step %d, want %d", i, p.Step, i+1)
		}
	}

	insp := mlpvizCommand(t, "inspect", "--json", out)
	stdout, _ := insp.Output()
	var s summary
	if err := json.Unmarshal(stdout, &s); err != nil {
		t.Fatalf("inspect --json: %v\n%s", err, stdout)
	}
	if s.WholePasses != r.Len() || s.Closed {
		t.Fatalf("inspect says %d whole passes, closed %v; want %d, false", s.WholePasses, s.Closed, r.Len())
	}
	// The kill may land between two records (no damage, but no index) or
	// inside one (damage at the cut); either way inspect must say so.
	if s.Damaged != (insp.ProcessState.ExitCode() == 1) {
		t.Fatalf("inspect exit %d with damaged=%v", insp.ProcessState.ExitCode(), s.Damaged)
	}
	t.Logf("killed after %d passes seen; %d whole passes read back; damaged=%v closed=%v", seen, r.Len(), s.Damaged, s.Closed)
}
