// Package seedjsontest writes collections as the PyTorch tool mlpviz grew
// from writes them, for tests of their readers: its main.py training one of
// its models on one of its datasets under a neuron cap, and its
// ModelCollector dumping what it caught. Real collections are tens of
// megabytes each; these hold made-up values, pseudo-random from a seed, in
// every other respect shaped as the tool's code shapes them:
//
//   - "architecture": one "N_Kind" entry for every module of
//     nn.Sequential(nn.Identity(), model, nn.Identity()) but the Sequential
//     containers, numbered from 1, with the settings the collector parses
//     from each module's repr (keys with their leading spaces, sizes as
//     floats, tuples as false, "False" as true), the model's own entry
//     holding the debris of its multi-line repr.
//   - pass "0": the layer data the training steps before the first
//     collection leave, nothing else.
//   - passes "1".."n", keys in the order the tool sets them: "input" (the
//     probe image, C×H×W, normalised with the dataset's mean and std), each
//     Linear layer ({"input", "weight", "bias"}, plus "grad_input",
//     "grad_weight" and "grad_bias" with gradients), "prediction" and
//     "true_label" as [index, torchvision class name], "logits", "loss" (the
//     running mean over every training step so far) and "accuracy" (the
//     running accuracy over every training sample so far).
//   - every captured array put through the collector's _reduce_to_max_len
//     under the cap.
//   - json.dump(..., indent=4, separators=(",", ": ")): every member and
//     element on its own line, floats by Python's repr, NaN, Infinity and
//     -Infinity as bare words, no newline at the end.
package seedjsontest

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/mlpviz/mlpviz/catalog"
)

// Collection says which collection to write.
type Collection struct {
	Model   string // a catalog model: "cnn", "cnn_large" or "cifar10_cnn"
	Dataset string // a catalog dataset the model fits
	// NeuronCap is main.py's --neuron_cap (its default is 24); 0 is no
	// cap, which the tool spells as a cap no layer exceeds.
	NeuronCap int
	Passes    int // collections after pass "0" (main.py's num_collections)
	Interval  int // training steps between collections; 0 is main.py's 50
	// Gradients registers the collector's backward hooks too
	// (register="both"), as main.py does not: every pass a training step
	// has written into then has grad_input, and grad_weight and grad_bias,
	// which hold the parameters again as the tool's hook does.
	Gradients bool
	Seed      uint64 // of the made-up values
	// NonFinite puts Python's bare words into the last pass: its loss is
	// NaN (a NaN step poisons the running mean), its logits start with
	// Infinity and -Infinity (so the prediction is 0), and every Linear
	// layer's first weight is NaN, its last Infinity and its first bias
	// -Infinity before the cap averages them.
	NonFinite bool
}

// Run is one collection, ready to write and to compare a reader against.
type Run struct {
	c       Collection
	ds      *catalog.Dataset
	arch    []Entry
	linears []linear
	loss    []float64 // by pass number; pass 0's NaN
	acc     []float32
	// lastTrained: a training step followed the last collection, so its
	// layer data (and gradients) are a training batch's.
	lastTrained bool
}

type linear struct {
	tag     string
	in, out int
}

// Pass is what pass n of the collection holds.
type Pass struct {
	// Pixels is the probe image in 0..1 (k/255, C×H×W) and Image the same
	// normalised as the tool writes it; both nil in pass 0.
	Pixels, Image         []float32
	Prediction, TrueLabel int // class indices; -1 in pass 0
	Logits                []float32
	Loss                  float64 // NaN in pass 0
	Accuracy              float32 // NaN in pass 0
	Layers                []Layer
}

// Layer is one Linear layer's data in a pass, as written: after the cap.
type Layer struct {
	Tag        string // "7_Linear"
	In, Out    int    // the architecture's full sizes
	Input      []float32
	Weight     []float32 // Rows×Cols, row-major
	Rows, Cols int
	Bias       []float32
	// With Collection.Gradients, in passes a training step wrote into.
	GradInput, GradWeight, GradBias []float32
}

// Training set sizes: they fix the steps of an epoch, and so where its
// last, shorter batch falls in the running accuracy.
var trainSize = map[string]int{"mnist": 60000, "fashion_mnist": 60000, "cifar10": 50000}

const batchSize = 64 // main.py's train_and_collect default

