package seedjson

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/collector/seedjson/seedjsontest"
)

// decodeAll collects what Decode hands on.
func decodeAll(r io.ReadSeeker) (*collector.Architecture, []*collector.Pass, error) {
	var arch *collector.Architecture
	var passes []*collector.Pass
	err := Decode(r, func(a *collector.Architecture) error {
		arch = a
		return nil
	}, func(p *collector.Pass) error {
		passes = append(passes, p)
		return nil
	})
	return arch, passes, err
}

// onlyReader hides a reader's Seek, so that Read cannot take Decode's way.
type onlyReader struct{ io.Reader }

// identical fails unless got is want bit for bit.
func identical(t *testing.T, what string, got, want *collector.Pass) {
	t.Helper()
	bits := func(v []float32) []uint32 {
		if v == nil {
			return nil
		}
		b := make([]uint32, len(v))
		for i, x := range v {
			b[i] = math.Float32bits(x)
		}
		return b
	}
	same := func(name string, g, w []float32) {
		if !reflect.DeepEqual(bits(g), bits(w)) {
			t.Fatalf("%s: %s differs:\n got %v\nwant %v", what, name, g, w)
		}
	}
	if got.Step != want.Step || got.Epoch != want.Epoch || !got.Wall.Equal(want.Wall) ||
		got.TrueLabel != want.TrueLabel || got.Prediction != want.Prediction {
		t.Fatalf("%s: %+v, want %+v", what, got, want)
	}
	same("loss, accuracy", []float32{got.Loss, got.Accuracy}, []float32{want.Loss, want.Accuracy})
	same("image", got.Image, want.Image)
	same("logits", got.Logits, want.Logits)
	same("probs", got.Probs, want.Probs)
	if len(got.Layers) != len(want.Layers) {
		t.Fatalf("%s: %d layers, want %d", what, len(got.Layers), len(want.Layers))
	}
	for j, w := range want.Layers {
		g := got.Layers[j]
		lw := fmt.Sprintf("layer %d ", j)
		same(lw+"input", g.Input, w.Input)
		same(lw+"output", g.Output, w.Output)
		same(lw+"weight", g.Weight, w.Weight)
		same(lw+"bias", g.Bias, w.Bias)
		same(lw+"grad_weight", g.GradWeight, w.GradWeight)
		same(lw+"grad_bias", g.GradBias, w.GradBias)
	}
}

// sameAsRead fails unless Decode of the file at path gives what Read of it
// gives through a plain reader.
func sameAsRead(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	wantArch, want, err := Read(onlyReader{bufio.NewReader(f)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	arch, got, err := decodeAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(arch, wantArch) {
		t.Fatalf("architecture\n got %+v\nwant %+v", arch, wantArch)
	}
	if len(got) != len(want) {
		t.Fatalf("%d passes, want %d", len(got), len(want))
	}
	for i := range want {
		identical(t, fmt.Sprintf("pass %d", i), got[i], want[i])
	}
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDecodeIsRead(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	mlpviz := []*collector.Pass{randomPass(rng, mnistArch(), 50, true), randomPass(rng, mnistArch(), 100, false)}
	mlpviz[0].Loss, mlpviz[0].Accuracy = float32(math.NaN()), float32(math.NaN())
	docs := map[string]string{
		"capped": cappedSeed,
		"mlpviz": string(writeJSON(t, mnistArch(), mlpviz)),
		// Passes out of order, before the architecture, with a key that
		// spells its number oddly, and batched inputs.
		"disordered": `{"10": {"1_Linear": {"input": [[1, 2], [3, 4]], "weight": [[1, 0], [0, 1]], "bias": [0, 0]},
		   "prediction": [1, "dog"], "true_label": [0, "cat"], "logits": [Infinity, 0]},
		 "002": {"1_Linear": {"input": [0, 1], "weight": [[1, 0], [0, 1]], "bias": [NaN, 0], "grad_weight": [[1, 0], [0, 1]]},
		   "prediction": [0, "cat"], "logits": [1, 0], "loss": NaN},
		 "architecture": {"1_Linear": {"in_features": 2.0, " out_features": 2.0, " bias": true}, "2_ReLU": {}}}`,
	}
	small, err := os.ReadFile(filepath.Join("testdata", "seed_small.json"))
	if err != nil {
		t.Fatal(err)
	}
	docs["seed_small"] = string(small)
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			sameAsRead(t, writeFile(t, name+".json", []byte(doc)))
			// From where the reader stands, not from its start.
			r := strings.NewReader("garbage" + doc)
			r.Seek(7, io.SeekStart)
			arch, passes, err := decodeAll(r)
			if _, want, _ := Read(strings.NewReader(doc)); err != nil || arch == nil || len(passes) != len(want) {
				t.Fatalf("Decode after a prefix: %d passes, error %v", len(passes), err)
			}
		})
	}
	for _, c := range toolCollections {
		t.Run(fmt.Sprintf("tool/%s/%s/cap%d/%d", c.Model, c.Dataset, c.NeuronCap, c.Passes), func(t *testing.T) {
			sameAsRead(t, writeFile(t, "tool.json", seedjsontest.Bytes(c)))
		})
	}
}

