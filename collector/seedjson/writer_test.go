package seedjson

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/collector/seedjson/seedjsontest"
)

// streamJSON writes arch and passes through a Writer, a pass at a time.
func streamJSON(t testing.TB, arch *collector.Architecture, passes []*collector.Pass) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, arch)
	if err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Fatalf("NewWriter wrote %d bytes", buf.Len())
	}
	for i, p := range passes {
		if err := w.Pass(p); err != nil {
			t.Fatalf("pass %d: %v", i, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sameAsWrite fails unless a Writer writes what Write writes, byte for
// byte, and returns that.
func sameAsWrite(t testing.TB, arch *collector.Architecture, passes []*collector.Pass) []byte {
	t.Helper()
	want := writeJSON(t, arch, passes)
	got := streamJSON(t, arch, passes)
	if !bytes.Equal(got, want) {
		at := 0
		for at < len(got) && at < len(want) && got[at] == want[at] {
			at++
		}
		t.Fatalf("Writer wrote %d bytes, Write %d; they differ from byte %d:\n got %.80q\nwant %.80q",
			len(got), len(want), at, got[at:], want[at:])
	}
	return got
}

// passKeys are the pass keys of a collection Write wrote, in order.
func passKeys(out []byte) []string {
	var keys []string
	for _, line := range strings.Split(string(out), "\n")[1:] {
		k, _, ok := strings.Cut(line, `": {`)
		if _, err := strconv.Atoi(strings.TrimPrefix(k, `"`)); ok && err == nil && strings.HasPrefix(k, `"`) {
			keys = append(keys, k[1:])
		}
	}
	return keys
}

func TestWriterIsWrite(t *testing.T) {
	nan := float32(math.NaN())
	small, err := os.ReadFile(filepath.Join("testdata", "seed_small.json"))
	if err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string]string{"seed_small": string(small), "capped_seed": cappedSeed} {
		t.Run(name, func(t *testing.T) {
			arch, passes := readString(t, doc)
			sameAsWrite(t, arch, passes)
		})
	}

	rng := rand.New(rand.NewPCG(51, 52))
	arch := mnistArch()
	three := func() []*collector.Pass {
		return []*collector.Pass{randomPass(rng, arch, 50, true), randomPass(rng, arch, 100, false), randomPass(rng, arch, 150, true)}
	}
	// The first pass numbers them all.
	for _, c := range []struct {
		name      string
		loss, acc float32
		keys      string
		odd       bool
	}{
		{"first_nan", nan, nan, "0 1 2", true},
		{"first_loss_nan", nan, 0.5, "1 2 3", false},
		{"first_accuracy_nan", 0.5, nan, "1 2 3", false},
		{"first_finite", 1.5, 0.25, "1 2 3", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			passes := three()
			passes[0].Loss, passes[0].Accuracy = c.loss, c.acc
			if c.odd { // as TestRoundTrip
				passes[1].Layers[2].Weight[5] = float32(math.Inf(-1))
				passes[1].Layers[2].Bias[0] = nan
				passes[2].Layers[0].Input[0] = math.SmallestNonzeroFloat32
				passes[2].Wall = time.Time{}
			}
			out := sameAsWrite(t, arch, passes)
			if got := strings.Join(passKeys(out), " "); got != c.keys {
				t.Fatalf("passes numbered %q, want %q", got, c.keys)
			}
			// Only the seed's pass "0" goes without metrics.
			if n := strings.Count(string(out), `"loss": `); n != 3-strings.Count(c.keys, "0") {
				t.Fatalf("%d passes have a loss", n)
			}
		})
	}
	t.Run("capped", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(53, 54))
		arch := cappedArch()
		passes := []*collector.Pass{randomPass(rng, arch, 10, false), randomPass(rng, arch, 20, true)}
		passes[0].Loss, passes[0].Accuracy = nan, nan
		sameAsWrite(t, arch, passes)
	})
	t.Run("no_passes", func(t *testing.T) {
		if out := sameAsWrite(t, arch, nil); !bytes.HasSuffix(out, []byte("}\n}\n")) {
			t.Fatalf("no passes: %q", out[max(0, len(out)-20):])
		}
	})
	t.Run("bare_head", func(t *testing.T) {
		// No dataset or model the catalog knows, no modules, no image.
		a := &collector.Architecture{InputShape: [3]int{1, 1, 2}, Head: []collector.LinearShape{{In: 2, Out: 3}}}
		passes := []*collector.Pass{
			{Step: 1, Loss: 1, Accuracy: 0.5, TrueLabel: -1, Prediction: 4,
				Layers: []collector.LayerPass{{Input: f32s(1, 2), Output: f32s(0, 0, 1), Weight: f32s(1, 2, 3, 4, 5, 6), Bias: f32s(0, 0, 0)}}},
		}
		sameAsWrite(t, a, passes)
	})

	for _, c := range toolCollections {
		t.Run(fmt.Sprintf("tool/%s/%s/cap%d/%d", c.Model, c.Dataset, c.NeuronCap, c.Passes), func(t *testing.T) {
			run, err := seedjsontest.New(c)
			if err != nil {
				t.Fatal(err)
			}
			arch, passes := readTool(t, run)
			sameAsWrite(t, arch, passes)
		})
	}
}

