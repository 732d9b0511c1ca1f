package runfile

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlpviz/mlpviz/collector"
)

// The files in testdata/ were written once by the mlpviz of their format
// version and are never rewritten: they prove that files of that version,
// as users have them on disk, still open. Their passes are oldPass's, a
// generator frozen here (integer hashing, no math library or random
// source that could change), so that the test knows what they hold.
//
//	v2_f16.mlpv      format 2, f16, closed, gradients in every other pass
//	v2_f32_cut.mlpv  format 2, f32, its writer killed: no index or footer
//	v2_cnn_cut.mlpv  format 2, the first two passes of `mlpviz train
//	                 --headless --offline --max-steps 300` (cnn on MNIST,
//	                 steps 50 and 100), cut after them as a kill would
var oldFiles = []struct {
	name   string
	prec   Precision
	closed bool
}{
	{"v2_f16.mlpv", F16, true},
	{"v2_f32_cut.mlpv", F32, false},
}

const oldPasses = 4

// oldArch is the architecture of the files in testdata: a 9-5-4-3 head on
// 1x3x3 images of three classes.
func oldArch() *collector.Architecture {
	a := testArch([]int{9, 5, 4, 3}, [3]int{1, 3, 3})
	a.Probe = "0"
	return a
}

// oldValue is a value in [-scale, scale) that depends on seed and i alone.
func oldValue(seed, i uint64, scale float32) float32 {
	z := seed*0x9e3779b97f4a7c15 + i*0xbf58476d1ce4e5b9 + 1
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	return (float32(z>>40)/(1<<24)*2 - 1) * scale
}

// oldPass is pass k of the files in testdata.
func oldPass(arch *collector.Architecture, k int) *collector.Pass {
	seed := uint64(k+1) << 8
	vec := func(n int, scale float32) []float32 {
		seed++
		v := make([]float32, n)
		for i := range v {
			v[i] = oldValue(seed, uint64(i), scale)
		}
		return v
	}
	p := &collector.Pass{
		Step:       25 * (k + 1),
		Epoch:      k / 2,
		Wall:       time.Unix(1_750_000_000+int64(k), int64(k)*1_000_003),
		Loss:       2.5 - 0.5*float32(k),
		Accuracy:   0.2 * float32(k),
		Image:      vec(9, 1),
		TrueLabel:  k % 3,
		Prediction: (k + 1) % 3,
		Logits:     vec(3, 4),
		Probs:      vec(3, 1),
	}
	for _, l := range arch.Head {
		lp := collector.LayerPass{
			Input:  vec(l.In, 2),
			Output: vec(l.Out, 2),
			Weight: vec(l.In*l.Out, 0.3),
			Bias:   vec(l.Out, 0.05),
		}
		if k%2 == 0 {
			lp.GradWeight = vec(l.In*l.Out, 1e-4)
			lp.GradBias = vec(l.Out, 1e-3)
		}
		p.Layers = append(p.Layers, lp)
	}
	return p
}

// TestOldFiles opens every file of testdata with today's reader and finds
// the passes they were written with.
func TestOldFiles(t *testing.T) {
	arch := oldArch()
	for _, f := range oldFiles {
		path := filepath.Join("testdata", f.name)
		r, err := Open(path)
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		if r.FormatVersion() != 2 || r.Precision() != f.prec || r.Closed() != f.closed || r.Damage() != nil || r.Len() != oldPasses {
			t.Fatalf("%s: version %d, precision %v, closed %v, damage %v, %d passes",
				f.name, r.FormatVersion(), r.Precision(), r.Closed(), r.Damage(), r.Len())
		}
		a := r.Architecture()
		if a.Probes != 0 || a.HealthBatch != 0 || a.Probe != "0" || len(a.Head) != 3 || a.Head[0] != arch.Head[0] {
			t.Fatalf("%s: architecture %+v", f.name, a)
		}
		for i := range oldPasses {
			got, err := r.Pass(i)
			if err != nil {
				t.Fatalf("%s: %v", f.name, err)
			}
			want := oldPass(arch, i)
			if f.prec == F32 {
				sameExact(t, i, want, got)
			} else {
				sameF16(t, i, want, got)
			}
			if got.NumProbes() != 1 || got.Probes != nil || got.Health != nil {
				t.Fatalf("%s: pass %d has %d probes, health %v", f.name, i, got.NumProbes(), got.Health)
			}
		}
		r.Close()
	}
}

// TestOldTrainerFile opens the start of a run the format 2 trainer wrote.
func TestOldTrainerFile(t *testing.T) {
	r := mustOpen(t, filepath.Join("testdata", "v2_cnn_cut.mlpv"))
	a := r.Architecture()
	if r.FormatVersion() != 2 || r.Precision() != F16 || r.Closed() || r.Damage() != nil || r.Len() != 2 || a.Model != "cnn" || len(a.Head) != 5 || a.Head[0].In != 576 {
		t.Fatalf("version %d, %v, closed %v, damage %v, %d passes, %s head %v", r.FormatVersion(), r.Precision(), r.Closed(), r.Damage(), r.Len(), a.Model, a.Head)
	}
	for i, step := range []int{50, 100} {
		p, err := r.Pass(i)
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for _, v := range p.Probs {
			sum += float64(v)
		}
		if p.Step != step || len(p.Image) != 784 || sum < 0.99 || sum > 1.01 || p.NumProbes() != 1 || p.Health != nil {
			t.Fatalf("pass %d: step %d, %d image values, probs sum to %g, %d probes", i, p.Step, len(p.Image), sum, p.NumProbes())
		}
	}
}

// TestWriteOldFiles writes the generated files of testdata again, with this
// package's writer, when MLPVIZ_WRITE_OLD_FILES names a directory. It is
// how they were made; run with today's writer it makes files of today's
// format, not the ones TestOldFiles expects.
func TestWriteOldFiles(t *testing.T) {
	dir := os.Getenv("MLPVIZ_WRITE_OLD_FILES")
	if dir == "" {
		t.Skip("MLPVIZ_WRITE_OLD_FILES not set")
	}
	for _, f := range oldFiles {
		w, err := Create(filepath.Join(dir, f.name), oldArch(), Options{Precision: f.prec, Force: true})
		if err != nil {
			t.Fatal(err)
		}
		writeOld(t, w, f.closed)
	}
}

// writeOld appends the passes of the files in testdata to w, then closes
// it or, with closed false, abandons it as a killed writer would.
func writeOld(t *testing.T, w *Writer, closed bool) {
	t.Helper()
	for i := range oldPasses {
		if err := w.Append(oldPass(w.arch, i)); err != nil {
			t.Fatal(err)
		}
	}
	if !closed {
		abandon(w)
	} else if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
