package runfile

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mlpviz/mlpviz/collector"
)

// TestVersion4RoundTrip writes passes with a probe set and neuron health,
// some with only one of them or neither, at both precisions, and reads
// them back from the closed file (through its index) and from the file of
// a killed writer (by scanning).
func TestVersion4RoundTrip(t *testing.T) {
	for _, prec := range []Precision{F16, F32} {
		rng := rand.New(rand.NewPCG(41, uint64(prec)))
		arch := setArch(mnistArch(), 10, 256)
		var ps []*collector.Pass
		for i := range 5 {
			ps = append(ps, withSet(rng, arch, randomPass(rng, arch, 10*(i+1), i%2 == 0)))
		}
		ps[1].Probes = nil // health alone
		ps[2].Health = nil // probes alone
		ps[3].Probes, ps[3].Health = nil, nil
		for _, closed := range []bool{true, false} {
			path, _, _ := writeRun(t, arch, prec, ps, closed)
			r := mustOpen(t, path)
			if r.FormatVersion() != 4 || r.Closed() != closed || r.Damage() != nil || r.Len() != len(ps) {
				t.Fatalf("%v closed %v: version %d, closed %v, damage %v, %d passes", prec, closed, r.FormatVersion(), r.Closed(), r.Damage(), r.Len())
			}
			if !reflect.DeepEqual(r.Architecture(), arch) {
				t.Fatalf("architecture %+v, want %+v", r.Architecture(), arch)
			}
			for i, want := range ps {
				got, err := r.Pass(i)
				if err != nil {
					t.Fatal(err)
				}
				if prec == F32 {
					sameExact(t, i, want, got)
				} else {
					sameF16(t, i, want, got)
				}
				if got.NumProbes() != want.NumProbes() {
					t.Fatalf("pass %d: %d probes, want %d", i, got.NumProbes(), want.NumProbes())
				}
			}
		}
	}
}

// TestVersion4PlainPass: a pass without probes or health takes the bytes
// today's format gave it. The files of testdata, written by the format 2
// writer, are written again now: they differ in their version alone.
func TestVersion4PlainPass(t *testing.T) {
	arch := oldArch()
	for _, f := range oldFiles {
		old, err := os.ReadFile(filepath.Join("testdata", f.name))
		if err != nil {
			t.Fatal(err)
		}
		w, err := NewEncoder(arch, Options{Precision: f.prec})
		if err != nil {
			t.Fatal(err)
		}
		writeOld(t, w, f.closed)
		now := w.Encoded()
		r, err := OpenBytes("old", old)
		if err != nil {
			t.Fatal(err)
		}
		first := r.offsets[0]
		r.Close()
		if len(now) != len(old) || !bytes.Equal(now[first:], old[first:]) {
			t.Fatalf("%s: written again, %d bytes, was %d; the records after the header differ", f.name, len(now), len(old))
		}
		if v := le.Uint16(now[4:]); v != writeVersion {
			t.Fatalf("%s: written again as version %d", f.name, v)
		}
	}
}

