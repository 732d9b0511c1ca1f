package trainer

import (
	"math/rand/v2"
	"time"

	"github.com/mlpviz/mlpviz/trainer/backend"
	"github.com/mlpviz/mlpviz/trainer/dataset"
	"github.com/mlpviz/mlpviz/trainer/nn"
)

// batch is room for up to n images and their labels on the backend, and
// on the host where the dataset fills them. Where the backend keeps its
// tensors in host memory (the CPU), the dataset fills them in place.
type batch struct {
	be      backend.Backend
	data    *dataset.Dataset
	images  backend.Tensor
	labels  backend.IntTensor
	pixels  []float32 // images on the host
	y       []int32   // labels on the host
	inPlace bool      // pixels and y are images' and labels' own values
	x       nn.Tensor
}

func newBatch(be backend.Backend, data *dataset.Dataset, n int) *batch {
	sample := data.Shape[0] * data.Shape[1] * data.Shape[2]
	b := &batch{be: be, data: data, images: be.Alloc(n * sample), labels: be.AllocInt(n)}
	b.pixels, b.y = backend.Host(b.images), backend.Host(b.labels)
	b.inPlace = b.pixels != nil && b.y != nil
	if !b.inPlace {
		b.pixels, b.y = make([]float32, n*sample), make([]int32, n)
	}
	return b
}

// load fills the batch with images idx of split, augmented with rng where
// the dataset augments (nil: never), and returns them and their labels as
// the backend's tensors.
func (b *batch) load(split *dataset.Split, idx []int, rng *rand.Rand) (*nn.Tensor, backend.IntTensor) {
	sh := b.data.Shape
	sample := sh[0] * sh[1] * sh[2]
	n := len(idx)
	for i, j := range idx {
		b.data.Fill(b.pixels[i*sample:(i+1)*sample], split, j, rng)
		b.y[i] = int32(split.Labels[j])
	}
	images, labels := b.images.Slice(0, n*sample), b.labels.Slice(0, n)
	if !b.inPlace {
		b.be.Upload(images, b.pixels[:n*sample])
		b.be.UploadInt(labels, b.y[:n])
	}
	b.x.Shape = append(b.x.Shape[:0], n, sh[0], sh[1], sh[2])
	b.x.Data = images
	return &b.x, labels
}

func (b *batch) free() {
	b.be.Free(b.images)
	b.be.Free(b.labels)
}

// figures are the training steps' losses and correct counts, two values a
// step, kept on the backend until they must reach the host: every step
// where the backend's tensors live in host memory (a copy of two values),
// else when asked, when the ring is full or refreshEvery has passed, so
// that a GPU need not stop for them.
type figures struct {
	be       backend.Backend
	ring     backend.Float64Tensor
	host     []float64
	n        int // steps written since the last read
	eager    bool
	lastRead time.Time
}

// figuresRing is how many steps' figures wait on the backend at most.
const figuresRing = 1024

// refreshEvery is how often a GPU's figures reach the host for the
// progress line.
const refreshEvery = 250 * time.Millisecond

func newFigures(be backend.Backend) *figures {
	f := &figures{be: be, ring: be.AllocFloat64(2 * figuresRing), host: make([]float64, 2*figuresRing), lastRead: time.Now()}
	f.eager = backend.Host(f.ring) != nil
	return f
}

// next is where the next step writes its figures.
func (f *figures) next() backend.Float64Tensor {
	f.n++
	return f.ring.Slice(2*(f.n-1), 2)
}

// due says whether the figures should reach the host now; now asks for
// them whatever the backend.
func (f *figures) due(now bool) bool {
	return now || f.eager || f.n == figuresRing || time.Since(f.lastRead) >= refreshEvery
}

// read downloads the figures written since the last read, two a step in
// step order (mean loss, correct count).
func (f *figures) read() []float64 {
	h := f.host[:2*f.n]
	f.be.DownloadFloat64(h, f.ring.Slice(0, 2*f.n))
	f.n = 0
	f.lastRead = time.Now()
	return h
}
