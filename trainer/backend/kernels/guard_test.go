//go:build linux

package kernels

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"unsafe"
)

// pageEnd returns n floats that end exactly where an unreadable page
// begins, so that a kernel reading or writing one value past a slice's end
// faults instead of passing by chance.
func pageEnd(t *testing.T, n int) []float32 {
	t.Helper()
	page := syscall.Getpagesize()
	size := (n*4+page-1)/page*page + page
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	t.Cleanup(func() { syscall.Munmap(mem) })
	if err := syscall.Mprotect(mem[size-page:], syscall.PROT_NONE); err != nil {
		t.Skipf("mprotect: %v", err)
	}
	end := size - page
	b := mem[end-n*4 : end]
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
}

func pageEndInt32(t *testing.T, n int) []int32 {
	f := pageEnd(t, n)
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&f[0])), n)
}

// TestGuardPages runs every kernel at every level on slices that end at an
// unreadable page: no kernel may touch memory past its slices.
func TestGuardPages(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	fill := func(s []float32) []float32 {
		for i := range s {
			s[i] = float32(rng.NormFloat64())
		}
		return s
	}
	for _, level := range levels() {
		t.Run(level, func(t *testing.T) {
			useLevel(t, level)
			for _, n := range []int{1, 3, 7, 15, 16, 17, 33, 100, 1000} {
				x, y, z := fill(pageEnd(t, n)), pageEnd(t, n), pageEnd(t, n)
				Relu(x, y)
				ReluBackward(x, y, z)
				Dropout(x, y, z, 0.3, 1, 0)
				DropoutBackward(x, z, y)
				w, g, m, v := fill(pageEnd(t, n)), fill(pageEnd(t, n)), pageEnd(t, n), pageEnd(t, n)
				AdamW(AdamWHyper{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}, 1, w, g, m, v)
			}
			for _, s := range [][3]int{{2, 2, 1}, {3, 5, 2}, {5, 3, 3}, {7, 7, 2}, {28, 28, 1}, {14, 13, 4}, {4, 33, 1}} {
				h, w, planes := s[0], s[1], s[2]
				oh, ow := h/2, w/2
				x := fill(pageEnd(t, planes*h*w))
				y, arg := pageEnd(t, planes*oh*ow), pageEndInt32(t, planes*oh*ow)
				MaxPool(x, h, w, 2, 0, planes, y, arg)
				dx := pageEnd(t, planes*h*w)
				MaxPoolBackward(y, arg, h, w, 2, 0, planes, dx)
			}
			for _, s := range [][3]int{{1, 1, 1}, {3, 5, 1}, {2, 3, 7}, {4, 2, 17}, {5, 3, 33}} {
				n, c, sz := s[0], s[1], s[2]
				x, y, xh := fill(pageEnd(t, n*c*sz)), pageEnd(t, n*c*sz), pageEnd(t, n*c*sz)
				mean, variance, inv := pageEnd(t, c), pageEnd(t, c), pageEnd(t, c)
				gamma, beta := fill(pageEnd(t, c)), fill(pageEnd(t, c))
				NormStats(x, n, c, sz, 0, c, mean, variance)
				for i := range inv {
					inv[i] = 1
				}
				NormApply(x, y, xh, n, c, sz, 0, c, mean, inv, gamma, beta)
				sd, sdx := pageEnd(t, c), pageEnd(t, c)
				NormBackwardSums(y, xh, n, c, sz, 0, c, sd, sdx)
				NormBackwardApply(y, xh, x, n, c, sz, 0, c, gamma, inv, sd, sdx)
			}
			for _, g := range gemmCases()[:60] {
				ar, ac := g.m, g.k
				if g.transA {
					ar, ac = g.k, g.m
				}
				br, bc := g.k, g.n
				if g.transB {
					br, bc = g.n, g.k
				}
				a, b, c := fill(pageEnd(t, ar*ac)), fill(pageEnd(t, br*bc)), fill(pageEnd(t, g.m*g.n))
				Sgemm(g.transA, g.transB, g.m, g.n, g.k, a, ac, b, bc, g.beta, c, g.n)
			}
		})
	}
}