// TestWriterRefuses: a pass that does not fit gets Write's error for it,
// writes nothing, and leaves what was written before it.
func TestWriterRefuses(t *testing.T) {
	rng := rand.New(rand.NewPCG(55, 56))
	arch := mnistArch()
	good := []*collector.Pass{randomPass(rng, arch, 0, false), randomPass(rng, arch, 100, false)}
	misfits := map[string]func() *collector.Pass{
		"short weight": func() *collector.Pass {
			p := randomPass(rng, arch, 50, false)
			p.Layers[3].Weight = p.Layers[3].Weight[1:]
			return p
		},
		"no layers": func() *collector.Pass { p := randomPass(rng, arch, 50, false); p.Layers = nil; return p },
		"big image": func() *collector.Pass {
			p := randomPass(rng, arch, 50, false)
			p.Image = append(p.Image, 0)
			return p
		},
		"wall": func() *collector.Pass {
			p := randomPass(rng, arch, 50, false)
			p.Wall = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
			return p
		},
		"nil": func() *collector.Pass { return nil },
	}
	wants := map[string]string{
		"short weight": "write: pass at step 50: layer 4 weight has 575 values, the head's 24x24 layer takes 576",
		"no layers":    "write: pass at step 50 has 0 layers, the head has 5",
		"big image":    "write: pass at step 50: image has 785 values, the 1x28x28 input takes 784",
		"wall":         "write: pass at step 50: wall time: ",
		"nil":          "write: no pass (nil)",
	}
	for name, misfit := range misfits {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			bad := misfit()
			var whole bytes.Buffer
			want := Write(&whole, arch, []*collector.Pass{good[0], bad, good[1]})
			if want == nil || !strings.HasPrefix(want.Error(), wants[name]) || whole.Len() != 0 {
				t.Fatalf("Write: error %v, %d bytes written", want, whole.Len())
			}

			var buf bytes.Buffer
			w, err := NewWriter(&buf, arch)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Pass(good[0]); err != nil {
				t.Fatal(err)
			}
			before := buf.Len()
			if err := w.Pass(bad); err == nil || err.Error() != want.Error() {
				t.Fatalf("Pass: error %v, Write's %v", err, want)
			}
			// The pass before it is written, the misfit is not.
			one := writeJSON(t, arch, good[:1])
			if buf.Len() != before || !bytes.Equal(buf.Bytes(), bytes.TrimSuffix(one, []byte("\n}\n"))) {
				t.Fatalf("after the refusal the Writer holds %d bytes, want Write's first pass (%d bytes)", buf.Len(), len(one)-3)
			}
			// The Writer goes on as if the misfit had not been given.
			if err := w.Pass(good[1]); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), writeJSON(t, arch, good)) {
				t.Fatal("the passes around a refused one are not Write's")
			}
		})
	}

	// A refused first pass does not number the others.
	nan := float32(math.NaN())
	first := randomPass(rng, arch, 0, false)
	first.Loss, first.Accuracy = nan, nan
	bad := misfits["short weight"]()
	bad.Loss = 1
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, arch)
	if err := w.Pass(bad); err == nil {
		t.Fatal("misfit accepted")
	}
	if err := errors.Join(w.Pass(first), w.Close()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), writeJSON(t, arch, []*collector.Pass{first})) {
		t.Fatalf("after a refused first pass, passes numbered %v", passKeys(buf.Bytes()))
	}

	// NewWriter refuses what Write refuses, with its errors.
	short := mnistArch()
	short.Modules = short.Modules[:len(short.Modules)-1]
	for _, a := range []*collector.Architecture{nil, {}, short, {Head: arch.Head, InputShape: [3]int{-1, 1, 1}}, {Head: []collector.LinearShape{{In: 2, Out: 0}}}} {
		want := Write(io.Discard, a, nil)
		if _, err := NewWriter(io.Discard, a); err == nil || want == nil || err.Error() != want.Error() {
			t.Errorf("NewWriter: error %v, Write's %v", err, want)
		}
	}
}