// New checks c and works out the run's architecture and running metrics.
func New(c Collection) (*Run, error) {
	if c.Interval == 0 {
		c.Interval = 50
	}
	ds := catalog.LookupDataset(c.Dataset)
	m := catalog.LookupModel(c.Model)
	tree, ok := models[c.Model]
	switch {
	case ds == nil || trainSize[c.Dataset] == 0:
		return nil, fmt.Errorf("seedjsontest: unknown dataset %q", c.Dataset)
	case m == nil || !ok:
		return nil, fmt.Errorf("seedjsontest: unknown model %q", c.Model)
	case c.NeuronCap < 0 || c.Passes < 0 || c.Interval < 0:
		return nil, fmt.Errorf("seedjsontest: neuron cap %d, %d passes, interval %d", c.NeuronCap, c.Passes, c.Interval)
	}
	if err := m.Fits(ds); err != nil {
		return nil, fmt.Errorf("seedjsontest: %w", err)
	}
	arch, err := architecture(tree)
	if err != nil {
		return nil, fmt.Errorf("seedjsontest: model %s: %w", c.Model, err)
	}
	r := &Run{c: c, ds: ds, arch: arch}
	for _, e := range arch {
		if strings.HasSuffix(e.Tag, "_Linear") {
			r.linears = append(r.linears, linear{tag: e.Tag, in: sizeOf(e, "in_features"), out: sizeOf(e, " out_features")})
		}
	}
	r.train()
	return r, nil
}

func sizeOf(e Entry, key string) int {
	for _, s := range e.Settings {
		if s.Key == key {
			return int(s.Value.(float64))
		}
	}
	panic("seedjsontest: " + e.Tag + " has no " + key)
}

// train runs the training loop of main.py for its metrics: a loss per step
// (float32, as loss.item() gives it) summed into avg_loss, and correct
// answers counted as torchmetrics' Accuracy does, over every step and
// sample since the start; the collections take num_collections and the
// training goes on to the end of its last epoch.
func (r *Run) train() {
	c := r.c
	rng := rand.New(rand.NewPCG(c.Seed, 0))
	perEpoch := (trainSize[c.Dataset] + batchSize - 1) / batchSize
	lastBatch := trainSize[c.Dataset] - (perEpoch-1)*batchSize
	epochs := max(1, (c.Passes*c.Interval+perEpoch-1)/perEpoch)
	r.loss, r.acc = []float64{math.NaN()}, []float32{float32(math.NaN())}
	var sum float64
	correct, seen := 0, 0
	for step := 1; step <= epochs*perEpoch && len(r.loss) <= c.Passes; step++ {
		t := float64(step)
		loss := float32(2.3*math.Exp(-t/400) + 0.05 + 0.2*rng.Float64())
		if c.NonFinite && c.Passes > 0 && step == (c.Passes-1)*c.Interval+1 {
			loss = float32(math.NaN())
		}
		sum += float64(loss)
		n := batchSize
		if step%perEpoch == 0 {
			n = lastBatch
		}
		p := 0.1 + 0.85*(1-math.Exp(-t/300))
		for range n {
			if rng.Float64() < p {
				correct++
			}
		}
		seen += n
		if step%c.Interval == 0 {
			r.loss = append(r.loss, sum/t)
			r.acc = append(r.acc, float32(correct)/float32(seen))
			r.lastTrained = step < epochs*perEpoch
		}
	}
}

// Collection is what r was made from, with the defaults filled in.
func (r *Run) Collection() Collection { return r.c }

// Architecture is the "architecture" object, entry by entry.
func (r *Run) Architecture() []Entry { return r.arch }

// Pass makes pass n (0 to Passes) afresh: the same every time.
func (r *Run) Pass(n int) *Pass {
	c := r.c
	if n < 0 || n > c.Passes {
		return nil
	}
	rng := rand.New(rand.NewPCG(c.Seed, uint64(n)+1))
	nan := float32(math.NaN())
	last := n == c.Passes
	bad := c.NonFinite && last
	p := &Pass{Prediction: -1, TrueLabel: -1, Loss: r.loss[n], Accuracy: r.acc[n]}
	if n > 0 {
		p.Pixels, p.Image = r.image(rng)
		classes := len(r.ds.Classes)
		p.TrueLabel = rng.IntN(classes)
		p.Logits = make([]float32, classes)
		for i := range p.Logits {
			p.Logits[i] = float32(rng.NormFloat64() * 2)
		}
		if bad {
			p.Logits[0], p.Logits[1] = float32(math.Inf(1)), float32(math.Inf(-1))
		}
		p.Prediction = 0 // torch's argmax: the first largest
		for i, x := range p.Logits {
			if x > p.Logits[p.Prediction] {
				p.Prediction = i
			}
		}
	}
	grads := c.Gradients && (!last || n == 0 || r.lastTrained)
	for _, l := range r.linears {
		// Batch means of ReLU outputs (half of them 0), and weights, of few
		// digits so that big layers stay small on disk; biases of all 24
		// bits. Eight random bits a value keep big layers quick to make.
		in := make([]float32, l.in)
		bits(rng, in, func(b uint8) float32 { return float32(b>>1*(b&1)) / 64 })
		w := make([]float32, l.out*l.in)
		bits(rng, w, func(b uint8) float32 { return float32(int(b&63)-32) / 256 })
		b := make([]float32, l.out)
		for i := range b {
			b[i] = float32(rng.NormFloat64() * 0.05)
		}
		if bad {
			w[0], w[len(w)-1], b[0] = nan, float32(math.Inf(1)), float32(math.Inf(-1))
		}
		lp := Layer{Tag: l.tag, In: l.in, Out: l.out}
		lp.Input, _, _ = reduceToMaxLen(in, l.in, 0, c.NeuronCap)
		lp.Weight, lp.Rows, lp.Cols = reduceToMaxLen(w, l.out, l.in, c.NeuronCap)
		lp.Bias, _, _ = reduceToMaxLen(b, l.out, 0, c.NeuronCap)
		if grads {
			g := make([]float32, l.in)
			for i := range g {
				g[i] = float32(rng.NormFloat64() * 1e-3)
			}
			// The hook reduces grad_input twice; the second is a no-op.
			lp.GradInput, _, _ = reduceToMaxLen(g, l.in, 0, c.NeuronCap)
			lp.GradWeight, lp.GradBias = lp.Weight, lp.Bias
		}
		p.Layers = append(p.Layers, lp)
	}
	return p
}

