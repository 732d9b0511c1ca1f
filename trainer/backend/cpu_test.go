package backend

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

func near(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: length %d, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > tol*math.Max(1, math.Abs(float64(want[i]))) {
			t.Fatalf("%s[%d] = %g, want %g", what, i, got[i], want[i])
		}
	}
}

// TestGemm compares every transpose form, on one core and split across
// workers, with a naive triple loop.
func TestGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, sz := range [][3]int{{1, 1, 1}, {3, 5, 7}, {17, 33, 9}, {64, 70, 130}, {200, 70, 130}, {40, 300, 50}} {
		m, n, k := sz[0], sz[1], sz[2]
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for _, beta := range []float32{0, 1, 0.5} {
					a, b := randSlice(rng, m*k), randSlice(rng, k*n)
					c := randSlice(rng, m*n)
					want := make([]float32, m*n)
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							var s float64
							for p := 0; p < k; p++ {
								av, bv := a[i*k+p], b[p*n+j]
								if tA {
									av = a[p*m+i]
								}
								if tB {
									bv = b[j*k+p]
								}
								s += float64(av) * float64(bv)
							}
							want[i*n+j] = float32(s) + beta*c[i*n+j]
						}
					}
					for _, workers := range []int{1, 3} {
						got := append([]float32(nil), c...)
						NewCPU(workers).Gemm(tA, tB, m, n, k, OnHost(a), OnHost(b), beta, OnHost(got))
						near(t, fmt.Sprintf("gemm %dx%dx%d tA=%v tB=%v beta=%g workers=%d", m, n, k, tA, tB, beta, workers), got, want, 1e-4)
					}
				}
			}
		}
	}
}

// TestConv2D compares the im2col convolution with the definition.
func TestConv2D(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, g := range []ConvGeom{{N: 3, C: 2, H: 5, W: 6, K: 4, R: 3, Pad: 1}, {N: 2, C: 3, H: 4, W: 4, K: 2, R: 3, Pad: 0}} {
		x := randSlice(rng, g.N*g.C*g.H*g.W)
		w := randSlice(rng, g.K*g.C*g.R*g.R)
		bias := randSlice(rng, g.K)
		oh, ow := g.OutH(), g.OutW()
		want := make([]float32, g.N*g.K*oh*ow)
		for n := 0; n < g.N; n++ {
			for k := 0; k < g.K; k++ {
				for oy := 0; oy < oh; oy++ {
					for ox := 0; ox < ow; ox++ {
						s := float64(bias[k])
						for c := 0; c < g.C; c++ {
							for ky := 0; ky < g.R; ky++ {
								for kx := 0; kx < g.R; kx++ {
									iy, ix := oy+ky-g.Pad, ox+kx-g.Pad
									if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
										s += float64(x[((n*g.C+c)*g.H+iy)*g.W+ix]) * float64(w[((k*g.C+c)*g.R+ky)*g.R+kx])
									}
								}
							}
						}
						want[((n*g.K+k)*oh+oy)*ow+ox] = float32(s)
					}
				}
			}
		}
		got := make([]float32, len(want))
		NewCPU(2).Conv2D(g, OnHost(x), OnHost(w), OnHost(bias), OnHost(got))
		near(t, fmt.Sprintf("conv %+v", g), got, want, 1e-4)
	}
}

// TestIm2colSame: the one-copy-per-offset im2col of "same" convolutions
// gives exactly what the row-by-row one does, including images narrower
// or shorter than the kernel.
func TestIm2colSame(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, g := range []ConvGeom{
		{C: 2, H: 5, W: 6, R: 3, Pad: 1}, {C: 1, H: 28, W: 28, R: 3, Pad: 1}, {C: 3, H: 7, W: 7, R: 3, Pad: 1},
		{C: 2, H: 6, W: 4, R: 5, Pad: 2}, {C: 2, H: 3, W: 5, R: 1, Pad: 0}, {C: 1, H: 1, W: 1, R: 3, Pad: 1},
		{C: 1, H: 2, W: 1, R: 5, Pad: 2}, {C: 2, H: 1, W: 9, R: 3, Pad: 1},
	} {
		x := randSlice(rng, g.C*g.H*g.W)
		n := g.C * g.R * g.R * g.OutH() * g.OutW()
		want, got := make([]float32, n), randSlice(rng, n) // got starts dirty: every value must be written
		im2colRows(g, x, want)
		im2colSame(g, x, got)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%+v: value %d is %g, want %g", g, i, got[i], want[i])
			}
		}
	}
}

