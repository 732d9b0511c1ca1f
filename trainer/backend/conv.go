package backend

import "github.com/mlpviz/mlpviz/trainer/backend/kernels"

// Convolutions as GEMMs, one image at a time: each worker lays out one
// image's im2col columns in its scratch (at most 2304×64 floats, 590 KB, for
// cifar10_cnn), never the batch's. Packing GEMM panels straight from the
// image (implicit GEMM) was measured 10 to 15 % slower for cnn and
// cnn_large and no faster for cifar10_cnn: the columns of one image stay in
// L2, and copying whole rows beats assembling 32-wide strips piecewise.

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
func (c *CPU) Conv2D(g ConvGeom, x, w, bias, y Tensor) {
	t := &c.convFwd
	*t = convForward{cpu: c, g: g, x: x.host, w: w.host, bias: bias.host, y: y.host}
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
			fill(yn[k*hw:(k+1)*hw], t.bias[k])
		}
		kernels.Sgemm(false, false, g.K, hw, ckk, t.w, ckk, col, hw, 1, yn, hw)
	}
}

// Conv2DBackward implements Backend. Each worker sums its images' weight
// gradients privately; the sums are added to dw and db at the end.
func (c *CPU) Conv2DBackward(g ConvGeom, x, w, dy, dx, dwt, dbt Tensor) {
	dw, db := dwt.host, dbt.host
	t := &c.convBwd
	*t = convBackward{cpu: c, g: g, x: x.host, w: w.host, dy: dy.host, dx: dx.host, nw: len(dw) + len(db)}
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

// fill sets every value of row to v by doubling copies, which run at
// memmove's vector speed where a loop of stores does not: the bias fill
// was a tenth of an eval-mode forward pass of cnn.
func fill(row []float32, v float32) {
	if len(row) == 0 {
		return
	}
	row[0] = v
	for done := 1; done < len(row); done *= 2 {
		copy(row[done:], row[:done])
	}
}
