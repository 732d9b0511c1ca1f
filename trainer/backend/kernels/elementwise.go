package kernels

import "math"

// Element-wise kernels. Each exported function checks its slices' lengths
// (by slicing, so a short slice panics before any assembly runs), then runs
// the assembly of the level in use or its pure-Go reference xxxGo. Callers
// split work across goroutines by ranges; every kernel gives the same bits
// for a value (or a channel, a row) however the range around it is split.
//
// The AVX-512 kernels finish their tails with masked loads and stores. The
// AVX2 kernels over flat ranges or across channels do whole vectors and
// leave the tail to the Go reference, which computes the same bits: neither
// fuses a multiply and an add where the other rounds the product (explicit
// float32 conversions keep the Go compiler from fusing).

// Relu writes max(x, 0) to y; y may alias x (the same slice, not shifted).
// len(y) >= len(x). A NaN stays a NaN (its sign and payload may change).
func Relu(x, y []float32) {
	y = y[:len(x)]
	n := len(x)
	switch {
	case n == 0:
	case haveAsm && useAVX512:
		reluAVX512(&x[0], &y[0], n)
	case haveAsm && useAVX2:
		if v := n &^ 7; v > 0 {
			reluAVX2(&x[0], &y[0], v)
			x, y = x[v:], y[v:]
		}
		reluGo(x, y)
	default:
		reluGo(x, y)
	}
}

func reluGo(x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = max(v, 0)
	}
}

// ReluBackward writes dy where y > 0, else 0, to dx; dx may alias dy.
// len(dy) and len(dx) >= len(y).
func ReluBackward(y, dy, dx []float32) {
	n := len(y)
	dy, dx = dy[:n], dx[:n]
	switch {
	case n == 0:
	case haveAsm && useAVX512:
		reluBackwardAVX512(&y[0], &dy[0], &dx[0], n)
	case haveAsm && useAVX2:
		if v := n &^ 7; v > 0 {
			reluBackwardAVX2(&y[0], &dy[0], &dx[0], v)
			y, dy, dx = y[v:], dy[v:], dx[v:]
		}
		reluBackwardGo(y, dy, dx)
	default:
		reluBackwardGo(y, dy, dx)
	}
}

func reluBackwardGo(y, dy, dx []float32) {
	dy, dx = dy[:len(y)], dx[:len(y)]
	for i, v := range y {
		if v > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}

// MaxPool pools planes [lo, hi) of x, each plane h×w and the planes
// contiguous, with size×size windows at stride size, dropping the last rows
// and columns that do not fill a window (floor mode). y holds planes of
// (h/size)×(w/size) values, indexed like x's planes (plane p's outputs
// start at p*(h/size)*(w/size)), and arg the same positions: the flat index
// into the whole of x of each output's winner, which is the first maximum
// in row-major window order; the window's first value wins unless a later
// one is strictly greater, so a NaN there wins and a NaN later never does.
// Indices must fit an int32. Size 2 has assembly; other sizes run in Go.
func MaxPool(x []float32, h, w, size, lo, hi int, y []float32, arg []int32) {
	oh, ow := h/size, w/size
	if lo >= hi || oh == 0 || ow == 0 {
		return
	}
	o := oh * ow
	x = x[:hi*h*w]
	y, arg = y[lo*o:hi*o], arg[lo*o:hi*o]
	switch {
	case haveAsm && size == 2 && useAVX512:
		maxPool2AVX512(&x[lo*h*w], &y[0], &arg[0], hi-lo, h, w, lo*h*w)
	case haveAsm && size == 2 && useAVX2:
		maxPool2AVX2(&x[lo*h*w], &y[0], &arg[0], hi-lo, h, w, lo*h*w)
	default:
		maxPoolGo(x, h, w, size, lo, hi, y, arg)
	}
}

// maxPoolGo is MaxPool with y and arg already cut to planes [lo, hi).
func maxPoolGo(x []float32, h, w, size, lo, hi int, y []float32, arg []int32) {
	oh, ow := h/size, w/size
	o := 0
	for p := lo; p < hi; p++ {
		base := p * h * w
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				best, bi := float32(math.Inf(-1)), -1
				for dy := 0; dy < size; dy++ {
					r := base + (oy*size+dy)*w + ox*size
					for dx := 0; dx < size; dx++ {
						if v := x[r+dx]; v > best || bi < 0 {
							best, bi = v, r+dx
						}
					}
				}
				y[o], arg[o] = best, int32(bi)
				o++
			}
		}
	}
}

