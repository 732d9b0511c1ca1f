package backend

import (
	"math"
	"runtime"

	"github.com/mlpviz/mlpviz/trainer/backend/kernels"
)

// CPU is the backend on the host's cores. Its kernels are package kernels'
// (assembly where the CPU has AVX2 or AVX-512, pure Go elsewhere); the CPU
// splits each call over a persistent pool of goroutines by images, channels,
// rows or elements as the shape allows. A CPU is used by one goroutine at a
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

// Workers reports how many goroutines each kernel uses.
func (c *CPU) Workers() int { return c.workers }

// grow returns buf resized to n, reusing its storage when large enough.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// Gemm implements Backend. A product large enough to pay for the hand-off
// is split across workers by blocks of columns of C (or rows, when C is
// narrow), each block a whole number of micro-kernel tiles.
func (c *CPU) Gemm(transA, transB bool, m, n, k int, a, b []float32, beta float32, out []float32) {
	if m*n*k < 1<<16 || c.workers == 1 {
		kernels.Sgemm(transA, transB, m, n, k, a, lda(transA, m, k), b, ldb(transB, n, k), beta, out, n)
		return
	}
	t := &c.gemm
	*t = gemmTask{transA: transA, transB: transB, m: m, n: n, k: k, a: a, b: b, beta: beta, c: out}
	t.rows, t.cols = kernels.Tile()
	// By rows, each worker packs all of B; by columns, all of A. Rows
	// spread more evenly, so columns only when C has too few rows.
	t.byCols = m < 4*t.rows*c.workers
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
		b := t.b[off:]
		kernels.Sgemm(t.transA, t.transB, t.m, j1-j0, t.k, t.a, la, b, lb, t.beta, t.c[j0:], t.n)
		return
	}
	i0, i1 := lo*t.rows, min(hi*t.rows, t.m)
	off := i0 * la // the block's first row of op(A)
	if t.transA {
		off = i0
	}
	a := t.a[off:]
	kernels.Sgemm(t.transA, t.transB, i1-i0, t.n, t.k, a, la, t.b, lb, t.beta, t.c[i0*t.n:], t.n)
}

// im2col lays out one image's receptive fields as a (C·R·R)×(OH·OW) matrix.
// Each output row of a kernel offset is one shifted copy of an input row
// with zeros where it reads the padding.
func im2col(g ConvGeom, x, col []float32) {
	oh, ow := g.OutH(), g.OutW()
	i := 0
	for ch := 0; ch < g.C; ch++ {
		plane := x[ch*g.H*g.W : (ch+1)*g.H*g.W]
		for ky := 0; ky < g.R; ky++ {
			for kx := 0; kx < g.R; kx++ {
				lo, hi := validRange(kx-g.Pad, ow, g.W)
				for oy := 0; oy < oh; oy++ {
					iy := oy + ky - g.Pad
					dst := col[i : i+ow]
					i += ow
					if iy < 0 || iy >= g.H || lo >= hi {
						clear(dst)
						continue
					}
					clear(dst[:lo])
					copy(dst[lo:hi], plane[iy*g.W+lo+kx-g.Pad:])
					clear(dst[hi:])
				}
			}
		}
	}
}

// validRange is the range [lo, hi) of output columns ox whose input column
// ox+shift lies inside [0, w).
func validRange(shift, ow, w int) (lo, hi int) {
	lo, hi = max(0, -shift), min(ow, w-shift)
	return lo, max(lo, hi)
}

// col2im adds the columns back onto one image's gradient (which it clears
// first): the transpose of im2col.
func col2im(g ConvGeom, col, dx []float32) {
	clear(dx)
	oh, ow := g.OutH(), g.OutW()
	i := 0
	for ch := 0; ch < g.C; ch++ {
		plane := dx[ch*g.H*g.W : (ch+1)*g.H*g.W]
		for ky := 0; ky < g.R; ky++ {
			for kx := 0; kx < g.R; kx++ {
				lo, hi := validRange(kx-g.Pad, ow, g.W)
				for oy := 0; oy < oh; oy++ {
					iy := oy + ky - g.Pad
					src := col[i+lo : i+hi]
					i += ow
					if iy < 0 || iy >= g.H {
						continue
					}
					dst := plane[iy*g.W+lo+kx-g.Pad:]
					dst = dst[:len(src)]
					for j, v := range src {
						dst[j] += v
					}
				}
			}
		}
	}
}

// Conv2D implements Backend: per image, im2col into the worker's scratch
// (one image's columns, never the batch's) and one GEMM onto the bias;
// images are split across workers.
func (c *CPU) Conv2D(g ConvGeom, x, w, bias, y []float32) {
	t := &c.convFwd
	*t = convForward{cpu: c, g: g, x: x, w: w, bias: bias, y: y}
	c.pool.run(g.N, 0, t)
	*t = convForward{}
}

