package collector

import (
	"math"
	"slices"
	"testing"
)

func TestForProbe(t *testing.T) {
	p := checkPassSet()
	for i := range p.Layers {
		p.Layers[i].Input[0], p.Layers[i].Output[0] = 1, 1
	}
	for j := range p.Probes {
		pr := &p.Probes[j]
		pr.TrueLabel, pr.Prediction = j+1, 2-j
		pr.Image[0], pr.Probs[0], pr.Logits[0] = float32(j+2), float32(j+2), float32(j+2)
		for i := range pr.Layers {
			pr.Layers[i].Input[0], pr.Layers[i].Output[0] = float32(j+2), float32(j+2)
		}
	}
	if p.NumProbes() != 3 || (&Pass{}).NumProbes() != 1 {
		t.Fatalf("NumProbes %d, want 3", p.NumProbes())
	}
	for _, j := range []int{0, -1, 3} {
		if p.ForProbe(j) != p {
			t.Fatalf("ForProbe(%d) is not the pass itself", j)
		}
	}
	q := p.ForProbe(2)
	if q == p || q.Step != p.Step || q.TrueLabel != 2 || q.Prediction != 1 || q.Image[0] != 3 || q.Probs[0] != 3 || q.Logits[0] != 3 {
		t.Fatalf("ForProbe(2): %+v", q)
	}
	if q.NumProbes() != 1 || len(q.Health) != 1 || checkArchSet().Check(q) != nil {
		t.Fatalf("ForProbe(2) has %d probes, health %d, check %v", q.NumProbes(), len(q.Health), checkArchSet().Check(q))
	}
	for i, l := range q.Layers {
		if l.Input[0] != 3 || l.Output[0] != 3 || &l.Weight[0] != &p.Layers[i].Weight[0] || &l.GradBias[0] != &p.Layers[i].GradBias[0] {
			t.Fatalf("ForProbe(2) layer %d: activations %v %v, or weights not shared", i, l.Input[0], l.Output[0])
		}
	}
	if p.Layers[0].Input[0] != 1 || p.TrueLabel != 0 || len(p.Probes) != 2 {
		t.Fatal("ForProbe changed the pass")
	}
}

// TestHealthRule pins the dead and saturated rule at its edges.
func TestHealthRule(t *testing.T) {
	nan := float32(math.NaN())
	h := LayerHealth{
		//       dead  dead  alive sat  sat    loose  wide   NaN
		Active: []float32{0, 0, 0.5, 1, 1, 1, 1, 1},
		Mean:   []float32{0, -3, 1, 2, -1000, 2, 2, nan},
		Std:    []float32{0, 0, 0, 0.0029, 0.9, 0.0031, 1, nan},
	}
	var dead, sat []int
	for i := range h.Active {
		if h.Dead(i) {
			dead = append(dead, i)
		}
		if h.Saturated(i) {
			sat = append(sat, i)
		}
	}
	if !slices.Equal(dead, []int{0, 1}) || !slices.Equal(sat, []int{3, 4}) {
		t.Fatalf("dead %v saturated %v, want [0 1] [3 4]", dead, sat)
	}
	if d, s := h.Counts(); d != 2 || s != 2 {
		t.Fatalf("Counts %d %d", d, s)
	}
	p := &Pass{Health: []LayerHealth{h, {Active: []float32{1}, Mean: []float32{0}, Std: []float32{0}}}}
	d, s := p.HealthCounts()
	if !slices.Equal(d, []int{2, 0}) || !slices.Equal(s, []int{2, 1}) {
		t.Fatalf("HealthCounts %v %v", d, s)
	}
	if d, s := (&Pass{}).HealthCounts(); d != nil || s != nil {
		t.Fatal("a pass without health has counts")
	}
}
