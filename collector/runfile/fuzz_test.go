package runfile

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlpviz/mlpviz/collector"
)

// seedFile is a small run file of three passes, closed or not; with a
// probe set and neuron health in arch, the passes hold them.
func seedFile(f *testing.F, arch *collector.Architecture, closeIt bool) []byte {
	rng := rand.New(rand.NewPCG(23, 24))
	ps := passes(rng, arch, 3, true)
	for _, p := range ps {
		withSet(rng, arch, p)
	}
	path, _, _ := writeRun(f, arch, F16, ps, closeIt)
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzOpen feeds arbitrary bytes to Open and reads everything it offers:
// nothing may panic or allocate beyond what the file can justify.
func FuzzOpen(f *testing.F) {
	closed := seedFile(f, smallArch(), true)
	f.Add(closed)
	f.Add(seedFile(f, smallArch(), false))
	f.Add(seedFile(f, setArch(smallArch(), 3, 16), true))
	for _, n := range []int{0, 3, magicLen, magicLen + frameHeaderLen, len(closed) / 3, len(closed) / 2, len(closed) - footerLen - 1, len(closed) - 1} {
		f.Add(closed[:n])
	}
	// One file, rewritten each time: a directory per input would make each
	// run, and above all the minimising of new inputs, many times slower.
	path := filepath.Join(f.TempDir(), "fuzz.mlpv")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := Open(path)
		if err != nil {
			return
		}
		defer r.Close()
		if r.Size() != int64(len(data)) {
			t.Fatalf("Size %d, file has %d bytes", r.Size(), len(data))
		}
		for i := range r.Len() {
			r.Pass(i)
		}
		if _, err := r.Refresh(); err != nil {
			t.Fatalf("Refresh of an unchanged file: %v", err)
		}
		if d := r.Damage(); d != nil && (d.Offset < 0 || d.Offset > int64(len(data))) {
			t.Fatalf("damage %v outside the file", d)
		}
	})
}

// FuzzDecodePass feeds arbitrary bytes to the pass decoder, which a CRC
// would otherwise keep FuzzOpen from reaching.
func FuzzDecodePass(f *testing.F) {
	rng := rand.New(rand.NewPCG(25, 26))
	arch := setArch(smallArch(), 3, 16)
	for _, prec := range []Precision{F16, F32} {
		f.Add(appendPass(nil, randomPass(rng, arch, 1, true), prec), prec == F32)
		f.Add(appendPass(nil, randomPass(rng, arch, 2, false), prec), prec == F32)
		f.Add(appendPass(nil, withSet(rng, arch, randomPass(rng, arch, 3, false)), prec), prec == F32)
	}
	f.Fuzz(func(t *testing.T, raw []byte, f32 bool) {
		prec := F16
		if f32 {
			prec = F32
		}
		s, err := newShape(arch, prec)
		if err != nil {
			t.Fatal(err)
		}
		s.sections = true
		p, err := decodePass(raw, &s, prec)
		if err != nil {
			return
		}
		if err := arch.Check(p); err != nil {
			t.Fatalf("decoded a pass the writer would refuse: %v", err)
		}
	})
}
