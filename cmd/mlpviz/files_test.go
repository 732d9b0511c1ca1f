package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadRunFiles: inspect, view, import and export meet files that are
// empty, foreign, from a future mlpviz, or not seed collections. Each must
// exit 1 with one clear line and no panic (none of these opens a window).
func TestBadRunFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := write("empty.mlpv", nil)
	foreign := write("photo.mlpv", []byte("\x89PNG\r\n\x1a\n not a run file"))
	future := make([]byte, 64)
	copy(future, "MLPV")
	binary.LittleEndian.PutUint16(future[4:], 9)
	futureFile := write("future.mlpv", future)
	notSeed := write("other.json", []byte(`{"hello": 1}`))
	list := write("list.json", []byte(`[1, 2]`))
	truncated := write("cut.json", []byte(`{"architecture": {"1_Linear": {"in_features": 4.0`))

	cases := []struct {
		args []string
		want string
	}{
		{[]string{"inspect", empty}, "empty file"},
		{[]string{"view", empty}, "empty file"},
		{[]string{"export", empty, "-o", filepath.Join(dir, "x.json")}, "empty file"},
		{[]string{"inspect", foreign}, "is not an mlpv run file"},
		{[]string{"view", foreign}, "is not an mlpv run file"},
		{[]string{"inspect", futureFile}, "format version 9 is newer than this mlpviz reads"},
		{[]string{"view", futureFile}, "format version 9 is newer than this mlpviz reads"},
		{[]string{"inspect", filepath.Join(dir, "missing.mlpv")}, "no such file"},
		{[]string{"import", empty, "-o", filepath.Join(dir, "a.mlpv")}, "not a seed collection: the input is empty"},
		{[]string{"import", notSeed, "-o", filepath.Join(dir, "b.mlpv")}, `not a seed collection: no "architecture" object`},
		{[]string{"import", list, "-o", filepath.Join(dir, "c.mlpv")}, "not a seed collection"},
		{[]string{"import", truncated, "-o", filepath.Join(dir, "d.mlpv")}, "truncated JSON"},
		{[]string{"import", foreign, "-o", filepath.Join(dir, "e.mlpv")}, "invalid JSON near byte 0"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args[:1], " ")+" "+filepath.Base(c.args[1]), func(t *testing.T) {
			code, _, stderr := runCLI(t, c.args...)
			if code != 1 || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, c.want)
			}
			if strings.Contains(stderr, "goroutine ") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("want one line, got:\n%s", stderr)
			}
		})
	}
	for _, p := range []string{"a.mlpv", "b.mlpv", "c.mlpv", "d.mlpv", "e.mlpv"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			t.Errorf("a failed import left %s behind", p)
		}
	}
}
