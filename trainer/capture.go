package trainer

import (
	"math"
	"time"

	"github.com/mlpviz/mlpviz/catalog"
	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/trainer/backend"
)

// SmallHead is the most weights a head may have (after the neuron cap) for
// its gradients to be recorded by default: cnn's 15,792 are, so a cnn pass
// grows by about 32 KB at f16; cnn_large's 800 thousand are not.
const SmallHead = 1 << 16

// GradientsByDefault reports whether a run of model with neuron cap c
// records gradients when the user did not say (--gradients auto).
func GradientsByDefault(model string, c int) bool {
	spec := catalog.LookupModel(model)
	if spec == nil {
		return false
	}
	var full []collector.LinearShape
	for _, l := range spec.Head() {
		full = append(full, collector.LinearShape{In: l.In, Out: l.Out})
	}
	weights := 0
	for _, s := range collector.CapHead(full, c) {
		weights += s.In * s.Out
	}
	return weights <= SmallHead
}

// captureSet is the test images every capture runs through the model in
// one eval batch: the probe (row 0, chosen per pass), the rest of the probe
// set (rows 1..probes-1) and the health batch after them.
type captureSet struct {
	rows   []int // test image per row; rows[0] is set per pass
	probes int   // rows 0..probes-1 are the probe set
	in     *batch
	figs   backend.Float64Tensor
}

// newCaptureSet picks the fixed images: the rest of the probe set is the
// first test image of each class in turn (skipping the class of a fixed
// --probe, so that ten probes show ten classes), then the second of each,
// and so on; the health batch is spread evenly over the test set.
func (t *Trainer) newCaptureSet() *captureSet {
	test := &t.data.Test
	k := max(t.cfg.Probes, 1)
	rows := make([]int, 1, k+t.cfg.HealthBatch)
	skip := -1
	if t.cfg.Probe >= 0 {
		rows[0] = t.cfg.Probe
		skip = int(test.Labels[t.cfg.Probe])
	}
	byClass := make([][]int, len(t.data.Classes))
	for i := 0; i < test.N; i++ {
		if c := int(test.Labels[i]); c < len(byClass) && i != t.cfg.Probe {
			byClass[c] = append(byClass[c], i)
		}
	}
	for round := 0; len(rows) < k; round++ {
		added := false
		for c := range byClass {
			if len(rows) < k && c != skip && round < len(byClass[c]) {
				rows, added = append(rows, byClass[c][round]), true
			}
		}
		if !added { // fewer test images than probes: New prevents this
			break
		}
		skip = -1 // from the second round on, every class takes its turn
	}
	probes := len(rows)
	for j := range t.cfg.HealthBatch {
		rows = append(rows, j*test.N/t.cfg.HealthBatch)
	}
	return &captureSet{rows: rows, probes: probes, in: newBatch(t.be, t.data, len(rows)), figs: t.be.AllocFloat64(2)}
}

// Capture runs test image i (probe 0), the rest of the probe set and the
// health batch through the model in eval mode, in one batch, and records
// the head as it saw them: every Linear layer's input and output for each
// probe, its weights and biases (and the last training step's gradients
// when asked), logits, probabilities and predictions, and the health of
// every hidden neuron over the health batch. Loss and accuracy are left for
// the caller, which keeps the running figures. The pass is reduced to the
// neuron cap, so that it fits Architecture().Head as a run file holds it.
// Its values come from the backend's Downloads: a caller checks the
// backend's Err before it trusts them.
func (t *Trainer) Capture(i, step, epoch int) *collector.Pass {
	test := &t.data.Test
	if t.capture == nil {
		t.capture = t.newCaptureSet()
	}
	cs := t.capture
	cs.rows[0] = i
	x, label := cs.in.load(test, cs.rows, nil)
	t.Model.Loss(x, label, false, cs.figs)

	head := t.Model.Head()
	classes := head[len(head)-1].Out
	probs := t.download(t.Model.Probs().Data.Slice(0, cs.probes*classes))
	acts := make([]collector.ProbeLayer, len(head)) // the probe rows of each layer
	for k, l := range head {
		acts[k].Input = t.download(l.LastInput().Data.Slice(0, cs.probes*l.In))
		acts[k].Output = t.download(l.LastOutput().Data.Slice(0, cs.probes*l.Out))
	}
	sample := x.Data.Len() / len(cs.rows)
	probe := func(j int) collector.Probe {
		pr := collector.Probe{
			Image: make([]float32, sample), TrueLabel: int(test.Labels[cs.rows[j]]),
			Probs: probs[j*classes : (j+1)*classes],
		}
		t.data.Raw(pr.Image, test, cs.rows[j])
		for k, l := range head {
			pr.Layers = append(pr.Layers, collector.ProbeLayer{
				Input:  acts[k].Input[j*l.In : (j+1)*l.In],
				Output: acts[k].Output[j*l.Out : (j+1)*l.Out],
			})
		}
		pr.Logits = append([]float32(nil), pr.Layers[len(head)-1].Output...)
		for c, v := range pr.Probs {
			if v > pr.Probs[pr.Prediction] {
				pr.Prediction = c
			}
		}
		return pr
	}

	own := probe(0)
	p := &collector.Pass{Step: step, Epoch: epoch, Wall: time.Now(),
		Image: own.Image, TrueLabel: own.TrueLabel, Prediction: own.Prediction, Logits: own.Logits, Probs: own.Probs}
	for k, l := range head {
		lp := collector.LayerPass{
			Input: own.Layers[k].Input, Output: own.Layers[k].Output,
			Weight: t.download(l.Weight.W), Bias: t.download(l.Bias.W),
		}
		if t.cfg.Gradients {
			lp.GradWeight, lp.GradBias = t.download(l.Weight.G), t.download(l.Bias.G)
		}
		p.Layers = append(p.Layers, lp)
	}
	for j := 1; j < cs.probes; j++ {
		p.Probes = append(p.Probes, probe(j))
	}
	if n := len(cs.rows) - cs.probes; n > 0 {
		for _, l := range head[1:] {
			// The health batch's rows of the next layer's input: the hidden
			// layer's activation after its activation function.
			a := t.download(l.LastInput().Data.Slice(cs.probes*l.In, n*l.In))
			p.Health = append(p.Health, health(a, n, l.In))
		}
	}
	return collector.Reduce(p, t.fullHead(), t.cfg.NeuronCap)
}

// health measures one hidden layer over a batch: a holds n rows of width
// activations.
func health(a []float32, n, width int) collector.LayerHealth {
	h := collector.LayerHealth{Mean: make([]float32, width), Active: make([]float32, width), Std: make([]float32, width)}
	sum, sq := make([]float64, width), make([]float64, width)
	active := make([]int, width)
	for r := range n {
		for c, v := range a[r*width : (r+1)*width] {
			sum[c] += float64(v)
			sq[c] += float64(v) * float64(v)
			if v > 0 {
				active[c]++
			}
		}
	}
	for c := range width {
		mean := sum[c] / float64(n)
		h.Mean[c] = float32(mean)
		h.Active[c] = float32(active[c]) / float32(n)
		h.Std[c] = float32(math.Sqrt(max(sq[c]/float64(n)-mean*mean, 0)))
	}
	return h
}

// download copies a tensor's values to a new slice on the host.
func (t *Trainer) download(x backend.Tensor) []float32 {
	v := make([]float32, x.Len())
	t.be.Download(v, x)
	return v
}
