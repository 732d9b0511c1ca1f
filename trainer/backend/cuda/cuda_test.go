package cuda

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/mlpviz/mlpviz/trainer/backend"
	"github.com/mlpviz/mlpviz/trainer/backend/cuda/driver"
	"github.com/mlpviz/mlpviz/trainer/backend/cuda/internal/emulator"
)

// Tests named TestGPU... need the device (a GPU, or the emulator that
// TestEmulated runs them on) and skip elsewhere, saying why; the others run
// everywhere.

// The PTX must declare every kernel the backend looks up, so that renaming
// one in kernels.cu without the Go side (or forgetting go generate) fails
// here rather than on a GPU.
func TestPTXNamesEveryKernel(t *testing.T) {
	if len(ptx) < 1000 {
		t.Fatalf("the embedded PTX has %d bytes", len(ptx))
	}
	var entries []string
	for _, m := range regexp.MustCompile(`(?m)^\.visible \.entry (\w+)\(`).FindAllStringSubmatch(ptx, -1) {
		entries = append(entries, m[1])
	}
	names := slices.Clone(kernelNames[:])
	slices.Sort(entries)
	slices.Sort(names)
	if !slices.Equal(entries, names) {
		t.Errorf("PTX entries %q\nGo kernels  %q", entries, names)
	}
	if slices.Contains(names, "") {
		t.Error("a kernel constant has no name")
	}
	if !strings.Contains(ptx, "\n.target sm_52\n") {
		t.Error("the PTX does not target compute_52 (see kernels.go)")
	}
}

// The PTX's ISA version decides the oldest driver; kernels.ptx is 7.8,
// from CUDA 11.8.
func TestRequiredDriver(t *testing.T) {
	need, err := requiredDriver(ptx)
	if err != nil || need != 11080 {
		t.Errorf("requiredDriver(kernels.ptx) = %d, %v; want 11080 (regenerated with another nvcc? check the table)", need, err)
	}
	for src, want := range map[string]int{
		".version 7.0\n": 11000, ".version 8.0\n": 12000, ".version 8.5\n": 12050,
		".version 8.6\n": 12070, ".version 8.8\n": 12090, ".version 9.0\n": 0, "// nothing\n": 0,
	} {
		got, err := requiredDriver(src)
		if got != want || (want == 0) != (err != nil) {
			t.Errorf("requiredDriver(%q) = %d, %v; want %d", src, got, err, want)
		}
	}
}

// Without a GPU, Available names what is missing in one line.
func TestAvailableSaysWhatIsMissing(t *testing.T) {
	err := Available()
	if err == nil {
		t.Skip("the CUDA backend is available here")
	}
	t.Logf("Available: %v", err)
	msg := err.Error()
	if strings.ContainsRune(msg, '\n') || !strings.HasPrefix(msg, "cuda: ") {
		t.Errorf("not one line starting \"cuda: \": %q", msg)
	}
	if !errors.Is(err, driver.ErrNoLibrary) && !errors.Is(err, driver.ErrNoDevice) &&
		!errors.Is(err, driver.ErrDriverTooOld) && !errors.Is(err, driver.ErrUnsupported) {
		t.Errorf("%v is none of the missing pieces", err)
	}
	if _, err := New(); err == nil {
		t.Error("New succeeded where Available fails")
	}
}

// emulatedEnv marks the test process that TestEmulated starts.
const emulatedEnv = "MLPVIZ_CUDA_EMULATED_TEST"

// TestEmulated runs the TestGPU tests in a child process whose driver is
// the CPU emulator (internal/emulator): kernels.cu compiled by g++, behind
// the same driver entry points. On a machine with a GPU the tests run on
// it directly instead.
func TestEmulated(t *testing.T) {
	switch {
	case os.Getenv(emulatedEnv) != "":
		t.Skip("already emulated")
	case runtime.GOOS != "linux":
		t.Skip("the driver is loaded on Linux only")
	case Available() == nil:
		t.Skip("a GPU is here: the TestGPU tests run on it")
	}
	lib := emulator.Build(t)
	cmd := exec.Command(os.Args[0], "-test.run", "^TestGPU", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), driver.LibraryEnv+"="+lib, emulatedEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("emulated GPU tests: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "--- SKIP") || !strings.Contains(string(out), "--- PASS: TestGPUKernels") {
		t.Fatalf("emulated GPU tests did not all run:\n%s", out)
	}
	t.Logf("emulated GPU tests:\n%s", tail(string(out), 60))
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(l[max(0, len(l)-lines):], "\n")
}

