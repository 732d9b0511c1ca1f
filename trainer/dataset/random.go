package dataset

import (
	"math/rand/v2"
	"strconv"

	"github.com/mlpviz/mlpviz/catalog"
)

// Random is a dataset of random images and labels in ten classes, the same
// for the same seed: for tests and benchmarks of the trainer's plumbing and
// speed, where real pixels prove nothing and loading real files only costs
// time.
func Random(shape catalog.Shape, train, test int, seed uint64) *Dataset {
	rng := rand.New(rand.NewPCG(seed, 0x72616e64))
	split := func(n int) Split {
		s := Split{Pixels: make([]uint8, n*shape[0]*shape[1]*shape[2]), Labels: make([]uint8, n), N: n}
		for i := range s.Pixels {
			s.Pixels[i] = uint8(rng.IntN(256))
		}
		for i := range s.Labels {
			s.Labels[i] = uint8(rng.IntN(10))
		}
		return s
	}
	d := &Dataset{Name: "random", Shape: shape, Train: split(train), Test: split(test)}
	for c := range 10 {
		d.Classes = append(d.Classes, strconv.Itoa(c))
	}
	for range shape[0] {
		d.Mean, d.Std = append(d.Mean, 0.5), append(d.Std, 0.25)
	}
	return d
}
