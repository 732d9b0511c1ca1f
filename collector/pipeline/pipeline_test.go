package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/collector/runfile"
)

// testArch is a 6-4-3 head on 1x2x2 images of three classes.
func testArch() *collector.Architecture {
	return &collector.Architecture{
		Dataset: "test", Model: "test", InputShape: [3]int{1, 2, 2},
		ClassNames: []string{"a", "b", "c"},
		Head:       []collector.LinearShape{{In: 6, Out: 4}, {In: 4, Out: 3}},
		FullHead:   []collector.LinearShape{{In: 6, Out: 4}, {In: 4, Out: 3}},
	}
}

// testPass fits testArch; its values derive from step.
func testPass(step int) *collector.Pass {
	v := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(step) + float32(i)/8
		}
		return s
	}
	p := &collector.Pass{Step: step, Image: v(4), Logits: v(3), Probs: v(3)}
	for _, h := range testArch().Head {
		p.Layers = append(p.Layers, collector.LayerPass{Input: v(h.In), Output: v(h.Out), Weight: v(h.In * h.Out), Bias: v(h.Out)})
	}
	return p
}

func create(t *testing.T) *Pipeline {
	t.Helper()
	pl, err := Create(filepath.Join(t.TempDir(), "run.mlpv"), testArch(), runfile.Options{Precision: runfile.F32})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pl.Close() })
	return pl
}

// steps reads back the steps of the passes in the run file at path.
func steps(t *testing.T, path string) []int {
	t.Helper()
	r, err := runfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.Closed() || r.Damage() != nil {
		t.Fatalf("%s: closed %v, damage %v", path, r.Closed(), r.Damage())
	}
	var s []int
	for i := range r.Len() {
		p, err := r.Pass(i)
		if err != nil {
			t.Fatal(err)
		}
		s = append(s, p.Step)
	}
	return s
}

// TestPublishInOrder: every published pass reaches the file, in order, also
// when the trainer runs several rings ahead of the disk.
func TestPublishInOrder(t *testing.T) {
	pl := create(t)
	const n = 5*ringSize + 3
	for i := range n {
		if err := pl.Publish(context.Background(), testPass(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if p, seq, ok := pl.Latest().Get(); !ok || seq != n || p.Step != n {
		t.Fatalf("Latest: seq %d ok %v, want the pass at step %d", seq, ok, n)
	}
	if err := pl.Close(); err != nil {
		t.Fatal(err)
	}
	got := steps(t, pl.Path())
	if len(got) != n || pl.Passes() != n {
		t.Fatalf("%d passes in the file, Passes() %d; want %d", len(got), pl.Passes(), n)
	}
	for i, s := range got {
		if s != i+1 {
			t.Fatalf("pass %d has step %d, want %d", i, s, i+1)
		}
	}
	st, err := os.Stat(pl.Path())
	if err != nil || st.Size() != pl.Bytes() {
		t.Fatalf("Bytes() %d, the file %v (%v)", pl.Bytes(), st.Size(), err)
	}
}

// TestPublishRefusesMisfit: a pass that does not fit the architecture is
// refused with the reason, and the passes around it are written alone.
func TestPublishRefusesMisfit(t *testing.T) {
	pl := create(t)
	ctx := context.Background()
	if err := pl.Publish(ctx, testPass(10)); err != nil {
		t.Fatal(err)
	}
	bad := testPass(20)
	bad.Layers[0].Weight = bad.Layers[0].Weight[:23]
	err := pl.Publish(ctx, bad)
	want := pl.Path() + ": pass at step 20: layer 1 weight has 23 values, the head's 6x4 layer takes 24"
	if err == nil || err.Error() != want {
		t.Fatalf("Publish of a misfit: %v, want %q", err, want)
	}
	if err := pl.Publish(ctx, nil); err == nil {
		t.Fatal("Publish(nil) accepted")
	}
	if err := pl.Publish(ctx, testPass(30)); err != nil {
		t.Fatalf("a refused pass spoilt the pipeline: %v", err)
	}
	if err := pl.Close(); err != nil {
		t.Fatal(err)
	}
	if got := steps(t, pl.Path()); len(got) != 2 || got[0] != 10 || got[1] != 30 {
		t.Fatalf("steps in the file %v, want [10 30]", got)
	}
	if _, seq, _ := pl.Latest().Get(); seq != 2 {
		t.Fatalf("Latest seq %d: refused passes must not reach the view either", seq)
	}
}

// TestCloseIdempotent: Close twice returns the same; Publish after Close
// says the file is closed.
func TestCloseIdempotent(t *testing.T) {
	pl := create(t)
	if err := pl.Publish(context.Background(), testPass(1)); err != nil {
		t.Fatal(err)
	}
	if err := pl.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pl.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	err := pl.Publish(context.Background(), testPass(2))
	if err == nil || !strings.Contains(err.Error(), "cannot add the pass at step 2: "+pl.Path()+" is already closed") {
		t.Fatalf("Publish after Close: %v", err)
	}
	if got := steps(t, pl.Path()); len(got) != 1 || pl.Passes() != 1 {
		t.Fatalf("steps %v, Passes %d", got, pl.Passes())
	}
}

// TestCreateFails: the run file's own refusal comes back from Create.
func TestCreateFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.mlpv")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(path, testArch(), runfile.Options{}); err == nil || !strings.Contains(err.Error(), path+" already exists") {
		t.Fatalf("Create over a file: %v", err)
	}
}

// TestInFlightBound: however fast the trainer publishes, no more than
// InFlight passes are ever published but not yet in the file, so a kill
// loses at most those.
func TestInFlightBound(t *testing.T) {
	pl := create(t)
	ctx := context.Background()
	worst := 0
	for step := 1; step <= 300; step++ {
		if err := pl.Publish(ctx, testPass(step)); err != nil {
			t.Fatal(err)
		}
		// Publish returned: this pass is on its way; the ones before it
		// beyond InFlight must be in the file already.
		worst = max(worst, step-pl.Passes())
	}
	if worst > InFlight {
		t.Fatalf("%d passes were in flight at once, the bound is %d", worst, InFlight)
	}
	if err := pl.Close(); err != nil || pl.Passes() != 300 {
		t.Fatalf("Close: %v, %d passes", err, pl.Passes())
	}
}
