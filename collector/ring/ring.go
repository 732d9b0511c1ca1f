// Package ring is the lock-free buffer that carries values from one
// producer to readers of two kinds: lossless cursors that see every value in
// order, and latest-only readers that see just the newest. mlpviz uses it to
// hand passes from the trainer to the run-file writer and the window.
package ring

import (
	"context"
	"errors"
	"io"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
)

// ErrClosed is returned by Publish once the ring has been closed.
var ErrClosed = errors.New("ring closed")

// ErrEmpty is returned by Cursor.TryNext when the next value has not been
// published yet.
var ErrEmpty = errors.New("no value ready")

const (
	// closedBit marks Ring.state as closed, so that readers get the count of
	// published values and the end-of-stream flag from one atomic load.
	closedBit = uint64(1) << 63
	countMask = closedBit - 1

	// cacheLine separates fields written by different goroutines, so that
	// the producer's stores do not keep invalidating the readers' lines.
	cacheLine = 64

	// A waiter polls spinTries times, then yields yieldTries times, and only
	// then parks: hand-offs between a producer and a consumer that are both
	// running are far cheaper than a park and a wake.
	spinTries  = 64
	yieldTries = 16
)

// Ring carries values from one producer goroutine (the trainer) to any
// number of readers of two kinds:
//
//   - a lossless Cursor (the run-file writer) receives every value exactly
//     once, in order; the producer waits rather than overwrite a value a
//     lossless cursor has not read yet;
//   - a Latest reader (the render loop) only ever sees the newest value; it
//     never waits and never makes the producer wait.
//
// Publishing costs a few atomic operations: no mutex, channel or
// allocation unless somebody has to wait. Waiters spin briefly, then yield,
// then park on a one-slot channel that the other side signals only when it
// sees a waiter flag set, so the fast path never touches a channel.
//
// Values are copied into the ring, so large values such as a pass should be
// published by pointer (Ring[*collector.Pass]) and not modified after
// publishing. A slot keeps its value until the producer reuses it, so about
// Cap()+2 values stay reachable after their readers are done with them.
//
// Sequence numbers start at 1: the n-th published value has sequence n, and
// Published returns the sequence of the newest one.
type Ring[T any] struct {
	slots    []T
	mask     uint64
	prodWake chan struct{} // signalled when the producer may have room again

	// Owned by the producer goroutine: no other goroutine reads them.
	head     uint64    // values published so far (mirror of state's count)
	limit    uint64    // head may grow up to limit without rescanning cursors
	pool     []*box[T] // boxes for the Latest path; see setLatest
	poolNext int
	curBox   *box[T]

	_      [cacheLine]byte
	state  atomic.Uint64 // values published, | closedBit once closed
	_      [cacheLine - 8]byte
	latest atomic.Pointer[box[T]] // newest value, for Latest readers
	_      [cacheLine - 8]byte

	sleepers    atomic.Int32 // lossless cursors parked, or about to park
	prodWaiting atomic.Bool  // the producer is parked, or about to park
	cursors     atomic.Pointer[[]*Cursor[T]]
	mu          sync.Mutex // serialises changes to cursors, not the fast path
}

// box holds one value for Latest readers. A box is rewritten only while no
// reader has it pinned and it is not the current one, so readers copy its
// contents without a data race; see Latest.Get.
type box[T any] struct {
	pins atomic.Int32
	_    [cacheLine - 4]byte
	seq  uint64
	v    T
	_    [cacheLine]byte
}

// New returns a ring holding capacity values, rounded up to a power of
// two so that a slot index is a mask rather than a division. A capacity
// below 1 is treated as 1 rather than rejected: the ring still works, with
// the producer and a lossless consumer taking turns.
func New[T any](capacity int) *Ring[T] {
	n := 1
	if capacity > 1 {
		n = 1 << bits.Len(uint(capacity-1))
	}
	r := &Ring[T]{
		slots:    make([]T, n),
		mask:     uint64(n - 1),
		prodWake: make(chan struct{}, 1),
		limit:    uint64(n),
		// Two boxes suffice while no reader is pinned; the pool grows only
		// when readers hold every spare box at once.
		pool: []*box[T]{new(box[T]), new(box[T])},
	}
	r.cursors.Store(new([]*Cursor[T]))
	return r
}

// Cap returns the number of values the ring holds.
func (r *Ring[T]) Cap() int { return len(r.slots) }

// Published returns how many values have been published, which is also the
// sequence number of the newest one.
func (r *Ring[T]) Published() uint64 { return r.state.Load() & countMask }

// Closed reports whether Close has been called.
func (r *Ring[T]) Closed() bool { return r.state.Load()&closedBit != 0 }

// Len returns how many published values the slowest lossless cursor has
// not read yet: how close the producer is to waiting. It is 0 when there
// is no lossless cursor.
func (r *Ring[T]) Len() int {
	cs := *r.cursors.Load()
	if len(cs) == 0 {
		return 0
	}
	// Load the cursors before the count, so that no cursor is ahead of it.
	low := cs[0].next.Load()
	for _, c := range cs[1:] {
		low = min(low, c.next.Load())
	}
	return int(r.Published() - low)
}

