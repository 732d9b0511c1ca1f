package driver

import (
	"errors"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/mlpviz/mlpviz/trainer/backend/cuda/internal/emulator"
)

// oneLine fails unless msg is a single line that starts as mlpviz's CUDA
// errors do.
func checkOneLine(t *testing.T, msg string) {
	t.Helper()
	if strings.ContainsRune(msg, '\n') || !strings.HasPrefix(msg, "cuda: ") {
		t.Errorf("not one line starting \"cuda: \": %q", msg)
	}
}

func TestMissingLibrary(t *testing.T) {
	_, err := load("libcuda-not-installed.so.1")
	if runtime.GOOS != "linux" {
		if !errors.Is(err, ErrUnsupported) {
			t.Fatalf("got %v, want ErrUnsupported", err)
		}
		return
	}
	if !errors.Is(err, ErrNoLibrary) {
		t.Fatalf("got %v, want ErrNoLibrary", err)
	}
	msg := err.Error()
	checkOneLine(t, msg)
	for _, want := range []string{"no NVIDIA driver", "cannot load libcuda-not-installed.so.1", "cannot open shared object file"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not say %q", msg, want)
		}
	}
}

// On this machine, whatever it has: nothing to say where a GPU works, else
// exactly one of the things Probe can find missing, in one line.
func TestProbeHere(t *testing.T) {
	_, info, err := Probe(11080)
	if err == nil {
		t.Skipf("a GPU is here: %v", info)
	}
	t.Logf("Probe: %v", err)
	checkOneLine(t, err.Error())
	n := 0
	for _, e := range []error{ErrUnsupported, ErrNoLibrary, ErrNoDevice, ErrDriverTooOld} {
		if errors.Is(err, e) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%v matches %d of the sentinels, want 1", err, n)
	}
}

// The emulator is a real shared library with the driver's entry points, so
// loading it runs the same dlopen, dlsym and calls as the driver's.
func TestEmulatedDriver(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the driver is loaded on Linux only")
	}
	lib := emulator.Build(t)

	t.Run("probe", func(t *testing.T) {
		d, info, err := probe(loadFresh(t, lib))
		if err != nil {
			t.Fatal(err)
		}
		if info.Name != "mlpviz CPU emulator" || info.Major != 9 || info.Minor != 0 || info.Driver != 12040 || d.Library() != lib {
			t.Errorf("info %+v, library %s", info, d.Library())
		}
		if got := info.String(); got != "mlpviz CPU emulator (sm_90, 1 GiB, driver CUDA 12.4)" {
			t.Errorf("String() = %q", got)
		}
	})
	for _, c := range []struct {
		name, env, value string
		is               error
		says             string
	}{
		{"too old", "EMULATOR_VERSION", "11040", ErrDriverTooOld,
			"cuda: the NVIDIA driver is too old: it supports CUDA 11.4 and mlpviz's kernels need 11.8 or newer; update the driver"},
		{"no device at init", "EMULATOR_INIT", "100", ErrNoDevice,
			"cuda: no NVIDIA GPU: the driver (CUDA 12.4) finds none (cuInit: CUDA_ERROR_NO_DEVICE)"},
		{"no device counted", "EMULATOR_DEVICES", "0", ErrNoDevice,
			"cuda: no NVIDIA GPU: the driver (CUDA 12.4) finds none"},
		{"stub", "EMULATOR_INIT", "34", ErrNoLibrary, "is the CUDA toolkit's stub"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(c.env, c.value)
			_, _, err := probe(loadFresh(t, lib))
			if !errors.Is(err, c.is) {
				t.Fatalf("got %v, want %v", err, c.is)
			}
			checkOneLine(t, err.Error())
			if !strings.Contains(err.Error(), c.says) {
				t.Errorf("got  %q\nwant %q", err, c.says)
			}
		})
	}

	t.Run("errors", func(t *testing.T) {
		d, _, err := probe(loadFresh(t, lib))
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.Alloc(0)
		var e *Error
		if !errors.As(err, &e) || err.Error() != "cuda: cuMemAlloc: CUDA_ERROR_INVALID_VALUE (invalid argument)" {
			t.Errorf("Alloc(0): %v", err)
		}
		if err := d.Free(12345); err == nil || !strings.HasPrefix(err.Error(), "cuda: cuMemFree: ") {
			t.Errorf("Free of nothing: %v", err)
		}
		m, err := d.LoadModule(".version 7.8\n")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Function(m, "no_such_kernel"); err == nil ||
			err.Error() != "kernel no_such_kernel: cuda: cuModuleGetFunction: CUDA_ERROR_NOT_FOUND (named symbol not found)" {
			t.Errorf("Function: %v", err)
		}
	})

	t.Run("memory", func(t *testing.T) {
		d, _, err := probe(loadFresh(t, lib))
		if err != nil {
			t.Fatal(err)
		}
		s, err := d.NewStream()
		if err != nil {
			t.Fatal(err)
		}
		p, err := d.Alloc(5 * 4)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Free(p)
		if err := CopyToDevice(d, p, []float32{1, 2, 3, 4, 5}, s); err != nil {
			t.Fatal(err)
		}
		if err := d.Fill32(p+8, math.Float32bits(-1), 2, s); err != nil {
			t.Fatal(err)
		}
		got := make([]float32, 5)
		if err := CopyToHost(d, got, p, s); err != nil {
			t.Fatal(err)
		}
		if err := d.Synchronize(s); err != nil {
			t.Fatal(err)
		}
		if want := []float32{1, 2, -1, -1, 5}; !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

// loadFresh loads lib anew (a dlopen of a loaded library is cheap) and
// returns what probe takes.
func loadFresh(t *testing.T, lib string) (*Driver, error, int) {
	t.Helper()
	d, err := load(lib)
	return d, err, 11080
}

func TestArgs(t *testing.T) {
	var a Args
	a.Ptr(0x1122334455667788).Int(-2).Float(1.5).Uint64(7)
	want := []uint64{0x1122334455667788, 0xfffffffe, uint64(math.Float32bits(1.5)), 7}
	if a.n != 4 || !slices.Equal(a.vals[:4], want) {
		t.Errorf("vals %x, want %x", a.vals[:a.n], want)
	}
	for range maxArgs {
		a.Int(0)
	}
	if a.Err() == nil {
		t.Error("no error past the slots")
	}
	a.Reset()
	if a.n != 0 || a.Err() != nil {
		t.Error("Reset did not empty")
	}
}

func TestVersionString(t *testing.T) {
	for v, want := range map[int]string{11080: "11.8", 12040: "12.4", 12100: "12.10", 9020: "9.2"} {
		if got := VersionString(v); got != want {
			t.Errorf("VersionString(%d) = %q, want %q", v, got, want)
		}
	}
}
