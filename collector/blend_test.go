package collector

import "testing"

func TestBlend(t *testing.T) {
	a := &Pass{Step: 10, TrueLabel: 1, Loss: 2, Probs: []float32{1, 0}, Layers: []LayerPass{{Weight: []float32{0, 4}, Bias: []float32{1}}}}
	b := &Pass{Step: 20, TrueLabel: 2, Loss: 1, Probs: []float32{0, 1}, Layers: []LayerPass{{Weight: []float32{2, 0}, Bias: []float32{3}}}}
	m := Blend(a, b, 0.25)
	if m.Step != 10 || m.TrueLabel != 1 || m.Loss != 1.75 {
		t.Fatalf("near-pass fields or loss wrong: %+v", m)
	}
	if w := m.Layers[0].Weight; w[0] != 0.5 || w[1] != 3 || m.Layers[0].Bias[0] != 1.5 || m.Probs[1] != 0.25 {
		t.Fatalf("blend at 0.25: weight %v bias %v probs %v", w, m.Layers[0].Bias, m.Probs)
	}
	if Blend(a, b, 0.75).Step != 20 || a.Layers[0].Weight[0] != 0 {
		t.Fatal("blend changed its input or picked the wrong near pass")
	}
}

func TestBlendProbesAndHealth(t *testing.T) {
	probe := func(label int, v float32) Probe {
		return Probe{TrueLabel: label, Probs: []float32{v}, Layers: []ProbeLayer{{Input: []float32{v}, Output: []float32{2 * v}}}}
	}
	health := func(active, mean float32) []LayerHealth {
		return []LayerHealth{{Active: []float32{0, 1, active}, Mean: []float32{0, 5, mean}, Std: []float32{0, 0, 1}}}
	}
	a := &Pass{Step: 10, Probes: []Probe{probe(1, 0)}, Health: health(0, 0)}
	b := &Pass{Step: 20, Probes: []Probe{probe(2, 4)}, Health: health(1, 4)}
	m := Blend(a, b, 0.25)
	pr := m.Probes[0]
	if pr.TrueLabel != 1 || pr.Probs[0] != 1 || pr.Layers[0].Input[0] != 1 || pr.Layers[0].Output[0] != 2 {
		t.Fatalf("blended probe %+v", pr)
	}
	h := m.Health[0]
	if h.Active[2] != 0.25 || h.Mean[2] != 1 || !h.Dead(0) || !h.Saturated(1) {
		t.Fatalf("blended health %+v", h)
	}
	if a.Probes[0].Probs[0] != 0 || a.Health[0].Active[2] != 0 {
		t.Fatal("Blend changed its input")
	}
	// Of other sizes: the nearer pass's, unblended.
	b.Probes = append(b.Probes, probe(3, 1))
	b.Health = nil
	if m := Blend(a, b, 0.75); len(m.Probes) != 2 || m.Probes[0].Probs[0] != 4 || m.Health != nil {
		t.Fatalf("blend of probe sets of other sizes: %+v", m)
	}
}