// MaxPoolBackward clears planes [lo, hi) of dx (each h×w) and adds dy
// (planes of (h/size)×(w/size)) to the winners in arg; dx, dy and arg are
// whole, indexed by plane as in MaxPool. arg must come from MaxPool with
// the same geometry: the assembly (size 2) writes each window whole instead
// of scattering, so it only finds winners inside their own windows. A
// winner gets 0 + dy, so a -0 becomes +0 as in the reference.
func MaxPoolBackward(dy []float32, arg []int32, h, w, size, lo, hi int, dx []float32) {
	oh, ow := h/size, w/size
	if lo >= hi {
		return
	}
	o := oh * ow
	dx = dx[lo*h*w : hi*h*w]
	dy, arg = dy[lo*o:hi*o], arg[lo*o:hi*o]
	switch {
	case o == 0:
		clear(dx)
	case haveAsm && size == 2 && (useAVX512 || useAVX2):
		if h%2 != 0 || w%2 != 0 {
			clear(dx) // the kernel writes only the windows
		}
		if useAVX512 {
			maxPool2BackwardAVX512(&dy[0], &arg[0], &dx[0], hi-lo, h, w, lo*h*w)
		} else {
			maxPool2BackwardAVX2(&dy[0], &arg[0], &dx[0], hi-lo, h, w, lo*h*w)
		}
	default:
		maxPoolBackwardGo(dy, arg, lo*h*w, dx)
	}
}

// maxPoolBackwardGo routes dy to arg in dx, which starts at index base of
// the whole gradient.
func maxPoolBackwardGo(dy []float32, arg []int32, base int, dx []float32) {
	clear(dx)
	for o, v := range dy {
		dx[int(arg[o])-base] += v
	}
}

// Batch normalisation. x is n samples × c channels × s values (s = 1 for
// BatchNorm1d, h·w for BatchNorm2d); the per-channel slices (mean,
// variance, gamma, ...) are indexed by channel and have at least hi values.
// The kernels do nothing unless n and s are at least 1. With s = 1 they run
// across channels, a channel a lane; otherwise along each sample's s values
// of a channel.

// normSpan is how many values of x a kernel for channels [lo, hi) reads:
// up to the end of channel hi-1 of the last sample.
func normSpan(n, c, s, hi int) int { return ((n-1)*c + hi) * s }

// colBlock is how many channels the s = 1 statistics kernels do per call;
// their float64 sums live in arrays of this size on the caller's stack.
const colBlock = 64

// NormStats writes per-channel mean and biased variance over n samples × s
// values for channels [lo, hi). The sums are in float64 and shifted by the
// channel's first value, so a mean far larger than the spread costs no
// accuracy; each channel's result does not depend on lo and hi.
func NormStats(x []float32, n, c, s, lo, hi int, mean, variance []float32) {
	if lo >= hi || n < 1 || s < 1 {
		return
	}
	x = x[:normSpan(n, c, s, hi)]
	mean, variance = mean[:hi], variance[:hi]
	m := float64(n * s)
	if s == 1 {
		var sum, sq [colBlock]float64
		for j := lo; j < hi; j += colBlock {
			k := min(colBlock, hi-j)
			normSumsCols(x[j:], n, c, k, sum[:k], sq[:k])
			for i := range k {
				mean[j+i], variance[j+i] = finishStats(x[j+i], sum[i], sq[i], m)
			}
		}
		return
	}
	for ch := lo; ch < hi; ch++ {
		var sum, sq float64
		x0 := x[ch*s:]
		switch {
		case haveAsm && useAVX512:
			sum, sq = normSumsAVX512(&x0[0], n, c*s, s, float64(x0[0]))
		case haveAsm && useAVX2:
			sum, sq = normSumsAVX2(&x0[0], n, c*s, s, float64(x0[0]))
		default:
			sum, sq = normSumsGo(x0, n, c*s, s, float64(x0[0]))
		}
		mean[ch], variance[ch] = finishStats(x0[0], sum, sq, m)
	}
}

// finishStats turns sums of x-k and (x-k)² over m values into the mean and
// the biased variance.
func finishStats(k float32, sum, sq, m float64) (mean, variance float32) {
	d := sum / m
	return float32(float64(k) + d), float32(max(sq/m-d*d, 0))
}

