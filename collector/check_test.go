package collector

import (
	"math"
	"strings"
	"testing"
)

// checkArch is a 4-16-3 head on 1x2x2 images of three classes.
func checkArch() *Architecture {
	return &Architecture{
		InputShape: [3]int{1, 2, 2},
		ClassNames: []string{"a", "b", "c"},
		Head:       []LinearShape{{In: 4, Out: 16}, {In: 16, Out: 3}},
	}
}

// checkArchSet is checkArch with a probe set of 3 and a health batch.
func checkArchSet() *Architecture {
	a := checkArch()
	a.Probes, a.HealthBatch = 3, 8
	return a
}

// checkPassSet fits checkArchSet: checkPass with two more probes and the
// health of its hidden layer.
func checkPassSet() *Pass {
	p := checkPass()
	for range 2 {
		pr := Probe{Image: make([]float32, 4), Logits: make([]float32, 3), Probs: make([]float32, 3)}
		for _, h := range checkArch().Head {
			pr.Layers = append(pr.Layers, ProbeLayer{Input: make([]float32, h.In), Output: make([]float32, h.Out)})
		}
		p.Probes = append(p.Probes, pr)
	}
	p.Health = []LayerHealth{{Mean: make([]float32, 16), Active: make([]float32, 16), Std: make([]float32, 16)}}
	p.Health[0].Active[3] = 1
	return p
}

// checkPass fits checkArch, gradients included.
func checkPass() *Pass {
	p := &Pass{Step: 120, Image: make([]float32, 4), Logits: make([]float32, 3), Probs: make([]float32, 3)}
	for _, h := range checkArch().Head {
		p.Layers = append(p.Layers, LayerPass{
			Input:      make([]float32, h.In),
			Output:     make([]float32, h.Out),
			Weight:     make([]float32, h.In*h.Out),
			Bias:       make([]float32, h.Out),
			GradWeight: make([]float32, h.In*h.Out),
			GradBias:   make([]float32, h.Out),
		})
	}
	return p
}