type convForward struct {
	cpu           *CPU
	g             ConvGeom
	x, w, bias, y []float32
}

func (t *convForward) run(wk, lo, hi int) {
	g := t.g
	in, out := g.C*g.H*g.W, g.K*g.OutH()*g.OutW()
	ckk, hw := g.C*g.R*g.R, g.OutH()*g.OutW()
	col := grow(t.cpu.scratch[wk], ckk*hw)
	t.cpu.scratch[wk] = col
	for n := lo; n < hi; n++ {
		im2col(g, t.x[n*in:(n+1)*in], col)
		yn := t.y[n*out : (n+1)*out]
		for k := 0; k < g.K; k++ {
			row := yn[k*hw : (k+1)*hw]
			for j := range row {
				row[j] = t.bias[k]
			}
		}
		kernels.Sgemm(false, false, g.K, hw, ckk, t.w, ckk, col, hw, 1, yn, hw)
	}
}

// Conv2DBackward implements Backend. Each worker sums its images' weight
// gradients privately; the sums are added to dw and db at the end.
func (c *CPU) Conv2DBackward(g ConvGeom, x, w, dy, dx, dw, db []float32) {
	t := &c.convBwd
	*t = convBackward{cpu: c, g: g, x: x, w: w, dy: dy, dx: dx, nw: len(dw) + len(db)}
	c.pool.run(g.N, 0, t)
	*t = convBackward{}
	for wk := 0; wk < min(c.workers, g.N); wk++ {
		part := c.partial[wk][:len(dw)+len(db)]
		for i, v := range part[:len(dw)] {
			dw[i] += v
		}
		for i, v := range part[len(dw):] {
			db[i] += v
		}
	}
}

type convBackward struct {
	cpu          *CPU
	g            ConvGeom
	x, w, dy, dx []float32
	nw           int
}

func (t *convBackward) run(wk, lo, hi int) {
	g := t.g
	in, out := g.C*g.H*g.W, g.K*g.OutH()*g.OutW()
	ckk, hw := g.C*g.R*g.R, g.OutH()*g.OutW()
	col := grow(t.cpu.scratch[wk], 2*ckk*hw) // columns, then their gradient
	t.cpu.scratch[wk] = col
	cols, dcol := col[:ckk*hw], col[ckk*hw:]
	part := grow(t.cpu.partial[wk], t.nw)
	t.cpu.partial[wk] = part
	clear(part)
	pdw, pdb := part[:g.K*ckk], part[g.K*ckk:]
	for n := lo; n < hi; n++ {
		dyn := t.dy[n*out : (n+1)*out]
		im2col(g, t.x[n*in:(n+1)*in], cols)
		kernels.Sgemm(false, true, g.K, ckk, hw, dyn, hw, cols, hw, 1, pdw, ckk)
		for k := 0; k < g.K; k++ {
			var s float32
			for _, v := range dyn[k*hw : (k+1)*hw] {
				s += v
			}
			pdb[k] += s
		}
		if t.dx != nil {
			kernels.Sgemm(true, false, ckk, hw, g.K, t.w, ckk, dyn, hw, 0, dcol, hw)
			col2im(g, dcol, t.dx[n*in:(n+1)*in])
		}
	}
}

// MaxPool2D implements Backend.
func (c *CPU) MaxPool2D(g PoolGeom, x, y []float32, arg []int32) {
	oh, ow := g.OutH(), g.OutW()
	c.parallelFunc(g.N*g.C, func(_, lo, hi int) {
		for p := lo; p < hi; p++ {
			base := p * g.H * g.W
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					best, bi := float32(math.Inf(-1)), -1
					for dy := 0; dy < g.Size; dy++ {
						r := base + (oy*g.Size+dy)*g.W + ox*g.Size
						for dx := 0; dx < g.Size; dx++ {
							if v := x[r+dx]; v > best || bi < 0 {
								best, bi = v, r+dx
							}
						}
					}
					o := p*oh*ow + oy*ow + ox
					y[o], arg[o] = best, int32(bi)
				}
			}
		}
	})
}

// MaxPool2DBackward implements Backend.
func (c *CPU) MaxPool2DBackward(g PoolGeom, dy []float32, arg []int32, dx []float32) {
	clear(dx[:g.N*g.C*g.H*g.W])
	for o, v := range dy {
		dx[arg[o]] += v
	}
}

// ReLU implements Backend.
func (c *CPU) ReLU(x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = max(v, 0)
	}
}