// gpu returns a backend on the device, or skips t saying why there is
// none.
func gpu(t *testing.T) *Backend {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("no GPU: %v", err)
	}
	b, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	t.Logf("device: %s", b.Describe())
	return b
}

// emulated says whether b is the CPU emulator, whose tests stay small.
func emulated(b *Backend) bool { return b.Device().Name == "mlpviz CPU emulator" }

// pair is one tensor on the CPU backend and its copy on the device.
type pair struct {
	cpu, gpu backend.Tensor
}

type harness struct {
	t   *testing.T
	cpu *backend.CPU
	gpu *Backend
	rng *rand.Rand
}

func newHarness(t *testing.T) *harness {
	return &harness{t: t, cpu: backend.NewCPU(1), gpu: gpu(t), rng: rand.New(rand.NewPCG(1, 2))}
}

// values returns n values uniform in [-scale, scale).
func (h *harness) values(n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32((h.rng.Float64()*2 - 1) * scale)
	}
	return v
}

// of puts the same values on both backends.
func (h *harness) of(v []float32) pair {
	p := pair{h.cpu.Alloc(len(v)), h.gpu.Alloc(len(v))}
	h.cpu.Upload(p.cpu, v)
	h.gpu.Upload(p.gpu, v)
	return p
}

func (h *harness) random(n int) pair { return h.of(h.values(n, 1)) }

func (h *harness) zeros(n int) pair { return pair{h.cpu.Alloc(n), h.gpu.Alloc(n)} }

func (h *harness) ints(v []int32) (backend.IntTensor, backend.IntTensor) {
	c, g := h.cpu.AllocInt(len(v)), h.gpu.AllocInt(len(v))
	h.cpu.UploadInt(c, v)
	h.gpu.UploadInt(g, v)
	return c, g
}

// download reads a device tensor, failing t on a device error.
func (h *harness) download(x backend.Tensor) []float32 {
	h.t.Helper()
	out := make([]float32, x.Len())
	h.gpu.Download(out, x)
	if err := h.gpu.Err(); err != nil {
		h.t.Fatal(err)
	}
	return out
}

// same wants p's two sides bit for bit equal (NaNs equal to NaNs).
func (h *harness) same(what string, p pair) {
	h.t.Helper()
	want, got := backend.Host(p.cpu), h.download(p.gpu)
	for i := range want {
		if math.Float32bits(want[i]) != math.Float32bits(got[i]) && !(isNaN(want[i]) && isNaN(got[i])) {
			h.t.Errorf("%s[%d] = %v on the GPU, %v on the CPU (and maybe more)", what, i, got[i], want[i])
			return
		}
	}
}

func isNaN(v float32) bool { return v != v }

// close wants p's sides within tol of each other, relative to the larger
// of 1 and the CPU's value.
func (h *harness) close(what string, p pair, tol float64) {
	h.t.Helper()
	closeSlices(h.t, what, backend.Host(p.cpu), h.download(p.gpu), tol)
}

