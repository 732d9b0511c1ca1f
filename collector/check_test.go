package collector

import (
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
