// Package pipeline carries passes from a trainer to a run file and to a
// live view. The trainer publishes into a lock-free ring; a writer
// goroutine drains it through a lossless cursor, so the file never misses a
// pass and the trainer waits only when the disk falls a whole ring behind;
// the view reads the newest pass from the ring without waiting for the
// disk.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/collector/ring"
	"github.com/mlpviz/mlpviz/collector/runfile"
)

// ringSize is how many passes may wait for the disk before Publish does.
const ringSize = 64

// Pipeline is one run's way from the trainer to its run file.
type Pipeline struct {
	arch    *collector.Architecture
	path    string
	ring    *ring.Ring[*collector.Pass]
	file    *runfile.Writer
	written atomic.Int64
	failed  atomic.Pointer[error] // the writer's error; it has stopped
	drained chan struct{}         // closed when the writer goroutine ends

	closeOnce sync.Once
	closeErr  error
}

// Create creates the run file at path for arch and starts its writer.
func Create(path string, arch *collector.Architecture, opt runfile.Options) (*Pipeline, error) {
	w, err := runfile.Create(path, arch, opt)
	if err != nil {
		return nil, err
	}
	pl := &Pipeline{arch: arch, path: path, ring: ring.New[*collector.Pass](ringSize), file: w, drained: make(chan struct{})}
	// Registered before anything is published, so it receives every pass.
	go pl.write(pl.ring.Lossless())
	return pl, nil
}

// write appends every published pass to the file until the ring closes or
// a write fails.
func (pl *Pipeline) write(cur *ring.Cursor[*collector.Pass]) {
	defer close(pl.drained)
	for {
		p, err := cur.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return
		}
		if err == nil {
			err = pl.file.Append(p)
		}
		if err != nil {
			pl.failed.Store(&err)
			cur.Close() // stop holding the trainer back; Publish reports the error
			return
		}
		pl.written.Add(1)
	}
}

// Publish checks p against the architecture and hands it on; p must not be
// modified afterwards. Call it from one goroutine. It returns at once
// unless the writer is a whole ring behind, and then waits for room or for
// ctx. A pass that does not fit is refused and nothing is written for it;
// once the writer has failed, Publish returns its error.
func (pl *Pipeline) Publish(ctx context.Context, p *collector.Pass) error {
	if err := pl.failed.Load(); err != nil {
		return *err
	}
	if err := pl.arch.Check(p); err != nil {
		return fmt.Errorf("%s: %w", pl.path, err)
	}
	err := pl.ring.Publish(ctx, p)
	if errors.Is(err, ring.ErrClosed) {
		return fmt.Errorf("cannot add the pass at step %d: %s is already closed", p.Step, pl.path)
	}
	return err
}

// Latest reads the newest published pass, for a live view; its sequence
// number n is pass n-1 of the file once the writer has caught up.
func (pl *Pipeline) Latest() *ring.Latest[*collector.Pass] { return pl.ring.Latest() }

// Close waits for every published pass to reach the file, then closes it
// (index and footer) and reports the first error: the writer's, else
// closing's. It may be called from any goroutine, also to release a
// Publish waiting for the disk; calling it again returns the same.
func (pl *Pipeline) Close() error {
	pl.closeOnce.Do(func() {
		pl.ring.Close()
		<-pl.drained
		err := pl.file.Close()
		if failed := pl.failed.Load(); failed != nil {
			err = *failed
		}
		pl.closeErr = err
	})
	return pl.closeErr
}

// Passes is how many passes have reached the file; after a Close without
// error, every one published.
func (pl *Pipeline) Passes() int { return int(pl.written.Load()) }

// Bytes is the size of the run file written so far.
func (pl *Pipeline) Bytes() int64 { return pl.file.Bytes() }

// Path is where the run file is.
func (pl *Pipeline) Path() string { return pl.path }
