package cuda

import (
	"math"

	"github.com/mlpviz/mlpviz/trainer/backend"
	"github.com/mlpviz/mlpviz/trainer/backend/cuda/driver"
)

// Gemm implements backend.Backend.
func (b *Backend) Gemm(transA, transB bool, m, n, k int, a, bm backend.Tensor, beta float32, c backend.Tensor) {
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	pa, pb, pc := ptr(a), ptr(bm), ptr(c)
	b.do(func() error { return b.sgemm(transA, transB, m, n, k, pa, lda, pb, ldb, beta, pc, n) })
}

// sgemm queues C = op(A)·op(B) + beta·C (row-major, explicit leading
// dimensions) on cuBLAS or, without it, the sgemm kernel: 64×64 tiles of C,
// a block of 256 threads each.
func (b *Backend) sgemm(transA, transB bool, m, n, k int, a driver.DevicePtr, lda int, bm driver.DevicePtr, ldb int, beta float32, c driver.DevicePtr, ldc int) error {
	if m <= 0 || n <= 0 {
		return nil
	}
	if b.blas != nil {
		return b.blas.Sgemm(transA, transB, m, n, k, uint64(a), lda, uint64(bm), ldb, beta, uint64(c), ldc)
	}
	b.args.Reset()
	b.args.Int(flag(transA)).Int(flag(transB)).Int(m).Int(n).Int(k).
		Ptr(a).Int(lda).Ptr(bm).Int(ldb).Float(beta).Ptr(c).Int(ldc)
	grid := driver.Dim3{X: uint32((n + 63) / 64), Y: uint32((m + 63) / 64), Z: 1}
	return b.launch(kSgemm, grid, 256)
}

func flag(v bool) int {
	if v {
		return 1
	}
	return 0
}

// Broadcast implements backend.Backend.
func (b *Backend) Broadcast(row, y backend.Tensor) {
	if row.Len() == 0 {
		return
	}
	n := y.Len() / row.Len() * row.Len() // whole rows, as the CPU
	pr, py := ptr(row), ptr(y)
	b.do(func() error {
		b.args.Reset()
		b.args.Ptr(pr).Ptr(py).Int(row.Len()).Int(n)
		return b.flat(kBroadcastRows, n)
	})
}

// SumRows implements backend.Backend: a block per column, each summing its
// column in double.
func (b *Backend) SumRows(x, sum backend.Tensor) {
	cols := sum.Len()
	if cols == 0 {
		return
	}
	px, ps := ptr(x), ptr(sum)
	b.do(func() error { return b.channelSum(px, ps, x.Len()/cols, cols, 1) })
}

// channelSum queues out[ch] += Σ x over channel ch of an n×c×s tensor.
func (b *Backend) channelSum(x, out driver.DevicePtr, n, c, s int) error {
	if n <= 0 || s <= 0 {
		return nil
	}
	b.args.Reset()
	b.args.Ptr(x).Ptr(out).Int(n).Int(c).Int(s)
	return b.perChannel(kChannelSum, c)
}

// MaxPool2D implements backend.Backend.
func (b *Backend) MaxPool2D(g backend.PoolGeom, x, y backend.Tensor, arg backend.IntTensor) {
	px, py, pa := ptr(x), ptr(y), ptr(arg)
	b.do(func() error {
		b.args.Reset()
		b.args.Ptr(px).Ptr(py).Ptr(pa).Int(g.N * g.C).Int(g.H).Int(g.W).Int(g.Size)
		return b.flat(kMaxPoolForward, g.N*g.C*g.OutH()*g.OutW())
	})
}

// MaxPool2DBackward implements backend.Backend.
func (b *Backend) MaxPool2DBackward(g backend.PoolGeom, dy backend.Tensor, arg backend.IntTensor, dx backend.Tensor) {
	pdy, pa, pdx := ptr(dy), ptr(arg), ptr(dx)
	b.do(func() error {
		b.args.Reset()
		b.args.Ptr(pdy).Ptr(pa).Ptr(pdx).Int(g.N * g.C).Int(g.H).Int(g.W).Int(g.Size)
		return b.flat(kMaxPoolBackward, g.N*g.C*g.H*g.W)
	})
}