func TestDecodeCallbacks(t *testing.T) {
	data := seedjsontest.Bytes(seedjsontest.Collection{Model: "cnn", Dataset: "mnist", NeuronCap: 24, Passes: 3, Seed: 1})
	stop := errors.New("stop")

	calls := 0
	err := Decode(bytes.NewReader(data), func(*collector.Architecture) error { return stop },
		func(*collector.Pass) error { calls++; return nil })
	if !errors.Is(err, stop) || calls != 0 {
		t.Fatalf("start's error: got %v after %d passes", err, calls)
	}

	var steps []int
	started := false
	err = Decode(bytes.NewReader(data), func(a *collector.Architecture) error {
		if started || len(steps) > 0 {
			t.Fatal("start called twice, or after a pass")
		}
		started = true
		return nil
	}, func(p *collector.Pass) error {
		steps = append(steps, p.Step)
		if len(steps) == 2 {
			return fmt.Errorf("pass %d: %w", p.Step, stop)
		}
		return nil
	})
	if !errors.Is(err, stop) || !reflect.DeepEqual(steps, []int{0, 1}) {
		t.Fatalf("pass's error: got %v after passes %v", err, steps)
	}

	// Input Read refuses never reaches start.
	bad := bytes.Replace(data, []byte(`"loss"`), []byte(`"loss": 1, "prediction": -1, "x"`), 1)
	err = Decode(bytes.NewReader(bad), func(*collector.Architecture) error { t.Fatal("start called"); return nil },
		func(*collector.Pass) error { return nil })
	if _, _, want := Read(bytes.NewReader(bad)); err == nil || want == nil || err.Error() != want.Error() {
		t.Fatalf("Decode's error %v, Read's %v", err, want)
	}
}

// heapSampler keeps the peak of the heap's objects, live and not yet swept.
type heapSampler struct {
	sample []metrics.Sample
	mu     sync.Mutex
	peak   uint64
}

func newHeapSampler() *heapSampler {
	return &heapSampler{sample: []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}}
}

func (h *heapSampler) read() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	metrics.Read(h.sample)
	v := h.sample[0].Value.Uint64()
	h.peak = max(h.peak, v)
	return v
}

// watch samples the heap until stop is called, which returns the peak
// above what the heap held at the start, after a collection.
func (h *heapSampler) watch() (stop func() uint64) {
	runtime.GC()
	base := h.read()
	h.peak = base
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(500 * time.Microsecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				h.read()
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		h.read()
		return h.peak - base
	}
}

