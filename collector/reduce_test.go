package collector

import (
	"slices"
	"testing"
)

func TestGroupMeans(t *testing.T) {
	// 7 into 3 groups: sizes 3, 2, 2.
	got := groupMeans([]float32{1, 2, 3, 4, 6, 8, 10}, 3)
	if want := []float32{2, 5, 9}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestAdaptiveAvg(t *testing.T) {
	// PyTorch: adaptive_avg_pool1d([1..5], 3) windows [0,2) [1,4) [3,5).
	got := make([]float32, 3)
	adaptiveAvg([]float32{1, 2, 3, 4, 5}, 3, got)
	if want := []float32{1.5, 3, 4.5}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestReduce(t *testing.T) {
	full := []LinearShape{{In: 5, Out: 4}, {In: 4, Out: 3}}
	w0 := []float32{ // 4×5
		1, 2, 3, 4, 5,
		1, 2, 3, 4, 5,
		0, 0, 0, 0, 0,
		2, 2, 2, 2, 2,
	}
	p := &Pass{Step: 9, Layers: []LayerPass{
		{Input: []float32{1, 2, 3, 4, 5}, Output: []float32{1, 3, 5, 7}, Weight: w0, Bias: []float32{0, 2, 4, 6}},
		{Input: []float32{1, 3, 5, 7}, Output: []float32{1, 2, 3}, Weight: make([]float32, 12), Bias: make([]float32, 3)},
	}}
	q := Reduce(p, full, 2)
	if got := CapHead(full, 2); !slices.Equal(got, []LinearShape{{In: 2, Out: 2}, {In: 2, Out: 3}}) {
		t.Fatalf("capped head %v", got)
	}
	l := q.Layers[0]
	// Input 5→2 by group means (sizes 3, 2): 2, 4.5. Output 4→2: 2, 6.
	if !slices.Equal(l.Input, []float32{2, 4.5}) || !slices.Equal(l.Output, []float32{2, 6}) || !slices.Equal(l.Bias, []float32{1, 5}) {
		t.Fatalf("layer 0 vectors %v %v %v", l.Input, l.Output, l.Bias)
	}
	// Columns 5→2 adaptive ([0,3) [2,5)): rows become (2,4) (2,4) (0,0) (2,2);
	// rows 4→2 by group means: (2,4) and (1,1).
	if !slices.Equal(l.Weight, []float32{2, 4, 1, 1}) {
		t.Fatalf("layer 0 weight %v", l.Weight)
	}
	if len(q.Layers[1].Output) != 3 || len(q.Layers[1].Weight) != 6 {
		t.Fatalf("last layer must keep its 3 class outputs: %v", q.Layers[1])
	}
	if len(p.Layers[0].Input) != 5 || q.Step != 9 {
		t.Fatal("Reduce changed its argument or lost the step")
	}
}

// TestReduceProbesAndHealth: probes reduce as the pass's own probe, health
// by the groups of its layer, so that a group is dead (or always active)
// only when all its neurons are.
func TestReduceProbesAndHealth(t *testing.T) {
	full := []LinearShape{{In: 5, Out: 4}, {In: 4, Out: 3}}
	p := &Pass{
		Layers: []LayerPass{
			{Input: make([]float32, 5), Output: make([]float32, 4), Weight: make([]float32, 20), Bias: make([]float32, 4)},
			{Input: make([]float32, 4), Output: make([]float32, 3), Weight: make([]float32, 12), Bias: make([]float32, 3)},
		},
		Probes: []Probe{{TrueLabel: 2, Image: []float32{7}, Layers: []ProbeLayer{
			{Input: []float32{1, 2, 3, 4, 5}, Output: []float32{1, 3, 5, 7}},
			{Input: []float32{1, 3, 5, 7}, Output: []float32{1, 2, 3}},
		}}},
		Health: []LayerHealth{{Mean: []float32{1, 3, 0, 0}, Active: []float32{1, 1, 0, 0.5}, Std: []float32{0, 2, 0, 1}}},
	}
	q := Reduce(p, full, 2)
	pr := q.Probes[0]
	if pr.TrueLabel != 2 || pr.Image[0] != 7 || !slices.Equal(pr.Layers[0].Input, []float32{2, 4.5}) || !slices.Equal(pr.Layers[0].Output, []float32{2, 6}) ||
		!slices.Equal(pr.Layers[1].Input, []float32{2, 6}) || !slices.Equal(pr.Layers[1].Output, []float32{1, 2, 3}) {
		t.Fatalf("reduced probe %+v", pr)
	}
	h := q.Health[0]
	if !slices.Equal(h.Mean, []float32{2, 0}) || !slices.Equal(h.Active, []float32{1, 0.25}) || !slices.Equal(h.Std, []float32{1, 0.5}) {
		t.Fatalf("reduced health %+v", h)
	}
	if len(p.Probes[0].Layers[0].Input) != 5 || len(p.Health[0].Mean) != 4 {
		t.Fatal("Reduce changed its argument")
	}
	if err := (&Architecture{InputShape: [3]int{1, 1, 1}, Head: CapHead(full, 2), Probes: 2, HealthBatch: 4}).Check(q); err != nil {
		t.Fatalf("the reduced pass does not fit the capped head: %v", err)
	}
}