// fullWriter takes n bytes, then fails.
type fullWriter struct{ n int }

var errFull = errors.New("disk full")

func (f *fullWriter) Write(b []byte) (int, error) {
	if len(b) > f.n {
		n := f.n
		f.n = 0
		return n, errFull
	}
	f.n -= len(b)
	return len(b), nil
}

// TestWriterWriteErrors: a failure to write ends the Writer with Write's
// error, which every later call returns.
func TestWriterWriteErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(57, 58))
	arch := mnistArch()
	passes := []*collector.Pass{randomPass(rng, arch, 50, false), randomPass(rng, arch, 100, false), randomPass(rng, arch, 150, false)}
	whole := writeJSON(t, arch, passes)
	header := bytes.Index(whole, []byte("\n\"1\": {")) - 1 // before the comma
	second := bytes.Index(whole, []byte("\n\"2\": {")) - 1
	for _, c := range []struct {
		room int
		want string
	}{
		{0, "write: disk full"},
		{header + 10, "write pass 0: disk full"},
		{second + 10, "write pass 1: disk full"},
		{len(whole) - 1, "write: disk full"}, // the end
	} {
		want := Write(&fullWriter{c.room}, arch, passes)
		if want == nil || want.Error() != c.want {
			t.Fatalf("room for %d bytes: Write's error %v, want %q", c.room, want, c.want)
		}
		w, err := NewWriter(&fullWriter{c.room}, arch)
		if err != nil {
			t.Fatal(err)
		}
		var errs []error
		for _, p := range passes {
			errs = append(errs, w.Pass(p))
		}
		errs = append(errs, w.Close(), w.Close(), w.Pass(passes[0]))
		var got error
		for _, err := range errs {
			if got == nil {
				got = err
			} else if err != got {
				t.Fatalf("room for %d bytes: first error %v, then %v", c.room, got, err)
			}
		}
		if got == nil || got.Error() != want.Error() || !errors.Is(got, errFull) {
			t.Fatalf("room for %d bytes: Writer's error %v, Write's %v", c.room, got, want)
		}
	}

	// Close ends the collection once; no pass goes after it.
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, arch)
	if err := errors.Join(w.Pass(passes[0]), w.Close(), w.Close()); err != nil {
		t.Fatal(err)
	}
	if err := w.Pass(passes[1]); err == nil || err.Error() != "write: pass after Close" {
		t.Fatalf("pass after Close: %v", err)
	}
	if !bytes.Equal(buf.Bytes(), writeJSON(t, arch, passes[:1])) {
		t.Fatal("a second Close or a pass after Close wrote something")
	}
}

// TestWriterDropsPass: the Writer holds no reference to a pass it wrote,
// nor to its arrays.
func TestWriterDropsPass(t *testing.T) {
	rng := rand.New(rand.NewPCG(59, 60))
	arch := mnistArch() // its images are normalised on the way
	w, err := NewWriter(io.Discard, arch)
	if err != nil {
		t.Fatal(err)
	}
	p := randomPass(rng, arch, 50, true)
	gone := []chan struct{}{make(chan struct{}), make(chan struct{}), make(chan struct{})}
	closeIt := func(c chan struct{}) { close(c) }
	runtime.AddCleanup(p, closeIt, gone[0])
	runtime.AddCleanup(&p.Image[0], closeIt, gone[1])
	runtime.AddCleanup(&p.Layers[0].Weight[0], closeIt, gone[2])
	if err := w.Pass(p); err != nil {
		t.Fatal(err)
	}
	p = nil
	for i, c := range gone {
		collected := false
		for try := 0; try < 50 && !collected; try++ {
			runtime.GC()
			select {
			case <-c:
				collected = true
			case <-time.After(10 * time.Millisecond):
			}
		}
		if !collected {
			t.Fatalf("%s of a written pass is still reachable", [...]string{"the pass", "the image", "a weight"}[i])
		}
	}
	runtime.KeepAlive(w)
}

