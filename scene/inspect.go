package scene

import (
	"math"
	"slices"

	"github.com/mlpviz/mlpviz/collector"
)

// Contribution is one incoming connection's share of a neuron's input.
type Contribution struct {
	From   int     // index in the previous layer
	Weight float32 // w
	Input  float32 // a, the source neuron's activation
	Value  float32 // w·a
}

// NeuronInfo is what the tooltip says about one neuron.
type NeuronInfo struct {
	Layer, Index int
	LayerName    string
	Activation   float32 // the value it is coloured by (probability for outputs)
	PreAct       float32 // the Linear layer's output before the activation; NaN for inputs
	Bias         float32 // NaN for the first layer's inputs
	HasBias      bool
	Top          []Contribution // strongest incoming w·a, largest |w·a| first

	// Health over the run's health batch, for a hidden neuron of a pass
	// that measured it (collector.Pass.Health).
	HasHealth       bool
	Mean            float32 // its mean activation
	Active          float32 // the fraction of the images it was active for, 0..1
	Dead, Saturated bool    // by collector's one rule (LayerHealth.Dead, Saturated)
}

// layerHealth is the health of layer k's neurons in pass p, or nil: only
// hidden layers have one (Health[k-1] is about layer k), and only when its
// sizes match the layer's.
func layerHealth(l *Layout, p *collector.Pass, k int) *collector.LayerHealth {
	if p == nil || k < 1 || k >= len(l.Layers)-1 || k-1 >= len(p.Health) {
		return nil
	}
	h := &p.Health[k-1]
	if n := l.Layers[k].N; len(h.Active) != n || len(h.Mean) != n || len(h.Std) != n {
		return nil
	}
	return h
}

// Describe gathers the tooltip for global neuron id in pass p, with up to
// top incoming contributions.
func Describe(l *Layout, p *collector.Pass, id, top int) (NeuronInfo, bool) {
	k, i, ok := l.Locate(id)
	if !ok || p == nil {
		return NeuronInfo{}, false
	}
	info := NeuronInfo{Layer: k, Index: i, LayerName: l.Layers[k].Name, PreAct: float32(math.NaN()), Bias: float32(math.NaN())}
	vals := layerValues(p, k, len(l.Layers))
	if i < len(vals) {
		info.Activation = vals[i]
	}
	if k == 0 {
		return info, true
	}
	if h := layerHealth(l, p, k); h != nil {
		info.HasHealth, info.Mean, info.Active = true, h.Mean[i], h.Active[i]
		info.Dead, info.Saturated = h.Dead(i), h.Saturated(i)
	}
	lp := &p.Layers[k-1]
	in := l.Layers[k-1].N
	if i < len(lp.Output) {
		info.PreAct = lp.Output[i]
	}
	if i < len(lp.Bias) {
		info.Bias, info.HasBias = lp.Bias[i], true
	}
	if (i+1)*in > len(lp.Weight) || len(lp.Input) < in {
		return info, true
	}
	row := lp.Weight[i*in : (i+1)*in]
	cs := make([]Contribution, in)
	for j := range cs {
		cs[j] = Contribution{From: j, Weight: row[j], Input: lp.Input[j], Value: row[j] * lp.Input[j]}
	}
	slices.SortStableFunc(cs, func(a, b Contribution) int {
		x, y := math.Abs(float64(a.Value)), math.Abs(float64(b.Value))
		switch {
		case x > y:
			return -1
		case x < y:
			return 1
		}
		return 0
	})
	info.Top = cs[:min(top, len(cs))]
	return info, true
}
