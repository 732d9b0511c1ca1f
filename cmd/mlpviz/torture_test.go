package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// records splits a run file into its framed records (after the 8-byte
// magic), by the lengths their frames declare; the footer, when there is
// one, is left out.
func records(b []byte) (offsets []int) {
	for off := 8; off+12 <= len(b); {
		n := int(binary.LittleEndian.Uint64(b[off:]))
		end := off + 12 + n + 4
		if n <= 0 || end > len(b) {
			break
		}
		offsets = append(offsets, off)
		off = end
	}
	return offsets
}

// mutation is one way of damaging a run file.
type mutation struct {
	name  string
	apply func(rng *rand.Rand, b []byte, recs []int) []byte
}

func recordBytes(b []byte, recs []int, i int) []byte {
	end := len(b)
	if i+1 < len(recs) {
		end = recs[i+1]
	}
	return b[recs[i]:end]
}

var mutations = []mutation{
	{"flip", func(rng *rand.Rand, b []byte, _ []int) []byte {
		for range 1 + rng.IntN(3) {
			b[rng.IntN(len(b))] ^= byte(1 << rng.IntN(8))
		}
		return b
	}},
	{"truncate", func(rng *rand.Rand, b []byte, _ []int) []byte { return b[:rng.IntN(len(b))] }},
	{"duplicate", func(rng *rand.Rand, b []byte, recs []int) []byte {
		i := 1 + rng.IntN(len(recs)-2) // a pass record
		rec := recordBytes(b, recs, i)
		return append(append(append([]byte(nil), b[:recs[i]]...), rec...), b[recs[i]:]...)
	}},
	{"swap", func(rng *rand.Rand, b []byte, recs []int) []byte {
		i := 1 + rng.IntN(len(recs)-3)
		x, y := recordBytes(b, recs, i), recordBytes(b, recs, i+1)
		out := append([]byte(nil), b[:recs[i]]...)
		out = append(append(out, y...), x...)
		return append(out, b[recs[i+1]+len(y):]...)
	}},
	{"zero", func(rng *rand.Rand, b []byte, _ []int) []byte {
		n := 512 << rng.IntN(4)
		at := rng.IntN(max(len(b)-n, 1))
		clear(b[at:min(at+n, len(b))])
		return b
	}},
}

// outcome is what one command did with a damaged file.
type outcome struct {
	code   int
	stdout string
	stderr string
	rss    int64 // bytes
	hung   bool
}

// runTimed runs the test binary as "mlpviz args..." with a minute's limit,
// through GNU time for its peak RSS: the kernel's own figure for a child
// of this process would count this process's memory too (ru_maxrss
// survives the exec of a vforked child).
func runTimed(t *testing.T, args ...string) outcome {
	t.Helper()
	const timeBin = "/usr/bin/time"
	if _, err := os.Stat(timeBin); err != nil {
		t.Skip("GNU time (/usr/bin/time) is needed to measure peak memory; scripts/setup.sh installs it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rssFile := filepath.Join(t.TempDir(), "rss")
	cmd := exec.CommandContext(ctx, timeBin, append([]string{"-f", "%M", "-o", rssFile, os.Args[0]}, args...)...)
	cmd.Env = append(os.Environ(), "MLPVIZ_RUN_AS_MAIN=1")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Run()
	o := outcome{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errb.String(), hung: ctx.Err() != nil}
	if b, err := os.ReadFile(rssFile); err == nil {
		// GNU time writes "Command exited with non-zero status N" first.
		f := strings.Fields(string(b))
		kb, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
		o.rss = kb << 10
	}
	if strings.HasPrefix(strings.TrimSpace(o.stderr), "Command exited") {
		o.stderr = ""
	}
	return o
}

// TestTorture damages a closed and an unfinished run file in several
// hundred ways (MLPVIZ_TORTURE sets how many per file; 40 by default) and
// runs inspect --json and export on each: no panic, no hang, peak RSS
// under 200 MB, inspect's object always printed, and a damaged file never
// reported as the whole original.
func TestTorture(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on MNIST and runs hundreds of processes")
	}
	per := 40
	if s := os.Getenv("MLPVIZ_TORTURE"); s != "" {
		per, _ = strconv.Atoi(s)
	}
	closed := quickRun(t, 24)
	orig, _ := os.ReadFile(closed)
	indexOff := int(binary.LittleEndian.Uint64(orig[len(orig)-16:]))
	unfinished := orig[:indexOff]
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(2026, 12))
	var tried, caught, unchanged, peak, flagged, shorter int64
	counts := map[string]int{}
	for _, base := range []struct {
		name string
		b    []byte
	}{{"closed", orig}, {"unfinished", unfinished}} {
		clean := filepath.Join(dir, base.name+".mlpv")
		os.WriteFile(clean, base.b, 0o644)
		want := runTimed(t, "inspect", "--json", clean)
		var ws summary
		if err := json.Unmarshal([]byte(want.stdout), &ws); err != nil || want.code != 0 {
			t.Fatalf("%s: clean inspect: exit %d %v", base.name, want.code, err)
		}
		recs := records(base.b)
		for i := range per {
			m := mutations[i%len(mutations)]
			b := m.apply(rng, append([]byte(nil), base.b...), recs)
			if string(b) == string(base.b) {
				unchanged++
				continue
			}
			path := filepath.Join(dir, fmt.Sprintf("%s-%03d-%s.mlpv", base.name, i, m.name))
			os.WriteFile(path, b, 0o644)
			tried++
			counts[base.name+" "+m.name]++
			in := runTimed(t, "inspect", "--json", path)
			ex := runTimed(t, "export", path, "-o", path+".json")
			for _, o := range []outcome{in, ex} {
				peak = max(peak, o.rss)
				if o.hung || o.code > 1 || strings.Contains(o.stderr, "goroutine ") || strings.Contains(o.stderr, "panic") || o.rss > 200<<20 {
					t.Errorf("%s: exit %d hung %v rss %d MB\n%.2000s", path, o.code, o.hung, o.rss>>20, o.stderr)
				}
			}
			var s summary
			var f openFailure
			if json.Unmarshal([]byte(in.stdout), &s) != nil && json.Unmarshal([]byte(in.stdout), &f) != nil {
				t.Errorf("%s: inspect --json printed no object: %q", path, in.stdout)
				continue
			}
			whole := in.code == 0 && !s.Damaged && s.Closed == ws.Closed && s.WholePasses == ws.WholePasses
			if whole {
				t.Errorf("%s: damaged, but inspect reports the whole original: %s", path, in.stdout)
			} else {
				caught++
				if in.code == 1 {
					flagged++ // damaged, or no run file at all
				} else {
					shorter++ // whole records only, fewer of them or no index: a cut at a record's edge
				}
			}
		}
	}
	t.Logf("%d damaged files (%v), %d mutations changed nothing; %d not reported whole: %d with exit 1, %d read as a shorter or unfinished run; peak RSS %.1f MB",
		tried, counts, unchanged, caught, flagged, shorter, float64(peak)/(1<<20))
}