// normSumsGo sums x-k and (x-k)² over n runs of s values, stride apart.
func normSumsGo(x []float32, n, stride, s int, k float64) (sum, sq float64) {
	for i := range n {
		for _, v := range x[i*stride : i*stride+s] {
			d := float64(v) - k
			sum += d
			sq += d * d
		}
	}
	return sum, sq
}

// normSumsCols does NormStats' sums for s = 1 and channels [0, len(sum)) of
// x (rows of stride values), shifted by row 0. Every level adds each
// channel's values in row order with a fused multiply-add for the squares,
// so all give the same bits.
func normSumsCols(x []float32, n, stride, cols int, sum, sq []float64) {
	switch {
	case haveAsm && useAVX512:
		normSumsColsAVX512(&x[0], n, stride, cols, &sum[0], &sq[0])
		return
	case haveAsm && useAVX2:
		if v := cols &^ 7; v > 0 {
			normSumsColsAVX2(&x[0], n, stride, v, &sum[0], &sq[0])
			x, sum, sq = x[v:], sum[v:], sq[v:]
		}
	}
	normSumsColsGo(x, n, stride, sum, sq)
}

// normSumsColsGo goes row by row, for the cache; each channel's sums still
// take its values in row order.
func normSumsColsGo(x []float32, n, stride int, sum, sq []float64) {
	clear(sum)
	clear(sq)
	for i := range n {
		row := x[i*stride : i*stride+len(sum)]
		for j, v := range row {
			d := float64(v) - float64(x[j])
			sum[j] += d
			sq[j] = math.FMA(d, d, sq[j])
		}
	}
}

// NormApply writes y = gamma*(x-mean)*invStd + beta for channels [lo, hi),
// and xhat = (x-mean)*invStd when xhat is not nil; y and xhat may alias x.
func NormApply(x, y, xhat []float32, n, c, s, lo, hi int, mean, invStd, gamma, beta []float32) {
	if lo >= hi || n < 1 || s < 1 {
		return
	}
	span := normSpan(n, c, s, hi)
	x, y = x[:span], y[:span]
	if xhat != nil {
		xhat = xhat[:span]
	}
	mean, invStd, gamma, beta = mean[:hi], invStd[:hi], gamma[:hi], beta[:hi]
	if s == 1 {
		normApplyCols(x[lo:], y[lo:], sub(xhat, lo), n, c, hi-lo, mean[lo:], invStd[lo:], gamma[lo:], beta[lo:])
		return
	}
	// Sample by sample: channels [lo, hi) of a sample are contiguous, and
	// streaming them is much faster than a channel's runs far apart.
	xh := y // without xhat the kernels write it to y, then y over it
	if xhat != nil {
		xh = xhat
	}
	runs := hi - lo
	for i := range n {
		o := (i*c + lo) * s
		switch {
		case haveAsm && useAVX512:
			normApplyAVX512(&x[o], &y[o], &xh[o], runs, s, &mean[lo], &invStd[lo], &gamma[lo], &beta[lo])
		case haveAsm && useAVX2:
			normApplyAVX2(&x[o], &y[o], &xh[o], runs, s, &mean[lo], &invStd[lo], &gamma[lo], &beta[lo])
		default:
			normApplyGo(x[o:], y[o:], sub(xhat, o), runs, s, mean[lo:], invStd[lo:], gamma[lo:], beta[lo:])
		}
	}
}

// sub is xs[i:], or nil for nil.
func sub(xs []float32, i int) []float32 {
	if xs == nil {
		return nil
	}
	return xs[i:]
}

// normApplyGo applies runs consecutive runs of s values, run r with the
// parameters [r].
func normApplyGo(x, y, xhat []float32, runs, s int, mean, inv, gamma, beta []float32) {
	for r := range runs {
		for j := r * s; j < (r+1)*s; j++ {
			xh := (x[j] - mean[r]) * inv[r]
			if xhat != nil {
				xhat[j] = xh
			}
			y[j] = float32(gamma[r]*xh) + beta[r]
		}
	}
}

