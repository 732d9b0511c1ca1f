package sysmem

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestAvailable(t *testing.T) {
	n, ok := Available()
	if runtime.GOOS == "linux" && (!ok || n < 1<<20) {
		t.Fatalf("Available() = %d, %v on Linux", n, ok)
	}
}

func TestMemAvailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meminfo")
	os.WriteFile(path, []byte("MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   20000000 kB\n"), 0o644)
	if n, ok := memAvailable(path); !ok || n != 20000000<<10 {
		t.Fatalf("memAvailable = %d, %v", n, ok)
	}
	os.WriteFile(path, []byte("MemTotal: 1 kB\n"), 0o644)
	if _, ok := memAvailable(path); ok {
		t.Fatal("no MemAvailable line, but ok")
	}
}
