package backend

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// task is one kernel's work over an index range [lo, hi) (images, channels,
// rows); worker numbers a goroutine's private scratch. Tasks are structs the
// CPU keeps in its fields, so handing one to the pool allocates nothing.
type task interface {
	run(worker, lo, hi int)
}

// pool is a fixed set of goroutines that split each task's range into
// contiguous chunks, one per worker; the caller's goroutine runs chunk 0.
// Starting goroutines per kernel call cost more than the small layers'
// work, and a closure per call would allocate on every training step.
//
// A worker that has finished a task spins for a moment before it sleeps:
// the next kernel call of a training step comes within microseconds, and
// waking a sleeping thread on a virtual machine takes tens of them (as
// OpenMP runtimes spin before they block).
type pool struct {
	workers  int
	round    uint64          // counts tasks handed out (caller only)
	assigned []atomic.Uint64 // per worker: the last round it takes part in
	wake     []chan struct{}
	pending  atomic.Int32           // workers still running the current round
	failure  atomic.Pointer[string] // the first panic of a worker this round, with its stack
	task     task
	n, used  int
	closed   atomic.Bool
}

// spinFor is how long an idle worker watches for the next task before it
// sleeps.
const spinFor = 200 * time.Microsecond

func newPool(workers int) *pool {
	p := &pool{workers: workers, assigned: make([]atomic.Uint64, workers),
		wake: make([]chan struct{}, workers)}
	for w := 1; w < workers; w++ {
		p.wake[w] = make(chan struct{}, 1)
		go p.serve(w)
	}
	return p
}

func (p *pool) serve(w int) {
	seen := uint64(0)
	for {
		if !p.await(w, seen) {
			return
		}
		seen = p.assigned[w].Load()
		p.runChunk(w)
	}
}

// runChunk runs worker w's chunk of the current task. A panic is handed to
// the caller's goroutine (run re-raises it there with this stack), so that
// the crash names the kernel call that failed, not only a pool goroutine.
func (p *pool) runChunk(w int) {
	defer func() {
		if r := recover(); r != nil {
			msg := fmt.Sprintf("backend worker %d: %v\n%s", w, r, debug.Stack())
			p.failure.CompareAndSwap(nil, &msg)
		}
		p.pending.Add(-1)
	}()
	lo, hi := p.chunk(w)
	p.task.run(w, lo, hi)
}

// await returns when worker w is assigned a round past seen (true) or the
// pool closes (false): spinning first, then asleep on its wake channel.
// A wake token only says "look again": run sends one for every round
// without waiting, so a token can be left over from a round the worker
// saw while spinning; the worker runs only when its assignment changed.
func (p *pool) await(w int, seen uint64) bool {
	start := time.Now()
	for i := 0; p.assigned[w].Load() == seen; i++ {
		if p.closed.Load() {
			return false
		}
		if i%256 != 255 {
			continue
		}
		runtime.Gosched() // let a goroutine waiting for this P (the caller) run
		if time.Since(start) < spinFor {
			continue
		}
		// run stores the assignment before it sends, so either the check
		// above saw it or a token is on its way.
		if _, ok := <-p.wake[w]; !ok {
			return false
		}
	}
	return true
}

func (p *pool) chunk(w int) (lo, hi int) { return w * p.n / p.used, (w + 1) * p.n / p.used }

// run splits [0, n) over at most min(workers, n, limit) workers (limit <= 0:
// no limit) and returns when every chunk is done.
func (p *pool) run(n, limit int, t task) {
	used := min(p.workers, n)
	if limit > 0 {
		used = min(used, limit)
	}
	if used <= 1 {
		if n > 0 {
			t.run(0, 0, n)
		}
		return
	}
	p.task, p.n, p.used = t, n, used
	p.pending.Store(int32(used - 1))
	p.round++
	for w := 1; w < used; w++ {
		p.assigned[w].Store(p.round) // publishes task, n and used to w
		select {
		case p.wake[w] <- struct{}{}: // wakes w if it sleeps
		default: // a token is already waiting for w
		}
	}
	lo, hi := p.chunk(0)
	t.run(0, lo, hi)
	// Spin rather than sleep: the chunks are even, so the others finish
	// about now, and a sleeping caller would wait for the scheduler to see
	// it runnable behind a spinning worker.
	for i := 0; p.pending.Load() != 0; i++ {
		if i%64 == 63 {
			runtime.Gosched()
		}
	}
	p.task = nil
	if msg := p.failure.Swap(nil); msg != nil {
		panic(*msg)
	}
}

// close ends the helper goroutines.
func (p *pool) close() {
	p.closed.Store(true)
	for _, c := range p.wake[1:] {
		close(c)
	}
}
