package backend

import (
	"fmt"
	"math"
	"runtime"

	"github.com/mlpviz/mlpviz/trainer/backend/kernels"
)

// CPU is the backend on the host's cores. Its kernels are package kernels'
// (assembly where the CPU has AVX2 or AVX-512, pure Go elsewhere); the CPU
// splits each call over a persistent pool of goroutines by images, channels,
// rows or elements as the shape allows. Its tensors are Go slices (OnHost),
// which its kernels read in place. A CPU is used by one goroutine at a
// time: it keeps per-worker scratch between calls, so a training step
// allocates nothing once the batch size is stable.
type CPU struct {
	workers int
	pool    *pool
	scratch [][]float32 // per worker: im2col columns and their gradient
	partial [][]float32 // per worker: weight-gradient partial sums

	// The tasks handed to the pool; kept here so that dispatch allocates nothing.
	gemm    gemmTask
	convFwd convForward
	convBwd convBackward
	ew      elementwise
	norm    normTask

	mean, variance []float32 // batch norm's per-channel figures
}

// NewCPU returns a CPU backend using workers goroutines; workers <= 0 means
// one per core.
func NewCPU(workers int) *CPU {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	c := &CPU{
		workers: workers,
		pool:    newPool(workers),
		scratch: make([][]float32, workers),
		partial: make([][]float32, workers),
	}
	runtime.AddCleanup(c, func(p *pool) { p.close() }, c.pool)
	return c
}

// Name implements Backend.
func (c *CPU) Name() string { return "cpu" }

// Err implements Backend: the CPU does not fail.
func (c *CPU) Err() error { return nil }

// Workers reports how many goroutines each kernel uses.
func (c *CPU) Workers() int { return c.workers }

// grow returns buf resized to n, reusing its storage when large enough.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// Alloc implements Backend: a Go slice, which the garbage collector frees.
func (c *CPU) Alloc(n int) Tensor { return OnHost(make([]float32, n)) }

// AllocInt implements Backend.
func (c *CPU) AllocInt(n int) IntTensor { return OnHost(make([]int32, n)) }

// AllocFloat64 implements Backend.
func (c *CPU) AllocFloat64(n int) Float64Tensor { return OnHost(make([]float64, n)) }

// Free implements Backend: the garbage collector frees the values once
// nothing refers to them.
func (c *CPU) Free(Storage) {}

// Upload implements Backend.
func (c *CPU) Upload(dst Tensor, src []float32) { copyExactly(dst.host, src) }

// UploadInt implements Backend.
func (c *CPU) UploadInt(dst IntTensor, src []int32) { copyExactly(dst.host, src) }

// Download implements Backend.
func (c *CPU) Download(dst []float32, src Tensor) { copyExactly(dst, src.host) }

// DownloadFloat64 implements Backend.
func (c *CPU) DownloadFloat64(dst []float64, src Float64Tensor) { copyExactly(dst, src.host) }

// copyExactly copies src to dst, which must be as long.
func copyExactly[T Elem](dst, src []T) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("backend: copying %d values into %d", len(src), len(dst)))
	}
	copy(dst, src)
}

// Zero implements Backend.
func (c *CPU) Zero(t Tensor) { clear(t.host) }

// Broadcast implements Backend.
func (c *CPU) Broadcast(row, y Tensor) {
	r, out := row.host, y.host
	if len(r) == 0 {
		return
	}
	for i := 0; i+len(r) <= len(out); i += len(r) {
		copy(out[i:i+len(r)], r)
	}
}

// SumRows implements Backend.
func (c *CPU) SumRows(x, sum Tensor) {
	in, s := x.host, sum.host
	if len(s) == 0 {
		return
	}
	for i := 0; i+len(s) <= len(in); i += len(s) {
		for j, v := range in[i : i+len(s)] {
			s[j] += v
		}
	}
}

// Gemm implements Backend. A product large enough to pay for the hand-off
// is split across workers by blocks of rows of C (or of columns, see below),
// each block a whole number of micro-kernel tiles.
func (c *CPU) Gemm(transA, transB bool, m, n, k int, at, bt Tensor, beta float32, ct Tensor) {
	a, b, out := at.host, bt.host, ct.host
	if m*n*k < 1<<16 || c.workers == 1 {
		kernels.Sgemm(transA, transB, m, n, k, a, lda(transA, m, k), b, ldb(transB, n, k), beta, out, n)
		return
	}
	t := &c.gemm
	*t = gemmTask{transA: transA, transB: transB, m: m, n: n, k: k, a: a, b: b, beta: beta, c: out}
	t.rows, t.cols = kernels.Tile()
	// Split by rows, every worker packs all of op(B); by columns, all of
	// op(A). Duplicate the cheaper packing (a transposing gather costs about
	// twice a copy) unless C has too few rows to share. Sharing one packing
	// between the workers measured slower: the packed panels then cross
	// between the cores' caches.
	packA, packB := m*k, k*n
	if !transA {
		packA *= 2
	}
	if transB {
		packB *= 2
	}
	t.byCols = packA < packB || m < 4*t.rows*c.workers
	blocks := (m + t.rows - 1) / t.rows
	if t.byCols {
		t.cols *= 2 // whole 64-byte lines of C for AVX2 too
		blocks = (n + t.cols - 1) / t.cols
	}
	c.pool.run(blocks, 0, t)
	t.a, t.b, t.c = nil, nil, nil
}

