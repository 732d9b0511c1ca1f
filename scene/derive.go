package scene

import (
	"errors"
	"fmt"
	"math"

	"github.com/mlpviz/mlpviz/collector"
)

// ViewMode is what the network view colours: the geometry draws a pass's
// weights on the connections and its layer values on the neurons, so each
// mode is a pass whose weights and values hold that mode's quantity
// (Derive).
type ViewMode int

const (
	// ViewActivations: neurons by activation, connections by weight.
	ViewActivations ViewMode = iota
	// ViewGradients: connections by the last step's ∂L/∂w, neurons by ∂L/∂b.
	ViewGradients
	// ViewUpdates: connections by |Δw|/|w| per step since the pass before,
	// neurons by ‖ΔW‖/‖W‖ per step of their incoming row, on a log scale
	// around 1e-3.
	ViewUpdates
	// ViewBiases: neurons by their bias, connections by weight.
	ViewBiases
	// ViewChange: connections by Δw and neurons by Δa against a reference
	// pass (the pinned one, or the other run's).
	ViewChange
	numViewModes
)

// ViewModes lists the modes in the order the view's control shows them.
func ViewModes() []ViewMode {
	m := make([]ViewMode, numViewModes)
	for i := range m {
		m[i] = ViewMode(i)
	}
	return m
}

func (m ViewMode) String() string {
	switch m {
	case ViewGradients:
		return "gradients"
	case ViewUpdates:
		return "updates"
	case ViewBiases:
		return "biases"
	case ViewChange:
		return "change"
	}
	return "activations"
}

// HealthyUpdate is the update-to-weight ratio practitioners aim for; the
// updates view centres its scale on it.
const HealthyUpdate = 1e-3

// UpdateDecades is how many decades either side of HealthyUpdate the
// updates view's scale spans: values in that view are log10(ratio /
// HealthyUpdate), clamped to ±UpdateDecades.
const UpdateDecades = 3

// Derived is a pass prepared for a view mode.
type Derived struct {
	// Pass holds the mode's quantity in its weights (connections) and in
	// its layer values (neurons: Layers[k].Input for the input and hidden
	// layers, the last layer's Output for the output). It has no Probs, so
	// the output is coloured like any layer, except in ViewActivations,
	// where it is the pass itself.
	Pass *collector.Pass
	// Fixed, when > 0, is the magnitude at the ends of every colour scale
	// of the mode (weights and neurons alike) instead of each layer's
	// spread: the updates view's decades.
	Fixed float32
}

// ErrNoGradients is returned for ViewGradients when the run recorded none.
var ErrNoGradients = errors.New("this run recorded no gradients (train with --gradients)")

// Derive prepares pass p for mode. prev is the pass before p (ViewUpdates);
// ref is the reference pass (ViewChange). A mode that p cannot show returns
// an error that says why, in words for the view's banner.
func Derive(mode ViewMode, p, prev, ref *collector.Pass) (Derived, error) {
	if p == nil {
		return Derived{}, errors.New("no pass")
	}
	switch mode {
	case ViewGradients:
		return gradients(p)
	case ViewUpdates:
		if prev == nil {
			return Derived{}, errors.New("updates need the pass before this one")
		}
		if err := sameShape(p, prev); err != nil {
			return Derived{}, err
		}
		return updates(p, prev), nil
	case ViewBiases:
		return biases(p), nil
	case ViewChange:
		if ref == nil {
			return Derived{}, errors.New("no reference pass")
		}
		if err := sameShape(p, ref); err != nil {
			return Derived{}, err
		}
		return Difference(ref, p), nil
	}
	return Derived{Pass: p}, nil
}

// frame returns a copy of p with no probabilities or further probes and
// its own Layers slice, ready for a mode to replace weights and values.
func frame(p *collector.Pass) *collector.Pass {
	q := *p
	q.Probs, q.Probes = nil, nil
	q.Layers = append([]collector.LayerPass(nil), p.Layers...)
	return &q
}

// setNeurons sets the values of layers 1.. (hidden and output) from one
// slice per Linear layer: values[k] colours the neurons Linear k feeds.
// The input layer keeps the probe's activation.
func setNeurons(q *collector.Pass, values [][]float32) {
	last := len(q.Layers) - 1
	for k, v := range values {
		if k < last {
			q.Layers[k+1].Input = v
		} else {
			q.Layers[k].Output = v
		}
	}
}

