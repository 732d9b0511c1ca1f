package cuda

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mlpviz/mlpviz/catalog"
	"github.com/mlpviz/mlpviz/trainer/backend"
	"github.com/mlpviz/mlpviz/trainer/nn"
)

// TestGPUTraining trains each model for 20 steps on the GPU and on the CPU
// from the same seed, dropout off, on the same random batches, and wants
// every step's loss within 1e-3 (relative) of the CPU's. The emulator runs
// two steps of two images of cnn and cnn_large: the point there is the
// plumbing (cifar10_cnn has no layer kind they lack), and it runs the
// SGEMM kernel's 256 threads one after another on one core.
func TestGPUTraining(t *testing.T) {
	g := gpu(t)
	steps, batch := 20, 64
	models := catalog.Models()
	if emulated(g) {
		steps, batch = 2, 2
		models = models[:2]
		t.Logf("emulated: %d steps of %d images of %s and %s", steps, batch, models[0].Name, models[1].Name)
	}
	type run struct {
		spec *catalog.Model
		own  bool // on the sgemm kernel, not cuBLAS
	}
	var runs []run
	for _, spec := range models {
		runs = append(runs, run{spec, g.blas == nil})
	}
	if g.blas != nil { // the kernel too, which a machine without cuBLAS uses
		runs = append(runs, run{models[0], true})
	}
	for _, r := range runs {
		spec := r.spec
		name := spec.Name
		if r.own && g.blas != nil {
			name += " by the sgemm kernel"
		}
		t.Run(name, func(t *testing.T) {
			defer g.ownGemm(r.own)()
			want := trainLosses(t, backend.NewCPU(0), spec, steps, batch)
			got := trainLosses(t, g, spec, steps, batch)
			if err := g.Err(); err != nil {
				t.Fatal(err)
			}
			for i := range want {
				d := math.Abs(got[i]-want[i]) / math.Abs(want[i])
				if !(d <= 1e-3) {
					t.Errorf("step %d: loss %.7f on the GPU, %.7f on the CPU (%.2g apart)", i+1, got[i], want[i], d)
				}
			}
			t.Logf("losses: GPU %.5f, CPU %.5f", got, want)
		})
	}
}

// trainLosses runs steps training steps of spec on be and returns each
// step's loss.
func trainLosses(t *testing.T, be backend.Backend, spec *catalog.Model, steps, batch int) []float64 {
	t.Helper()
	r, err := newRun(be, spec, batch)
	if err != nil {
		t.Fatal(err)
	}
	losses := make([]float64, steps)
	for s := range steps {
		r.step()
		losses[s] = r.loss()
	}
	return losses
}

// run is a model training on random batches, the same on every backend.
type run struct {
	be         backend.Backend
	model      *nn.Model
	opt        *nn.AdamW
	x          *nn.Tensor
	labels     backend.IntTensor
	figures    backend.Float64Tensor
	data       *rand.Rand
	pixels     []float32
	classes    []int32
	nclass     int
	downloaded []float64
}

func newRun(be backend.Backend, spec *catalog.Model, batch int) (*run, error) {
	model, err := nn.New(be, spec, 0, rand.New(rand.NewPCG(42, 7)))
	if err != nil {
		return nil, err
	}
	s := spec.InputShape
	sample := s[0] * s[1] * s[2]
	return &run{
		be: be, model: model, opt: nn.NewAdamW(be, model.Params(), 0.002),
		x:      &nn.Tensor{Shape: []int{batch, s[0], s[1], s[2]}, Data: be.Alloc(batch * sample)},
		labels: be.AllocInt(batch), figures: be.AllocFloat64(2),
		data:   rand.New(rand.NewPCG(3, 4)),
		pixels: make([]float32, batch*sample), classes: make([]int32, batch), nclass: spec.Classes,
		downloaded: make([]float64, 2),
	}, nil
}

// step uploads the next random batch and trains on it; nothing waits for
// the device.
func (r *run) step() {
	for i := range r.pixels {
		r.pixels[i] = float32(r.data.NormFloat64())
	}
	for i := range r.classes {
		r.classes[i] = int32(r.data.IntN(r.nclass))
	}
	r.be.Upload(r.x.Data, r.pixels)
	r.be.UploadInt(r.labels, r.classes)
	r.model.ZeroGrad()
	r.model.Loss(r.x, r.labels, true, r.figures)
	r.opt.Step()
}

// loss downloads the last step's loss, waiting for the device.
func (r *run) loss() float64 {
	r.be.DownloadFloat64(r.downloaded, r.figures)
	return r.downloaded[0]
}
