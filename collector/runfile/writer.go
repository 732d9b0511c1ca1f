package runfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/mlpviz/mlpviz/collector"
)

// Writer appends passes to a run file. Its methods are safe for concurrent
// use, so that a signal handler may Close while the trainer appends.
type Writer struct {
	mu      sync.Mutex
	f       *os.File
	path    string
	shape   shape
	prec    Precision
	enc     *zstd.Encoder
	raw     []byte  // pass encoding, reused
	frame   []byte  // framed record, reused
	offsets []int64 // of every pass record, for the index
	size    int64
	err     error // a failed write: the file may end in a partial record
	closed  bool
}

// Create starts a run file at path, making its directory if need be, and
// writes the magic and the header record. It refuses to replace an existing
// file unless opt.Force is set.
func Create(path string, arch *collector.Architecture, opt Options) (*Writer, error) {
	if arch == nil {
		return nil, fmt.Errorf("runfile: create %s: nil architecture", path)
	}
	if !opt.Precision.valid() {
		return nil, fmt.Errorf("runfile: create %s: unknown precision %d", path, opt.Precision)
	}
	s, err := newShape(arch, opt.Precision)
	if err != nil {
		return nil, fmt.Errorf("runfile: create %s: architecture: %w", path, err)
	}
	archJSON, err := json.Marshal(arch)
	if err != nil {
		return nil, fmt.Errorf("runfile: create %s: %w", path, err)
	}
	if len(archJSON) > maxHeaderLen-8 {
		return nil, fmt.Errorf("runfile: create %s: architecture of %d bytes is too large", path, len(archJSON))
	}
	// SpeedFastest: the trainer waits on Append, and float data gains little
	// from harder work. No zstd checksum: every record carries a CRC. A single
	// segment makes every frame declare its size, even a tiny pass's, which
	// the reader checks before it allocates.
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithSingleSegment(true),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(false))
	if err != nil {
		return nil, fmt.Errorf("runfile: create %s: %w", path, err)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("runfile: create %s: %w", path, err)
		}
	}
	flag := os.O_WRONLY | os.O_CREATE
	if opt.Force {
		flag |= os.O_TRUNC
	} else {
		flag |= os.O_EXCL
	}
	f, err := os.OpenFile(path, flag, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("runfile: %s already exists; choose another path or force an overwrite", path)
	}
	if err != nil {
		return nil, fmt.Errorf("runfile: create: %w", err)
	}

	buf := make([]byte, 0, magicLen+frameOverhead+8+len(archJSON))
	buf = append(buf, magic...)
	buf = le.AppendUint16(buf, FormatVersion)
	buf = le.AppendUint16(buf, 0)
	buf, start := beginFrame(buf)
	buf = appendHeader(buf, opt.Precision, archJSON)
	buf = endFrame(buf, start)
	if _, err := f.Write(buf); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("runfile: create %s: write header: %w", path, err)
	}
	return &Writer{f: f, path: path, shape: s, prec: opt.Precision, enc: enc, size: int64(len(buf))}, nil
}

// Append writes p as one record with a single write, so that a killed
// process leaves whole records and at most one partial one. It does not
// fsync: a killed process does not lose what the kernel already holds.
// A pass whose arrays do not fit the architecture is refused.
func (w *Writer) Append(p *collector.Pass) error {
	if p == nil {
		return errors.New("runfile: append: nil pass")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	i := len(w.offsets)
	if w.closed {
		return fmt.Errorf("runfile: %s: append pass %d after Close", w.path, i)
	}
	if w.err != nil {
		return fmt.Errorf("runfile: %s: append pass %d after a failed write: %w", w.path, i, w.err)
	}
	if err := w.shape.check(p); err != nil {
		return fmt.Errorf("runfile: pass %d (step %d) does not fit the architecture: %w", i, p.Step, err)
	}
	w.raw = appendPass(w.raw[:0], p, w.prec)
	fr, start := beginFrame(w.frame[:0])
	fr = append(fr, recPass)
	fr = w.enc.EncodeAll(w.raw, fr)
	fr = endFrame(fr, start)
	w.frame = fr
	if _, err := w.f.Write(fr); err != nil {
		w.err = err
		return fmt.Errorf("runfile: %s: pass %d at offset %d: %w", w.path, i, w.size, err)
	}
	w.offsets = append(w.offsets, w.size)
	w.size += int64(len(fr))
	return nil
}

// Bytes is the size of the file written so far.
func (w *Writer) Bytes() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.size
}

// Close writes the index and the footer in one write, syncs the file to disk
// and closes it. After a failed write it leaves them out, so that readers
// scan the records instead of trusting an index past the damage. Calling
// Close again does nothing.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	defer w.enc.Close()
	var errs []error
	if w.err == nil {
		buf, start := beginFrame(make([]byte, 0, frameOverhead+9+8*len(w.offsets)+footerLen))
		buf = append(buf, recIndex)
		buf = le.AppendUint64(buf, uint64(len(w.offsets)))
		for _, off := range w.offsets {
			buf = le.AppendUint64(buf, uint64(off))
		}
		buf = endFrame(buf, start)
		buf = appendFooter(buf, w.size)
		if _, err := w.f.Write(buf); err != nil {
			errs = append(errs, fmt.Errorf("write index: %w", err))
		} else {
			w.size += int64(len(buf))
		}
	}
	if err := w.f.Sync(); err != nil {
		errs = append(errs, err)
	}
	if err := w.f.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("runfile: close %s: %w", w.path, err)
	}
	return nil
}
