package backend

import "sync"

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
type pool struct {
	workers int
	wake    []chan struct{} // one per helper goroutine (workers 1..n-1)
	done    sync.WaitGroup
	task    task
	n, used int
}

func newPool(workers int) *pool {
	p := &pool{workers: workers, wake: make([]chan struct{}, workers)}
	for w := 1; w < workers; w++ {
		p.wake[w] = make(chan struct{})
		go p.serve(w)
	}
	return p
}

func (p *pool) serve(w int) {
	for range p.wake[w] {
		lo, hi := p.chunk(w)
		p.task.run(w, lo, hi)
		p.done.Done()
	}
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
	p.done.Add(used - 1)
	for w := 1; w < used; w++ {
		p.wake[w] <- struct{}{}
	}
	lo, hi := p.chunk(0)
	t.run(0, lo, hi)
	p.done.Wait()
	p.task = nil
}

// close ends the helper goroutines.
func (p *pool) close() {
	for _, c := range p.wake[1:] {
		close(c)
	}
}