// TestDecodeMemory decodes a 64-pass collection of a 512-256-10 head from a
// file, dropping each pass, and checks that the heap never holds much more
// than one pass, where Read holds all 64.
func TestDecodeMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 45 MB file")
	}
	const passes = 64
	arch := &collector.Architecture{
		InputShape: [3]int{1, 16, 32}, ClassNames: strings.Fields("a b c d e f g h i j"),
		Head: []collector.LinearShape{{In: 512, Out: 256}, {In: 256, Out: 10}},
	}
	arch.FullHead = arch.Head
	// Values of few digits keep the file small; the passes share their
	// arrays, so that writing them takes one pass's memory.
	rng := rand.New(rand.NewPCG(31, 32))
	vec := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.IntN(33)-16) / 8
		}
		return v
	}
	var floats int
	proto := collector.Pass{Loss: 0.5, Accuracy: 0.25, Image: vec(512), TrueLabel: 1, Prediction: 2, Logits: vec(10)}
	for _, h := range arch.Head {
		proto.Layers = append(proto.Layers, collector.LayerPass{Input: vec(h.In), Output: vec(h.Out), Weight: vec(h.In * h.Out), Bias: vec(h.Out)})
		floats += h.In + 2*h.Out + h.In*h.Out
	}
	floats += len(proto.Image) + 2*len(proto.Logits) // Read adds the probabilities
	passBytes := uint64(4 * floats)
	all := make([]*collector.Pass, passes)
	for i := range all {
		p := proto
		p.Step = 10 * (i + 1)
		all[i] = &p
	}
	path := filepath.Join(t.TempDir(), "big.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := Write(bw, arch, all); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	all, proto = nil, collector.Pass{}

	// A collector that runs often, so that the heap tracks what is held,
	// not the slack the default leaves (at least 4 MB).
	defer debug.SetGCPercent(debug.SetGCPercent(20))
	h := newHeapSampler()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	stop := h.watch()
	n := 0
	err = Decode(f, func(*collector.Architecture) error { return nil }, func(p *collector.Pass) error {
		h.read()
		if p.Step != 10*(n+1) || len(p.Layers[0].Weight) != 512*256 {
			return fmt.Errorf("pass %d: step %d, %d weights", n, p.Step, len(p.Layers[0].Weight))
		}
		n++
		return nil
	})
	decodePeak := stop()
	if err != nil || n != passes {
		t.Fatalf("Decode: %d passes, error %v", n, err)
	}

	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	stop = h.watch()
	_, got, err := Read(f)
	readPeak := stop()
	if err != nil || len(got) != passes {
		t.Fatalf("Read: %d passes, error %v", len(got), err)
	}
	runtime.KeepAlive(got)

	const allowance = 1 << 20 // buffers and metadata
	bound := 4*passBytes + allowance
	t.Logf("a pass holds %.2f MB of floats; peak heap: Decode %.2f MB, Read %.2f MB (bound %.2f MB)",
		float64(passBytes)/1e6, float64(decodePeak)/1e6, float64(readPeak)/1e6, float64(bound)/1e6)
	if decodePeak > bound {
		t.Errorf("Decode's heap grew by %d bytes, more than 4 passes of %d bytes and %d", decodePeak, passBytes, allowance)
	}
	if readPeak < passes*passBytes || readPeak < 4*bound {
		t.Errorf("Read's heap grew by only %d bytes for %d passes of %d bytes: the bound shows nothing", readPeak, passes, passBytes)
	}
}

// emptyPasses is the architecture of a tool collection followed by n passes
// with nothing in them.
func emptyPasses(t *testing.T, n int, archLast bool) []byte {
	t.Helper()
	tool := seedjsontest.Bytes(seedjsontest.Collection{Model: "cnn", Dataset: "mnist", NeuronCap: 24})
	at := bytes.Index(tool, []byte(`"0": {`))
	if at < 0 {
		t.Fatal("no pass 0 in the tool's collection")
	}
	arch := bytes.TrimRight(tool[1:at], " \n,") // `"architecture": {...}`
	var b bytes.Buffer
	b.WriteString("{")
	if !archLast {
		b.Write(arch)
		b.WriteString(", ")
	}
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `"%d": {}`, i)
	}
	if archLast {
		b.WriteString(", ")
		b.Write(arch)
	}
	b.WriteString("}")
	return b.Bytes()
}

