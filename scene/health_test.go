package scene

import (
	"math"
	"testing"

	"github.com/mlpviz/mlpviz/collector"
)

// withHealth gives every hidden layer of p a health record over a batch:
// in hidden layer 1 neuron 0 dead and neuron 1 saturated, in hidden layer 3
// neuron 4 dead; every other neuron healthy (active for half the images,
// with spread).
func withHealth(p *collector.Pass, head []collector.LinearShape) *collector.Pass {
	for h := 0; h+1 < len(head); h++ {
		n := head[h].Out
		lh := collector.LayerHealth{Mean: make([]float32, n), Active: make([]float32, n), Std: make([]float32, n)}
		for i := range n {
			lh.Mean[i], lh.Active[i], lh.Std[i] = 0.4, 0.5, 0.3
		}
		p.Health = append(p.Health, lh)
	}
	p.Health[0].Active[0], p.Health[0].Mean[0], p.Health[0].Std[0] = 0, 0, 0
	p.Health[0].Active[1], p.Health[0].Mean[1], p.Health[0].Std[1] = 1, 2.5, 0
	p.Health[2].Active[4], p.Health[2].Mean[4], p.Health[2].Std[4] = 0, 0, 0
	return p
}

// TestGeometryHealthFlags: a pass with health marks its dead and saturated
// hidden neurons, by collector's rule, and counts them; in a derived pass
// (any view mode) the marks stay; a pass without health, or one whose
// health does not match the layout, marks none.
func TestGeometryHealthFlags(t *testing.T) {
	l, _ := NewLayout(cnnHead, Options{})
	g := NewGeometry(l)
	p := withHealth(randomPass(cnnHead, 3), cnnHead)
	flag := func(k, i int) float32 { return g.NeuronVerts[4*(l.Layers[k].First+i)].Custom3 }

	g.Build(p, PerLayer)
	if !g.Health || g.Dead != 2 || g.Saturated != 1 {
		t.Fatalf("health %v, %d dead, %d saturated; want true, 2, 1", g.Health, g.Dead, g.Saturated)
	}
	if flag(1, 0) != FlagDead || flag(1, 1) != FlagSaturated || flag(3, 4) != FlagDead {
		t.Fatalf("flags %v %v %v, want dead, saturated, dead", flag(1, 0), flag(1, 1), flag(3, 4))
	}
	if flag(1, 2) != FlagHidden || flag(0, 0) != FlagHidden || flag(5, 3) != FlagOutput {
		t.Fatalf("healthy, input and output neurons flagged %v %v %v", flag(1, 2), flag(0, 0), flag(5, 3))
	}
	// The colour value is still the activation: the mark goes over it.
	if v := g.NeuronVerts[4*(l.Layers[1].First+1)].Custom0; v != p.Layers[1].Input[1] {
		t.Fatalf("saturated neuron's value %v, want its activation %v", v, p.Layers[1].Input[1])
	}
	for _, hl := range p.Health {
		for i := range hl.Active {
			if hl.Dead(i) && hl.Saturated(i) {
				t.Fatal("the test's health has a neuron both dead and saturated")
			}
		}
	}

	// Non-finite wins over a mark: magenta says more.
	p.Layers[1].Input[0] = float32(math.NaN())
	g.Build(p, PerLayer)
	if flag(1, 0) != FlagNonFinal || g.Dead != 1 {
		t.Fatalf("a NaN dead neuron: flag %v, %d dead; want non-finite, 1", flag(1, 0), g.Dead)
	}
	p.Layers[1].Input[0] = 0

	for _, mode := range ViewModes() {
		d, err := Derive(mode, p, p, p)
		if err != nil {
			continue // gradients: this pass has none
		}
		g.Build(d.Pass, PerLayer)
		if flag(1, 0) != FlagDead || flag(1, 1) != FlagSaturated || g.Dead != 2 {
			t.Errorf("%v: flags %v %v, %d dead; the marks belong in every mode", mode, flag(1, 0), flag(1, 1), g.Dead)
		}
	}

	bad := withHealth(randomPass(cnnHead, 3), cnnHead)
	bad.Health[0].Std = bad.Health[0].Std[:3] // not the layer's size: ignored, not a panic
	g.Build(bad, PerLayer)
	if flag(1, 0) != FlagHidden || flag(3, 4) != FlagDead || g.Dead != 1 {
		t.Fatalf("mismatched health: flags %v %v, %d dead; want layer 1 unmarked, layer 3 marked", flag(1, 0), flag(3, 4), g.Dead)
	}

	g.Build(randomPass(cnnHead, 3), PerLayer)
	if g.Health || g.Dead != 0 || g.Saturated != 0 || flag(1, 0) != FlagHidden {
		t.Fatalf("a pass without health: health %v, %d dead, %d saturated", g.Health, g.Dead, g.Saturated)
	}
}

// TestDescribeHealth: the tooltip's facts about a hidden neuron's health
// come from the pass, by collector's rule.
func TestDescribeHealth(t *testing.T) {
	l, _ := NewLayout(cnnHead, Options{})
	p := withHealth(randomPass(cnnHead, 5), cnnHead)
	p.Health[1].Active[6], p.Health[1].Mean[6] = 0.37, 0.21
	for _, c := range []struct {
		k, i            int
		has             bool
		active, mean    float32
		dead, saturated bool
	}{
		{1, 0, true, 0, 0, true, false},
		{1, 1, true, 1, 2.5, false, true},
		{2, 6, true, 0.37, 0.21, false, false},
		{0, 6, false, 0, 0, false, false}, // an input has no health
		{5, 0, false, 0, 0, false, false}, // nor has an output
	} {
		info, ok := Describe(l, p, l.Layers[c.k].First+c.i, 3)
		if !ok || info.HasHealth != c.has || info.Active != c.active || info.Mean != c.mean ||
			info.Dead != c.dead || info.Saturated != c.saturated {
			t.Errorf("layer %d neuron %d: %+v", c.k, c.i, info)
		}
	}
	info, _ := Describe(l, randomPass(cnnHead, 5), l.Layers[1].First, 3)
	if info.HasHealth {
		t.Error("a pass without health described one")
	}
}
