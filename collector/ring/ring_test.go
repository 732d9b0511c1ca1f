package ring

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlpviz/mlpviz/collector"
)

// stamp is a multi-word value whose every field derives from Seq, so that a
// copy mixing two publications (a torn read) is detected by valid.
type stamp struct {
	Seq  uint64
	A, B [4]uint64
}

func makeStamp(seq uint64) stamp {
	s := stamp{Seq: seq}
	for i := range s.A {
		s.A[i] = seq*0x9e3779b97f4a7c15 + uint64(i)
		s.B[i] = ^s.A[i] ^ (seq << (8 * uint(i)))
	}
	return s
}

func (s stamp) valid() bool { return s == makeStamp(s.Seq) }

// testCtx bounds a test so that a lost wake-up fails it instead of hanging
// the whole run.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestRingCapacity(t *testing.T) {
	for _, tc := range []struct{ in, want int }{
		{-3, 1}, {0, 1}, {1, 1}, {2, 2}, {3, 4}, {5, 8}, {8, 8}, {9, 16}, {1000, 1024},
	} {
		if got := New[int](tc.in).Cap(); got != tc.want {
			t.Errorf("New(%d).Cap() = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// drain reads c until the end, failing on any error other than io.EOF.
func drain(ctx context.Context, t *testing.T, c *Cursor[int]) []int {
	var got []int
	for {
		v, err := c.Next(ctx)
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Errorf("Next: %v after %d values", err, len(got))
			return got
		}
		got = append(got, v)
	}
}

// checkSeq reports whether got is exactly 0..n-1.
func checkSeq(t *testing.T, name string, got []int, n int) {
	t.Helper()
	if len(got) != n {
		t.Errorf("%s: got %d values, want %d", name, len(got), n)
	}
	for i, v := range got {
		if v != i {
			t.Errorf("%s: value %d is %d, want %d", name, i, v, i)
			return
		}
	}
}

func TestRingLosslessOrder(t *testing.T) {
	for _, capacity := range []int{1, 2, 8, 64} {
		t.Run(fmt.Sprint("cap", capacity), func(t *testing.T) {
			ctx := testCtx(t)
			const n = 20000
			r := New[int](capacity)
			c := r.Lossless()
			done := make(chan []int)
			go func() { done <- drain(ctx, t, c) }()
			for i := range n {
				if err := r.Publish(ctx, i); err != nil {
					t.Fatalf("Publish(%d): %v", i, err)
				}
			}
			r.Close()
			checkSeq(t, "cursor", <-done, n)
			if got := r.Published(); got != n {
				t.Errorf("Published() = %d, want %d", got, n)
			}
		})
	}
}

func TestRingSeveralLossless(t *testing.T) {
	ctx := testCtx(t)
	const n, readers = 20000, 3
	r := New[int](16)
	results := make([][]int, readers)
	var wg sync.WaitGroup
	for i := range readers {
		c := r.Lossless()
		wg.Go(func() { results[i] = drain(ctx, t, c) })
	}
	for i := range n {
		if err := r.Publish(ctx, i); err != nil {
			t.Fatalf("Publish(%d): %v", i, err)
		}
	}
	r.Close()
	wg.Wait()
	for i, got := range results {
		checkSeq(t, fmt.Sprint("cursor ", i), got, n)
	}
}

// TestRingStress runs a fast producer into a small ring with a slow
// lossless consumer and two latest-only readers polling as fast as they can.
func TestRingStress(t *testing.T) {
	const n = 200_000
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := New[stamp](8)
	cur := r.Lossless()

	var wg sync.WaitGroup
	var stop atomic.Bool
	defer func() { stop.Store(true); cancel(); wg.Wait() }()

	var received uint64
	wg.Go(func() {
		want := uint64(1)
		for {
			v, err := cur.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Errorf("lossless Next: %v at %d", err, want)
				return
			}
			if !v.valid() {
				t.Errorf("lossless: torn value %+v", v)
				return
			}
			if v.Seq != want {
				t.Errorf("lossless: got seq %d, want %d", v.Seq, want)
				return
			}
			want++
			// Slow: often yield, and now and then sleep, so that the
			// producer keeps running into a full ring.
			switch {
			case want%1024 == 0:
				time.Sleep(50 * time.Microsecond)
			case want%8 == 0:
				runtime.Gosched()
			}
		}
		received = want - 1
	})

	type seen struct{ reads, distinct, last uint64 }
	views := make([]seen, 2)
	for i := range views {
		l := r.Latest()
		wg.Go(func() {
			var s seen
			defer func() { views[i] = s }()
			for polls := 0; ; polls++ {
				finished := stop.Load()
				v, seq, ok := l.Get()
				if ok {
					if !v.valid() || v.Seq != seq {
						t.Errorf("latest: torn value %+v for seq %d", v, seq)
						return
					}
					if seq < s.last {
						t.Errorf("latest: seq went back from %d to %d", s.last, seq)
						return
					}
					s.reads++
					if seq > s.last {
						s.distinct++
						s.last = seq
					}
				}
				if finished {
					return
				}
				if polls%256 == 255 {
					runtime.Gosched() // two shared cores: let the others run
				}
			}
		})
	}

	start := time.Now()
	for i := uint64(1); i <= n; i++ {
		if err := r.Publish(ctx, makeStamp(i)); err != nil {
			t.Fatalf("Publish(%d): %v", i, err)
		}
	}
	r.Close()
	elapsed := time.Since(start)
	stop.Store(true)
	wg.Wait()

	if received != n {
		t.Errorf("lossless consumer received %d values, want %d", received, n)
	}
	for i, s := range views {
		if s.distinct == 0 || s.last != n {
			t.Errorf("latest reader %d: %d distinct values, last %d; want some, ending at %d", i, s.distinct, s.last, n)
		}
		t.Logf("latest reader %d: %d reads, %d distinct values", i, s.reads, s.distinct)
	}
	t.Logf("%d values in %v", n, elapsed)
}

// TestRingLateLossless registers lossless cursors while the producer runs:
// each must see an unbroken run of values up to the last.
func TestRingLateLossless(t *testing.T) {
	ctx := testCtx(t)
	const n = 50000
	r := New[int](4)
	var wg sync.WaitGroup
	for k := range 8 {
		wg.Go(func() {
			time.Sleep(time.Duration(k) * 200 * time.Microsecond)
			c := r.Lossless()
			got := drain(ctx, t, c)
			for i := 1; i < len(got); i++ {
				if got[i] != got[i-1]+1 {
					t.Errorf("late cursor %d: %d follows %d", k, got[i], got[i-1])
					return
				}
			}
			if len(got) > 0 && got[len(got)-1] != n-1 {
				t.Errorf("late cursor %d: ends at %d, want %d", k, got[len(got)-1], n-1)
			}
		})
	}
	for i := range n {
		if err := r.Publish(ctx, i); err != nil {
			t.Fatalf("Publish(%d): %v", i, err)
		}
	}
	r.Close()
	wg.Wait()
}

func TestRingClose(t *testing.T) {
	ctx := testCtx(t)
	r := New[int](8)
	c := r.Lossless()
	l := r.Latest()
	if _, err := c.TryNext(); err != ErrEmpty {
		t.Fatalf("TryNext on an empty ring: %v, want ErrEmpty", err)
	}
	if _, _, ok := l.Get(); ok {
		t.Fatal("Get on an empty ring: ok")
	}
	for i := range 5 {
		if err := r.Publish(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.Len(); got != 5 {
		t.Errorf("Len() = %d, want 5", got)
	}
	r.Close()
	r.Close() // harmless
	if !r.Closed() {
		t.Error("Closed() = false after Close")
	}
	if err := r.Publish(ctx, 99); err != ErrClosed {
		t.Errorf("Publish after Close: %v, want ErrClosed", err)
	}
	if v, _ := c.TryNext(); v != 0 {
		t.Errorf("TryNext = %d, want 0", v)
	}
	if got := c.Len(); got != 4 {
		t.Errorf("cursor Len() = %d, want 4", got)
	}
	checkSeq(t, "rest", append([]int{0}, drain(ctx, t, c)...), 5)
	for range 2 {
		if _, err := c.Next(ctx); err != io.EOF {
			t.Errorf("Next after the end: %v, want io.EOF", err)
		}
		if _, err := c.TryNext(); err != io.EOF {
			t.Errorf("TryNext after the end: %v, want io.EOF", err)
		}
	}
	if v, seq, ok := l.Get(); !ok || v != 4 || seq != 5 {
		t.Errorf("Get after Close = %d, %d, %v; want 4, 5, true", v, seq, ok)
	}
	if got := r.Published(); got != 5 {
		t.Errorf("Published() = %d, want 5", got)
	}
}

// TestRingCloseWakesNext checks that a consumer parked in Next sees the end.
func TestRingCloseWakesNext(t *testing.T) {
	ctx := testCtx(t)
	r := New[int](4)
	c := r.Lossless()
	res := make(chan error)
	go func() {
		_, err := c.Next(ctx)
		res <- err
	}()
	time.Sleep(20 * time.Millisecond) // let it park
	r.Close()
	if err := <-res; err != io.EOF {
		t.Errorf("Next across Close: %v, want io.EOF", err)
	}
}

func TestRingNextContext(t *testing.T) {
	r := New[int](4)
	c := r.Lossless()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Next on an empty ring: %v, want DeadlineExceeded", err)
	}
}

// TestRingPublishBlocked checks that a stuck lossless consumer holds the
// producer back without losing values, and that context cancellation,
// consumer progress and Close each release it.
func TestRingPublishBlocked(t *testing.T) {
	bg := testCtx(t)
	r := New[int](4)
	c := r.Lossless()
	for i := range 4 {
		if err := r.Publish(bg, i); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithTimeout(bg, 30*time.Millisecond)
	defer cancel()
	if err := r.Publish(ctx, 4); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Publish into a full ring: %v, want DeadlineExceeded", err)
	}

	ctx, cancel = context.WithCancel(bg)
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if err := r.Publish(ctx, 4); !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish into a full ring: %v, want Canceled", err)
	}
	if got := r.Published(); got != 4 {
		t.Fatalf("Published() = %d after refused publishes, want 4", got)
	}

	read := make(chan struct{})
	go func() {
		defer close(read)
		time.Sleep(20 * time.Millisecond)
		if v, err := c.TryNext(); v != 0 || err != nil {
			t.Errorf("TryNext = %d, %v; want 0, nil", v, err)
		}
	}()
	if err := r.Publish(bg, 4); err != nil {
		t.Fatalf("Publish after the consumer made room: %v", err)
	}
	<-read

	go func() { time.Sleep(20 * time.Millisecond); r.Close() }()
	if err := r.Publish(bg, 5); err != ErrClosed {
		t.Fatalf("Publish across Close: %v, want ErrClosed", err)
	}
	checkSeq(t, "after Close", append([]int{0}, drain(bg, t, c)...), 5)
}

// TestRingDetach checks that a closed cursor no longer holds the producer.
func TestRingDetach(t *testing.T) {
	ctx := testCtx(t)
	r := New[int](2)
	gone := r.Lossless()
	kept := r.Lossless()
	done := make(chan []int)
	go func() { done <- drain(ctx, t, kept) }()
	if err := r.Publish(ctx, 0); err != nil {
		t.Fatal(err)
	}
	gone.Close()
	gone.Close()
	if _, err := gone.TryNext(); err != io.EOF {
		t.Errorf("TryNext on a closed cursor: %v, want io.EOF", err)
	}
	for i := 1; i < 1000; i++ {
		if err := r.Publish(ctx, i); err != nil {
			t.Fatalf("Publish(%d): %v", i, err)
		}
	}
	r.Close()
	checkSeq(t, "kept", <-done, 1000)
}

// TestRingLatestNeverBlocks publishes far more than the capacity with only
// latest-only readers, none of which reads.
func TestRingLatestNeverBlocks(t *testing.T) {
	const n = 1_000_000
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := New[uint64](8)
	l := r.Latest()
	for i := uint64(1); i <= n; i++ {
		if err := r.Publish(ctx, i); err != nil {
			t.Fatalf("Publish(%d): %v", i, err)
		}
	}
	if v, seq, ok := l.Get(); !ok || v != n || seq != n {
		t.Errorf("Get = %d, %d, %v; want %d, %d, true", v, seq, ok, n, n)
	}
}

// TestRingLatestPinned holds a reader's pin on the current box, as a reader
// preempted inside Get would: the producer must go on, and the pinned box
// must keep its value.
func TestRingLatestPinned(t *testing.T) {
	ctx := testCtx(t)
	r := New[stamp](4)
	l := r.Latest()
	if err := r.Publish(ctx, makeStamp(1)); err != nil {
		t.Fatal(err)
	}
	pinned := r.latest.Load()
	pinned.pins.Add(1)
	for i := uint64(2); i <= 1000; i++ {
		if err := r.Publish(ctx, makeStamp(i)); err != nil {
			t.Fatalf("Publish(%d): %v", i, err)
		}
	}
	if pinned.seq != 1 || pinned.v != makeStamp(1) {
		t.Errorf("pinned box rewritten: seq %d", pinned.seq)
	}
	if len(r.pool) > 3 {
		t.Errorf("box pool grew to %d with one pin", len(r.pool))
	}
	pinned.pins.Add(-1)
	if v, seq, ok := l.Get(); !ok || seq != 1000 || v != makeStamp(1000) {
		t.Errorf("Get = seq %d, ok %v; want 1000 untorn", seq, ok)
	}
}

func ExampleRing() {
	ctx := context.Background()
	r := New[*collector.Pass](16)
	writer := r.Lossless() // every pass, for the run file
	view := r.Latest()     // the newest pass, for the render loop

	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			p, err := writer.Next(ctx)
			if err != nil { // io.EOF once the trainer closes the ring
				return
			}
			fmt.Println("write step", p.Step)
		}
	}()

	for step := 100; step <= 300; step += 100 {
		if err := r.Publish(ctx, &collector.Pass{Step: step}); err != nil {
			return
		}
	}
	r.Close()
	<-done

	p, seq, _ := view.Get()
	fmt.Println("show step", p.Step, "seq", seq)
	// Output:
	// write step 100
	// write step 200
	// write step 300
	// show step 300 seq 3
}

// BenchmarkPublish measures the producer alone, with a latest-only reader
// registered.
func BenchmarkPublish(b *testing.B) {
	ctx := context.Background()
	r := New[*collector.Pass](1024)
	_ = r.Latest()
	p := &collector.Pass{}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Publish(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublishLossless measures the producer with one lossless consumer
// draining in another goroutine.
func BenchmarkPublishLossless(b *testing.B) {
	ctx := context.Background()
	r := New[*collector.Pass](1024)
	c := r.Lossless()
	done := make(chan int)
	go func() {
		n := 0
		for {
			if _, err := c.Next(ctx); err != nil {
				done <- n
				return
			}
			n++
		}
	}()
	p := &collector.Pass{}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Publish(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	r.Close()
	if n := <-done; uint64(n) != r.Published() {
		b.Fatalf("consumer read %d of %d", n, r.Published())
	}
}
