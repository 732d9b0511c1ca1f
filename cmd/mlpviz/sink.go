package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/collector/runfile"
)

// passSink carries passes from the trainer goroutine to the run file: the
// trainer publishes into a lock-free ring; a writer goroutine drains it
// through a lossless cursor, so the file never misses a pass and the trainer
// only waits when the disk falls a whole ring behind.
type passSink struct {
	ring    *collector.Ring[*collector.Pass]
	file    *runfile.Writer
	fullHd  []collector.LinearShape
	cap     int
	failed  atomic.Pointer[error]
	drained chan struct{}
}

// newPassSink creates the run file at path and starts its writer.
func newPassSink(path string, arch *collector.Architecture, opt runfile.Options) (*passSink, error) {
	w, err := runfile.Create(path, arch, opt)
	if err != nil {
		return nil, err
	}
	s := &passSink{
		ring: collector.NewRing[*collector.Pass](64), file: w,
		fullHd: arch.FullHead, cap: arch.NeuronCap, drained: make(chan struct{}),
	}
	cur := s.ring.Lossless()
	go func() {
		defer close(s.drained)
		for {
			p, err := cur.Next(context.Background())
			if errors.Is(err, io.EOF) {
				return
			}
			if err == nil {
				err = w.Append(p)
			}
			if err != nil {
				err = fmt.Errorf("writing the run file: %w", err)
				s.failed.Store(&err)
				cur.Close() // stop holding the trainer back; publish reports the error
				return
			}
		}
	}()
	return s, nil
}

// publish hands one pass on, reduced to the neuron cap; it fails once the
// writer has failed, which stops training with that error.
func (s *passSink) publish(ctx context.Context, p *collector.Pass) error {
	if err := s.failed.Load(); err != nil {
		return *err
	}
	return s.ring.Publish(ctx, collector.Reduce(p, s.fullHd, s.cap))
}

// close waits for every published pass to reach the file, then closes it
// (index and footer) and reports the first error.
func (s *passSink) close() error {
	s.ring.Close()
	<-s.drained
	err := s.file.Close()
	if failed := s.failed.Load(); failed != nil {
		return *failed
	}
	return err
}
