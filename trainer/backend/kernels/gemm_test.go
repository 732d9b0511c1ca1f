package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// levels lists the instruction sets this machine runs, the references first.
func levels() []string {
	ls := []string{"go"}
	if hasAVX2 {
		ls = append(ls, "avx2")
	}
	if hasAVX512 {
		ls = append(ls, "avx512")
	}
	return ls
}

// useLevel switches the kernels to level until the test ends.
func useLevel(t testing.TB, level string) {
	t.Helper()
	old512, old2 := useAVX512, useAVX2
	t.Cleanup(func() { useAVX512, useAVX2 = old512, old2 })
	useAVX512 = level == "avx512"
	useAVX2 = level == "avx2"
	if Level() != level {
		t.Fatalf("level %s is not available here (got %s)", level, Level())
	}
}

func randFloats(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// naiveGemm is the definition, summed in float64.
func naiveGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) []float64 {
	want := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				ai, bi := i*lda+p, p*ldb+j
				if transA {
					ai = p*lda + i
				}
				if transB {
					bi = j*ldb + p
				}
				av, bv := a[ai], b[bi]
				s += float64(av) * float64(bv)
			}
			if beta != 0 {
				s += float64(beta) * float64(c[i*ldc+j])
			}
			want[i*n+j] = s
		}
	}
	return want
}

type gemmCase struct {
	transA, transB bool
	m, n, k        int
	pad            int // extra floats on every row: lda, ldb, ldc > the shape
	beta           float32
}

func (g gemmCase) String() string {
	return fmt.Sprintf("%dx%dx%d tA=%v tB=%v beta=%g pad=%d", g.m, g.n, g.k, g.transA, g.transB, g.beta, g.pad)
}

// gemmCases is 240 random shapes biased to the hard ones: ragged edges,
// k = 1, m or n below a tile, sizes that cross a block, every transpose form,
// beta 0, 1 and other, strided rows.
func gemmCases() []gemmCase {
	rng := rand.New(rand.NewPCG(9, 9))
	dims := func() int {
		switch rng.IntN(4) {
		case 0:
			return 1 + rng.IntN(8) // below a tile
		case 1:
			return 1 + rng.IntN(70) // around tiles
		case 2:
			return 100 + rng.IntN(200) // several tiles
		default:
			return []int{1, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 64, 127, 128, 129, 255, 256, 257, 511, 513}[rng.IntN(22)]
		}
	}
	var cs []gemmCase
	for i := 0; i < 240; i++ {
		g := gemmCase{transA: i&1 != 0, transB: i&2 != 0, m: dims(), n: dims(), k: dims(),
			beta: []float32{0, 1, 0.5, -2}[rng.IntN(4)]}
		if i%5 == 0 {
			g.k = 1
		}
		if i%7 == 0 {
			g.pad = 1 + rng.IntN(5)
		}
		if i%31 == 0 {
			g.k = 300 + rng.IntN(300) // crosses blockK
			g.n = 500 + rng.IntN(100) // crosses blockN
		}
		cs = append(cs, g)
	}
	return cs
}

// TestSgemm runs every available level, the pure-Go one included, over the
// random shapes against the float64 definition.
func TestSgemm(t *testing.T) {
	cases := gemmCases()
	for _, level := range levels() {
		t.Run(level, func(t *testing.T) {
			useLevel(t, level)
			rng := rand.New(rand.NewPCG(3, 4))
			for _, g := range cases {
				ar, ac := g.m, g.k
				if g.transA {
					ar, ac = g.k, g.m
				}
				br, bc := g.k, g.n
				if g.transB {
					br, bc = g.n, g.k
				}
				lda, ldb, ldc := ac+g.pad, bc+g.pad, g.n+g.pad
				a, b := randFloats(rng, ar*lda), randFloats(rng, br*ldb)
				c := randFloats(rng, g.m*ldc)
				want := naiveGemm(g.transA, g.transB, g.m, g.n, g.k, a, lda, b, ldb, g.beta, c, ldc)
				got := append([]float32(nil), c...)
				Sgemm(g.transA, g.transB, g.m, g.n, g.k, a, lda, b, ldb, g.beta, got, ldc)
				tol := 1e-5 * math.Sqrt(float64(g.k)+1) * 4
				for i := 0; i < g.m; i++ {
					for j := 0; j < ldc; j++ {
						v := got[i*ldc+j]
						if j >= g.n {
							if v != c[i*ldc+j] {
								t.Fatalf("%v: C[%d][%d] past n changed from %g to %g", g, i, j, c[i*ldc+j], v)
							}
							continue
						}
						w := want[i*g.n+j]
						if math.Abs(float64(v)-w) > tol*math.Max(1, math.Abs(w)) {
							t.Fatalf("%v: C[%d][%d] = %g, want %g", g, i, j, v, w)
						}
					}
				}
			}
		})
	}
}

// TestSgemmBetaZeroIgnoresC: beta 0 must not let NaNs in the old C through
// (the kernels store, they do not multiply by zero).
func TestSgemmBetaZeroIgnoresC(t *testing.T) {
	for _, level := range levels() {
		t.Run(level, func(t *testing.T) {
			useLevel(t, level)
			rng := rand.New(rand.NewPCG(5, 6))
			m, n, k := 37, 70, 300
			a, b := randFloats(rng, m*k), randFloats(rng, k*n)
			c := make([]float32, m*n)
			for i := range c {
				c[i] = float32(math.NaN())
			}
			Sgemm(false, false, m, n, k, a, k, b, n, 0, c, n)
			for i, v := range c {
				if math.IsNaN(float64(v)) {
					t.Fatalf("C[%d] is NaN", i)
				}
			}
		})
	}
}

func TestPeakFLOPs(t *testing.T) {
	got := PeakFLOPs(10)
	if haveAsm && (useAVX512 || useAVX2) && got <= 0 {
		t.Fatalf("PeakFLOPs(10) = %d with assembly", got)
	}
	if PeakFLOPs(0) != 0 {
		t.Fatal("PeakFLOPs(0) is not 0")
	}
}

// BenchmarkSgemmShapes times one thread on the products the seed models
// make, for tuning the block sizes.
func BenchmarkSgemmShapes(b *testing.B) {
	for _, s := range []struct {
		name           string
		transA, transB bool
		m, n, k        int
	}{
		{"square512", false, false, 512, 512, 512},
		{"conv64x1024x288", false, false, 64, 1024, 288},
		{"conv256x64x2304", false, false, 256, 64, 2304},
		{"convdw64x288x1024NT", false, true, 64, 288, 1024},
		{"convdx288x1024x64TN", true, false, 288, 1024, 64},
		{"linear64x1024x4096NT", false, true, 64, 1024, 4096},
		{"lineardw1024x4096x64TN", true, false, 1024, 4096, 64},
	} {
		for _, level := range levels() {
			b.Run(s.name+"/"+level, func(b *testing.B) {
				useLevel(b, level)
				rng := rand.New(rand.NewPCG(1, 2))
				x, y := randFloats(rng, s.m*s.k), randFloats(rng, s.k*s.n)
				z := make([]float32, s.m*s.n)
				lda, ldb := s.k, s.n
				if s.transA {
					lda = s.m
				}
				if s.transB {
					ldb = s.k
				}
				for b.Loop() {
					Sgemm(s.transA, s.transB, s.m, s.n, s.k, x, lda, y, ldb, 0, z, s.n)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
