package trainer

import (
	"time"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/trainer/nn"
)

// Capture runs test image i through the model in eval mode and records the
// head as it saw that one image: every Linear layer's input and output,
// weights and biases (and gradients of the last training step when asked),
// plus logits, probabilities and the prediction. Loss and accuracy are left
// for the caller, which keeps the running figures. The pass is reduced to
// the neuron cap, so that it fits Architecture().Head as a run file holds
// it.
func (t *Trainer) Capture(i, step, epoch int) *collector.Pass {
	test := &t.data.Test
	sh := t.data.Shape
	sample := sh[0] * sh[1] * sh[2]
	x := &nn.Tensor{Shape: []int{1, sh[0], sh[1], sh[2]}, Data: make([]float32, sample)}
	t.data.Fill(x.Data, test, i, nil)
	label := []int32{int32(test.Labels[i])}
	t.Model.Loss(x, label, false)

	p := &collector.Pass{Step: step, Epoch: epoch, Wall: time.Now(), TrueLabel: int(label[0])}
	p.Image = make([]float32, sample)
	t.data.Raw(p.Image, test, i)
	p.Probs = clone(t.Model.Probs().Data)
	head := t.Model.Head()
	for _, l := range head {
		lp := collector.LayerPass{
			Input:  clone(l.LastInput().Data),
			Output: clone(l.LastOutput().Data),
			Weight: clone(l.Weight.W),
			Bias:   clone(l.Bias.W),
		}
		if t.cfg.Gradients {
			lp.GradWeight, lp.GradBias = clone(l.Weight.G), clone(l.Bias.G)
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

func clone(s []float32) []float32 { return append([]float32(nil), s...) }