func closeSlices(t *testing.T, what string, want, got []float32, tol float64) {
	t.Helper()
	worst, at := 0.0, -1
	for i := range want {
		d := math.Abs(float64(got[i])-float64(want[i])) / math.Max(1, math.Abs(float64(want[i])))
		if d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	if worst > tol || (at >= 0 && math.IsNaN(worst)) {
		t.Errorf("%s[%d] = %v on the GPU, %v on the CPU: %.3g apart, tolerance %.1g", what, at, got[at], want[at], worst, tol)
	}
}

// TestGPUKernels runs each kernel on random inputs on both backends.
func TestGPUKernels(t *testing.T) {
	h := newHarness(t)
	cpu, g := h.cpu, h.gpu

	t.Run("upload download zero", func(t *testing.T) {
		h.t = t
		p := h.random(1000)
		h.same("round trip", p)
		cpu.Zero(p.cpu)
		g.Zero(p.gpu)
		h.same("zeroed", p)
		f := g.AllocFloat64(3)
		got := []float64{1, 2, 3}
		g.DownloadFloat64(got, f)
		if !slices.Equal(got, []float64{0, 0, 0}) {
			t.Errorf("AllocFloat64 gave %v", got)
		}
		g.Free(f)
		g.Free(p.gpu.Slice(10, 10)) // a slice: nothing
		if g.Err() != nil {
			t.Fatal(g.Err())
		}
	})

	t.Run("relu", func(t *testing.T) {
		h.t = t
		v := h.values(3001, 1)
		v[0], v[1], v[2] = float32(math.NaN()), float32(math.Copysign(0, -1)), 0
		x, y := h.of(v), h.zeros(len(v))
		cpu.ReLU(x.cpu, y.cpu)
		g.ReLU(x.gpu, y.gpu)
		h.same("y", y)
		dy, dx := h.random(len(v)), h.zeros(len(v))
		cpu.ReLUBackward(y.cpu, dy.cpu, dx.cpu)
		g.ReLUBackward(y.gpu, dy.gpu, dx.gpu)
		h.same("dx", dx)
	})

	t.Run("dropout", func(t *testing.T) {
		h.t = t
		for _, p := range []float32{0, 0.1, 0.5, 0.9} {
			x, y, mask := h.random(5003), h.zeros(5003), h.zeros(5003)
			cpu.Dropout(p, 42, 777, x.cpu, y.cpu, mask.cpu)
			g.Dropout(p, 42, 777, x.gpu, y.gpu, mask.gpu)
			h.same("mask", mask)
			h.same("y", y)
			dy, dx := h.random(5003), h.zeros(5003)
			cpu.DropoutBackward(mask.cpu, dy.cpu, dx.cpu)
			g.DropoutBackward(mask.gpu, dy.gpu, dx.gpu)
			h.same("dx", dx)
		}
	})

	t.Run("adamw", func(t *testing.T) {
		h.t = t
		hyper := backend.AdamWHyper{LR: 0.002, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}
		w, m, v := h.random(4099), h.zeros(4099), h.zeros(4099)
		for step := 1; step <= 3; step++ {
			gr := h.random(4099)
			cpu.AdamW(hyper, step, w.cpu, gr.cpu, m.cpu, v.cpu)
			g.AdamW(hyper, step, w.gpu, gr.gpu, m.gpu, v.gpu)
		}
		h.same("w", w)
		h.same("m", m)
		h.same("v", v)
	})

	t.Run("broadcast and sum rows", func(t *testing.T) {
		h.t = t
		row, y := h.random(37), h.random(37*9+5) // a ragged tail stays as it was
		cpu.Broadcast(row.cpu, y.cpu)
		g.Broadcast(row.gpu, y.gpu)
		h.same("y", y)
		x, sum := h.random(37*70), h.random(37)
		cpu.SumRows(x.cpu, sum.cpu)
		g.SumRows(x.gpu, sum.gpu)
		h.close("sum", sum, 1e-5)
	})

	t.Run("max-pool", func(t *testing.T) {
		h.t = t
		for _, geom := range []backend.PoolGeom{{N: 3, C: 5, H: 8, W: 6, Size: 2}, {N: 2, C: 3, H: 7, W: 9, Size: 2}, {N: 1, C: 2, H: 9, W: 9, Size: 3}} {
			v := h.values(geom.N*geom.C*geom.H*geom.W, 1)
			for i := 0; i < len(v); i += 7 {
				v[i] = v[i/2] // ties: the first in the window must win
			}
			x := h.of(v)
			out := geom.N * geom.C * geom.OutH() * geom.OutW()
			y := h.zeros(out)
			ac, ag := h.ints(make([]int32, out))
			cpu.MaxPool2D(geom, x.cpu, y.cpu, ac)
			g.MaxPool2D(geom, x.gpu, y.gpu, ag)
			h.same("y", y)
			gotArg := make([]int32, out)
			g.downloadInt(gotArg, ag)
			if !slices.Equal(gotArg, backend.Host(ac)) {
				t.Errorf("%+v: arg %v, CPU %v", geom, gotArg, backend.Host(ac))
			}
			dy, dx := h.random(out), h.random(len(v)) // dx is overwritten
			cpu.MaxPool2DBackward(geom, dy.cpu, ac, dx.cpu)
			g.MaxPool2DBackward(geom, dy.gpu, ag, dx.gpu)
			h.same("dx", dx)
		}
	})

	// The GEMMs, on cuBLAS where it loaded and on the sgemm kernel.
	gemms := []string{"sgemm kernel"}
	if g.blas != nil {
		gemms = append(gemms, "cuBLAS")
	}
	for _, by := range gemms {
		own := by == "sgemm kernel"
		t.Run("gemm by "+by, func(t *testing.T) {
			h.t = t
			defer g.ownGemm(own)()
			for _, m := range []int{1, 67} {
				for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
					for _, beta := range []float32{0, 1, 0.5} {
						n, k := 70, 131
						a, b := h.random(m*k), h.random(k*n)
						init := h.values(m*n, 1)
						if beta == 0 {
							for i := range init {
								init[i] = float32(math.NaN()) // beta 0 must not read C
							}
						}
						c := h.of(init)
						cpu.Gemm(tr[0], tr[1], m, n, k, a.cpu, b.cpu, beta, c.cpu)
						g.Gemm(tr[0], tr[1], m, n, k, a.gpu, b.gpu, beta, c.gpu)
						h.close("C", c, 1e-5)
					}
				}
			}
		})

		t.Run("conv by "+by, func(t *testing.T) {
			h.t = t
			defer g.ownGemm(own)()
			for _, geom := range []backend.ConvGeom{
				{N: 3, C: 2, H: 9, W: 7, K: 5, R: 3, Pad: 1},
				{N: 2, C: 4, H: 6, W: 6, K: 3, R: 3, Pad: 0},
				{N: 2, C: 1, H: 5, W: 5, K: 2, R: 1, Pad: 0},
			} {
				in, out := geom.N*geom.C*geom.H*geom.W, geom.N*geom.K*geom.OutH()*geom.OutW()
				wn := geom.K * geom.C * geom.R * geom.R
				x, w, bias, y := h.random(in), h.random(wn), h.random(geom.K), h.zeros(out)
				cpu.Conv2D(geom, x.cpu, w.cpu, bias.cpu, y.cpu)
				g.Conv2D(geom, x.gpu, w.gpu, bias.gpu, y.gpu)
				h.close("y", y, 1e-5)
				dy, dx, dw, db := h.random(out), h.random(in), h.random(wn), h.random(geom.K)
				cpu.Conv2DBackward(geom, x.cpu, w.cpu, dy.cpu, dx.cpu, dw.cpu, db.cpu)
				g.Conv2DBackward(geom, x.gpu, w.gpu, dy.gpu, dx.gpu, dw.gpu, db.gpu)
				h.close("dx", dx, 1e-5)
				h.close("dw", dw, 1e-5)
				h.close("db", db, 1e-5)
				// Without dx, as the first layer runs it.
				cpu.Conv2DBackward(geom, x.cpu, w.cpu, dy.cpu, backend.Tensor{}, dw.cpu, db.cpu)
				g.Conv2DBackward(geom, x.gpu, w.gpu, dy.gpu, backend.Tensor{}, dw.gpu, db.gpu)
				h.close("dw again", dw, 1e-5)
			}
		})
	}

	t.Run("batch norm", func(t *testing.T) {
		h.t = t
		for _, geom := range []backend.NormGeom{{N: 16, C: 5, S: 1}, {N: 4, C: 3, S: 20}, {N: 1, C: 2, S: 1}} {
			n := geom.N * geom.C * geom.S
			states := func(gamma, beta, runMean, runVar pair, xhat, inv pair, dGamma, dBeta pair) (*backend.NormState, *backend.NormState) {
				c := &backend.NormState{Gamma: gamma.cpu, Beta: beta.cpu, DGamma: dGamma.cpu, DBeta: dBeta.cpu,
					RunMean: runMean.cpu, RunVar: runVar.cpu, Momentum: 0.1, Eps: 1e-5, XHat: xhat.cpu, InvStd: inv.cpu}
				d := &backend.NormState{Gamma: gamma.gpu, Beta: beta.gpu, DGamma: dGamma.gpu, DBeta: dBeta.gpu,
					RunMean: runMean.gpu, RunVar: runVar.gpu, Momentum: 0.1, Eps: 1e-5, XHat: xhat.gpu, InvStd: inv.gpu}
				return c, d
			}
			gamma, beta := h.random(geom.C), h.random(geom.C)
			runMean, runVar := h.random(geom.C), h.of(h.values(geom.C, 1))
			for i, v := range backend.Host(runVar.cpu) {
				backend.Host(runVar.cpu)[i] = 1 + v*v // positive, as a variance
			}
			h.gpu.Upload(runVar.gpu, backend.Host(runVar.cpu))
			xhat, inv, dGamma, dBeta := h.zeros(n), h.zeros(geom.C), h.random(geom.C), h.random(geom.C)
			sc, sg := states(gamma, beta, runMean, runVar, xhat, inv, dGamma, dBeta)
			v := h.values(n, 3)
			for i := range v {
				v[i] += 10 // a mean far from 0
			}
			x, y := h.of(v), h.zeros(n)
			cpu.BatchNorm(geom, x.cpu, y.cpu, sc, true)
			g.BatchNorm(geom, x.gpu, y.gpu, sg, true)
			h.close("y", y, 1e-5)
			h.close("xhat", xhat, 1e-5)
			h.close("invStd", inv, 1e-5)
			h.close("runMean", runMean, 1e-6)
			h.close("runVar", runVar, 1e-5)
			dy, dx := h.random(n), h.zeros(n)
			cpu.BatchNormBackward(geom, dy.cpu, dx.cpu, sc)
			g.BatchNormBackward(geom, dy.gpu, dx.gpu, sg)
			h.close("dx", dx, 1e-4)
			h.close("dGamma", dGamma, 1e-5)
			h.close("dBeta", dBeta, 1e-5)
			// Evaluation: the running statistics, xhat untouched.
			y2 := h.zeros(n)
			cpu.BatchNorm(geom, x.cpu, y2.cpu, sc, false)
			g.BatchNorm(geom, x.gpu, y2.gpu, sg, false)
			h.close("eval y", y2, 1e-5)
			h.close("xhat after eval", xhat, 1e-5)
		}
	})

	t.Run("softmax cross-entropy", func(t *testing.T) {
		h.t = t
		const rows, classes = 300, 10
		v := h.values(rows*classes, 4)
		v[3*classes+2] = float32(math.Inf(1)) // a row with +Inf
		v[5*classes+1], v[5*classes+4] = float32(math.Inf(1)), float32(math.Inf(1))
		labels := make([]int32, rows)
		for i := range labels {
			labels[i] = int32(h.rng.IntN(classes))
		}
		labels[5] = 4
		logits := h.of(v)
		lc, lg := h.ints(labels)
		for _, train := range []bool{true, false} {
			probs, dl := h.zeros(rows*classes), h.zeros(rows*classes)
			fc, fg := cpu.AllocFloat64(2), g.AllocFloat64(2)
			dc, dg := dl.cpu, dl.gpu
			if !train {
				dc, dg = backend.Tensor{}, backend.Tensor{}
			}
			cpu.SoftmaxCrossEntropy(logits.cpu, lc, classes, probs.cpu, dc, fc)
			g.SoftmaxCrossEntropy(logits.gpu, lg, classes, probs.gpu, dg, fg)
			h.close("probs", probs, 1e-6)
			if train {
				h.close("dlogits", dl, 1e-6)
			}
			got := make([]float64, 2)
			g.DownloadFloat64(got, fg)
			want := backend.Host(fc)
			if math.Abs(got[0]-want[0]) > 1e-9*math.Abs(want[0]) || got[1] != want[1] {
				t.Errorf("figures %v, CPU %v", got, want)
			}
		}
	})

	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
}

// ownGemm makes b use its sgemm kernel, if own, until the returned
// function restores cuBLAS.
func (b *Backend) ownGemm(own bool) func() {
	saved := b.blas
	if own {
		b.blas = nil
	}
	return func() { b.blas = saved }
}

// downloadInt reads an int tensor for the tests; the trainer never needs to.
func (b *Backend) downloadInt(dst []int32, src backend.IntTensor) {
	from := ptr(src)
	b.do(func() error {
		if err := driver.CopyToHost(b.drv, dst, from, b.stream); err != nil {
			return err
		}
		return b.drv.Synchronize(b.stream)
	})
}