func TestCheckAccepts(t *testing.T) {
	a := checkArch()
	for _, c := range []struct {
		name string
		edit func(p *Pass)
	}{
		{"full", func(*Pass) {}},
		{"no gradients", func(p *Pass) {
			for i := range p.Layers {
				p.Layers[i].GradWeight, p.Layers[i].GradBias = nil, nil
			}
		}},
		{"no image, logits or probs", func(p *Pass) { p.Image, p.Logits, p.Probs = nil, nil, nil }},
	} {
		p := checkPass()
		c.edit(p)
		if err := a.Check(p); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// Unknown classes: any number of logits.
	a.ClassNames = nil
	p := checkPass()
	p.Logits = make([]float32, 7)
	if err := a.Check(p); err != nil {
		t.Errorf("unknown classes: %v", err)
	}

	// A probe set and health: whole, or left out as a whole.
	for _, c := range []struct {
		name string
		edit func(p *Pass)
	}{
		{"probes and health", func(*Pass) {}},
		{"no probes", func(p *Pass) { p.Probes = nil }},
		{"no health", func(p *Pass) { p.Health = nil }},
		{"probe without image, logits or probs", func(p *Pass) { p.Probes[1].Image, p.Probes[1].Logits, p.Probes[1].Probs = nil, nil, nil }},
	} {
		p := checkPassSet()
		c.edit(p)
		if err := checkArchSet().Check(p); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// Unknown classes: a probe's logits are one per output of the last layer.
	a = checkArchSet()
	a.ClassNames = nil
	if err := a.Check(checkPassSet()); err != nil {
		t.Errorf("probes, unknown classes: %v", err)
	}
}

func TestCheckRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(p *Pass)
		want string
	}{
		{"nil", nil, "no pass"},
		{"layers", func(p *Pass) { p.Layers = p.Layers[:1] }, "pass at step 120 has 1 layer, the head has 2"},
		{"input", func(p *Pass) { p.Layers[0].Input = p.Layers[0].Input[:3] }, "pass at step 120: layer 1 input has 3 values, the head's 4x16 layer takes 4"},
		{"output", func(p *Pass) { p.Layers[1].Output = nil }, "layer 2 output has 0 values, the head's 16x3 layer takes 3"},
		{"weight", func(p *Pass) { p.Layers[1].Weight = make([]float32, 47) }, "layer 2 weight has 47 values, the head's 16x3 layer takes 48"},
		{"bias", func(p *Pass) { p.Layers[0].Bias = make([]float32, 1) }, "layer 1 bias has 1 value, the head's 4x16 layer takes 16"},
		{"weight gradient", func(p *Pass) { p.Layers[0].GradWeight = make([]float32, 4) }, "layer 1 weight gradient has 4 values, the head's 4x16 layer takes 64"},
		{"bias gradient", func(p *Pass) { p.Layers[1].GradBias = make([]float32, 16) }, "layer 2 bias gradient has 16 values, the head's 16x3 layer takes 3"},
		{"image", func(p *Pass) { p.Image = make([]float32, 5) }, "pass at step 120: image has 5 values, the 1x2x2 input takes 4"},
		{"logits", func(p *Pass) { p.Logits = make([]float32, 2) }, "pass at step 120: logits has 2 values for 3 classes"},
		{"probs", func(p *Pass) { p.Probs = make([]float32, 10) }, "pass at step 120: probs has 10 values for 3 classes"},
	} {
		var p *Pass
		if c.edit != nil {
			p = checkPass()
			c.edit(p)
		}
		err := checkArch().Check(p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

func TestCheckRefusesProbesAndHealth(t *testing.T) {
	for _, c := range []struct {
		name string
		arch func(a *Architecture)
		edit func(p *Pass)
		want string
	}{
		{"probe count", nil, func(p *Pass) { p.Probes = p.Probes[:1] }, "pass at step 120 holds 2 probes, the run's probe set has 3"},
		{"no probe set", func(a *Architecture) { a.Probes = 0 }, nil, "pass at step 120 holds 3 probes, the run's probe set has 1"},
		{"probe image", nil, func(p *Pass) { p.Probes[0].Image = make([]float32, 3) }, "pass at step 120: probe 2 image has 3 values, the 1x2x2 input takes 4"},
		{"probe probs", nil, func(p *Pass) { p.Probes[1].Probs = make([]float32, 2) }, "pass at step 120: probe 3 probs has 2 values for 3 classes"},
		{"probe logits, unknown classes", func(a *Architecture) { a.ClassNames = nil }, func(p *Pass) { p.Probes[1].Logits = make([]float32, 4) },
			"pass at step 120: probe 3 logits has 4 values for 3 classes"},
		{"probe layers", nil, func(p *Pass) { p.Probes[1].Layers = nil }, "pass at step 120: probe 3 has 0 layers, the head has 2"},
		{"probe input", nil, func(p *Pass) { p.Probes[0].Layers[1].Input = make([]float32, 15) },
			"pass at step 120: probe 2 layer 2 input has 15 values, the head's 16x3 layer takes 16"},
		{"probe output", nil, func(p *Pass) { p.Probes[0].Layers[0].Output = nil },
			"pass at step 120: probe 2 layer 1 output has 0 values, the head's 4x16 layer takes 16"},
		{"no health batch", func(a *Architecture) { a.HealthBatch = 0 }, nil, "pass at step 120 holds neuron health, the run measures none (its health batch is 0)"},
		{"health layers", nil, func(p *Pass) { p.Health = append(p.Health, p.Health[0]) }, "pass at step 120 has the health of 2 hidden layers, the head has 1"},
		{"health mean", nil, func(p *Pass) { p.Health[0].Mean = make([]float32, 4) }, "pass at step 120: hidden layer 1 health mean has 4 values, the layer has 16 neurons"},
		{"health active", nil, func(p *Pass) { p.Health[0].Active = nil }, "hidden layer 1 health active fraction has 0 values, the layer has 16 neurons"},
		{"health std", nil, func(p *Pass) { p.Health[0].Std = make([]float32, 17) }, "hidden layer 1 health deviation has 17 values"},
		{"active above 1", nil, func(p *Pass) { p.Health[0].Active[2] = 1.5 }, "pass at step 120: hidden layer 1 neuron 3 is active for a fraction 1.5 of the images, not within 0 to 1"},
		{"active NaN", nil, func(p *Pass) { p.Health[0].Active[0] = float32(math.NaN()) }, "hidden layer 1 neuron 1 is active for a fraction NaN"},
	} {
		a, p := checkArchSet(), checkPassSet()
		if c.arch != nil {
			c.arch(a)
		}
		if c.edit != nil {
			c.edit(p)
		}
		err := a.Check(p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}
