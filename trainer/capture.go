package trainer

import (
	"time"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/trainer/backend"
)

// Capture runs test image i through the model in eval mode and records the
// head as it saw that one image: every Linear layer's input and output,
// weights and biases (and gradients of the last training step when asked),
// plus logits, probabilities and the prediction. Loss and accuracy are left
// for the caller, which keeps the running figures. The pass is reduced to
// the neuron cap, so that it fits Architecture().Head as a run file holds
// it. Its values come from the backend's Downloads: a caller checks the
// backend's Err before it trusts them.
func (t *Trainer) Capture(i, step, epoch int) *collector.Pass {
	test := &t.data.Test
	if t.probe == nil {
		t.probe = newBatch(t.be, t.data, 1)
		t.probeFigures = t.be.AllocFloat64(2)
	}
	x, label := t.probe.load(test, []int{i}, nil)
	t.Model.Loss(x, label, false, t.probeFigures)

	p := &collector.Pass{Step: step, Epoch: epoch, Wall: time.Now(), TrueLabel: int(test.Labels[i])}
	p.Image = make([]float32, x.Data.Len())
	t.data.Raw(p.Image, test, i)
	p.Probs = t.download(t.Model.Probs().Data)
	head := t.Model.Head()
	for _, l := range head {
		lp := collector.LayerPass{
			Input:  t.download(l.LastInput().Data),
			Output: t.download(l.LastOutput().Data),
			Weight: t.download(l.Weight.W),
			Bias:   t.download(l.Bias.W),
		}
		if t.cfg.Gradients {
			lp.GradWeight, lp.GradBias = t.download(l.Weight.G), t.download(l.Bias.G)
		}
		p.Layers = append(p.Layers, lp)
	}
	p.Logits = clone(p.Layers[len(p.Layers)-1].Output)
	for j, v := range p.Probs {
		if v > p.Probs[p.Prediction] {
			p.Prediction = j
		}
	}
	return collector.Reduce(p, t.fullHead(), t.cfg.NeuronCap)
}

// download copies a tensor's values to a new slice on the host.
func (t *Trainer) download(x backend.Tensor) []float32 {
	v := make([]float32, x.Len())
	t.be.Download(v, x)
	return v
}

func clone(s []float32) []float32 { return append([]float32(nil), s...) }
