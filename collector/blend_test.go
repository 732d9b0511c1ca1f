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
