// Package pipeline carries passes from a trainer to a run file and to a
// live view. The trainer publishes into a lock-free ring; a writer
// goroutine drains it through a lossless cursor, so the file never misses a
// pass; the view reads the newest pass from the ring without waiting for
// the disk. The trainer waits once InFlight passes are on their way to the
// disk, so that a killed run loses at most those.
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

// InFlight is how many published passes may be on their way to the disk
// (in the ring, or being written) before Publish waits for the writer.
const InFlight = 2

// ringSize holds InFlight passes; the ring keeps its slots' values
// reachable, so a small ring also keeps memory small (cifar10_cnn's passes
// take 20 MB and more).
const ringSize = InFlight

// Pipeline is one run's way from the trainer to its run file.
type Pipeline struct {
	arch    *collector.Architecture
	path    string
	ring    *ring.Ring[*collector.Pass]
	file    *runfile.Writer
	failed  atomic.Pointer[error] // the writer's error; it has stopped
	drained chan struct{}         // closed when the writer goroutine ends
	slots   chan struct{}         // one per pass in flight

	closeOnce sync.Once
	closeErr  error
}

// Create creates the run file at path for arch and starts its writer.
func Create(path string, arch *collector.Architecture, opt runfile.Options) (*Pipeline, error) {
	w, err := runfile.Create(path, arch, opt)
	if err != nil {
		return nil, err
	}
	pl := &Pipeline{arch: arch, path: path, ring: ring.New[*collector.Pass](ringSize), file: w,
		drained: make(chan struct{}), slots: make(chan struct{}, InFlight)}
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
			for {
				select {
				case <-pl.slots:
				default:
					return
				}
			}
		}
		<-pl.slots
	}
}

// Publish checks p against the architecture and hands it on; p must not be
// modified afterwards. Call it from one goroutine. It returns at once
// unless InFlight passes are still on their way to the disk, and then waits
// for the writer or for ctx. A pass that does not fit is refused and nothing is written for it;
// once the writer has failed, Publish returns its error.
func (pl *Pipeline) Publish(ctx context.Context, p *collector.Pass) error {
	if err := pl.failed.Load(); err != nil {
		return *err
	}
	if err := pl.arch.Check(p); err != nil {
		return fmt.Errorf("%s: %w", pl.path, err)
	}
	select {
	case pl.slots <- struct{}{}:
	case <-pl.drained:
		if err := pl.failed.Load(); err != nil {
			return *err
		}
		return fmt.Errorf("cannot add the pass at step %d: %s is already closed", p.Step, pl.path)
	case <-ctx.Done():
		return ctx.Err()
	}
	err := pl.ring.Publish(ctx, p)
	if err != nil {
		<-pl.slots // not on its way after all
	}
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
func (pl *Pipeline) Passes() int { return pl.file.Passes() }

// Kept reports whether Close left an earlier file at the path in place,
// because the run that was to replace it published no pass.
func (pl *Pipeline) Kept() bool { return pl.file.Kept() }

// OpenReader opens the run file being written, for a live view that also
// shows its earlier passes.
func (pl *Pipeline) OpenReader() (*runfile.Reader, error) { return pl.file.OpenReader() }

// Bytes is the size of the run file written so far.
func (pl *Pipeline) Bytes() int64 { return pl.file.Bytes() }

// Path is where the run file is.
func (pl *Pipeline) Path() string { return pl.path }