// ReLUBackward implements Backend.
func (c *CPU) ReLUBackward(y, dy, dx []float32) {
	dy, dx = dy[:len(y)], dx[:len(y)]
	for i, v := range y {
		if v > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}

// BatchNorm implements Backend.
func (c *CPU) BatchNorm(g NormGeom, x, y []float32, s *NormState, train bool) {
	m := float64(g.N * g.S)
	for ch := 0; ch < g.C; ch++ {
		var mean, inv float32
		if train {
			var sum, sq float64
			forChannel(g, ch, func(i int) {
				v := float64(x[i])
				sum += v
				sq += v * v
			})
			mu := sum / m
			variance := max(sq/m-mu*mu, 0)
			mean, inv = float32(mu), float32(1/math.Sqrt(variance+float64(s.Eps)))
			s.InvStd[ch] = inv
			unbiased := variance
			if m > 1 {
				unbiased = variance * m / (m - 1)
			}
			s.RunMean[ch] = (1-s.Momentum)*s.RunMean[ch] + s.Momentum*mean
			s.RunVar[ch] = (1-s.Momentum)*s.RunVar[ch] + s.Momentum*float32(unbiased)
		} else {
			mean = s.RunMean[ch]
			inv = float32(1 / math.Sqrt(float64(s.RunVar[ch]+s.Eps)))
		}
		gamma, beta := s.Gamma[ch], s.Beta[ch]
		forChannel(g, ch, func(i int) {
			xh := (x[i] - mean) * inv
			if train {
				s.XHat[i] = xh
			}
			y[i] = gamma*xh + beta
		})
	}
}

// BatchNormBackward implements Backend.
func (c *CPU) BatchNormBackward(g NormGeom, dy, dx []float32, s *NormState) {
	m := float32(g.N * g.S)
	for ch := 0; ch < g.C; ch++ {
		var sumDy, sumDyXh float32
		forChannel(g, ch, func(i int) {
			sumDy += dy[i]
			sumDyXh += dy[i] * s.XHat[i]
		})
		s.DGamma[ch] += sumDyXh
		s.DBeta[ch] += sumDy
		k := s.Gamma[ch] * s.InvStd[ch] / m
		forChannel(g, ch, func(i int) {
			dx[i] = k * (m*dy[i] - sumDy - s.XHat[i]*sumDyXh)
		})
	}
}

// forChannel calls f with the flat index of every value of channel ch.
func forChannel(g NormGeom, ch int, f func(i int)) {
	for n := 0; n < g.N; n++ {
		base := (n*g.C + ch) * g.S
		for i := base; i < base+g.S; i++ {
			f(i)
		}
	}
}

// SoftmaxCrossEntropy implements Backend.
func (c *CPU) SoftmaxCrossEntropy(logits []float32, labels []int32, classes int, probs, dlogits []float32) (float64, int) {
	n := len(labels)
	var loss float64
	correct := 0
	for r := 0; r < n; r++ {
		z := logits[r*classes : (r+1)*classes]
		p := probs[r*classes : (r+1)*classes]
		hi, arg := z[0], 0
		for j, v := range z {
			if v > hi {
				hi, arg = v, j
			}
		}
		var sum float64
		for j, v := range z {
			e := math.Exp(float64(v - hi))
			p[j] = float32(e)
			sum += e
		}
		for j := range p {
			p[j] = float32(float64(p[j]) / sum)
		}
		y := int(labels[r])
		loss += -(float64(z[y]-hi) - math.Log(sum))
		if arg == y {
			correct++
		}
		if dlogits != nil {
			d := dlogits[r*classes : (r+1)*classes]
			for j := range d {
				d[j] = p[j] / float32(n)
			}
			d[y] -= 1 / float32(n)
		}
	}
	return loss / float64(n), correct
}

// AdamW implements Backend, in PyTorch's order: decay, moments, bias-corrected step.
func (c *CPU) AdamW(h AdamWHyper, step int, w, g, m, v []float32) {
	bc1 := 1 - math.Pow(float64(h.Beta1), float64(step))
	bc2 := 1 - math.Pow(float64(h.Beta2), float64(step))
	stepSize := float32(float64(h.LR) / bc1)
	sqrtBc2 := float32(math.Sqrt(bc2))
	decay := 1 - h.LR*h.WeightDecay
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	for i := range w {
		gi := g[i]
		m[i] = h.Beta1*m[i] + (1-h.Beta1)*gi
		v[i] = h.Beta2*v[i] + (1-h.Beta2)*gi*gi
		denom := float32(math.Sqrt(float64(v[i])))/sqrtBc2 + h.Eps
		w[i] = w[i]*decay - stepSize*m[i]/denom
	}
}

// parallelFunc runs f over the pool; it allocates a closure, so it is for
// kernels that have not moved to a task yet.
func (c *CPU) parallelFunc(n int, f func(worker, lo, hi int)) { c.pool.run(n, 0, funcTask(f)) }

type funcTask func(worker, lo, hi int)

func (f funcTask) run(worker, lo, hi int) { f(worker, lo, hi) }