// normApplyCols is NormApply for s = 1 and channels [0, cols) of the rows.
func normApplyCols(x, y, xhat []float32, n, stride, cols int, mean, inv, gamma, beta []float32) {
	xh := y // as in NormApply: without xhat the kernels write it to y first
	if xhat != nil {
		xh = xhat
	}
	switch {
	case haveAsm && useAVX512:
		normApplyColsAVX512(&x[0], &y[0], &xh[0], n, stride, cols, &mean[0], &inv[0], &gamma[0], &beta[0])
		return
	case haveAsm && useAVX2:
		if v := cols &^ 7; v > 0 {
			normApplyColsAVX2(&x[0], &y[0], &xh[0], n, stride, v, &mean[0], &inv[0], &gamma[0], &beta[0])
			x, y, xhat = x[v:], y[v:], sub(xhat, v)
			mean, inv, gamma, beta = mean[v:], inv[v:], gamma[v:], beta[v:]
			cols -= v
		}
	}
	for i := range n {
		o := i * stride
		for j := range cols {
			xh := (x[o+j] - mean[j]) * inv[j]
			if xhat != nil {
				xhat[o+j] = xh
			}
			y[o+j] = float32(gamma[j]*xh) + beta[j]
		}
	}
}

// NormBackwardSums writes sumDy[ch] = Σ dy and sumDyXhat[ch] = Σ dy·xhat
// over channel ch's n×s values, for channels [lo, hi); the sums are in
// float64.
func NormBackwardSums(dy, xhat []float32, n, c, s, lo, hi int, sumDy, sumDyXhat []float32) {
	if lo >= hi || n < 1 || s < 1 {
		return
	}
	span := normSpan(n, c, s, hi)
	dy, xhat = dy[:span], xhat[:span]
	sumDy, sumDyXhat = sumDy[:hi], sumDyXhat[:hi]
	if s == 1 {
		var s1, s2 [colBlock]float64
		for j := lo; j < hi; j += colBlock {
			k := min(colBlock, hi-j)
			normBackwardSumsCols(dy[j:], xhat[j:], n, c, s1[:k], s2[:k])
			for i := range k {
				sumDy[j+i], sumDyXhat[j+i] = float32(s1[i]), float32(s2[i])
			}
		}
		return
	}
	for ch := lo; ch < hi; ch++ {
		o := ch * s
		var s1, s2 float64
		switch {
		case haveAsm && useAVX512:
			s1, s2 = normBackwardSumsAVX512(&dy[o], &xhat[o], n, c*s, s)
		case haveAsm && useAVX2:
			s1, s2 = normBackwardSumsAVX2(&dy[o], &xhat[o], n, c*s, s)
		default:
			s1, s2 = normBackwardSumsGo(dy[o:], xhat[o:], n, c*s, s)
		}
		sumDy[ch], sumDyXhat[ch] = float32(s1), float32(s2)
	}
}

func normBackwardSumsGo(dy, xhat []float32, n, stride, s int) (sumDy, sumDyXhat float64) {
	for i := range n {
		for j := i * stride; j < i*stride+s; j++ {
			d := float64(dy[j])
			sumDy += d
			sumDyXhat += d * float64(xhat[j])
		}
	}
	return sumDy, sumDyXhat
}

// normBackwardSumsCols is NormBackwardSums' sums for s = 1 and channels
// [0, len(sumDy)); like normSumsCols, the same bits at every level.
func normBackwardSumsCols(dy, xhat []float32, n, stride int, sumDy, sumDyXhat []float64) {
	switch {
	case haveAsm && useAVX512:
		normBackwardSumsColsAVX512(&dy[0], &xhat[0], n, stride, len(sumDy), &sumDy[0], &sumDyXhat[0])
		return
	case haveAsm && useAVX2:
		if v := len(sumDy) &^ 7; v > 0 {
			normBackwardSumsColsAVX2(&dy[0], &xhat[0], n, stride, v, &sumDy[0], &sumDyXhat[0])
			dy, xhat, sumDy, sumDyXhat = dy[v:], xhat[v:], sumDy[v:], sumDyXhat[v:]
		}
	}
	clear(sumDy)
	clear(sumDyXhat)
	for i := range n {
		o := i * stride
		for j := range sumDy {
			d := float64(dy[o+j])
			sumDy[j] += d
			sumDyXhat[j] = math.FMA(d, float64(xhat[o+j]), sumDyXhat[j])
		}
	}
}