// TestVersion4Decode takes the pass encoding apart: sections only in
// format 4, in order, each once, not empty, of counts the bytes can hold.
func TestVersion4Decode(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	arch := setArch(smallArch(), 3, 16)
	p := withSet(rng, arch, randomPass(rng, arch, 1, true))
	q := *p
	q.Probes, q.Health = nil, nil
	plain := appendPass(nil, &q, F16)
	q.Probes = p.Probes[:1]
	oneProbe := appendPass(nil, &q, F16)
	q.Probes = p.Probes
	probes := appendPass(nil, &q, F16)[len(plain):]
	raw := appendPass(nil, p, F16)
	health := raw[len(plain)+len(probes):]
	s4, err := newShape(arch, F16)
	if err != nil {
		t.Fatal(err)
	}
	s4.sections = true
	s2 := s4
	s2.sections = false
	if len(raw) > s4.maxRaw {
		t.Fatalf("a pass of %d bytes, the shape allows %d", len(raw), s4.maxRaw)
	}
	if _, err := decodePass(raw, &s4, F16); err != nil {
		t.Fatal(err)
	}
	if _, err := decodePass(raw, &s2, F16); err == nil || !strings.Contains(err.Error(), "bytes after the last layer") {
		t.Fatalf("sections in a format 2 or 3 pass: %v", err)
	}
	if probes[0] != sectionProbes || health[0] != sectionHealth {
		t.Fatalf("sections open with %d and %d", probes[0], health[0])
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	withCount := func(sec []byte, n uint32) []byte {
		b := append([]byte(nil), sec...)
		le.PutUint32(b[1:], n)
		return b
	}
	for _, c := range []struct {
		name string
		raw  []byte
		want string
	}{
		{"unknown", cat(plain, []byte{3}, probes[1:]), "section 3 after the last layer: unknown or out of order"},
		{"zero tag", cat(plain, []byte{0}, probes[1:]), "section 0 after the last layer"},
		{"out of order", cat(plain, health, probes), "section 1 after the last layer: unknown or out of order"},
		{"twice", cat(plain, probes, probes), "section 1 after the last layer: unknown or out of order"},
		{"empty", cat(plain, []byte{sectionProbes, 0, 0, 0, 0}), "section 1 is empty"},
		{"no count", cat(plain, []byte{sectionHealth, 1}), "section 2 count: pass encoding ends early"},
		{"probe count", cat(plain, withCount(probes, 1<<31)), "pass at step 1 holds 2147483649 probes, the run's probe set has 3"},
		{"health count", cat(plain, withCount(health, 2)), "pass at step 1 has the health of 2 hidden layers, the head has 1"},
		{"probe short", cat(plain, probes[:len(probes)-3]), "probe 3 layer 2 output: 3 values need 8 bytes, 5 left"},
		{"probes of another set", oneProbe, "holds 2 probes, the run's probe set has 3"},
	} {
		if _, err := decodePass(c.raw, &s4, F16); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	// Every prefix fails, but those that end where a section begins: they
	// are passes without the sections after (the frame's checks, not the
	// encoding, tell that they were cut).
	for n := range len(raw) {
		_, err := decodePass(raw[:n], &s4, F16)
		if boundary := n == len(plain) || n == len(plain)+len(probes); boundary != (err == nil) {
			t.Fatalf("a %d-byte prefix of a %d-byte pass: %v", n, len(raw), err)
		}
	}
	// A reader of a run without a probe set or health refuses them.
	bare, err := newShape(smallArch(), F16)
	if err != nil {
		t.Fatal(err)
	}
	bare.sections = true
	if _, err := decodePass(raw, &bare, F16); err == nil || !strings.Contains(err.Error(), "pass at step 1 holds 3 probes, the run's probe set has 1") {
		t.Fatalf("a probe set in a run that declares none: %v", err)
	}
	if _, err := decodePass(cat(plain, health), &bare, F16); err == nil || !strings.Contains(err.Error(), "pass at step 1 holds neuron health, the run measures none (its health batch is 0)") {
		t.Fatalf("health in a run that measures none: %v", err)
	}
}

// TestVersion4Shape: a header's probe set and health batch are bounded
// before any pass is read.
func TestVersion4Shape(t *testing.T) {
	for _, c := range []struct {
		name          string
		probes, batch int
		widths        []int
		want          string
	}{
		{"negative probes", -1, 0, []int{6, 4, 3}, "a probe set of -1 (limit 4096)"},
		{"too many probes", maxProbes + 1, 0, []int{6, 4, 3}, "a probe set of 4097 (limit 4096)"},
		{"negative batch", 10, -2, []int{6, 4, 3}, "a health batch of -2 images"},
		{"too big", maxProbes, 256, []int{4096, 1024, 512, 10}, "a pass would take"},
	} {
		arch := setArch(testArch(c.widths, [3]int{3, 32, 32}), c.probes, c.batch)
		_, err := newShape(arch, F32)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		if _, err := NewEncoder(arch, Options{Precision: F32}); err == nil {
			t.Errorf("%s: the writer took it", c.name)
		}
	}
	// The largest head mlpviz trains takes a probe set of 10 and health at f32.
	if _, err := newShape(setArch(testArch([]int{4096, 1024, 512, 10}, [3]int{3, 32, 32}), 10, 256), F32); err != nil {
		t.Fatal(err)
	}
}
