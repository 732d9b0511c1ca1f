package scene

import (
	"math"
	"slices"
)

// RangeMode chooses how activations map to the colour scale.
type RangeMode int

const (
	// PerLayer scales each layer by its own spread, so small-valued layers
	// still show structure.
	PerLayer RangeMode = iota
	// Global scales every hidden layer alike, so layers compare directly.
	Global
)

func (m RangeMode) String() string {
	if m == Global {
		return "global"
	}
	return "per layer"
}

// robustPercentile is the share of |values| that stays inside the colour
// scale: the few largest saturate instead of washing out everything else.
const robustPercentile = 0.98

// Ranges returns, for every layer of values, the magnitude that maps to the
// ends of the diverging scale: the 98th percentile of |v| over finite values
// (per layer, or over all layers but the output for Global). scratch is
// reused to avoid allocation; a layer with no finite non-zero value gets 1.
func Ranges(layers [][]float32, mode RangeMode, dst []float32, scratch []float32) ([]float32, []float32) {
	dst = dst[:0]
	if mode == Global {
		scratch = scratch[:0]
		for k, v := range layers {
			if k < len(layers)-1 || len(layers) == 1 {
				scratch = appendAbs(scratch, v)
			}
		}
		r := percentile(scratch, robustPercentile)
		for range layers {
			dst = append(dst, r)
		}
		return dst, scratch
	}
	for _, v := range layers {
		scratch = appendAbs(scratch[:0], v)
		dst = append(dst, percentile(scratch, robustPercentile))
	}
	return dst, scratch
}

func appendAbs(dst, v []float32) []float32 {
	for _, x := range v {
		if !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) {
			dst = append(dst, float32(math.Abs(float64(x))))
		}
	}
	return dst
}

// percentile sorts v in place and returns its p-quantile, or 1 when it is
// zero or v is empty (an all-zero layer then draws as zero, not as noise).
func percentile(v []float32, p float64) float32 {
	if len(v) == 0 {
		return 1
	}
	slices.Sort(v)
	r := v[min(len(v)-1, int(p*float64(len(v))))]
	if r <= 0 {
		r = v[len(v)-1]
	}
	if r <= 0 {
		return 1
	}
	return r
}

// Finite reports whether x is neither NaN nor infinite.
func Finite(x float32) bool {
	return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0)
}