// ReLU implements backend.Backend.
func (b *Backend) ReLU(x, y backend.Tensor) {
	px, py := ptr(x), ptr(y)
	b.do(func() error {
		b.args.Reset()
		b.args.Ptr(px).Ptr(py).Int(x.Len())
		return b.flat(kReLUForward, x.Len())
	})
}

// ReLUBackward implements backend.Backend.
func (b *Backend) ReLUBackward(y, dy, dx backend.Tensor) {
	py, pdy, pdx := ptr(y), ptr(dy), ptr(dx)
	b.do(func() error {
		b.args.Reset()
		b.args.Ptr(py).Ptr(pdy).Ptr(pdx).Int(y.Len())
		return b.flat(kReLUBackward, y.Len())
	})
}

// Dropout implements backend.Backend with kernels.Dropout's hash, so the
// masks are the CPU's bit for bit: the kernel derives the key from seed
// and takes the threshold ceil(p·2^24) from here.
func (b *Backend) Dropout(p float32, seed, offset uint64, x, y, mask backend.Tensor) {
	thr, keep := uint64(0), float32(1) // p <= 0: a copy, a mask of ones
	if p > 0 {
		thr = uint64(math.Ceil(float64(p) * (1 << 24)))
		keep = 1 / (1 - p)
	}
	px, py, pm := ptr(x), ptr(y), ptr(mask)
	b.do(func() error {
		b.args.Reset()
		b.args.Ptr(px).Ptr(py).Ptr(pm).Int(x.Len()).Uint64(seed).Uint64(offset).Uint64(thr).Float(keep)
		return b.flat(kDropoutForward, x.Len())
	})
}

// DropoutBackward implements backend.Backend.
func (b *Backend) DropoutBackward(mask, dy, dx backend.Tensor) {
	pm, pdy, pdx := ptr(mask), ptr(dy), ptr(dx)
	b.do(func() error {
		b.args.Reset()
		b.args.Ptr(pm).Ptr(pdy).Ptr(pdx).Int(mask.Len())
		return b.flat(kDropoutBackward, mask.Len())
	})
}

// AdamW implements backend.Backend. The per-step constants are computed
// here in float64 and rounded as package kernels does, so that the kernel
// gives the CPU's bits.
func (b *Backend) AdamW(h backend.AdamWHyper, step int, w, g, m, v backend.Tensor) {
	bc1 := 1 - math.Pow(float64(h.Beta1), float64(step))
	bc2 := 1 - math.Pow(float64(h.Beta2), float64(step))
	stepSize := float32(float64(h.LR) / bc1)
	sqrtBc2 := float32(math.Sqrt(bc2))
	decay := 1 - float32(h.LR*h.WeightDecay) // rounded first, as package kernels
	pw, pg, pm, pv := ptr(w), ptr(g), ptr(m), ptr(v)
	b.do(func() error {
		b.args.Reset()
		b.args.Ptr(pw).Ptr(pg).Ptr(pm).Ptr(pv).Int(w.Len()).
			Float(h.Beta1).Float(1 - h.Beta1).Float(h.Beta2).Float(1 - h.Beta2).Float(h.Eps).
			Float(stepSize).Float(sqrtBc2).Float(decay)
		return b.flat(kAdamW, w.Len())
	})
}

// BatchNorm implements backend.Backend: in training, a block per channel
// for the statistics (which also moves the running ones), then the
// normalisation over every value.
func (b *Backend) BatchNorm(g backend.NormGeom, x, y backend.Tensor, s *backend.NormState, train bool) {
	if g.N < 1 || g.S < 1 || g.C < 1 {
		return
	}
	px, py := ptr(x), ptr(y)
	gamma, beta := ptr(s.Gamma), ptr(s.Beta)
	runMean, runVar := ptr(s.RunMean), ptr(s.RunVar)
	var xhat, invStd driver.DevicePtr
	if train {
		xhat, invStd = ptr(s.XHat), ptr(s.InvStd)
	}
	b.do(func() error {
		mean, scratch := b.channelScratch(g.C)
		if train {
			b.args.Reset()
			b.args.Ptr(px).Int(g.N).Int(g.C).Int(g.S).Float(s.Momentum).Float(s.Eps).
				Ptr(mean).Ptr(invStd).Ptr(runMean).Ptr(runVar)
			if err := b.perChannel(kBNStats, g.C); err != nil {
				return err
			}
		} else {
			invStd = scratch
			b.args.Reset()
			b.args.Ptr(runMean).Ptr(runVar).Float(s.Eps).Int(g.C).Ptr(mean).Ptr(invStd)
			if err := b.flat(kBNEvalParams, g.C); err != nil {
				return err
			}
		}
		b.args.Reset()
		b.args.Ptr(px).Ptr(py).Ptr(xhat).Int(g.N).Int(g.C).Int(g.S).
			Ptr(mean).Ptr(invStd).Ptr(gamma).Ptr(beta)
		return b.flat(kBNApply, g.N*g.C*g.S)
	})
}