// countingReader counts what is read through it.
type countingReader struct {
	r io.ReadSeeker
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) Seek(off int64, whence int) (int64, error) { return c.r.Seek(off, whence) }

// TestEmptyPasses: a pass with no layer data fails as soon as it is read,
// so that megabytes of empty passes are refused after their first.
func TestEmptyPasses(t *testing.T) {
	const want = `pass 1 has no data for layer "7_Linear"`
	data := emptyPasses(t, 500_000, false)
	r := &countingReader{r: bytes.NewReader(data)}
	if _, _, err := decodeAll(r); err == nil || err.Error() != want {
		t.Fatalf("Decode: error %v, want %q", err, want)
	}
	if r.n > 1<<20 {
		t.Errorf("Decode read %d bytes of %d to find pass 1 empty", r.n, len(data))
	}
	r = &countingReader{r: bytes.NewReader(data)}
	if _, _, err := Read(onlyReader{r}); err == nil || err.Error() != want {
		t.Fatalf("Read: error %v, want %q", err, want)
	}
	if r.n > 1<<20 {
		t.Errorf("Read read %d bytes of %d to find pass 1 empty", r.n, len(data))
	}

	// With the architecture last, a pass with no layer at all still fits
	// none.
	data = emptyPasses(t, 500_000, true)
	r = &countingReader{r: bytes.NewReader(data)}
	if _, _, err := decodeAll(r); err == nil || err.Error() != "pass 1 has no layer data" {
		t.Fatalf("architecture last: error %v", err)
	}
	if r.n > 1<<20 {
		t.Errorf("Decode read %d bytes of %d to find pass 1 empty", r.n, len(data))
	}
}

// TestDecodeChangedFile: a file that changes between Decode's readings is
// refused, not trusted to hold the shapes it held.
func TestDecodeChangedFile(t *testing.T) {
	// Padding after the pass makes Decode seek back to it.
	doc := `{"architecture": {"1_Linear": {"in_features": 2.0, " out_features": 1.0}},
	 "1": {"1_Linear": {"input": [1, 2], "weight": [[1, 2]], "bias": [0]}}, "pad": "` + strings.Repeat(" ", 1<<17) + `"}`
	if _, passes, err := decodeAll(strings.NewReader(doc)); err != nil || len(passes) != 1 {
		t.Fatalf("%d passes, error %v", len(passes), err)
	}
	changed := strings.Replace(doc, `[1, 2]`, `[1234]`, 1)
	r := &swapReader{ReadSeeker: strings.NewReader(doc), then: strings.NewReader(changed)}
	if _, _, err := decodeAll(r); err == nil || err.Error() != "pass 1 changed while it was read" {
		t.Fatalf("error %v", err)
	}
}

// swapReader reads from then after its first Seek from the start.
type swapReader struct {
	io.ReadSeeker
	then   io.ReadSeeker
	seeked bool
}

func (s *swapReader) Seek(off int64, whence int) (int64, error) {
	if whence == io.SeekStart && !s.seeked {
		s.ReadSeeker, s.seeked = s.then, true
	}
	return s.ReadSeeker.Seek(off, whence)
}