func gradients(p *collector.Pass) (Derived, error) {
	q := frame(p)
	values := make([][]float32, len(p.Layers))
	for k, l := range p.Layers {
		if len(l.GradWeight) != len(l.Weight) || len(l.GradBias) != len(l.Bias) {
			return Derived{}, ErrNoGradients
		}
		q.Layers[k].Weight = l.GradWeight
		values[k] = l.GradBias
	}
	setNeurons(q, values)
	return Derived{Pass: q}, nil
}

func biases(p *collector.Pass) Derived {
	q := frame(p)
	values := make([][]float32, len(p.Layers))
	for k, l := range p.Layers {
		values[k] = l.Bias
	}
	setNeurons(q, values)
	return Derived{Pass: q}
}

// updates holds log10(r / HealthyUpdate) per connection, where r is
// |Δw|/|w| per training step, and, per neuron, the same of its incoming
// row's norms, clamped to ±UpdateDecades. Passes lie --interval steps
// apart: the change between them is divided by the steps between them, so
// that 1e-3 means what practitioners mean by it, a step's update. (Adam's
// steps mostly keep their direction over a few dozen steps, so their sum
// grows about linearly; a random walk would grow as the square root, and
// would read low here.)
func updates(p, prev *collector.Pass) Derived {
	q := frame(p)
	perStep := 1 / float64(max(p.Step-prev.Step, 1))
	values := make([][]float32, len(p.Layers))
	for k, l := range p.Layers {
		w, w0 := l.Weight, prev.Layers[k].Weight
		out := len(l.Bias)
		in := len(w) / max(out, 1)
		ratio := make([]float32, len(w))
		rows := make([]float32, out)
		for o := range out {
			var dd, ww float64
			for j := o * in; j < (o+1)*in; j++ {
				d := float64(w[j]) - float64(w0[j])
				ratio[j] = updateScale(math.Abs(d)*perStep, math.Abs(float64(w[j])))
				dd += d * d
				ww += float64(w[j]) * float64(w[j])
			}
			rows[o] = updateScale(math.Sqrt(dd)*perStep, math.Sqrt(ww))
		}
		q.Layers[k].Weight = ratio
		values[k] = rows
	}
	setNeurons(q, values)
	return Derived{Pass: q, Fixed: UpdateDecades}
}

// updateScale maps a change d of a magnitude w to the updates view's
// scale. No change is the bottom of the scale; a change of a zero weight
// its top.
func updateScale(d, w float64) float32 {
	switch {
	case d == 0:
		return -UpdateDecades
	case w == 0:
		return UpdateDecades
	}
	v := math.Log10(d / w / HealthyUpdate)
	if math.IsNaN(v) {
		return float32(math.NaN()) // a non-finite weight stays visible as such
	}
	return float32(min(max(v, -UpdateDecades), UpdateDecades))
}

// Difference is b − a: weights, biases, every layer's input and output and
// the logits, for comparing a pass with a reference (ViewChange) or one
// run with another. a and b must have the same shape (SameShape).
func Difference(a, b *collector.Pass) Derived {
	q := frame(b)
	for k := range b.Layers {
		la, lb := &a.Layers[k], &b.Layers[k]
		q.Layers[k] = collector.LayerPass{
			Input:  sub(lb.Input, la.Input),
			Output: sub(lb.Output, la.Output),
			Weight: sub(lb.Weight, la.Weight),
			Bias:   sub(lb.Bias, la.Bias),
		}
		if len(la.GradWeight) == len(lb.GradWeight) && len(la.GradBias) == len(lb.GradBias) {
			q.Layers[k].GradWeight = sub(lb.GradWeight, la.GradWeight)
			q.Layers[k].GradBias = sub(lb.GradBias, la.GradBias)
		}
	}
	q.Logits = sub(b.Logits, a.Logits)
	return Derived{Pass: q}
}

func sub(b, a []float32) []float32 {
	if len(a) != len(b) {
		return nil
	}
	d := make([]float32, len(b))
	for i := range b {
		d[i] = b[i] - a[i]
	}
	return d
}

// sameShape checks that two passes have layers of the same sizes, so that
// one can be compared with the other value by value.
func sameShape(a, b *collector.Pass) error {
	if len(a.Layers) != len(b.Layers) {
		return fmt.Errorf("the passes have %d and %d layers", len(b.Layers), len(a.Layers))
	}
	for k := range a.Layers {
		la, lb := &a.Layers[k], &b.Layers[k]
		if len(la.Weight) != len(lb.Weight) || len(la.Bias) != len(lb.Bias) ||
			len(la.Input) != len(lb.Input) || len(la.Output) != len(lb.Output) {
			return fmt.Errorf("layer %d differs in size (%d×%d against %d×%d)", k+1,
				len(lb.Bias), len(lb.Input), len(la.Bias), len(la.Input))
		}
	}
	return nil
}
