package engine

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/collector/ring"
	"github.com/mlpviz/mlpviz/collector/runfile"
)

// Source gives the window its passes. Replay and live training share it:
// both read the run file (tailing it while a trainer appends), and a live
// run also hands the newest pass straight from the ring buffer's
// latest-only cursor, so the view need not wait for the disk. A run file
// held in memory (runfile.OpenBytes) serves as well as one on disk.
type Source struct {
	r      *runfile.Reader
	latest *ring.Latest[*collector.Pass]

	cache   map[int]*collector.Pass // recently decoded passes
	order   []int                   // cache entries, oldest first
	metrics []Metric                // one per pass; filled in the background of frames
	loaded  int                     // metrics[:loaded] are known
	hists   weightHistograms        // the weights' histograms of metrics[:loaded]
	err     error                   // the first read error, for the banner
	offline error                   // a server that does not answer now (runfile.ErrUnreachable), for the banner until it does
	cut     error                   // err, when it is a record cut short at the end at open: maybe one being written
	cutAt   int                     // the passes before that record
	lastTry time.Time
}

// Metric is what the plots need of one pass.
type Metric struct {
	Step, Epoch    int
	Loss, Accuracy float32
}

const cacheSize = 8

// OpenSource opens the run file at path for the window; latest may be nil
// (replay).
func OpenSource(path string, latest *ring.Latest[*collector.Pass]) (*Source, error) {
	r, err := runfile.Open(path)
	if err != nil {
		return nil, err
	}
	return NewSource(r, latest), nil
}

// NewSource shows the passes of r, which it takes over (Close closes it);
// latest may be nil (replay).
func NewSource(r *runfile.Reader, latest *ring.Latest[*collector.Pass]) *Source {
	s := &Source{r: r, latest: latest, cache: map[int]*collector.Pass{}}
	if d := r.Damage(); d != nil {
		s.err = fmt.Errorf("%s is damaged at byte %d (%s): showing its %d whole passes", r.Name(), d.Offset, d.Reason, r.Len())
		if d.Partial && !r.Closed() {
			s.cut, s.cutAt = s.err, r.Len()
		}
	}
	return s
}

// Architecture describes the run.
func (s *Source) Architecture() *collector.Architecture { return s.r.Architecture() }

// Len is the number of passes available now.
func (s *Source) Len() int { return s.r.Len() }

// Err is the first problem met reading the file, or nil; while the server
// of a run read over HTTP does not answer, it says so instead.
func (s *Source) Err() error {
	if s.offline != nil {
		return s.offline
	}
	return s.err
}

// noteOffline keeps a read error that only says the server does not answer
// apart from the file's own problems: it is shown until the server answers
// again, not for good. It reports whether err was one.
func (s *Source) noteOffline(err error) bool {
	if !errors.Is(err, runfile.ErrUnreachable) {
		return false
	}
	// One error value per message, so the banner is not redrawn every try.
	if s.offline == nil || s.offline.Error() != "reconnecting… "+err.Error() {
		s.offline = fmt.Errorf("reconnecting… %w", err)
	}
	return true
}

// Refresh picks up passes appended since the last call (a file still being
// written); it looks at the disk at most every 100 ms, and every second at
// a closed file, to say so when another run has replaced it.
func (s *Source) Refresh(now time.Time) {
	every := 100 * time.Millisecond
	if s.r.Closed() {
		every = time.Second
	}
	if now.Sub(s.lastTry) < every {
		return
	}
	s.lastTry = now
	_, err := s.r.Refresh()
	if err == nil {
		s.offline = nil
	}
	if s.cut != nil && s.err == s.cut && s.r.Len() > s.cutAt {
		s.err, s.cut = nil, nil // the record was being written, not cut: it is whole now
	}
	if err != nil && !s.noteOffline(err) && (s.err == nil || errors.Is(err, runfile.ErrReplaced)) {
		s.err = err
	}
}

// Pass returns pass i, from the ring buffer when it is the newest one of a
// live run, else from the cache or the file.
func (s *Source) Pass(i int) (*collector.Pass, error) {
	if p, ok := s.cache[i]; ok {
		return p, nil
	}
	var p *collector.Pass
	if s.latest != nil {
		if v, seq, ok := s.latest.Get(); ok && int(seq)-1 == i {
			p = v
		}
	}
	if p == nil {
		var err error
		if p, err = s.r.Pass(i); err != nil {
			if !s.noteOffline(err) && s.err == nil {
				s.err = err
			}
			return nil, err
		}
	}
	if len(s.order) >= cacheSize {
		delete(s.cache, s.order[0])
		s.order = s.order[1:]
	}
	s.cache[i] = p
	s.order = append(s.order, i)
	return p, nil
}

// Metrics returns the loss and accuracy of the passes known so far.
func (s *Source) Metrics() []Metric { return s.metrics[:s.loaded] }

// LoadMetrics decodes passes not yet in Metrics for at most budget, so a
// long replay fills its plots over a few frames instead of freezing; it
// histograms each pass's weights too (histograms).
func (s *Source) LoadMetrics(budget time.Duration) {
	deadline := time.Now().Add(budget)
	for s.loaded < s.r.Len() && time.Now().Before(deadline) {
		p, err := s.Pass(s.loaded)
		if errors.Is(err, runfile.ErrUnreachable) {
			return // not a gap: the pass comes when the server answers
		}
		if err != nil {
			// A damaged pass is a gap in the plots, not their end.
			gap := Metric{Loss: float32(math.NaN()), Accuracy: float32(math.NaN())}
			if n := len(s.metrics); n > 0 {
				gap.Step, gap.Epoch = s.metrics[n-1].Step, s.metrics[n-1].Epoch
			}
			s.metrics = append(s.metrics, gap)
			s.hists.add(nil)
			s.loaded++
			continue
		}
		s.metrics = append(s.metrics, Metric{Step: p.Step, Epoch: p.Epoch, Loss: p.Loss, Accuracy: p.Accuracy})
		s.hists.add(p) // while the pass is decoded: a large head's decode costs far more than its histogram
		s.loaded++
	}
}

// histograms are the weight histograms of the passes in Metrics.
func (s *Source) histograms() *weightHistograms { return &s.hists }

// Close releases the run file.
func (s *Source) Close() error { return s.r.Close() }

// Closed reports whether the file's writer finished it (no more passes come).
func (s *Source) Closed() bool { return s.r.Closed() }
