package engine

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/collector/ring"
	"github.com/mlpviz/mlpviz/collector/runfile"
)

// TestSourceFromBytes: a run file built in memory shows as one on disk
// does, and the newest pass of a live ring comes from the ring.
func TestSourceFromBytes(t *testing.T) {
	arch := &collector.Architecture{InputShape: [3]int{1, 1, 2}, ClassNames: []string{"a", "b"},
		Head: []collector.LinearShape{{In: 2, Out: 2}}, FullHead: []collector.LinearShape{{In: 2, Out: 2}}}
	pass := func(step int) *collector.Pass {
		return &collector.Pass{Step: step, Loss: float32(step), Layers: []collector.LayerPass{{
			Input: []float32{1, 2}, Output: []float32{3, 4}, Weight: []float32{1, 0, 0, 1}, Bias: []float32{2, 2}}}}
	}
	ps := []*collector.Pass{pass(10), pass(20), pass(30)}
	data, err := runfile.Encode(arch, ps, runfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := runfile.OpenBytes("imported.json", data)
	if err != nil {
		t.Fatal(err)
	}
	live := ring.New[*collector.Pass](4)
	for _, p := range ps {
		if err := live.Publish(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	s := NewSource(r, live.Latest())
	defer s.Close()
	if s.Len() != 3 || !s.Closed() || s.Err() != nil || len(s.Architecture().Head) != 1 {
		t.Fatalf("Len %d closed %v err %v", s.Len(), s.Closed(), s.Err())
	}
	for i, want := range ps {
		got, err := s.Pass(i)
		if err != nil {
			t.Fatal(err)
		}
		if got.Step != want.Step {
			t.Fatalf("pass %d: step %d, want %d", i, got.Step, want.Step)
		}
		if fromRing := got == want; fromRing != (i == 2) {
			t.Errorf("pass %d taken from the ring: %v; only the newest should be", i, fromRing)
		}
	}
	s.LoadMetrics(1 << 30)
	if m := s.Metrics(); len(m) != 3 || m[2].Loss != 30 {
		t.Fatalf("metrics %v", m)
	}
}

// TestSourceDamageAndReplacement: a damaged pass is a gap in the plots,
// not their end, and a closed file that another run replaces says so.
func TestSourceDamageAndReplacement(t *testing.T) {
	arch := &collector.Architecture{InputShape: [3]int{1, 1, 2}, ClassNames: []string{"a", "b"},
		Head: []collector.LinearShape{{In: 2, Out: 2}}, FullHead: []collector.LinearShape{{In: 2, Out: 2}}}
	path := filepath.Join(t.TempDir(), "run.mlpv")
	write := func(n int) (offsets []int64) {
		w, err := runfile.Create(path, arch, runfile.Options{Force: true})
		if err != nil {
			t.Fatal(err)
		}
		for step := 1; step <= n; step++ {
			offsets = append(offsets, w.Bytes())
			p := &collector.Pass{Step: step, Loss: float32(step), Accuracy: 0.5, Layers: []collector.LayerPass{{
				Input: []float32{1, 2}, Output: []float32{3, 4}, Weight: []float32{1, 0, 0, float32(step)}, Bias: []float32{2, 2}}}}
			if err := w.Append(p); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return offsets
	}
	offsets := write(4)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[offsets[1]+30] ^= 1 // inside pass 1's payload: the index still holds
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := OpenSource(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.LoadMetrics(1 << 30)
	m := s.Metrics()
	if len(m) != 4 || !math.IsNaN(float64(m[1].Loss)) || m[2].Loss != 3 || m[3].Loss != 4 {
		t.Fatalf("metrics %v, want all 4 with a gap at pass 1", m)
	}
	write(2)
	s.Refresh(time.Now().Add(2 * time.Second))
	if !errors.Is(s.Err(), runfile.ErrReplaced) {
		t.Fatalf("after another run replaced the file: Err %v", s.Err())
	}
}
