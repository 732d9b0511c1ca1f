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
	if g.OutW() == g.W {
		im2colSame(g, x, col)
	} else {
		im2colRows(g, x, col)
	}
}

// im2colRows is im2col for any geometry, row by row.
func im2colRows(g ConvGeom, x, col []float32) {
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

// im2colSame is im2col for a "same" convolution (output as wide as the
// input, as every 3x3 convolution with padding 1 is). Each kernel offset's
// rows are then the input plane shifted by a constant, so they are copied
// in one piece and only the columns that fall outside the image are
// cleared after: a row-by-row copy of 7 to 28 values made im2col most of a
// forward pass's time in calls.
func im2colSame(g ConvGeom, x, col []float32) {
	h, w := g.H, g.W
	oh, ow := g.OutH(), g.OutW()
	block := oh * ow
	i := 0
	for ch := 0; ch < g.C; ch++ {
		plane := x[ch*h*w : (ch+1)*h*w]
		for ky := 0; ky < g.R; ky++ {
			dy := ky - g.Pad
			y0, y1 := validRange(dy, oh, h) // output rows inside the image
			for kx := 0; kx < g.R; kx++ {
				dx := kx - g.Pad
				dst := col[i : i+block]
				i += block
				if y0 >= y1 {
					clear(dst)
					continue
				}
				clear(dst[:y0*ow])
				clear(dst[y1*ow:])
				// Output (oy, ox) takes input (oy+dy, ox+dx): one shifted run,
				// trimmed where it would start before or end after the plane.
				d0, d1 := y0*ow, y1*ow
				s0 := (y0+dy)*w + dx
				if s0 < 0 {
					d0 -= s0
					s0 = 0
				}
				if over := s0 + (d1 - d0) - len(plane); over > 0 {
					d1 -= over
				}
				if d0 < d1 {
					copy(dst[d0:d1], plane[s0:])
				}
				lo, hi := validRange(dx, ow, w)   // the columns inside the image
				lo, hi = min(lo, ow), min(hi, ow) // a kernel wider than the image
				for oy := y0; oy < y1; oy++ {
					row := dst[oy*ow : (oy+1)*ow]
					for ox := 0; ox < lo; ox++ {
						row[ox] = 0
					}
					for ox := hi; ox < ow; ox++ {
						row[ox] = 0
					}
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
