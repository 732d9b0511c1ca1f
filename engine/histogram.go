package engine

import (
	"math"

	"github.com/mlpviz/mlpviz/collector"
)

// histBins is the number of value bins of one layer's weight histogram.
// 48 rows keep a strip a few dozen pixels high readable: a bin is never
// thinner than a pixel, and the shape of a distribution still shows.
const histBins = 48

// maxHistSamples bounds the weights counted per layer and pass. A larger
// layer (cnn_large's 6272x128, cifar10_cnn's 4096x1024) is sampled with a
// stride, so a pass costs a millisecond or so whatever the head (about
// 1.3 ms for cifar10_cnn's 4.7 million weights here, where decoding the
// pass takes some 60 ms): 48 bins of 65,536 draws have the shape of the
// whole.
const maxHistSamples = 1 << 16

// weightHistograms are the weight histograms of the head's Linear layers,
// pass by pass (TensorBoard's "distributions"), filled as Source decodes
// passes (LoadMetrics), a few per frame.
//
// Each layer has histBins fixed bins over a symmetric range -limit..limit.
// The first pass sets it: a round number at least 1.25 times its largest
// |w|, the headroom a training run usually grows into. A later pass with a
// larger weight doubles it as often as needed; a doubling merges each pair
// of bins into one bin of the middle half of the new range, whose edges are
// exactly the old pair's, so every histogram stays exact, only coarser.
// NaN weights are not counted; infinite ones fall into the end bins.
type weightHistograms struct {
	layers  []layerHistogram
	steps   []int // the training step of each pass; -1 for a pass that could not be read
	version int   // changes with every pass added, so panels notice new data
}

// layerHistogram is one Linear layer's histograms: histBins counts per
// pass, the passes one after another. The counts are of the weights
// sampled (every stride-th), not of all of them.
type layerHistogram struct {
	limit  float64 // the bins cover -limit..limit; 0 until a pass set it
	stride int     // of the last pass counted
	counts []uint32
}

// passes is the number of passes histogrammed.
func (h *weightHistograms) passes() int { return len(h.steps) }

// column is layer k's counts for pass i (bin 0 is the most negative), or
// nil when the layer had no weights in that pass.
func (h *weightHistograms) column(k, i int) []uint32 {
	l := &h.layers[k]
	if (i+1)*histBins > len(l.counts) {
		return nil
	}
	return l.counts[i*histBins : (i+1)*histBins]
}

// add counts the weights of p as the next pass; nil (a pass that could not
// be read) adds an empty column, a gap rather than an end.
func (h *weightHistograms) add(p *collector.Pass) {
	i := len(h.steps)
	h.version++
	step, layers := -1, []collector.LayerPass(nil)
	if p != nil {
		step, layers = p.Step, p.Layers
	}
	h.steps = append(h.steps, step)
	for len(h.layers) < len(layers) {
		h.layers = append(h.layers, layerHistogram{})
	}
	for k := range h.layers {
		l := &h.layers[k]
		// Every pass has its column, empty when it lacked this layer
		// (a layer that first appears late), so column i is always at
		// i*histBins.
		if n := (i + 1) * histBins; len(l.counts) < n {
			l.counts = append(l.counts, make([]uint32, n-len(l.counts))...)
		}
		if k < len(layers) {
			l.count(layers[k], l.counts[i*histBins:])
		}
	}
}

// count adds the (sampled) weights of lp into col, which is the newest
// column of l.counts. The first pass sets the range; a later weight past
// it doubles the range on the spot (col's counts so far merge with every
// other column's), so the weights are read once.
func (l *layerHistogram) count(lp collector.LayerPass, col []uint32) {
	w := lp.Weight
	if len(w) == 0 {
		return
	}
	l.stride = histStride(len(w), len(lp.Input))
	if l.limit == 0 {
		top := 0.0
		for i := 0; i < len(w); i += l.stride {
			if a := math.Abs(float64(w[i])); a > top && !math.IsInf(a, 0) {
				top = a
			}
		}
		// A hair under 1.25x, so that float32 noise (0.4 is 0.40000001)
		// does not round 0.5 up to 1.
		l.limit = niceStep(max(top*1.25*(1-1e-6), 1e-6))
	}
	scale := histBins / (2 * l.limit)
	for i := 0; i < len(w); i += l.stride {
		v := float64(w[i])
		for (v > l.limit || v < -l.limit) && !math.IsInf(v, 0) {
			l.double()
			scale = histBins / (2 * l.limit)
		}
		switch {
		case v != v: // NaN: not counted
		case v >= l.limit: // +Inf too
			col[histBins-1]++
		case v <= -l.limit:
			col[0]++
		default:
			col[min(int((v+l.limit)*scale), histBins-1)]++
		}
	}
}

// double doubles the range: bins 2j and 2j+1 of every pass become bin
// histBins/4+j.
func (l *layerHistogram) double() {
	l.limit *= 2
	for c := 0; c+histBins <= len(l.counts); c += histBins {
		col := l.counts[c : c+histBins]
		var merged [histBins]uint32
		for j := range histBins / 2 {
			merged[histBins/4+j] = col[2*j] + col[2*j+1]
		}
		copy(col, merged[:])
	}
}

// histStride is the sampling stride for a layer of n weights in rows of
// in: 1 up to maxHistSamples weights, else the least stride that keeps
// the samples near that many and shares no factor with the row length, so
// that the samples visit every input column instead of the same few.
func histStride(n, in int) int {
	s := (n + maxHistSamples - 1) / maxHistSamples
	if s <= 1 {
		return 1
	}
	for in > 1 && gcd(s, in) != 1 {
		s++
	}
	return s
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