// Publish adds v for every reader. It must be called from one goroutine
// only. It returns at once unless a lossless cursor is Cap() values
// behind, in which case it waits for that cursor; ctx is consulted only
// then, and Publish returns ctx.Err() if ctx is done before there is room.
// After Close, Publish returns ErrClosed and v is not published.
func (r *Ring[T]) Publish(ctx context.Context, v T) error {
	p := r.head
	if p >= r.limit {
		if err := r.awaitRoom(ctx, p); err != nil {
			return err
		}
	}
	r.slots[p&r.mask] = v
	// The compare-and-swap rather than a store keeps a concurrent Close
	// final: once the closed bit is set, the count can no longer change.
	if !r.state.CompareAndSwap(p, p+1) {
		return ErrClosed
	}
	r.head = p + 1
	if r.sleepers.Load() > 0 {
		r.wakeConsumers()
	}
	r.setLatest(v, p+1)
	return nil
}

// room returns the bound below which the producer, having published head
// values, may write without overwriting an unread value. Capping the bound
// at head+Cap() even without cursors makes the producer rescan the cursor
// list at least once per lap, which is what lets Lossless register a cursor
// while publishing goes on.
func (r *Ring[T]) room(head uint64) uint64 {
	low := head
	for _, c := range *r.cursors.Load() {
		low = min(low, c.next.Load())
	}
	return low + uint64(len(r.slots))
}

// awaitRoom waits until slot p may be written, the ring is closed or ctx is
// done.
func (r *Ring[T]) awaitRoom(ctx context.Context, p uint64) error {
	for try := 0; ; try++ {
		if r.state.Load()&closedBit != 0 {
			return ErrClosed
		}
		if r.limit = r.room(p); p < r.limit {
			return nil
		}
		switch {
		case try < spinTries:
		case try < spinTries+yieldTries:
			runtime.Gosched()
		default:
			if err := r.parkProducer(ctx, p); err != nil {
				return err
			}
		}
	}
}

