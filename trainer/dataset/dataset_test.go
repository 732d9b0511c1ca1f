package dataset

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mlpviz/mlpviz/catalog"
)

func TestDefaultDir(t *testing.T) {
	d := DefaultDir()
	if !strings.HasSuffix(d, "data") {
		t.Errorf("DefaultDir() = %q, want a path ending in data", d)
	}
}

func TestLoadUnknownName(t *testing.T) {
	_, err := Load(context.Background(), "imagenet", Options{Dir: t.TempDir()})
	wantErr(t, err, `"imagenet"`, "mnist", "fashion_mnist", "cifar10")
}

// TestLoadRealMNIST reads the official MNIST files from the GoMNIST module
// in the module cache, with downloads pointed at a dead address.
func TestLoadRealMNIST(t *testing.T) {
	ctx := context.Background()
	if findGoMNISTData(ctx) == "" {
		t.Skip("the GoMNIST module is not in the module cache")
	}
	var progress bytes.Buffer
	d, err := Load(ctx, "mnist", Options{Dir: t.TempDir(), Mirrors: []string{deadURL(t)}, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "offline copy") {
		t.Errorf("progress does not mention the offline copy: %q", progress.String())
	}
	if d.Name != "mnist" || d.Shape != [3]int{1, 28, 28} || d.Augment {
		t.Errorf("got name %q shape %v augment %v", d.Name, d.Shape, d.Augment)
	}
	if d.Train.N != 60000 || d.Test.N != 10000 {
		t.Fatalf("got %d train / %d test, want 60000 / 10000", d.Train.N, d.Test.N)
	}
	if len(d.Train.Pixels) != 60000*784 || len(d.Train.Labels) != 60000 ||
		len(d.Test.Pixels) != 10000*784 || len(d.Test.Labels) != 10000 {
		t.Fatal("split sizes do not match N")
	}
	if d.Train.Labels[0] != 5 || d.Test.Labels[0] != 7 {
		t.Errorf("first labels %d / %d, want 5 / 7", d.Train.Labels[0], d.Test.Labels[0])
	}
	if lo, hi := slices.Min(d.Train.Pixels), slices.Max(d.Train.Pixels); lo != 0 || hi != 255 {
		t.Errorf("pixel range %d..%d, want 0..255", lo, hi)
	}
	if d.Classes[9] != "9" || d.Mean[0] != 0.1310 || d.Std[0] != 0.3085 {
		t.Errorf("classes %q mean %v std %v", d.Classes, d.Mean, d.Std)
	}

	raw := make([]float32, 784)
	d.Raw(raw, &d.Train, 0)
	if lo, hi := slices.Min(raw), slices.Max(raw); lo != 0 || hi != 1 {
		t.Errorf("Raw range %v..%v, want 0..1", lo, hi)
	}

	// Normalised pixels over a sample have mean ~0 and std ~1.
	x := make([]float32, 784)
	var sum, sq float64
	const n = 2000
	for i := range n {
		d.Fill(x, &d.Train, i*29, rand.New(rand.NewPCG(1, 2)))
		for _, v := range x {
			sum += float64(v)
			sq += float64(v) * float64(v)
		}
	}
	mean := sum / (n * 784)
	std := math.Sqrt(sq/(n*784) - mean*mean)
	if math.Abs(mean) > 0.03 || math.Abs(std-1) > 0.05 {
		t.Errorf("normalised mean %.4f std %.4f, want ~0 and ~1", mean, std)
	}
}

// cifarLike returns a CIFAR-shaped dataset holding n synthetic images.
func cifarLike(n int) *Dataset {
	sp := catalog.LookupDataset("cifar10")
	s := Split{Pixels: make([]uint8, n*cifarImageBytes), Labels: make([]uint8, n), N: n}
	for i := range n {
		for k := range cifarImageBytes {
			s.Pixels[i*cifarImageBytes+k] = cifarPixel(0, i, k)
		}
	}
	return &Dataset{Name: "cifar10", Shape: sp.Shape, Classes: sp.Classes,
		Mean: float32s(sp.Mean), Std: float32s(sp.Std), Augment: true, Train: s, Test: s}
}

// refAugment is a direct transcription of RandomCrop(padding=4) and
// RandomHorizontalFlip followed by Normalize: build the padded 0..1 image,
// cut the crop, mirror it, normalise.
func refAugment(d *Dataset, src []uint8, oy, ox int, flip bool) []float64 {
	c, h, w := d.Shape[0], d.Shape[1], d.Shape[2]
	ph, pw := h+2*cropPad, w+2*cropPad
	out := make([]float64, c*h*w)
	for ch := range c {
		padded := make([]float64, ph*pw)
		for y := range h {
			for x := range w {
				padded[(y+cropPad)*pw+x+cropPad] = float64(src[ch*h*w+y*w+x]) / 255
			}
		}
		for y := range h {
			for x := range w {
				sx := x
				if flip {
					sx = w - 1 - x
				}
				v := padded[(y+oy)*pw+sx+ox]
				out[ch*h*w+y*w+x] = (v - float64(d.Mean[ch])) / float64(d.Std[ch])
			}
		}
	}
	return out
}

func closeTo(a []float32, b []float64) (int, bool) {
	for i := range a {
		if math.Abs(float64(a[i])-b[i]) > 1e-5 {
			return i, false
		}
	}
	return 0, true
}

func TestFillCropMatchesReference(t *testing.T) {
	d := cifarLike(3)
	dst := make([]float32, cifarImageBytes)
	src := d.Train.Pixels[2*cifarImageBytes : 3*cifarImageBytes]
	for oy := 0; oy <= 2*cropPad; oy++ {
		for ox := 0; ox <= 2*cropPad; ox++ {
			for _, flip := range []bool{false, true} {
				d.fillCrop(dst, src, oy, ox, flip)
				if i, ok := closeTo(dst, refAugment(d, src, oy, ox, flip)); !ok {
					t.Fatalf("offset (%d,%d) flip %v: element %d differs", oy, ox, flip, i)
				}
			}
		}
	}
}

// TestFillCropTinyImages covers images narrower than the padding, where a
// crop may show no source pixel at all.
func TestFillCropTinyImages(t *testing.T) {
	for _, shape := range [][3]int{{1, 2, 3}, {2, 5, 1}, {1, 9, 9}} {
		n := shape[0] * shape[1] * shape[2]
		d := &Dataset{Shape: shape, Mean: []float32{0.3, 0.6}, Std: []float32{0.2, 0.5}, Augment: true}
		src := make([]uint8, n)
		for k := range src {
			src[k] = uint8(k*40 + 3)
		}
		dst := make([]float32, n)
		for oy := 0; oy <= 2*cropPad; oy++ {
			for ox := 0; ox <= 2*cropPad; ox++ {
				for _, flip := range []bool{false, true} {
					d.fillCrop(dst, src, oy, ox, flip)
					if i, ok := closeTo(dst, refAugment(d, src, oy, ox, flip)); !ok {
						t.Fatalf("shape %v offset (%d,%d) flip %v: element %d differs", shape, oy, ox, flip, i)
					}
				}
			}
		}
	}
}

func TestFillCropKnownCases(t *testing.T) {
	d := cifarLike(1)
	src := d.Train.Pixels
	at := func(x []float32, c, y, xx int) float32 { return x[c*1024+y*32+xx] }
	norm := func(c int, p uint8) float32 { return (float32(p)/255 - d.Mean[c]) / d.Std[c] }
	pad := func(c int) float32 { return -d.Mean[c] / d.Std[c] }
	near := func(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-5 }
	dst := make([]float32, cifarImageBytes)

	// Top offset 0, left offset 8, flipped: the crop's top 4 rows and its
	// right 4 columns are padding; after mirroring, output (4,4) shows
	// source (0,31) and output (4,31) shows source (0,4).
	d.fillCrop(dst, src, 0, 8, true)
	for c := range 3 {
		for y := range 4 {
			for x := range 32 {
				if !near(at(dst, c, y, x), pad(c)) {
					t.Fatalf("c%d (%d,%d) = %v, want padding %v", c, y, x, at(dst, c, y, x), pad(c))
				}
			}
		}
		for x := range 4 {
			if !near(at(dst, c, 4, x), pad(c)) {
				t.Errorf("c%d (4,%d) is not padding", c, x)
			}
		}
		if got, want := at(dst, c, 4, 4), norm(c, src[c*1024+0*32+31]); !near(got, want) {
			t.Errorf("c%d (4,4) = %v, want %v", c, got, want)
		}
		if got, want := at(dst, c, 4, 31), norm(c, src[c*1024+0*32+4]); !near(got, want) {
			t.Errorf("c%d (4,31) = %v, want %v", c, got, want)
		}
		if got, want := at(dst, c, 31, 31), norm(c, src[c*1024+27*32+4]); !near(got, want) {
			t.Errorf("c%d (31,31) = %v, want %v", c, got, want)
		}
	}

	// Offsets (4,4) without flip are the identity crop.
	d.fillCrop(dst, src, 4, 4, false)
	for k, p := range src {
		if !near(dst[k], norm(k/1024, p)) {
			t.Fatalf("identity crop differs at %d", k)
		}
	}
}

func TestFillAugmentDeterministic(t *testing.T) {
	d := cifarLike(4)
	a := make([]float32, cifarImageBytes)
	b := make([]float32, cifarImageBytes)
	r1 := rand.New(rand.NewPCG(7, 9))
	r2 := rand.New(rand.NewPCG(7, 9))
	ref := rand.New(rand.NewPCG(7, 9))
	plain := make([]float32, cifarImageBytes)
	changed := 0
	for i := range 40 {
		d.Fill(a, &d.Train, i%4, r1)
		d.Fill(b, &d.Train, i%4, r2)
		if !slices.Equal(a, b) {
			t.Fatalf("call %d: same seed gave different images", i)
		}
		// The draws are top offset, left offset, flip.
		oy, ox, flip := ref.IntN(9), ref.IntN(9), ref.IntN(2) == 1
		src := d.Train.Pixels[(i%4)*cifarImageBytes : (i%4+1)*cifarImageBytes]
		if j, ok := closeTo(a, refAugment(d, src, oy, ox, flip)); !ok {
			t.Fatalf("call %d (%d,%d,%v): element %d differs from reference", i, oy, ox, flip, j)
		}
		d.Fill(plain, &d.Train, i%4, nil)
		if !slices.Equal(a, plain) {
			changed++
		}
	}
	if changed < 30 {
		t.Errorf("augmentation changed only %d of 40 images", changed)
	}
}

func TestFillWithoutAugment(t *testing.T) {
	d := &Dataset{Shape: [3]int{1, 2, 2}, Mean: []float32{0.5}, Std: []float32{0.25},
		Train: Split{Pixels: []uint8{0, 255, 51, 0, 1, 2, 3, 4}, Labels: []uint8{0, 1}, N: 2}}
	dst := make([]float32, 4)
	// Augment is false, so the rng must not matter.
	d.Fill(dst, &d.Train, 0, rand.New(rand.NewPCG(1, 1)))
	want := []float64{-2, 2, (0.2 - 0.5) / 0.25, -2}
	if i, ok := closeTo(dst, want); !ok {
		t.Errorf("Fill = %v, want %v (index %d)", dst, want, i)
	}
	d.Raw(dst, &d.Train, 0)
	if i, ok := closeTo(dst, []float64{0, 1, 0.2, 0}); !ok {
		t.Errorf("Raw = %v (index %d)", dst, i)
	}

	// An augmenting dataset with a nil rng only normalises.
	c := cifarLike(1)
	got := make([]float32, cifarImageBytes)
	c.Fill(got, &c.Train, 0, nil)
	if i, ok := closeTo(got, refAugment(c, c.Train.Pixels, cropPad, cropPad, false)); !ok {
		t.Errorf("nil rng: element %d differs from plain normalisation", i)
	}
}

func TestFillOutOfRangePanicsWithMessage(t *testing.T) {
	d := cifarLike(2)
	defer func() {
		r := recover()
		msg, _ := r.(string)
		if !strings.Contains(msg, "image 5") {
			t.Errorf("recovered %v, want a message naming image 5", r)
		}
	}()
	d.Fill(make([]float32, cifarImageBytes), &d.Train, 5, nil)
}

func TestFillDoesNotAllocate(t *testing.T) {
	d := cifarLike(8)
	dst := make([]float32, cifarImageBytes)
	rng := rand.New(rand.NewPCG(3, 4))
	i := 0
	for _, r := range []*rand.Rand{rng, nil} {
		allocs := testing.AllocsPerRun(200, func() {
			d.Fill(dst, &d.Train, i%8, r)
			i++
		})
		if allocs != 0 {
			t.Errorf("Fill (rng %v) allocates %v times per call", r != nil, allocs)
		}
	}
	if allocs := testing.AllocsPerRun(100, func() { d.Raw(dst, &d.Train, 1) }); allocs != 0 {
		t.Errorf("Raw allocates %v times per call", allocs)
	}
}

func BenchmarkFill(b *testing.B) {
	d := cifarLike(64)
	dst := make([]float32, cifarImageBytes)
	for _, bc := range []struct {
		name string
		rng  *rand.Rand
	}{{"augment", rand.New(rand.NewPCG(1, 2))}, {"plain", nil}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(cifarImageBytes)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				d.Fill(dst, &d.Train, i&63, bc.rng)
				i++
			}
		})
	}
}
