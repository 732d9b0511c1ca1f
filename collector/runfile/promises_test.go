package runfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlpviz/mlpviz/catalog"
	"github.com/mlpviz/mlpviz/collector"
)

// TestSecondWriterRefused: while one writer has a path, a second one is
// refused with a BusyError naming this process, with or without Force, and
// the first one's file is untouched; once it closes, Force may replace it.
func TestSecondWriterRefused(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	arch := smallArch()
	path := filepath.Join(t.TempDir(), "run.mlpv")
	w, err := Create(path, arch, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.Append(randomPass(rng, arch, 1, true))
	for _, force := range []bool{false, true} {
		_, err := Create(path, arch, Options{Force: force})
		var be *BusyError
		if !errors.As(err, &be) || be.PID != os.Getpid() {
			t.Fatalf("second writer (force %v): %v, want a BusyError naming process %d", force, err, os.Getpid())
		}
		wantErr(t, err, path+" is being written by process "+fmt.Sprint(os.Getpid()))
	}
	wantErr(t, CheckNotBusy(path), "is being written by")
	_, err = Create(path, arch, Options{Whole: true, Force: true})
	wantErr(t, err, "is being written by")
	w.Append(randomPass(rng, arch, 2, true))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if r := mustOpen(t, path); r.Len() != 2 || !r.Closed() || r.Damage() != nil {
		t.Fatalf("first writer's file: Len %d closed %v damage %v", r.Len(), r.Closed(), r.Damage())
	}
	if err := CheckNotBusy(path); err != nil {
		t.Fatalf("after Close: %v", err)
	}
	w2, err := Create(path, arch, Options{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	w2.Close()
}

// TestWholeAppearsAtClose: a Whole file is nowhere at its path until Close,
// and a failed one leaves nothing behind.
func TestWholeAppearsAtClose(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	arch := smallArch()
	dir := t.TempDir()
	path := filepath.Join(dir, "imported.mlpv")
	w, err := Create(path, arch, Options{Whole: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		w.Append(randomPass(rng, arch, i, true))
		if _, err := os.Stat(path); err == nil {
			t.Fatal("a Whole file appeared before Close")
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if r := mustOpen(t, path); r.Len() != 3 || !r.Closed() {
		t.Fatalf("Len %d closed %v", r.Len(), r.Closed())
	}
	// A misfit Append does not fail the file; a file that exists is refused
	// without Force and kept when the writer that was to replace it fails.
	_, err = Create(path, arch, Options{Whole: true})
	wantErr(t, err, "already exists")
	w, err = Create(path, arch, Options{Whole: true, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	w.Append(randomPass(rng, arch, 9, true))
	abandon(w) // killed: the old file stays, the temporary one is the only litter
	if r := mustOpen(t, path); r.Len() != 3 {
		t.Fatalf("the old file changed: Len %d", r.Len())
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".imported.mlpv.*.partial"))
	if len(left) != 1 {
		t.Fatalf("temporary files: %v", left)
	}
}

// rewrite applies mutate to the bytes of the file at path.
func rewrite(t *testing.T, path string, mutate func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, mutate(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

// steps are the steps of the passes r can decode, and the number it cannot.
func steps(r *Reader) (got []int, bad int) {
	for i := range r.Len() {
		p, err := r.Pass(i)
		if err != nil {
			bad++
			continue
		}
		got = append(got, p.Step)
	}
	return got, bad
}

// TestRecordOrder: a duplicated record, a swapped pair and a record cut
// out are damage, in a closed file and in one still being written, and
// every other pass still reads.
func TestRecordOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(65, 66))
	arch := smallArch()
	ps := passes(rng, arch, 5, true) // steps 10, 20, ...
	for _, closed := range []bool{false, true} {
		for _, tc := range []struct {
			name   string
			mutate func(b []byte, off []int64, end int64) []byte
			want   []int
		}{
			{"duplicate", func(b []byte, off []int64, end int64) []byte {
				return slicesConcat(b[:off[2]], b[off[1]:off[2]], b[off[2]:])
			}, []int{10, 20, 30, 40, 50}},
			{"swap", func(b []byte, off []int64, end int64) []byte {
				return slicesConcat(b[:off[1]], b[off[2]:off[3]], b[off[1]:off[2]], b[off[3]:])
			}, []int{10, 30, 40, 50}},
			{"cut out", func(b []byte, off []int64, end int64) []byte {
				return slicesConcat(b[:off[2]], b[off[3]:])
			}, []int{10, 20, 40, 50}},
		} {
			t.Run(fmt.Sprintf("%s/closed=%v", tc.name, closed), func(t *testing.T) {
				path, off, end := writeRun(t, arch, F16, ps, closed)
				rewrite(t, path, func(b []byte) []byte { return tc.mutate(b, off, end) })
				r := mustOpen(t, path)
				got, _ := steps(r)
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Fatalf("steps %v, want %v", got, tc.want)
				}
				if r.Damage() == nil {
					t.Fatal("no damage reported")
				}
			})
		}
	}
}

func slicesConcat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestZeroedBlock: 4 KB of zeros in the middle of a file cost only the
// passes inside them; the reader finds the next whole record and reports
// where the damage starts.
func TestZeroedBlock(t *testing.T) {
	rng := rand.New(rand.NewPCG(67, 68))
	arch := mnistArch()
	ps := passes(rng, arch, 53, true)
	for _, closed := range []bool{false, true} {
		t.Run(fmt.Sprint("closed=", closed), func(t *testing.T) {
			path, off, _ := writeRun(t, arch, F16, ps, closed)
			from := off[20] + 100
			rewrite(t, path, func(b []byte) []byte {
				clear(b[from : from+4096])
				return b
			})
			lost := 0
			for i := range off {
				if off[i] < from+4096 && (i+1 == len(off) || off[i+1] > from) {
					lost++
				}
			}
			r := mustOpen(t, path)
			got, _ := steps(r)
			if len(got) != len(ps)-lost || lost == 0 || lost > 3 {
				t.Fatalf("%d passes read, want %d (all but the %d the block touches)", len(got), len(ps)-lost, lost)
			}
			if d := r.Damage(); d == nil || d.Offset != off[20] {
				t.Fatalf("damage %v, want it at offset %d", d, off[20])
			}
		})
	}
}

// TestHeaderBounds: a header that claims a head no real run has is refused
// before any pass is read, with a message that says why, while every
// catalog model's head fits with room to spare.
func TestHeaderBounds(t *testing.T) {
	for _, m := range catalog.Models() {
		weights := 0
		for _, l := range m.Head() {
			weights += l.In * l.Out
		}
		if 3*weights/2 > maxHeadWeights {
			t.Errorf("%s: %d head weights, too close to the limit %d", m.Name, weights, maxHeadWeights)
		}
	}
	big := testArch([]int{16000, 16000, 10}, [3]int{1, 28, 28})
	path := filepath.Join(t.TempDir(), "huge.mlpv")
	_, err := Create(path, big, Options{})
	wantErr(t, err, "a head of 256,000,000 weights", "cap it with a neuron cap")
	// The same header written by hand: the reader refuses it too.
	if err := os.WriteFile(path, craftedHeader(t, big), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(path)
	wantErr(t, err, "header record damaged", "256,000,000 weights")
}

// craftedHeader is the magic and header record for arch, without the
// writer's checks, as a crafted file would hold them.
func craftedHeader(t *testing.T, arch *collector.Architecture) []byte {
	js, err := json.Marshal(arch)
	if err != nil {
		t.Fatal(err)
	}
	buf := []byte(magic)
	buf = le.AppendUint16(buf, writeVersion)
	buf = le.AppendUint16(buf, 0)
	buf, start := beginFrame(buf)
	buf = appendHeader(buf, F16, js)
	return endFrame(buf, start)
}

// TestVersion1: files of format version 1, without sequence numbers, still
// read.
func TestVersion1(t *testing.T) {
	rng := rand.New(rand.NewPCG(69, 70))
	arch := smallArch()
	ps := passes(rng, arch, 3, true)
	path, off, end := writeRun(t, arch, F16, ps, true)
	rewrite(t, path, func(b []byte) []byte {
		// Drop each record's sequence number and rebuild its frame, the
		// index and the footer, as version 1 wrote them.
		out := append([]byte(nil), b[:off[0]]...)
		le.PutUint16(out[4:], 1)
		hdrStart := magicLen
		payload := out[hdrStart+frameHeaderLen : len(out)-frameCRCLen]
		le.PutUint16(payload[1:], 1)
		fixed, s := beginFrame(out[:hdrStart])
		fixed = append(fixed, payload...)
		out = endFrame(fixed, s)
		var offs []int64
		for i := range off {
			stop := end
			if i+1 < len(off) {
				stop = off[i+1]
			}
			rec := b[off[i]+frameHeaderLen : stop-frameCRCLen]
			offs = append(offs, int64(len(out)))
			var st int
			out, st = beginFrame(out)
			out = append(out, recPass)
			out = append(out, rec[9:]...)
			out = endFrame(out, st)
		}
		idx := int64(len(out))
		var st int
		out, st = beginFrame(out)
		out = append(out, recIndex)
		out = le.AppendUint64(out, uint64(len(offs)))
		for _, o := range offs {
			out = le.AppendUint64(out, uint64(o))
		}
		out = endFrame(out, st)
		return appendFooter(codec{}, out, idx)
	})
	r := mustOpen(t, path)
	if r.FormatVersion() != 1 || r.Len() != 3 || !r.Closed() || r.Damage() != nil {
		t.Fatalf("version %d Len %d closed %v damage %v", r.FormatVersion(), r.Len(), r.Closed(), r.Damage())
	}
	for i := range ps {
		got, err := r.Pass(i)
		if err != nil {
			t.Fatal(err)
		}
		sameF16(t, i, ps[i], got)
	}
}