// NormBackwardApply writes dx = gamma*invStd/m * (m*dy - sumDy - xhat*sumDyXhat),
// m = n*s, for channels [lo, hi); dx may alias dy.
func NormBackwardApply(dy, xhat, dx []float32, n, c, s, lo, hi int, gamma, invStd, sumDy, sumDyXhat []float32) {
	if lo >= hi || n < 1 || s < 1 {
		return
	}
	span := normSpan(n, c, s, hi)
	dy, xhat, dx = dy[:span], xhat[:span], dx[:span]
	gamma, invStd, sumDy, sumDyXhat = gamma[:hi], invStd[:hi], sumDy[:hi], sumDyXhat[:hi]
	m := float32(n * s)
	// A block of channels at a time, with their k = gamma*invStd/m; with
	// s > 1, sample by sample as NormApply.
	var k [colBlock]float32
	for j := lo; j < hi; j += colBlock {
		b := min(colBlock, hi-j)
		for i := range b {
			k[i] = float32(gamma[j+i]*invStd[j+i]) / m
		}
		if s == 1 {
			normBackwardApplyCols(dy[j:], xhat[j:], dx[j:], n, c, m, k[:b], sumDy[j:j+b], sumDyXhat[j:j+b])
			continue
		}
		for i := range n {
			o := (i*c + j) * s
			switch {
			case haveAsm && useAVX512:
				normBackwardApplyAVX512(&dy[o], &xhat[o], &dx[o], b, s, m, &k[0], &sumDy[j], &sumDyXhat[j])
			case haveAsm && useAVX2:
				normBackwardApplyAVX2(&dy[o], &xhat[o], &dx[o], b, s, m, &k[0], &sumDy[j], &sumDyXhat[j])
			default:
				normBackwardApplyGo(dy[o:], xhat[o:], dx[o:], b, s, m, k[:b], sumDy[j:], sumDyXhat[j:])
			}
		}
	}
}

// normBackwardApplyCols is NormBackwardApply for s = 1 and channels
// [0, len(k)) of the rows, with k = gamma*invStd/m per channel.
func normBackwardApplyCols(dy, xhat, dx []float32, n, stride int, m float32, k, sumDy, sumDyXhat []float32) {
	cols := len(k)
	switch {
	case haveAsm && useAVX512:
		normBackwardApplyColsAVX512(&dy[0], &xhat[0], &dx[0], n, stride, cols, m, &k[0], &sumDy[0], &sumDyXhat[0])
		return
	case haveAsm && useAVX2:
		if v := cols &^ 7; v > 0 {
			normBackwardApplyColsAVX2(&dy[0], &xhat[0], &dx[0], n, stride, v, m, &k[0], &sumDy[0], &sumDyXhat[0])
			dy, xhat, dx = dy[v:], xhat[v:], dx[v:]
			k, sumDy, sumDyXhat = k[v:], sumDy[v:], sumDyXhat[v:]
		}
	}
	for i := range n {
		o := i * stride
		for j, kj := range k {
			dx[o+j] = kj * (float32(m*dy[o+j]) - sumDy[j] - float32(xhat[o+j]*sumDyXhat[j]))
		}
	}
}

// normBackwardApplyGo is dx = k*((m*dy - sumDy) - xhat*sumDyXhat) over runs
// consecutive runs of s values, run r with the parameters [r], each product
// rounded as the assembly does.
func normBackwardApplyGo(dy, xhat, dx []float32, runs, s int, m float32, k, sumDy, sumDyXhat []float32) {
	for r := range runs {
		for j := r * s; j < (r+1)*s; j++ {
			dx[j] = k[r] * (float32(m*dy[j]) - sumDy[r] - float32(xhat[j]*sumDyXhat[r]))
		}
	}
}

