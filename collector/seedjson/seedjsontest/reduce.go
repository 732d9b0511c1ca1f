package seedjsontest

// reduceToMaxLen is the collector's _reduce_to_max_len for a vector (cols
// 0) or a rows×cols row-major matrix under the cap c: kept whole unless its
// first dimension exceeds c; else that dimension is split into c contiguous
// groups (the first rows%c one longer) that are averaged, and a matrix's
// columns are then adaptive-average-pooled to max(1, int(cols/(rows/c))).
// It returns the values and their rows and columns. Means are taken in
// float64 and rounded to float32, where PyTorch sums in float32: the two
// may differ in the last bit.
func reduceToMaxLen(v []float32, rows, cols, c int) ([]float32, int, int) {
	if c <= 0 || rows <= c {
		return v, rows, cols
	}
	width := max(cols, 1)
	grouped := make([]float32, c*width)
	sum := make([]float64, width)
	lo := 0
	for g := range c {
		size := rows / c
		if g < rows%c {
			size++
		}
		clear(sum)
		for r := lo; r < lo+size; r++ {
			for j, x := range v[r*width : (r+1)*width] {
				sum[j] += float64(x)
			}
		}
		for j, s := range sum {
			grouped[g*width+j] = float32(s / float64(size))
		}
		lo += size
	}
	if cols == 0 {
		return grouped, c, 0
	}
	// Python: scale_factor = d0 / max_size; int(dim / scale_factor).
	n := max(1, int(float64(cols)/(float64(rows)/float64(c))))
	out := make([]float32, c*n)
	for g := range c {
		row := grouped[g*cols : (g+1)*cols]
		for i := range n {
			start, end := i*cols/n, ((i+1)*cols+n-1)/n
			var s float64
			for _, x := range row[start:end] {
				s += float64(x)
			}
			out[g*n+i] = float32(s / float64(end-start))
		}
	}
	return out, c, n
}