// largest is a Writer that keeps the size of its largest write.
type largest struct {
	io.Writer
	max int
}

func (l *largest) Write(b []byte) (int, error) {
	l.max = max(l.max, len(b))
	return l.Writer.Write(b)
}

// TestWriterMemory streams 64 passes of a 512-256-10 head, made on the fly
// and dropped once written, and checks that the heap never holds much more
// than one pass, where Write of the same passes, all made first, holds all 64.
func TestWriterMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 64 passes of 0.5 MB twice")
	}
	const passes = 64
	arch := &collector.Architecture{
		InputShape: [3]int{1, 16, 32}, ClassNames: strings.Fields("a b c d e f g h i j"),
		Head: []collector.LinearShape{{In: 512, Out: 256}, {In: 256, Out: 10}},
	}
	arch.FullHead = arch.Head
	// Values of few digits, as in TestDecodeMemory, from one seed, so that
	// both ways make the same passes.
	pass := func(rng *rand.Rand, i int) *collector.Pass {
		vec := func(n int) []float32 {
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(rng.IntN(33)-16) / 8
			}
			return v
		}
		p := &collector.Pass{Step: 10 * (i + 1), Loss: 0.5, Accuracy: 0.25, Image: vec(512), TrueLabel: 1, Prediction: 2,
			Logits: vec(10), Probs: vec(10), Wall: time.Unix(1_700_000_000+int64(i), 0)}
		for _, h := range arch.Head {
			p.Layers = append(p.Layers, collector.LayerPass{Input: vec(h.In), Output: vec(h.Out), Weight: vec(h.In * h.Out), Bias: vec(h.Out)})
		}
		return p
	}
	floats := 512 + 2*10
	for _, h := range arch.Head {
		floats += h.In + 2*h.Out + h.In*h.Out
	}
	passBytes := uint64(4 * floats)

	// A collector that runs often, so that the heap tracks what is held.
	defer debug.SetGCPercent(debug.SetGCPercent(20))
	h := newHeapSampler()

	streamed := &largest{Writer: sha256.New()} // io.Discard that remembers what it was given
	stop := h.watch()
	w, err := NewWriter(streamed, arch)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(61, 62))
	for i := range passes {
		if err := w.Pass(pass(rng, i)); err != nil {
			t.Fatal(err)
		}
		h.read()
	}
	err = w.Close()
	streamPeak := stop()
	if err != nil {
		t.Fatal(err)
	}

	written := sha256.New()
	stop = h.watch()
	rng = rand.New(rand.NewPCG(61, 62))
	all := make([]*collector.Pass, passes)
	for i := range all {
		all[i] = pass(rng, i)
	}
	h.read()
	err = Write(written, arch, all)
	writePeak := stop()
	if err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(all)
	if !bytes.Equal(streamed.Writer.(hash.Hash).Sum(nil), written.Sum(nil)) {
		t.Fatal("the streamed collection is not Write's")
	}
	// A pass goes out in pieces, the text of a 512-value row past spillSize at most.
	if streamed.max > spillSize+512*8 {
		t.Errorf("the Writer wrote %d bytes at once, past %d", streamed.max, spillSize)
	}

	const allowance = 1 << 20 // buffers and metadata
	bound := 4*passBytes + allowance
	t.Logf("a pass holds %.2f MB of floats; peak heap: Writer %.2f MB, Write %.2f MB (bound %.2f MB)",
		float64(passBytes)/1e6, float64(streamPeak)/1e6, float64(writePeak)/1e6, float64(bound)/1e6)
	if streamPeak > bound {
		t.Errorf("the Writer's heap grew by %d bytes, more than 4 passes of %d bytes and %d", streamPeak, passBytes, allowance)
	}
	if writePeak < passes*passBytes || writePeak < 4*bound {
		t.Errorf("Write's heap grew by only %d bytes for %d passes of %d bytes: the bound shows nothing", writePeak, passes, passBytes)
	}
}
