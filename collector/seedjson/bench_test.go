package seedjson

import (
	"bufio"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/collector/runfile"
)

const benchPasses = 1000

// benchRun is one run of the cnn's 576-24-24-24-24-10 head on MNIST,
// 1,000 passes without gradients (the seed's default), built once and shared
// by both benchmarks so that they hold the same numbers.
var benchRun = sync.OnceValues(func() (*collector.Architecture, []*collector.Pass) {
	arch := mnistArch()
	arch.Gradients = false
	rng := rand.New(rand.NewPCG(13, 14))
	passes := make([]*collector.Pass, benchPasses)
	for i := range passes {
		passes[i] = realisticPass(rng, arch, 50*(i+1))
	}
	return arch, passes
})

// realisticPass resembles what a trainer captures: weights near N(0, 0.05),
// ReLU activations (half zero), a mostly black image, softmax probabilities.
func realisticPass(rng *rand.Rand, arch *collector.Architecture, step int) *collector.Pass {
	normal := func(n int, sd float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * sd)
		}
		return v
	}
	img := make([]float32, arch.InputShape[0]*arch.InputShape[1]*arch.InputShape[2])
	for i := range img {
		if rng.Float64() < 0.19 {
			img[i] = rng.Float32()
		}
	}
	logits := normal(len(arch.ClassNames), 3)
	p := &collector.Pass{
		Step: step, Epoch: step / 938, Wall: time.Unix(1_700_000_000+int64(step), 0),
		Loss: 0.31, Accuracy: 0.91, Image: img, TrueLabel: 3, Prediction: 3,
		Logits: logits, Probs: softmax(logits),
	}
	for _, l := range arch.Head {
		in := normal(l.In, 1)
		for i, x := range in {
			in[i] = float32(math.Max(float64(x), 0))
		}
		p.Layers = append(p.Layers, collector.LayerPass{
			Input: in, Output: normal(l.Out, 1), Weight: normal(l.In*l.Out, 0.05), Bias: normal(l.Out, 0.01),
		})
	}
	return p
}

// BenchmarkReadLast opens a 1,000-pass seed JSON and reads it to get the
// last pass: a JSON reader must parse everything before it.
func BenchmarkReadLast(b *testing.B) {
	arch, passes := benchRun()
	path := filepath.Join(b.TempDir(), "run.json")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := Write(bw, arch, passes); err != nil {
		b.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	size := fileSize(b, path)
	b.SetBytes(size)
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		_, got, err := Read(bufio.NewReaderSize(f, 1<<20))
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		if last := got[len(got)-1]; last.Step != passes[benchPasses-1].Step {
			b.Fatalf("last pass has step %d", last.Step)
		}
	}
	b.ReportMetric(float64(size)/1e6, "file-MB")
}

// BenchmarkRunfileOpenLast does the same with the same passes in a float16
// run file, whose index reaches the last pass without reading the others.
func BenchmarkRunfileOpenLast(b *testing.B) {
	arch, passes := benchRun()
	path := filepath.Join(b.TempDir(), "run.mlpv")
	w, err := runfile.Create(path, arch, runfile.Options{Precision: runfile.F16})
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range passes {
		if err := w.Append(p); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	size := fileSize(b, path)
	for b.Loop() {
		r, err := runfile.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		p, err := r.Pass(benchPasses - 1)
		r.Close()
		if err != nil {
			b.Fatal(err)
		}
		if p.Step != passes[benchPasses-1].Step {
			b.Fatalf("last pass has step %d", p.Step)
		}
	}
	b.ReportMetric(float64(size)/1e6, "file-MB")
}

func fileSize(b *testing.B, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}