func lda(transA bool, m, k int) int {
	if transA {
		return m
	}
	return k
}

func ldb(transB bool, n, k int) int {
	if transB {
		return k
	}
	return n
}

// gemmTask is a product split into blocks of rows or of columns of C,
// each a whole number of micro-kernel tiles.
type gemmTask struct {
	transA, transB, byCols bool
	m, n, k                int
	rows, cols             int // split granularity: whole micro-kernel tiles
	a, b, c                []float32
	beta                   float32
}

func (t *gemmTask) run(_, lo, hi int) {
	la, lb := lda(t.transA, t.m, t.k), ldb(t.transB, t.n, t.k)
	if t.byCols {
		j0, j1 := lo*t.cols, min(hi*t.cols, t.n)
		off := j0 // the block's first column of op(B)
		if t.transB {
			off = j0 * lb
		}
		kernels.Sgemm(t.transA, t.transB, t.m, j1-j0, t.k, t.a, la, t.b[off:], lb, t.beta, t.c[j0:], t.n)
		return
	}
	i0, i1 := lo*t.rows, min(hi*t.rows, t.m)
	off := i0 * la // the block's first row of op(A)
	if t.transA {
		off = i0
	}
	kernels.Sgemm(t.transA, t.transB, i1-i0, t.n, t.k, t.a[off:], la, t.b, lb, t.beta, t.c[i0*t.n:], t.n)
}

// Element-wise kernels split flat ranges into chunks of at least
// minChunk values: below that the hand-off costs more than it saves.
const minChunk = 1 << 14

// chunks is how many workers a flat range of n values deserves.
func chunks(n int) int { return max(1, n/minChunk) }

// each runs the element-wise task e over [0, n), split into at most one
// chunk per minChunk of the size values it touches.
func (c *CPU) each(n, size int, e elementwise) {
	c.ew = e
	c.pool.run(n, chunks(size), &c.ew)
	c.ew = elementwise{}
}

// MaxPool2D implements Backend, planes split across workers.
func (c *CPU) MaxPool2D(g PoolGeom, x, y Tensor, arg IntTensor) {
	c.each(g.N*g.C, x.n, elementwise{op: opMaxPool, pool: g, x: x.host, y: y.host, arg: arg.host})
}

// MaxPool2DBackward implements Backend.
func (c *CPU) MaxPool2DBackward(g PoolGeom, dy Tensor, arg IntTensor, dx Tensor) {
	c.each(g.N*g.C, dx.n, elementwise{op: opMaxPoolBackward, pool: g, x: dy.host, y: dx.host, arg: arg.host})
}

// ReLU implements Backend.
func (c *CPU) ReLU(x, y Tensor) {
	c.each(x.n, x.n, elementwise{op: opReLU, x: x.host, y: y.host})
}

// ReLUBackward implements Backend.
func (c *CPU) ReLUBackward(y, dy, dx Tensor) {
	c.each(y.n, y.n, elementwise{op: opReLUBackward, x: y.host, y: dy.host, z: dx.host})
}

// Dropout implements Backend.
func (c *CPU) Dropout(p float32, seed, offset uint64, x, y, mask Tensor) {
	c.each(x.n, x.n, elementwise{op: opDropout, x: x.host, y: y.host, z: mask.host, p: p, seed: seed, offset: offset})
}

// DropoutBackward implements Backend.
func (c *CPU) DropoutBackward(mask, dy, dx Tensor) {
	c.each(mask.n, mask.n, elementwise{op: opDropoutBackward, x: mask.host, y: dy.host, z: dx.host})
}

// AdamW implements Backend.
func (c *CPU) AdamW(h AdamWHyper, step int, w, g, m, v Tensor) {
	c.each(w.n, w.n, elementwise{op: opAdamW, adam: h, step: step, x: w.host, y: g.host, z: m.host, v: v.host})
}

type elementOp int

const (
	opReLU elementOp = iota + 1
	opReLUBackward
	opMaxPool
	opMaxPoolBackward
	opDropout
	opDropoutBackward
	opAdamW
)

// elementwise is the task of every element-wise kernel: op says which, and
// its slices and settings are the kernel's arguments in order.
type elementwise struct {
	op           elementOp
	x, y, z, v   []float32
	arg          []int32
	pool         PoolGeom
	p            float32
	seed, offset uint64
	adam         AdamWHyper
	step         int
}