// BatchNormBackward implements backend.Backend.
func (b *Backend) BatchNormBackward(g backend.NormGeom, dy, dx backend.Tensor, s *backend.NormState) {
	if g.N < 1 || g.S < 1 || g.C < 1 {
		return
	}
	pdy, pdx, xhat := ptr(dy), ptr(dx), ptr(s.XHat)
	gamma, invStd, dGamma, dBeta := ptr(s.Gamma), ptr(s.InvStd), ptr(s.DGamma), ptr(s.DBeta)
	b.do(func() error {
		sumDy, sumDyXhat := b.channelScratch(g.C)
		b.args.Reset()
		b.args.Ptr(pdy).Ptr(xhat).Int(g.N).Int(g.C).Int(g.S).Ptr(sumDy).Ptr(sumDyXhat).Ptr(dBeta).Ptr(dGamma)
		if err := b.perChannel(kBNBackwardSums, g.C); err != nil {
			return err
		}
		b.args.Reset()
		b.args.Ptr(pdy).Ptr(xhat).Ptr(pdx).Int(g.N).Int(g.C).Int(g.S).
			Ptr(gamma).Ptr(invStd).Ptr(sumDy).Ptr(sumDyXhat)
		return b.flat(kBNBackwardApply, g.N*g.C*g.S)
	})
}

// channelScratch returns two scratch vectors of c floats for batch norm's
// per-channel figures. Growing frees the old buffer, which waits for the
// stream; the layers' channel counts are fixed, so that happens once.
func (b *Backend) channelScratch(c int) (driver.DevicePtr, driver.DevicePtr) {
	if b.channel.Len() < 2*c {
		b.growScratch(&b.channel, 2*c)
	}
	p := ptr(b.channel)
	return p, p + driver.DevicePtr(4*c)
}

// growScratch replaces *t by an allocation of at least n floats; it runs
// inside do, so it calls the driver directly.
func (b *Backend) growScratch(t *backend.Tensor, n int) {
	if t.Len() > 0 {
		addr := t.Device()
		if err := b.drv.Synchronize(b.stream); err == nil && b.drv.Free(driver.DevicePtr(addr)) == nil {
			delete(b.allocs, addr)
		}
		*t = backend.Tensor{}
	}
	p, err := b.drv.Alloc(4 * n)
	if err != nil {
		b.err = err
		*t = backend.OnDevice[float32](placeholder, n)
		return
	}
	b.allocs[uintptr(p)] = 4 * n
	*t = backend.OnDevice[float32](uintptr(p), n)
}

// SoftmaxCrossEntropy implements backend.Backend: one block for the whole
// batch, which also sums the loss (in double) and the correct rows into
// figures, on the device.
func (b *Backend) SoftmaxCrossEntropy(logits backend.Tensor, labels backend.IntTensor, classes int, probs, dlogits backend.Tensor, figures backend.Float64Tensor) {
	checkLen("SoftmaxCrossEntropy's figures", figures.Len(), 2)
	rows := labels.Len()
	if rows == 0 {
		return
	}
	pl, py, pp, pd, pf := ptr(logits), ptr(labels), ptr(probs), optional(dlogits), ptr(figures)
	b.do(func() error {
		b.args.Reset()
		b.args.Ptr(pl).Ptr(py).Int(rows).Int(classes).Ptr(pp).Ptr(pd).Ptr(pf)
		return b.launch(kSoftmaxXent, driver.Dim3{X: 1, Y: 1, Z: 1}, 256)
	})
}