func TestMaxPool2D(t *testing.T) {
	x := []float32{
		1, 5, 2, 0, 9,
		3, 4, 8, 1, 9,
		7, 0, 6, 6, 9,
	}
	g := PoolGeom{N: 1, C: 1, H: 3, W: 5, Size: 2}
	y, arg := make([]float32, 2), make([]int32, 2)
	NewCPU(1).MaxPool2D(g, OnHost(x), OnHost(y), OnHost(arg))
	near(t, "pool", y, []float32{5, 8}, 0)
	if arg[0] != 1 || arg[1] != 7 {
		t.Fatalf("argmax %v, want [1 7]", arg)
	}
}

// TestBatchNormRunningStats checks PyTorch's update: momentum 0.1, unbiased
// variance in the running estimate, biased in the normalisation.
func TestBatchNormRunningStats(t *testing.T) {
	x := []float32{1, 2, 3, 6} // N=4, C=1: mean 3, biased var 3.5, unbiased 14/3
	s := &NormState{Gamma: OnHost([]float32{1}), Beta: OnHost([]float32{0}), RunMean: OnHost([]float32{0}),
		RunVar: OnHost([]float32{1}), Momentum: 0.1, Eps: 1e-5, XHat: OnHost(make([]float32, 4)), InvStd: OnHost(make([]float32, 1))}
	y := make([]float32, 4)
	NewCPU(1).BatchNorm(NormGeom{N: 4, C: 1, S: 1}, OnHost(x), OnHost(y), s, true)
	near(t, "running mean", Host(s.RunMean), []float32{0.3}, 1e-6)
	near(t, "running var", Host(s.RunVar), []float32{0.9 + 0.1*14.0/3}, 1e-6)
	inv := 1 / math.Sqrt(3.5+1e-5)
	near(t, "y", y, []float32{float32(-2 * inv), float32(-1 * inv), 0, float32(3 * inv)}, 1e-5)
}

// TestAdamW checks two steps against values computed by hand from PyTorch's
// update rule.
func TestAdamW(t *testing.T) {
	h := AdamWHyper{LR: 0.002, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}
	w, m, v := []float32{1}, []float32{0}, []float32{0}
	be := NewCPU(1)
	be.AdamW(h, 1, OnHost(w), OnHost([]float32{0.5}), OnHost(m), OnHost(v))
	// Step 1: decay 1·(1-2e-5); m̂ = g, v̂ = g², step = lr·g/|g| = 0.002.
	near(t, "w after step 1", w, []float32{1*(1-0.002*0.01) - 0.002}, 1e-6)
	w1 := float64(w[0])
	be.AdamW(h, 2, OnHost(w), OnHost([]float32{-0.5}), OnHost(m), OnHost(v))
	mm := 0.9*0.05 + 0.1*-0.5
	vv := 0.999*0.00025 + 0.001*0.25
	near(t, "m", m, []float32{float32(mm)}, 1e-6)
	near(t, "v", v, []float32{float32(vv)}, 1e-6)
	bc1, bc2 := 1-0.9*0.9, 1-0.999*0.999
	want := w1*(1-0.002*0.01) - 0.002/bc1*mm/(math.Sqrt(vv)/math.Sqrt(bc2)+1e-8)
	near(t, "w after step 2", w, []float32{float32(want)}, 1e-6)
}

func TestSoftmaxCrossEntropy(t *testing.T) {
	logits := []float32{0, 0, math.Ln2, 1000, 0, 0} // second row would overflow a naive exp
	probs := make([]float32, 6)
	figures := make([]float64, 2)
	NewCPU(1).SoftmaxCrossEntropy(OnHost(logits), OnHost([]int32{2, 0}), 3, OnHost(probs), Tensor{}, OnHost(figures))
	loss, correct := figures[0], int(figures[1])
	near(t, "probs", probs, []float32{0.25, 0.25, 0.5, 1, 0, 0}, 1e-6)
	if want := (math.Log(2) + 0) / 2; math.Abs(loss-want) > 1e-6 {
		t.Fatalf("loss %g, want %g", loss, want)
	}
	if correct != 2 {
		t.Fatalf("correct %d, want 2", correct)
	}
}

func BenchmarkGemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, sz := range [][3]int{{64, 1024, 4096}, {32, 784, 72}, {64, 576, 24}} {
		m, n, k := sz[0], sz[1], sz[2]
		a, bb, c := randSlice(rng, m*k), randSlice(rng, k*n), make([]float32, m*n)
		be := NewCPU(0)
		b.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(b *testing.B) {
			for b.Loop() {
				be.Gemm(false, false, m, n, k, OnHost(a), OnHost(bb), 0, OnHost(c))
			}
			b.ReportMetric(float64(2*m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