// parkProducer blocks until a consumer may have made room. Setting
// prodWaiting before the last check, while consumers advance before
// checking prodWaiting, means that one of the two always sees the other:
// no wake-up is lost.
func (r *Ring[T]) parkProducer(ctx context.Context, p uint64) error {
	r.prodWaiting.Store(true)
	defer r.prodWaiting.Store(false)
	if r.state.Load()&closedBit != 0 || p < r.room(p) {
		return nil
	}
	select {
	case <-r.prodWake:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wakeConsumers signals the parked lossless cursors.
func (r *Ring[T]) wakeConsumers() {
	for _, c := range *r.cursors.Load() {
		if c.parked.Load() {
			notify(c.wake)
		}
	}
}

// notify leaves a token in a one-slot channel without blocking; a token
// already there is as good as a new one.
func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Close ends the stream: lossless cursors read what is left and then get
// io.EOF, and Publish returns ErrClosed from then on. It is meant for the
// producer, but is safe from any goroutine, also to release a Publish that
// is waiting for a stuck consumer. Closing twice is harmless.
func (r *Ring[T]) Close() {
	for {
		s := r.state.Load()
		if s&closedBit != 0 {
			return
		}
		if r.state.CompareAndSwap(s, s|closedBit) {
			break
		}
	}
	notify(r.prodWake)
	for _, c := range *r.cursors.Load() {
		notify(c.wake)
	}
}

// Cursor reads every value of a ring exactly once, in order. It belongs to
// one consumer goroutine. While it lags Cap() values behind, the producer
// waits for it.
type Cursor[T any] struct {
	r        *Ring[T]
	wake     chan struct{}
	detached bool

	_      [cacheLine]byte
	next   atomic.Uint64 // position of the next value to read
	parked atomic.Bool   // the consumer is parked, or about to park
	_      [cacheLine]byte
}

// Lossless registers a cursor that receives every value published from now
// on. Register it before publishing starts to receive them all; registering
// later is safe and starts at the next value published.
func (r *Ring[T]) Lossless() *Cursor[T] {
	c := &Cursor[T]{r: r, wake: make(chan struct{}, 1)}
	// Until the cursor is in the list, the producer may have computed its
	// limit without it, but never beyond its own count plus Cap(); starting
	// at the count loaded after the cursor is listed is therefore safe. The
	// first store only keeps the producer from reading a zero meanwhile.
	c.next.Store(r.Published())
	r.mu.Lock()
	old := *r.cursors.Load()
	list := append(old[:len(old):len(old)], c)
	r.cursors.Store(&list)
	r.mu.Unlock()
	c.next.Store(r.Published())
	if r.prodWaiting.Load() {
		notify(r.prodWake) // it may have parked on the first, older start
	}
	return c
}

// Len returns how many published values the cursor has not read yet.
func (c *Cursor[T]) Len() int {
	n := c.next.Load()
	return int(c.r.Published() - n)
}

// TryNext returns the next value without waiting: ErrEmpty if it has not
// been published yet, io.EOF once the ring is closed and drained or the
// cursor closed.
func (c *Cursor[T]) TryNext() (T, error) {
	v, ok, end := c.tryNext()
	switch {
	case ok:
		return v, nil
	case end:
		return v, io.EOF
	default:
		return v, ErrEmpty
	}
}

// tryNext reports the value and whether there was one, or whether the
// stream has ended.
func (c *Cursor[T]) tryNext() (v T, ok, end bool) {
	if c.detached {
		return v, false, true
	}
	r := c.r
	n := c.next.Load()
	s := r.state.Load()
	if n >= s&countMask {
		return v, false, s&closedBit != 0
	}
	v = r.slots[n&r.mask]
	// Only this store lets the producer reuse the slot, and it comes after
	// the copy above.
	c.next.Store(n + 1)
	if r.prodWaiting.Load() {
		notify(r.prodWake)
	}
	return v, true, false
}

// Next returns the next value, waiting for it to be published. It returns
// io.EOF once the ring is closed and every value has been read, and
// ctx.Err() if ctx is done while it waits.
func (c *Cursor[T]) Next(ctx context.Context) (T, error) {
	for try := 0; ; try++ {
		v, ok, end := c.tryNext()
		switch {
		case ok:
			return v, nil
		case end:
			return v, io.EOF
		case try < spinTries:
		case try < spinTries+yieldTries:
			runtime.Gosched()
		default:
			if err := c.park(ctx); err != nil {
				return v, err
			}
		}
	}
}

// park blocks until the producer may have published or closed. Like
// parkProducer, it raises its flags before the last check, and the producer
// checks them after publishing.
func (c *Cursor[T]) park(ctx context.Context) error {
	r := c.r
	c.parked.Store(true)
	r.sleepers.Add(1)
	defer func() {
		r.sleepers.Add(-1)
		c.parked.Store(false)
	}()
	if s := r.state.Load(); s&countMask > c.next.Load() || s&closedBit != 0 {
		return nil
	}
	select {
	case <-c.wake:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close detaches the cursor so that the producer no longer waits for it,
// for instance when the run-file writer fails. Call it from the goroutine
// that reads the cursor; afterwards Next and TryNext return io.EOF.
func (c *Cursor[T]) Close() {
	if c.detached {
		return
	}
	c.detached = true
	r := c.r
	r.mu.Lock()
	old := *r.cursors.Load()
	list := make([]*Cursor[T], 0, len(old))
	for _, o := range old {
		if o != c {
			list = append(list, o)
		}
	}
	r.cursors.Store(&list)
	r.mu.Unlock()
	if r.prodWaiting.Load() {
		notify(r.prodWake)
	}
}

// Latest reads the newest value of a ring. Any number of goroutines may
// share one.
type Latest[T any] struct {
	r *Ring[T]
}

// Latest returns a reader of the newest value. It needs no registration and
// never holds up the producer.
func (r *Ring[T]) Latest() *Latest[T] { return &Latest[T]{r: r} }

// setLatest makes v the value that Latest readers see.
//
// A seqlock over the ring's slots (read the sequence, copy, check it again)
// would let readers see a slot while the producer overwrites it: a data race
// in Go's memory model however the retry discards the torn copy, and the
// race detector rightly reports it. Boxing each value afresh behind an
// atomic.Pointer would be race-free but allocate on every publish. Instead
// the producer recycles a few boxes: it writes only a box that is neither
// current nor pinned by a reader, then swaps it in atomically. A reader
// pins the current box and checks that it is still current before copying
// (see Get), so a box is never read and written at once, and the producer
// never waits: if every spare box is pinned, it allocates another.
func (r *Ring[T]) setLatest(v T, seq uint64) {
	b := r.freeBox()
	b.seq, b.v = seq, v
	r.latest.Store(b)
	r.curBox = b
}

// freeBox returns a box that no reader can be reading.
func (r *Ring[T]) freeBox() *box[T] {
	for range r.pool {
		r.poolNext++
		if r.poolNext == len(r.pool) {
			r.poolNext = 0
		}
		// A reader pins before it checks that its box is current, and this
		// box stopped being current before this load, so a reader that
		// passed its check has its pin counted here.
		if b := r.pool[r.poolNext]; b != r.curBox && b.pins.Load() == 0 {
			return b
		}
	}
	b := new(box[T])
	r.pool = append(r.pool, b)
	r.poolNext = len(r.pool) - 1
	return b
}

// Get returns the newest published value and its sequence number, or
// ok false if nothing has been published yet. It never blocks: it retries
// only when the producer has published again in the meantime.
func (l *Latest[T]) Get() (v T, seq uint64, ok bool) {
	for {
		b := l.r.latest.Load()
		if b == nil {
			return v, 0, false
		}
		b.pins.Add(1)
		// Still current after pinning: the producer cannot pick this box
		// until the pin is dropped, and it was complete when swapped in.
		if l.r.latest.Load() == b {
			v, seq = b.v, b.seq
			b.pins.Add(-1)
			return v, seq, true
		}
		b.pins.Add(-1)
	}
}
