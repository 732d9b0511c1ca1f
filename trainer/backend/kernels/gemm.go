package kernels

import "sync"

// Sgemm computes C = op(A)·op(B) + beta·C on row-major matrices: C is m×n
// with ldc floats a row; op(A) is m×k, stored m×k with lda floats a row, or
// k×m when transA; op(B) is k×n, stored k×n with ldb floats a row, or n×k
// when transB. beta 0 overwrites C (its old values may be anything).
//
// With assembly, the product is blocked as GotoBLAS and BLIS do: a kc×nc
// block of B is packed into NR-wide strips (kept in L2), an mc×kc block of A
// into MR-tall strips, and a register-blocked micro-kernel multiplies one
// A strip (held in L1) by every B strip in turn. Packing absorbs the four
// transpose forms, and padding the last strips with zeros lets the kernel
// always run a whole tile; ragged tiles go through a small buffer.
func Sgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	mk := microKernelFor()
	if k <= 0 || mk == nil {
		sgemmGo(transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if beta != 0 && beta != 1 {
		scaleMatrix(m, n, beta, c, ldc)
	}
	ws := workspaces.Get().(*workspace)
	defer workspaces.Put(ws)
	mr, nr := mk.mr, mk.nr
	mc, nc := blockM/mr*mr, blockN/nr*nr
	ws.a = growFloats(ws.a, roundUp(min(mc, m), mr)*min(blockK, k))
	ws.b = growFloats(ws.b, roundUp(min(nc, n), nr)*min(blockK, k))
	ws.tile = growFloats(ws.tile, mr*nr)
	for jc := 0; jc < n; jc += nc {
		ncc := min(nc, n-jc)
		for pc := 0; pc < k; pc += blockK {
			kc := min(blockK, k-pc)
			accumulate := pc > 0 || beta != 0
			packB(transB, b, ldb, pc, kc, jc, ncc, nr, ws.b)
			for ic := 0; ic < m; ic += mc {
				mcc := min(mc, m-ic)
				packA(transA, a, lda, ic, mcc, pc, kc, mr, ws.a)
				macroKernel(mk, kc, mcc, ncc, ws.a, ws.b, c[ic*ldc+jc:], ldc, accumulate, ws.tile)
			}
		}
	}
}

// Block sizes, in floats: a kc×nc block of B (512 KB) stays in a Zen 4 or
// Skylake-SP core's 1 MB L2 while mc×kc of A (128 KB) streams past it, one
// kc×MR strip (8 KB) of A at a time in L1. BenchmarkSgemm chose them.
const (
	blockK = 256
	blockM = 128
	blockN = 512
)

// microKernel is one instruction set's register tile.
type microKernel struct {
	mr, nr int
	run    func(kc int, a, b, c *float32, ldc int, accumulate bool)
}

var (
	kernelAVX512 = &microKernel{mr: 8, nr: 32, run: sgemm8x32AVX512}
	kernelAVX2   = &microKernel{mr: 6, nr: 16, run: sgemm6x16AVX2}
)

// microKernelFor returns the best kernel this CPU runs, or nil for the
// pure-Go path.
func microKernelFor() *microKernel {
	switch {
	case haveAsm && useAVX512:
		return kernelAVX512
	case haveAsm && useAVX2:
		return kernelAVX2
	}
	return nil
}

// macroKernel multiplies the packed mc×kc block of A by the packed kc×nc
// block of B into C (whose top-left corner c is).
func macroKernel(mk *microKernel, kc, mc, nc int, ap, bp, c []float32, ldc int, accumulate bool, tile []float32) {
	mr, nr := mk.mr, mk.nr
	for ir := 0; ir < mc; ir += mr {
		rows := min(mr, mc-ir)
		a := &ap[ir*kc]
		for jr := 0; jr < nc; jr += nr {
			cols := min(nr, nc-jr)
			b := &bp[jr*kc]
			at := ir*ldc + jr
			if rows == mr && cols == nr {
				mk.run(kc, a, b, &c[at], ldc, accumulate)
				continue
			}
			mk.run(kc, a, b, &tile[0], nr, false)
			for i := 0; i < rows; i++ {
				dst := c[at+i*ldc : at+i*ldc+cols]
				src := tile[i*nr : i*nr+cols]
				if accumulate {
					for j, v := range src {
						dst[j] += v
					}
				} else {
					copy(dst, src)
				}
			}
		}
	}
}

// packA copies rows [i0, i0+mc) and columns [p0, p0+kc) of op(A) into
// MR-tall strips: strip s holds a[p*mr+i] for its rows, zero past row mc.
func packA(transA bool, a []float32, lda, i0, mc, p0, kc, mr int, dst []float32) {
	for s := 0; s < mc; s += mr {
		rows := min(mr, mc-s)
		d := dst[s*kc : s*kc+mr*kc]
		if transA {
			for p := 0; p < kc; p++ {
				src := a[(p0+p)*lda+i0+s:]
				copy(d[p*mr:p*mr+rows], src[:rows])
			}
		} else {
			gather(d, mr, rows, kc, a[(i0+s)*lda+p0:], lda)
		}
		if rows < mr {
			for p := 0; p < kc; p++ {
				clear(d[p*mr+rows : p*mr+mr])
			}
		}
	}
}

// packB copies rows [p0, p0+kc) and columns [j0, j0+nc) of op(B) into
// NR-wide strips: strip t holds b[p*nr+j] for its columns, zero past nc.
func packB(transB bool, b []float32, ldb, p0, kc, j0, nc, nr int, dst []float32) {
	for t := 0; t < nc; t += nr {
		cols := min(nr, nc-t)
		d := dst[t*kc : t*kc+nr*kc]
		if transB {
			gather(d, nr, cols, kc, b[(j0+t)*ldb+p0:], ldb)
		} else {
			for p := 0; p < kc; p++ {
				src := b[(p0+p)*ldb+j0+t:]
				copy(d[p*nr:p*nr+cols], src[:cols])
			}
		}
		if cols < nr {
			for p := 0; p < kc; p++ {
				clear(d[p*nr+cols : p*nr+nr])
			}
		}
	}
}

// gather transposes the first n values of count rows of src (ld floats
// apart) into dst, value p of row r going to dst[p*stride+r]. Eight rows at
// a time: with assembly as 8×8 register transposes, else eight sequential
// reads and one short sequential write per step instead of a write stride
// per value.
func gather(dst []float32, stride, count, n int, src []float32, ld int) {
	r := 0
	if blocks := n / 8; haveAsm && (useAVX512 || useAVX2) && blocks > 0 {
		for ; r+8 <= count; r += 8 {
			_ = src[(r+7)*ld+blocks*8-1] // the last value the assembly reads
			_ = dst[(blocks*8-1)*stride+r+7]
			transpose8(&src[r*ld], ld, &dst[r], stride, blocks)
			for p := blocks * 8; p < n; p++ {
				d := dst[p*stride+r : p*stride+r+8]
				for i := range d {
					d[i] = src[(r+i)*ld+p]
				}
			}
		}
	}
	for ; r+8 <= count; r += 8 {
		r0, r1 := src[r*ld:r*ld+n], src[(r+1)*ld:(r+1)*ld+n]
		r2, r3 := src[(r+2)*ld:(r+2)*ld+n], src[(r+3)*ld:(r+3)*ld+n]
		r4, r5 := src[(r+4)*ld:(r+4)*ld+n], src[(r+5)*ld:(r+5)*ld+n]
		r6, r7 := src[(r+6)*ld:(r+6)*ld+n], src[(r+7)*ld:(r+7)*ld+n]
		for p := range r0 {
			d := dst[p*stride+r : p*stride+r+8]
			d[0], d[1], d[2], d[3] = r0[p], r1[p], r2[p], r3[p]
			d[4], d[5], d[6], d[7] = r4[p], r5[p], r6[p], r7[p]
		}
	}
	for ; r < count; r++ {
		row := src[r*ld : r*ld+n]
		for p, v := range row {
			dst[p*stride+r] = v
		}
	}
}

// scaleMatrix multiplies the m×n matrix c by beta.
func scaleMatrix(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		for j := range row {
			row[j] *= beta
		}
	}
}

// workspace is one goroutine's packing memory, reused across calls so that
// a training step allocates nothing.
type workspace struct{ a, b, tile []float32 }

var workspaces = sync.Pool{New: func() any { return new(workspace) }}

func growFloats(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

// Tile is the micro-kernel's tile, MR rows by NR columns of C (1×1 without
// assembly): callers that split a product across threads cut C at
// multiples of it, so that no thread gets a ragged tile in the middle.
func Tile() (mr, nr int) {
	if mk := microKernelFor(); mk != nil {
		return mk.mr, mk.nr
	}
	return 1, 1
}