// bits fills v with f of random bytes.
func bits(rng *rand.Rand, v []float32, f func(uint8) float32) {
	var r uint64
	for i := range v {
		if i%8 == 0 {
			r = rng.Uint64()
		}
		v[i] = f(uint8(r))
		r >>= 8
	}
}

// image makes a probe image of pixels k/255, as ToTensor gives them, mostly
// black as MNIST's are, and normalises it in float32 as
// transforms.Normalize does: (x - mean) / std.
func (r *Run) image(rng *rand.Rand) (pixels, image []float32) {
	s := r.ds.Shape
	plane := s[1] * s[2]
	pixels = make([]float32, s[0]*plane)
	image = make([]float32, len(pixels))
	for i := range pixels {
		if rng.IntN(3) == 0 {
			pixels[i] = float32(rng.IntN(256)) / 255
		}
		mean, std := float32(r.ds.Mean[i/plane]), float32(r.ds.Std[i/plane])
		image[i] = (pixels[i] - mean) / std
	}
	return pixels, image
}

// WriteTo writes the collection to w, pass by pass.
func (r *Run) WriteTo(w io.Writer) (int64, error) {
	p := &pyWriter{w: w, buf: make([]byte, 0, flushAt+4096)}
	p.open('{')
	p.key("architecture")
	p.open('{')
	for _, e := range r.arch {
		p.key(e.Tag)
		p.open('{')
		for _, s := range e.Settings {
			p.key(s.Key)
			switch v := s.Value.(type) {
			case float64:
				p.buf = appendPyFloat(p.buf, v)
			case bool:
				p.buf = fmt.Appendf(p.buf, "%t", v)
			}
		}
		p.close('}')
	}
	p.close('}')
	for n := range r.c.Passes + 1 {
		p.key(fmt.Sprint(n))
		r.writePass(p, r.Pass(n))
		if p.err != nil {
			break
		}
	}
	p.close('}')
	p.flush()
	return p.n, p.err
}

func (r *Run) writePass(p *pyWriter, ps *Pass) {
	s := r.ds.Shape
	p.open('{')
	if ps.Image != nil {
		p.key("input")
		p.floats(ps.Image, s[0], s[1], s[2])
	}
	for _, l := range ps.Layers {
		// The forward hook's input and parameters, then the backward's.
		arrays := func(prefix string, in, w, b []float32) {
			p.key(prefix + "input")
			p.floats(in, len(in))
			p.key(prefix + "weight")
			p.floats(w, l.Rows, l.Cols)
			p.key(prefix + "bias")
			p.floats(b, len(b))
		}
		p.key(l.Tag)
		p.open('{')
		arrays("", l.Input, l.Weight, l.Bias)
		if l.GradInput != nil {
			arrays("grad_", l.GradInput, l.GradWeight, l.GradBias)
		}
		p.close('}')
	}
	if ps.Image != nil {
		for _, f := range []struct {
			key string
			i   int
		}{{"prediction", ps.Prediction}, {"true_label", ps.TrueLabel}} {
			p.key(f.key)
			p.open('[')
			p.item()
			p.buf = fmt.Append(p.buf, f.i)
			p.item()
			p.buf = appendPyString(p.buf, r.ds.TorchClasses[f.i])
			p.close(']')
		}
		p.key("logits")
		p.floats(ps.Logits, len(ps.Logits))
		p.key("loss")
		p.buf = appendPyFloat(p.buf, ps.Loss)
		p.key("accuracy")
		p.buf = appendPyFloat(p.buf, float64(ps.Accuracy))
	}
	p.close('}')
}

// Write writes the collection c to w.
func Write(w io.Writer, c Collection) error {
	r, err := New(c)
	if err != nil {
		return err
	}
	_, err = r.WriteTo(w)
	return err
}

// Bytes is the collection c, in memory; it panics when c is not one the
// tool can write, as a test helper may.
func Bytes(c Collection) []byte {
	var b bytes.Buffer
	if err := Write(&b, c); err != nil {
		panic(err)
	}
	return b.Bytes()
}
