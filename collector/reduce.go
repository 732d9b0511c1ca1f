package collector

// Neuron caps shrink wide layers the way the seed tool did: a vector (an
// activation or bias, or a weight matrix's rows) is split into cap
// contiguous groups of nearly equal size (the first len%cap groups one
// longer) and each group replaced by its mean; a weight matrix's columns are
// reduced by adaptive average pooling (window i covers
// [⌊i·n/cap⌋, ⌈(i+1)·n/cap⌉), as PyTorch's adaptive_avg_pool1d). The class
// outputs of the last layer are never reduced: the prediction must stay
// readable.
//
// The probe set is reduced as the pass's own probe is. The neuron health of
// a hidden layer is reduced by the same groups as its activations: a
// group's mean activation and active fraction are its neurons' means, so
// that a group is dead when all its neurons are and active for every image
// when all of them are; its deviation is the mean of theirs, which bounds
// the deviation of the group's mean activation from above.

// CapHead returns the head's layer sizes after a cap of c (0: no cap).
func CapHead(full []LinearShape, c int) []LinearShape {
	out := make([]LinearShape, len(full))
	for i, s := range full {
		out[i] = LinearShape{In: capped(s.In, c), Out: capped(s.Out, c)}
		if i == len(full)-1 {
			out[i].Out = s.Out
		}
	}
	return out
}

func capped(n, c int) int {
	if c > 0 && n > c {
		return c
	}
	return n
}

// Reduce returns p with every layer reduced to the cap c; p itself is not
// changed. c <= 0 returns p.
func Reduce(p *Pass, full []LinearShape, c int) *Pass {
	if c <= 0 {
		return p
	}
	q := *p
	q.Layers = make([]LayerPass, len(p.Layers))
	shapes := CapHead(full, c)
	for i, l := range p.Layers {
		in, out := shapes[i].In, shapes[i].Out
		q.Layers[i] = LayerPass{
			Input:      groupMeans(l.Input, in),
			Output:     groupMeans(l.Output, out),
			Weight:     reduceMatrix(l.Weight, full[i].Out, full[i].In, out, in),
			Bias:       groupMeans(l.Bias, out),
			GradWeight: reduceMatrix(l.GradWeight, full[i].Out, full[i].In, out, in),
			GradBias:   groupMeans(l.GradBias, out),
		}
	}
	if len(p.Probes) > 0 {
		q.Probes = make([]Probe, len(p.Probes))
		for j, pr := range p.Probes {
			q.Probes[j] = pr
			q.Probes[j].Layers = make([]ProbeLayer, len(pr.Layers))
			for i, l := range pr.Layers {
				if i < len(shapes) {
					l = ProbeLayer{Input: groupMeans(l.Input, shapes[i].In), Output: groupMeans(l.Output, shapes[i].Out)}
				}
				q.Probes[j].Layers[i] = l
			}
		}
	}
	if len(p.Health) > 0 {
		q.Health = make([]LayerHealth, len(p.Health))
		for h, lh := range p.Health {
			if h+1 >= len(shapes) {
				q.Health[h] = lh
				continue
			}
			k := shapes[h+1].In
			q.Health[h] = LayerHealth{
				Mean:   groupMeans(lh.Mean, k),
				Active: groupMeans(lh.Active, k),
				Std:    groupMeans(lh.Std, k),
			}
		}
	}
	return &q
}

// groupMeans splits v into k contiguous groups and averages each.
func groupMeans(v []float32, k int) []float32 {
	if len(v) == 0 || len(v) == k {
		return v
	}
	out := make([]float32, k)
	n := len(v)
	lo := 0
	for g := range out {
		size := n / k
		if g < n%k {
			size++
		}
		var s float64
		for _, x := range v[lo : lo+size] {
			s += float64(x)
		}
		out[g] = float32(s / float64(size))
		lo += size
	}
	return out
}

// adaptiveAvg pools v to k values with PyTorch's adaptive windows.
func adaptiveAvg(v []float32, k int, dst []float32) {
	n := len(v)
	for i := range dst[:k] {
		lo, hi := i*n/k, ((i+1)*n+k-1)/k
		var s float64
		for _, x := range v[lo:hi] {
			s += float64(x)
		}
		dst[i] = float32(s / float64(hi-lo))
	}
}

// reduceMatrix reduces a rows×cols row-major matrix to outRows×outCols:
// group means over rows, adaptive average over columns.
func reduceMatrix(m []float32, rows, cols, outRows, outCols int) []float32 {
	if len(m) == 0 || (rows == outRows && cols == outCols) {
		return m
	}
	// Columns first, row by row, then rows by group means per column.
	narrow := make([]float32, rows*outCols)
	for r := 0; r < rows; r++ {
		adaptiveAvg(m[r*cols:(r+1)*cols], outCols, narrow[r*outCols:(r+1)*outCols])
	}
	out := make([]float32, outRows*outCols)
	col := make([]float32, rows)
	for c := 0; c < outCols; c++ {
		for r := 0; r < rows; r++ {
			col[r] = narrow[r*outCols+c]
		}
		for r, v := range groupMeans(col, outRows) {
			out[r*outCols+c] = v
		}
	}
	return out
}