func (t *elementwise) run(_, lo, hi int) {
	switch t.op {
	case opReLU:
		kernels.Relu(t.x[lo:hi], t.y[lo:hi])
	case opReLUBackward:
		kernels.ReluBackward(t.x[lo:hi], t.y[lo:hi], t.z[lo:hi])
	case opMaxPool:
		g := t.pool
		kernels.MaxPool(t.x, g.H, g.W, g.Size, lo, hi, t.y, t.arg)
	case opMaxPoolBackward:
		g := t.pool
		kernels.MaxPoolBackward(t.x, t.arg, g.H, g.W, g.Size, lo, hi, t.y)
	case opDropout:
		kernels.Dropout(t.x[lo:hi], t.y[lo:hi], t.z[lo:hi], t.p, t.seed, t.offset+uint64(lo))
	case opDropoutBackward:
		kernels.DropoutBackward(t.y[lo:hi], t.x[lo:hi], t.z[lo:hi])
	case opAdamW:
		kernels.AdamW(t.adam, t.step, t.x[lo:hi], t.y[lo:hi], t.z[lo:hi], t.v[lo:hi])
	}
}

// BatchNorm implements Backend, channels split across workers: statistics,
// then the running averages and 1/σ here, then the normalisation.
func (c *CPU) BatchNorm(g NormGeom, x, y Tensor, s *NormState, train bool) {
	c.mean, c.variance = grow(c.mean, g.C), grow(c.variance, g.C)
	t := &c.norm
	*t = normTask{g: g, x: x.host, y: y.host, gamma: s.Gamma.host, beta: s.Beta.host, mean: c.mean, variance: c.variance}
	workers := chunks(x.n)
	if train {
		t.stage = normStats
		c.pool.run(g.C, workers, t)
		m := float64(g.N * g.S)
		invStd, runMean, runVar := s.InvStd.host, s.RunMean.host, s.RunVar.host
		for ch := range g.C {
			variance := float64(c.variance[ch])
			invStd[ch] = float32(1 / math.Sqrt(variance+float64(s.Eps)))
			unbiased := variance
			if m > 1 {
				unbiased = variance * m / (m - 1)
			}
			runMean[ch] = (1-s.Momentum)*runMean[ch] + s.Momentum*c.mean[ch]
			runVar[ch] = (1-s.Momentum)*runVar[ch] + s.Momentum*float32(unbiased)
		}
		t.invStd, t.xhat = invStd, s.XHat.host
	} else {
		runMean, runVar := s.RunMean.host, s.RunVar.host
		for ch := range g.C {
			c.mean[ch] = runMean[ch]
			c.variance[ch] = float32(1 / math.Sqrt(float64(runVar[ch]+s.Eps))) // 1/σ
		}
		t.invStd = c.variance
	}
	t.stage = normApply
	c.pool.run(g.C, workers, t)
	*t = normTask{}
}

// BatchNormBackward implements Backend.
func (c *CPU) BatchNormBackward(g NormGeom, dy, dx Tensor, s *NormState) {
	c.mean, c.variance = grow(c.mean, g.C), grow(c.variance, g.C)
	t := &c.norm
	*t = normTask{g: g, x: dy.host, y: dx.host, xhat: s.XHat.host, gamma: s.Gamma.host, invStd: s.InvStd.host,
		mean: c.mean, variance: c.variance, stage: normBackwardSums}
	workers := chunks(dy.n)
	c.pool.run(g.C, workers, t)
	dBeta, dGamma := s.DBeta.host, s.DGamma.host
	for ch := range g.C {
		dBeta[ch] += c.mean[ch]
		dGamma[ch] += c.variance[ch]
	}
	t.stage = normBackwardApply
	c.pool.run(g.C, workers, t)
	*t = normTask{}
}

type normStage int

const (
	normStats normStage = iota
	normApply
	normBackwardSums
	normBackwardApply
)

// normTask is one stage of batch norm over a range of channels. In the
// backward stages x is dy, y is dx, mean holds Σdy and variance Σdy·x̂.
type normTask struct {
	stage                  normStage
	g                      NormGeom
	x, y, xhat             []float32
	gamma, beta            []float32
	mean, variance, invStd []float32
}

func (t *normTask) run(_, lo, hi int) {
	g := t.g
	switch t.stage {
	case normStats:
		kernels.NormStats(t.x, g.N, g.C, g.S, lo, hi, t.mean, t.variance)
	case normApply:
		kernels.NormApply(t.x, t.y, t.xhat, g.N, g.C, g.S, lo, hi, t.mean, t.invStd, t.gamma, t.beta)
	case normBackwardSums:
		kernels.NormBackwardSums(t.x, t.xhat, g.N, g.C, g.S, lo, hi, t.mean, t.variance)
	case normBackwardApply:
		kernels.NormBackwardApply(t.x, t.xhat, t.y, g.N, g.C, g.S, lo, hi, t.gamma, t.invStd, t.mean, t.variance)
	}
}

// SoftmaxCrossEntropy implements Backend; a batch's rows of ten classes are
// too little work to split.
func (c *CPU) SoftmaxCrossEntropy(logits Tensor, labels IntTensor, classes int, probs, dlogits Tensor, figures Float64Tensor) {
	n := labels.n
	loss, correct := kernels.SoftmaxCrossEntropy(logits.host, labels.host, classes, 0, n, n, probs.host, dlogits.host)
	f := figures.host[:2]
	f[0], f[1] = loss/float64(n), float64(correct)
}
