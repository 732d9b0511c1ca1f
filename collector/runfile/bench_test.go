package runfile

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mlpviz/mlpviz/collector"
)

// fixtureDir holds files that benchmarks build once; TestMain removes it.
var fixtureDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

func BenchmarkAppend(b *testing.B) {
	for _, prec := range []Precision{F16, F32} {
		b.Run(prec.String(), func(b *testing.B) { benchAppend(b, prec, false) })
	}
}

// BenchmarkAppendSync is what an fsync after every pass would cost, the
// policy Append does not take: compare it with BenchmarkAppend/f16.
func BenchmarkAppendSync(b *testing.B) { benchAppend(b, F16, true) }

func benchAppend(b *testing.B, prec Precision, sync bool) {
	rng := rand.New(rand.NewPCG(27, 28))
	arch := mnistArch()
	ps := make([]*collector.Pass, 8)
	for i := range ps {
		ps[i] = realisticPass(rng, arch, i, true)
	}
	w, err := Create(filepath.Join(b.TempDir(), "run.mlpv"), arch, Options{Precision: prec})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	start := w.Bytes()
	i := 0
	for b.Loop() {
		if err := w.Append(ps[i%len(ps)]); err != nil {
			b.Fatal(err)
		}
		if sync {
			if err := w.file.Sync(); err != nil {
				b.Fatal(err)
			}
		}
		i++
	}
	b.ReportMetric(float64(w.Bytes()-start)/float64(i), "bytes/pass")
}

// openLastFiles builds a closed 1,000-pass file and a copy cut before its
// index, as a crash would leave it.
var openLastFiles = sync.OnceValues(func() ([2]string, error) {
	var paths [2]string
	dir, err := os.MkdirTemp("", "runfile-bench")
	if err != nil {
		return paths, err
	}
	fixtureDir = dir
	path := filepath.Join(dir, "1000.mlpv")
	rng := rand.New(rand.NewPCG(29, 30))
	arch := mnistArch()
	w, err := Create(path, arch, Options{})
	if err != nil {
		return paths, err
	}
	p := realisticPass(rng, arch, 0, true)
	for i := range 1000 {
		p.Step = i * 10
		if err := w.Append(p); err != nil {
			return paths, err
		}
	}
	indexOff := w.Bytes()
	if err := w.Close(); err != nil {
		return paths, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return paths, err
	}
	cut := filepath.Join(dir, "1000-crashed.mlpv")
	paths = [2]string{path, cut}
	return paths, os.WriteFile(cut, b[:indexOff], 0o644)
})

// BenchmarkOpenLast opens a 1,000-pass file and reads its last pass: what a
// viewer does to show where a run ended. A closed file has an index; a
// crashed one is scanned.
func BenchmarkOpenLast(b *testing.B) {
	paths, err := openLastFiles()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("closed", func(b *testing.B) { openLast(b, paths[0]) })
	b.Run("crashed", func(b *testing.B) { openLast(b, paths[1]) })
}

func openLast(b *testing.B, path string) {
	for b.Loop() {
		r, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		p, err := r.Pass(r.Len() - 1)
		if err != nil {
			b.Fatal(err)
		}
		if p.Step != 9990 {
			b.Fatalf("last pass has step %d, want 9990", p.Step)
		}
		r.Close()
	}
}
