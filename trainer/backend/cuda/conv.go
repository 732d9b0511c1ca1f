package cuda

import (
	"github.com/mlpviz/mlpviz/trainer/backend"
	"github.com/mlpviz/mlpviz/trainer/backend/cuda/driver"
)

// Convolutions as single large GEMMs over chunks of images (kernels.cu
// explains the layout): im2col puts a chunk's receptive fields side by
// side as a (C·R·R)×(nb·OH·OW) matrix, so that the forward product, the
// weight gradient and the column gradient are each one GEMM with the whole
// chunk as the long dimension, which is what keeps a GPU busy; per-image
// GEMMs of 64 columns would not. The chunk is as many images as fit the
// scratch bound.

// convScratch bounds the columns and the product of one chunk, in floats
// (128 MB): every layer of the seed's models takes a batch of 64 in one
// chunk; evaluation's batches of 250 take up to three in cifar10_cnn's
// 32×32 layers.
const convScratch = 32 << 20

// convChunk is how many images go in one chunk, and the scratch offsets:
// columns first, then the K×(nb·OH·OW) product.
func convChunk(g backend.ConvGeom) (nb, colFloats int) {
	ckk, hw := g.C*g.R*g.R, g.OutH()*g.OutW()
	per := (ckk + g.K) * hw
	nb = min(g.N, max(1, convScratch/per))
	return nb, ckk * nb * hw
}

// convBuffers returns the chunk's scratch: the columns and the product.
func (b *Backend) convBuffers(g backend.ConvGeom) (nb int, col, prod driver.DevicePtr) {
	nb, colFloats := convChunk(g)
	need := colFloats + g.K*nb*g.OutH()*g.OutW()
	if b.conv.Len() < need {
		b.growScratch(&b.conv, need)
	}
	p := ptr(b.conv)
	return nb, p, p + driver.DevicePtr(4*colFloats)
}

// im2col queues the columns of images [n0, n0+nb) of x.
func (b *Backend) im2col(g backend.ConvGeom, x driver.DevicePtr, n0, nb int, col driver.DevicePtr) error {
	at := x + driver.DevicePtr(4*n0*g.C*g.H*g.W)
	b.args.Reset()
	b.args.Ptr(at).Ptr(col).Int(nb).Int(g.C).Int(g.H).Int(g.W).Int(g.R).Int(g.Pad).Int(g.OutH()).Int(g.OutW())
	return b.flat(kIm2col, g.C*g.R*g.R*nb*g.OutH()*g.OutW())
}

// Conv2D implements backend.Backend: per chunk, the columns, the product
// W·col, then its scatter into NCHW with the bias.
func (b *Backend) Conv2D(g backend.ConvGeom, x, w, bias, y backend.Tensor) {
	if g.N <= 0 {
		return
	}
	px, pw, pb, py := ptr(x), ptr(w), ptr(bias), ptr(y)
	b.do(func() error {
		nb, col, prod := b.convBuffers(g)
		ckk, hw := g.C*g.R*g.R, g.OutH()*g.OutW()
		for n0 := 0; n0 < g.N; n0 += nb {
			cnt := min(nb, g.N-n0)
			if err := b.im2col(g, px, n0, cnt, col); err != nil {
				return err
			}
			if err := b.sgemm(false, false, g.K, cnt*hw, ckk, pw, ckk, col, cnt*hw, 0, prod, cnt*hw); err != nil {
				return err
			}
			b.args.Reset()
			b.args.Ptr(prod).Ptr(pb).Ptr(py + driver.DevicePtr(4*n0*g.K*hw)).Int(cnt).Int(g.K).Int(hw)
			if err := b.flat(kConvScatter, cnt*g.K*hw); err != nil {
				return err
			}
		}
		return nil
	})
}

// Conv2DBackward implements backend.Backend: the bias gradient over the
// whole batch, then per chunk the columns, dy gathered into the product's
// layout, dW += dY·colᵀ and, when dx is wanted, dcol = Wᵀ·dY (over the
// columns, which the stream has finished with) and col2im.
func (b *Backend) Conv2DBackward(g backend.ConvGeom, x, w, dy, dx, dw, db backend.Tensor) {
	if g.N <= 0 {
		return
	}
	px, pw, pdy, pdx, pdw, pdb := ptr(x), ptr(w), ptr(dy), optional(dx), ptr(dw), ptr(db)
	b.do(func() error {
		ckk, hw := g.C*g.R*g.R, g.OutH()*g.OutW()
		if err := b.channelSum(pdy, pdb, g.N, g.K, hw); err != nil {
			return err
		}
		nb, col, prod := b.convBuffers(g)
		for n0 := 0; n0 < g.N; n0 += nb {
			cnt := min(nb, g.N-n0)
			cols := cnt * hw
			if err := b.im2col(g, px, n0, cnt, col); err != nil {
				return err
			}
			b.args.Reset()
			b.args.Ptr(pdy + driver.DevicePtr(4*n0*g.K*hw)).Ptr(prod).Int(cnt).Int(g.K).Int(hw)
			if err := b.flat(kConvGather, cnt*g.K*hw); err != nil {
				return err
			}
			if err := b.sgemm(false, true, g.K, ckk, cols, prod, cols, col, cols, 1, pdw, ckk); err != nil {
				return err
			}
			if pdx == 0 {
				continue
			}
			if err := b.sgemm(true, false, ckk, cols, g.K, pw, ckk, prod, cols, 0, col, cols); err != nil {
				return err
			}
			b.args.Reset()
			b.args.Ptr(col).Ptr(pdx + driver.DevicePtr(4*n0*g.C*g.H*g.W)).Int(cnt).Int(g.C).Int(g.H).Int(g.W).
				Int(g.R).Int(g.Pad).Int(g.OutH()).Int(g.OutW())
			if err := b.flat(kCol2im, cnt*g.C*g.H*g.W); err != nil {
				return err
			}
		}
		return nil
	})
}
