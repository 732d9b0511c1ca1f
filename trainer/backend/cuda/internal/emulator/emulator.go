// Package emulator builds the tests' stand-in for the CUDA driver: a
// libcuda that runs kernels.cu on the CPU (testdata/emulator/driver.cpp
// says how), so the CUDA backend's tests run on machines without a GPU.
// It needs g++; without it, tests that want it skip.
package emulator

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Build compiles the emulator into a temporary folder of t and returns the
// library's path; it skips t where g++ is missing.
func Build(t testing.TB) string {
	t.Helper()
	gxx, err := exec.LookPath("g++")
	if err != nil {
		t.Skip("no g++ to build the CUDA emulator")
	}
	_, here, _, _ := runtime.Caller(0)
	cuda := filepath.Join(filepath.Dir(here), "..", "..")
	lib := filepath.Join(t.TempDir(), "libcuda_emulator.so")
	cmd := exec.Command(gxx, "-shared", "-fPIC", "-ffp-contract=off", "-O2",
		"-I", cuda, filepath.Join(cuda, "testdata", "emulator", "driver.cpp"), "-o", lib)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the CUDA emulator: %v\n%s", err, out)
	}
	return lib
}
