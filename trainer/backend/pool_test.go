package backend

import (
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type countTask struct{ sums [8]int }

func (c *countTask) run(w, lo, hi int) {
	for i := lo; i < hi; i++ {
		c.sums[w] += i
	}
}

// TestPoolCoversRange: every index is run once, by the worker whose chunk
// holds it, however many workers and items there are.
func TestPoolCoversRange(t *testing.T) {
	for _, workers := range []int{1, 2, 3, 8} {
		p := newPool(workers)
		for _, n := range []int{0, 1, 2, 7, 100} {
			for _, limit := range []int{0, 1, 2} {
				var c countTask
				p.run(n, limit, &c)
				total := 0
				for _, s := range c.sums {
					total += s
				}
				if want := n * (n - 1) / 2; total != want {
					t.Errorf("workers %d, n %d, limit %d: sum %d, want %d", workers, n, limit, total, want)
				}
			}
		}
		p.close()
	}
}

// BenchmarkPoolRun is the cost of handing an empty task to every worker and
// waiting for it: what each parallel kernel call pays.
func BenchmarkPoolRun(b *testing.B) {
	p := newPool(2)
	defer p.close()
	var c countTask
	for b.Loop() {
		p.run(2, 0, &c)
	}
}

type panicTask struct{}

func (panicTask) run(w, lo, hi int) {
	if w == 1 {
		panic("kernel failed")
	}
}

// TestPoolWorkerPanic: a worker's panic reaches the caller, with the
// worker's stack, instead of crashing from a pool goroutine; the pool
// still works after it.
func TestPoolWorkerPanic(t *testing.T) {
	p := newPool(2)
	defer p.close()
	func() {
		defer func() {
			r := recover()
			msg, _ := r.(string)
			if !strings.Contains(msg, "backend worker 1: kernel failed") || !strings.Contains(msg, "panicTask") {
				t.Fatalf("recovered %v, want the worker's panic and stack", r)
			}
		}()
		p.run(2, 0, panicTask{})
	}()
	var c countTask
	p.run(10, 0, &c)
	if c.sums[0]+c.sums[1] != 45 {
		t.Fatalf("after a panic the pool summed %d, want 45", c.sums[0]+c.sums[1])
	}
}

type stressTask struct {
	hits []atomic.Int32
	work time.Duration
}

func (s *stressTask) run(w, lo, hi int) {
	for end := time.Now().Add(s.work); time.Now().Before(end); {
	}
	for i := lo; i < hi; i++ {
		s.hits[i].Add(1)
	}
}

// TestPoolStress hands out rounds of random sizes and limits, with pauses
// on both sides of the time a worker spins before it sleeps: every item of
// every round runs exactly once.
func TestPoolStress(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, workers := range []int{2, 3} {
		p := newPool(workers)
		for r := range 1500 {
			n := 1 + rng.IntN(10)
			s := &stressTask{hits: make([]atomic.Int32, n), work: time.Duration(rng.IntN(3)) * 50 * time.Microsecond}
			p.run(n, rng.IntN(3), s)
			for i := range s.hits {
				if got := s.hits[i].Load(); got != 1 {
					t.Fatalf("%d workers, round %d: item %d ran %d times", workers, r, i, got)
				}
			}
			switch rng.IntN(4) {
			case 0:
				time.Sleep(spinFor - 50*time.Microsecond + time.Duration(rng.IntN(100))*time.Microsecond)
			case 1:
				time.Sleep(time.Millisecond)
			}
		}
		p.close()
	}
}