// TestPythonWordsOnlyAsValues: Python's words are numbers, which JSON
// allows where a value stands and nowhere else.
func TestPythonWordsOnlyAsValues(t *testing.T) {
	const linear = `"1_Linear": {"in_features": 2.0, " out_features": 1.0, " bias": true}`
	const pass = `"1": {"1_Linear": {"input": [NaN, -Infinity], "weight": [[Infinity, 1]], "bias": [0]}, "loss": NaN}`
	ok := `{"architecture": {` + linear + `}, ` + pass + `}`
	if _, _, err := Read(strings.NewReader(ok)); err != nil {
		t.Fatalf("words as values: %v", err)
	}
	// Each case is bad at its first "@", which the input holds as a space.
	for _, c := range []struct{ in, want string }{
		{`{@NaN: 1}`, `in the top-level object: invalid character 'N' looking for beginning of object key string`},
		{`{"architecture": {` + linear + `, @Infinity: {}}, ` + pass + `}`, `in "architecture": invalid character 'I' looking for beginning of object key string`},
		{`{"architecture": {"1_Linear": {@NaN: 2.0}}}`, `in architecture "1_Linear": invalid character 'N' looking for beginning of object key string`},
		{`{"architecture": {` + linear + `}, "1": {@-Infinity: 1}}`, `in pass 1: invalid character '-' looking for beginning of object key string`},
		{`{"architecture": {` + linear + `}, ` + pass + `, @NaN}`, `in the top-level object: invalid character 'N' looking for beginning of object key string`},
		{`{"architecture": {` + linear + `}, "1": {"loss": -@NaN}}`, `in pass 1, "loss": invalid character 'N' in numeric literal`},
		{`{"architecture": {` + linear + `}, "1": {"loss": NaN@NaN}}`, `in pass 1: invalid character 'N' after object key:value pair`},
	} {
		at := strings.Index(c.in, "@")
		in := strings.Replace(c.in, "@", " ", 1)
		want := fmt.Sprintf("invalid JSON near byte %d, %s", at+1, c.want)
		if strings.Contains(c.in, "-@") || strings.Contains(c.in, "N@") {
			in = strings.Replace(c.in, "@", "", 1)
			want = fmt.Sprintf("invalid JSON near byte %d, %s", at, c.want)
		}
		for name, read := range map[string]func(string) error{
			"Read":   func(s string) error { _, _, err := Read(strings.NewReader(s)); return err },
			"Decode": func(s string) error { _, _, err := decodeAll(strings.NewReader(s)); return err },
		} {
			if err := read(in); err == nil || err.Error() != want {
				t.Errorf("%s %s:\n error %v\n want  %s", name, in, err, want)
			}
		}
	}
}

// TestWriteNaNMetrics: a NaN loss or accuracy is written as Python writes
// it, but for the seed's pass "0" of layer data only, and reads back.
func TestWriteNaNMetrics(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	arch := mnistArch()
	nan := float32(math.NaN())
	passes := []*collector.Pass{randomPass(rng, arch, 0, false), randomPass(rng, arch, 50, false), randomPass(rng, arch, 100, false)}
	passes[0].Loss, passes[0].Accuracy = nan, nan
	passes[1].Loss = nan
	passes[2].Accuracy = nan
	out := string(writeJSON(t, arch, passes))
	pass := func(key string) string {
		at := strings.Index(out, "\n\""+key+"\": {")
		if at < 0 {
			t.Fatalf("no pass %q", key)
		}
		end := strings.Index(out[at+1:], "\n")
		if end < 0 {
			return out[at:]
		}
		return out[at : at+1+end]
	}
	if p := pass("0"); strings.Contains(p, `"loss"`) || strings.Contains(p, `"accuracy"`) {
		t.Error("pass 0 has a loss or an accuracy")
	}
	if p := pass("1"); !strings.Contains(p, `"loss": NaN, "accuracy": `) {
		t.Error(`pass 1 has no "loss": NaN`)
	}
	if p := pass("2"); !strings.Contains(p, `"accuracy": NaN`) || !strings.Contains(p, `"loss": `) {
		t.Error(`pass 2 has no "accuracy": NaN`)
	}
	_, back := readString(t, out)
	for i, p := range passes {
		equalFloats(t, fmt.Sprintf("pass %d loss, accuracy", i), []float32{back[i].Loss, back[i].Accuracy}, []float32{p.Loss, p.Accuracy})
	}

	// A first pass with one metric is numbered 1, and keeps its NaN.
	passes = passes[1:]
	out = string(writeJSON(t, arch, passes))
	if p := pass("1"); !strings.Contains(p, `"loss": NaN`) {
		t.Error(`first pass, numbered 1, has no "loss": NaN`)
	}
}