// SoftmaxCrossEntropy takes rows [lo, hi) of logits (rows × classes): probs
// gets their softmax and dlogits, unless nil, the gradient of the mean loss
// over total rows, (p - onehot)/total. It returns the summed (not mean) loss
// of those rows and how many rows' first largest logit is their label. A
// row with +Inf logits gives them probability 1 between them (and the
// others 0), so its loss is log(count) if the label is one of them, else
// +Inf; a NaN logit gives NaNs.
//
// There is no assembly: with 10 classes a row is shorter than a vector and
// math.Exp dominates; BenchmarkElementwise/softmax/go takes about 8 µs for
// a batch of 64 rows, next to the milliseconds of the layers before it.
func SoftmaxCrossEntropy(logits []float32, labels []int32, classes, lo, hi, total int, probs, dlogits []float32) (loss float64, correct int) {
	tot := float32(total)
	for r := lo; r < hi; r++ {
		z := logits[r*classes : (r+1)*classes]
		p := probs[r*classes : (r+1)*classes]
		top, arg := z[0], 0
		for j, v := range z {
			if v > top {
				top, arg = v, j
			}
		}
		y := int(labels[r])
		if top > math.MaxFloat32 { // +Inf: exp(v - top) would be NaN
			k := 0
			for _, v := range z {
				if v == top {
					k++
				}
			}
			for j, v := range z {
				p[j] = 0
				if v == top {
					p[j] = 1 / float32(k)
				}
			}
			if z[y] == top {
				loss += math.Log(float64(k))
			} else {
				loss += math.Inf(1)
			}
		} else {
			var sum float64
			for j, v := range z {
				e := math.Exp(float64(v - top))
				p[j] = float32(e)
				sum += e
			}
			for j := range p {
				p[j] = float32(float64(p[j]) / sum)
			}
			loss += -(float64(z[y]-top) - math.Log(sum))
		}
		if arg == y {
			correct++
		}
		if dlogits != nil {
			d := dlogits[r*classes : (r+1)*classes]
			for j := range d {
				d[j] = p[j] / tot
			}
			d[y] -= 1 / tot
		}
	}
	return loss, correct
}

// AdamWHyper holds AdamW's hyper-parameters.
type AdamWHyper struct{ LR, Beta1, Beta2, Eps, WeightDecay float32 }

// adamConsts are one step's per-element constants, laid out for the
// assembly (it broadcasts each from its offset).
type adamConsts struct {
	b1, c1, b2, c2, eps, stepSize, sqrtBc2, decay float32
}

func newAdamConsts(h AdamWHyper, step int) adamConsts {
	bc1 := 1 - math.Pow(float64(h.Beta1), float64(step))
	bc2 := 1 - math.Pow(float64(h.Beta2), float64(step))
	return adamConsts{
		b1: h.Beta1, c1: 1 - h.Beta1,
		b2: h.Beta2, c2: 1 - h.Beta2,
		eps:      h.Eps,
		stepSize: float32(float64(h.LR) / bc1),
		sqrtBc2:  float32(math.Sqrt(bc2)),
		decay:    1 - float32(h.LR*h.WeightDecay),
	}
}

// AdamW does one AdamW step (step counts from 1) on w in place, with
// gradient g and moments m and v, in PyTorch's order: decay, moments, then
// the bias-corrected step w = w*(1-lr*wd) - lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps).
// Every level computes the same bits. len(g), len(m), len(v) >= len(w).
func AdamW(h AdamWHyper, step int, w, g, m, v []float32) {
	n := len(w)
	g, m, v = g[:n], m[:n], v[:n]
	if n == 0 {
		return
	}
	c := newAdamConsts(h, step)
	switch {
	case haveAsm && useAVX512:
		adamWAVX512(&w[0], &g[0], &m[0], &v[0], n, &c)
		return
	case haveAsm && useAVX2:
		if k := n &^ 7; k > 0 {
			adamWAVX2(&w[0], &g[0], &m[0], &v[0], k, &c)
			w, g, m, v = w[k:], g[k:], m[k:], v[k:]
		}
	}
	adamWConsts(&c, w, g, m, v)
}

// adamWGo is AdamW's reference.
func adamWGo(h AdamWHyper, step int, w, g, m, v []float32) {
	c := newAdamConsts(h, step)
	adamWConsts(&c, w, g, m, v)
}

func adamWConsts(c *adamConsts, w, g, m, v []float32) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	for i := range w {
		gi := g[i]
		mi := float32(c.b1*m[i]) + float32(c.c1*gi)
		vi := float32(c.b2*v[i]) + float32(float32(c.c2*gi)*gi)
		m[i], v[i] = mi, vi
		denom := float32(math.Sqrt(float64(vi)))/c.sqrtBc2 + c.eps
		w[i] = float32(w[i]*c.decay) - float32(c.stepSize*mi)/denom
	}
}

