package scene

import (
	"errors"
	"math"
	"testing"

	"github.com/mlpviz/mlpviz/collector"
)

// tinyPass is a 2-3-2 head with distinct values everywhere.
func tinyPass(scale float32, grads bool) *collector.Pass {
	l1 := collector.LayerPass{
		Input: []float32{1, 2}, Output: []float32{3, -1, 0.5},
		Weight: []float32{1, -2, 3, -4, 5, -6}, Bias: []float32{0.1, 0.2, 0.3},
	}
	l2 := collector.LayerPass{
		Input: []float32{3, 0, 0.5}, Output: []float32{2, -2},
		Weight: []float32{1, 2, 3, 4, 5, 6}, Bias: []float32{-1, 1},
	}
	for _, l := range []*collector.LayerPass{&l1, &l2} {
		for i := range l.Weight {
			l.Weight[i] *= scale
		}
		if grads {
			l.GradWeight = make([]float32, len(l.Weight))
			l.GradBias = make([]float32, len(l.Bias))
			for i := range l.GradWeight {
				l.GradWeight[i] = float32(i) * 0.01
			}
			for i := range l.GradBias {
				l.GradBias[i] = -float32(i) * 0.1
			}
		}
	}
	return &collector.Pass{Layers: []collector.LayerPass{l1, l2}, Probs: []float32{0.9, 0.1}, Logits: []float32{2, -2}}
}

func TestDeriveModes(t *testing.T) {
	p := tinyPass(1, true)
	if d, err := Derive(ViewActivations, p, nil, nil); err != nil || d.Pass != p {
		t.Fatalf("activations: got %p, %v; want the pass itself", d.Pass, err)
	}
	g, err := Derive(ViewGradients, p, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if g.Pass.Layers[1].Weight[5] != p.Layers[1].GradWeight[5] || g.Pass.Probs != nil {
		t.Errorf("gradients: weights %v, probs %v", g.Pass.Layers[1].Weight, g.Pass.Probs)
	}
	// Hidden neurons show Linear 1's ∂L/∂b, outputs Linear 2's; the input
	// keeps its activation; the original pass is untouched.
	if got := g.Pass.Layers[1].Input; got[2] != p.Layers[0].GradBias[2] {
		t.Errorf("gradients: hidden values %v, want Linear 1's bias gradients", got)
	}
	if got := g.Pass.Layers[1].Output; got[1] != p.Layers[1].GradBias[1] {
		t.Errorf("gradients: output values %v", got)
	}
	if p.Layers[1].Input[2] != 0.5 || p.Probs == nil {
		t.Error("Derive changed the pass it was given")
	}
	if _, err := Derive(ViewGradients, tinyPass(1, false), nil, nil); !errors.Is(err, ErrNoGradients) {
		t.Errorf("gradients of a run without them: %v, want ErrNoGradients", err)
	}

	b, _ := Derive(ViewBiases, p, nil, nil)
	if b.Pass.Layers[1].Input[0] != 0.1 || b.Pass.Layers[1].Output[0] != -1 || b.Pass.Layers[1].Weight[0] != 1 {
		t.Errorf("biases: hidden %v output %v", b.Pass.Layers[1].Input, b.Pass.Layers[1].Output)
	}

	// Every weight grew by 1 % over ten steps: 0.1 % a step, a ratio of
	// exactly HealthyUpdate, the middle of the scale.
	later := tinyPass(1.01, false)
	later.Step, p.Step = 20, 10
	u, err := Derive(ViewUpdates, later, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if u.Fixed != UpdateDecades {
		t.Errorf("updates: fixed scale %v", u.Fixed)
	}
	for k, l := range u.Pass.Layers {
		for i, v := range l.Weight {
			if math.Abs(float64(v)) > 1e-2 { // float32 rounding of a 1 % change
				t.Fatalf("updates: layer %d weight %d is %v, want 0 (ratio 1e-3 a step)", k, i, v)
			}
		}
	}
	if _, err := Derive(ViewUpdates, p, nil, nil); err == nil {
		t.Error("updates without a pass before: no error")
	}
	same, _ := Derive(ViewUpdates, p, p, nil)
	if v := same.Pass.Layers[0].Weight[0]; v != -UpdateDecades {
		t.Errorf("no change: %v, want the bottom of the scale", v)
	}

	c, err := Derive(ViewChange, tinyPass(2, false), nil, p)
	if err != nil {
		t.Fatal(err)
	}
	if v := c.Pass.Layers[0].Weight[1]; v != -2 {
		t.Errorf("change: Δw %v, want -2", v)
	}
	other := tinyPass(1, false)
	other.Layers[0].Bias = other.Layers[0].Bias[:2]
	if _, err := Derive(ViewChange, p, nil, other); err == nil {
		t.Error("change against a pass of another shape: no error")
	}
}

// A derived pass has no probabilities, so its output neurons are coloured
// on the diverging scale; a fixed scale replaces every range.
func TestGeometryDerived(t *testing.T) {
	l, err := NewLayout([]collector.LinearShape{{In: 2, Out: 3}, {In: 3, Out: 2}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := NewGeometry(l)
	p := tinyPass(1, false)
	g.Build(p, PerLayer)
	out := l.Layers[2].First
	if g.NeuronVerts[4*out].Custom3 != FlagOutput {
		t.Fatal("the pass's own output is not drawn as probabilities")
	}
	u, _ := Derive(ViewUpdates, tinyPass(1.01, false), p, nil)
	g.Fixed = u.Fixed
	g.Build(u.Pass, PerLayer)
	if g.NeuronVerts[4*out].Custom3 != FlagHidden {
		t.Error("a derived output is drawn as probabilities")
	}
	for k, r := range g.Ranges {
		if r != UpdateDecades {
			t.Errorf("range %d is %v with a fixed scale", k, r)
		}
	}
	for k, s := range g.WeightScales {
		if s != UpdateDecades {
			t.Errorf("weight scale %d is %v with a fixed scale", k, s)
		}
	}
}
