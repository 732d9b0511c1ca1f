//go:build unix

package tempfile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestCreate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	f, err := Create(dir, ".run.mlpv.*.partial")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	name := filepath.Base(f.Name())
	if st.Mode().Perm() != 0o644 || !strings.HasPrefix(name, ".run.mlpv.") || !strings.HasSuffix(name, ".partial") {
		t.Fatalf("%s: mode %v", name, st.Mode())
	}
	g, err := Create(dir, ".run.mlpv.*.partial")
	if err != nil || g.Name() == f.Name() {
		t.Fatalf("second: %v %v", g, err)
	}
	g.Close()
	os.Remove(g.Name())
}