// Dropout's hash. Element i (its global index offset+i) is dropped when
//
//	key  = mix64(seed)
//	bits = mix64(key + (offset+i+1)*0x9E3779B97F4A7C15)
//	bits>>40 < ceil(p * 2^24)
//
// where mix64 is SplitMix64's finaliser (below): element i is the
// (offset+i+1)-th output of a SplitMix64 generator seeded with key, whose
// top 24 bits, read as a fraction, fall below p. The multiplies are 64-bit
// (VPMULLQ with AVX-512, three VPMULUDQ with AVX2, two 32-bit IMADs in
// CUDA's mul.lo.u64), and every element is independent of the others.
const (
	dropGamma = 0x9E3779B97F4A7C15
	dropMul1  = 0xBF58476D1CE4E5B9
	dropMul2  = 0x94D049BB133111EB
)

func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * dropMul1
	z = (z ^ z>>27) * dropMul2
	return z ^ z>>31
}

// dropThreshold is ceil(p * 2^24) for p in [0, 1].
func dropThreshold(p float32) uint64 {
	return uint64(math.Ceil(float64(p) * (1 << 24)))
}

// Dropout writes mask[i] = 0 for the dropped elements of x (see the hash
// above) and 1/(1-p) for the others, and y[i] = x[i]*mask[i]; y may alias
// x. p is in [0, 1]; p = 0 copies x and sets the mask to 1. Any split of
// [0, n) into calls with matching offsets gives the same mask.
func Dropout(x, y, mask []float32, p float32, seed, offset uint64) {
	n := len(x)
	y, mask = y[:n], mask[:n]
	if n == 0 {
		return
	}
	if p <= 0 {
		copy(y, x)
		for i := range mask {
			mask[i] = 1
		}
		return
	}
	keep := 1 / (1 - p)
	thr := dropThreshold(p)
	key := mix64(seed)
	gamma := uint64(dropGamma) // a variable, so that gamma*16 wraps
	switch {
	case haveAsm && useAVX512:
		var lanes [16]uint64
		for i := range lanes {
			lanes[i] = key + (offset+uint64(i)+1)*dropGamma
		}
		dropoutAVX512(&x[0], &y[0], &mask[0], n, &lanes, gamma*16, thr, keep)
		return
	case haveAsm && useAVX2:
		if k := n &^ 7; k > 0 {
			// Two vectors of four: elements 0,1,4,5 and 2,3,6,7, which is
			// the order the kernel's 64-to-32-bit shuffle puts back in line.
			var lanes [8]uint64
			for i, e := range [8]uint64{0, 1, 4, 5, 2, 3, 6, 7} {
				lanes[i] = key + (offset+e+1)*dropGamma
			}
			dropoutAVX2(&x[0], &y[0], &mask[0], k, &lanes, gamma*8, thr, keep)
			x, y, mask = x[k:], y[k:], mask[k:]
			offset += uint64(k)
		}
	}
	dropoutKey(x, y, mask, key, thr, keep, offset)
}

// dropoutGo is Dropout's reference.
func dropoutGo(x, y, mask []float32, p float32, seed, offset uint64) {
	if p <= 0 {
		copy(y[:len(x)], x)
		for i := range mask[:len(x)] {
			mask[i] = 1
		}
		return
	}
	dropoutKey(x, y, mask, mix64(seed), dropThreshold(p), 1/(1-p), offset)
}

func dropoutKey(x, y, mask []float32, key, thr uint64, keep float32, offset uint64) {
	y, mask = y[:len(x)], mask[:len(x)]
	for i, v := range x {
		mk := keep
		if mix64(key+(offset+uint64(i)+1)*dropGamma)>>40 < thr {
			mk = 0
		}
		mask[i] = mk
		y[i] = v * mk
	}
}

// DropoutBackward writes dx = dy * mask; dx may alias dy. len(mask) and
// len(dx) >= len(dy).
func DropoutBackward(dy, mask, dx []float32) {
	n := len(dy)
	mask, dx = mask[:n], dx[:n]
	switch {
	case n == 0:
	case haveAsm && useAVX512:
		dropoutBackwardAVX512(&dy[0], &mask[0], &dx[0], n)
	case haveAsm && useAVX2:
		if k := n &^ 7; k > 0 {
			dropoutBackwardAVX2(&dy[0], &mask[0], &dx[0], k)
			dy, mask, dx = dy[k:], mask[k:], dx[k:]
		}
		dropoutBackwardGo(dy, mask, dx)
	default:
		dropoutBackwardGo(dy, mask, dx)
	}
}

func dropoutBackwardGo(dy, mask, dx []float32) {
	mask, dx = mask[:len(dy)], dx[:len(dy)]
	for i, v := range dy {
		dx[i] = v * mask[i]
	}
}
