package runfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/mlpviz/mlpviz/collector"
)

// sink is where a Writer puts its bytes: a file on disk, or memory for
// Encode.
type sink interface {
	io.Writer
	Sync() error
	Close() error
}

// memSink keeps a run file in memory; there is nothing to sync or release.
type memSink struct{ bytes.Buffer }

func (*memSink) Sync() error  { return nil }
func (*memSink) Close() error { return nil }

// Writer appends passes to a run file. Its methods are safe for concurrent
// use, so that a signal handler may Close while the trainer appends.
type Writer struct {
	mu      sync.Mutex
	out     sink
	name    string // the path, for messages
	arch    *collector.Architecture
	maxRaw  int // largest pass encoding the reader takes
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
	w, header, err := newWriter(path, arch, opt)
	if err != nil {
		return nil, err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("cannot create %s: %w", path, err)
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
		return nil, fmt.Errorf("%s already exists; choose another path or force an overwrite", path)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", path, bare(err))
	}
	if err := w.start(f, header); err != nil {
		os.Remove(path)
		return nil, err
	}
	return w, nil
}

// Encode builds a whole closed run file in memory: the bytes that Create,
// an Append of every pass and Close would leave on disk. It serves
// collections imported on the fly, which need no file (see OpenBytes).
func Encode(arch *collector.Architecture, passes []*collector.Pass, opt Options) ([]byte, error) {
	const name = "the run file in memory"
	w, header, err := newWriter(name, arch, opt)
	if err != nil {
		return nil, err
	}
	var m memSink
	if err := w.start(&m, header); err != nil {
		return nil, err
	}
	for _, p := range passes {
		if err := w.Append(p); err != nil {
			w.Close()
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return m.Bytes(), nil
}

// newWriter checks what Create and Encode are given and returns a writer
// with no output yet, and the magic and header record it starts with.
func newWriter(name string, arch *collector.Architecture, opt Options) (*Writer, []byte, error) {
	if arch == nil {
		return nil, nil, fmt.Errorf("cannot create %s: no architecture", name)
	}
	if !opt.Precision.valid() {
		return nil, nil, fmt.Errorf("cannot create %s: unknown precision %d", name, opt.Precision)
	}
	// The reader's limits, so that a file never holds what it cannot read.
	sh, err := newShape(arch, opt.Precision)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot create %s: architecture: %w", name, err)
	}
	archJSON, err := json.Marshal(arch)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot create %s: architecture: %w", name, err)
	}
	if len(archJSON) > maxHeaderLen-8 {
		return nil, nil, fmt.Errorf("cannot create %s: the architecture takes %d bytes, more than a run file holds (%d)", name, len(archJSON), maxHeaderLen-8)
	}

	buf := make([]byte, 0, magicLen+frameOverhead+8+len(archJSON))
	buf = append(buf, magic...)
	buf = le.AppendUint16(buf, FormatVersion)
	buf = le.AppendUint16(buf, 0)
	buf, start := beginFrame(buf)
	buf = appendHeader(buf, opt.Precision, archJSON)
	buf = endFrame(buf, start)
	return &Writer{name: name, arch: arch, maxRaw: sh.maxRaw, prec: opt.Precision}, buf, nil
}

// start writes the magic and header record to out, which the writer then
// owns; on failure it closes out.
func (w *Writer) start(out sink, header []byte) error {
	// SpeedFastest: the trainer waits on Append, and float data gains little
	// from harder work. No zstd checksum: every record carries a CRC. A single
	// segment makes every frame declare its size, even a tiny pass's, which
	// the reader checks before it allocates.
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithSingleSegment(true),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(false))
	if err == nil {
		_, err = out.Write(header)
		if err != nil {
			enc.Close()
			err = fmt.Errorf("writing its header: %w", bare(err))
		}
	}
	if err != nil {
		out.Close()
		return fmt.Errorf("cannot create %s: %w", w.name, err)
	}
	w.out, w.enc, w.size = out, enc, int64(len(header))
	return nil
}

// Append writes p as one record with a single write, so that a killed
// process leaves whole records and at most one partial one. It does not
// fsync: a killed process does not lose what the kernel already holds.
// A pass that does not fit the architecture (collector.Architecture.Check)
// is refused.
func (w *Writer) Append(p *collector.Pass) error {
	if err := w.arch.Check(p); err != nil {
		return fmt.Errorf("%s: %w", w.name, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return fmt.Errorf("cannot add the pass at step %d: %s is already closed", p.Step, w.name)
	}
	if w.err != nil {
		return fmt.Errorf("cannot add the pass at step %d to %s: an earlier write failed: %w", p.Step, w.name, w.err)
	}
	w.raw = appendPass(w.raw[:0], p, w.prec)
	// Without class names Check takes any number of logits; the reader
	// takes no pass larger than maxRaw, so neither may the writer.
	if len(w.raw) > w.maxRaw {
		return fmt.Errorf("%s: pass at step %d encodes to %d bytes, more than a run file of this architecture holds (%d)", w.name, p.Step, len(w.raw), w.maxRaw)
	}
	fr, start := beginFrame(w.frame[:0])
	fr = append(fr, recPass)
	fr = w.enc.EncodeAll(w.raw, fr)
	fr = endFrame(fr, start)
	w.frame = fr
	if _, err := w.out.Write(fr); err != nil {
		w.err = bare(err)
		return fmt.Errorf("writing the pass at step %d to %s (byte %d): %w", p.Step, w.name, w.size, w.err)
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
		if _, err := w.out.Write(buf); err != nil {
			errs = append(errs, fmt.Errorf("writing the index: %w", bare(err)))
		} else {
			w.size += int64(len(buf))
		}
	}
	if err := w.out.Sync(); err != nil {
		errs = append(errs, fmt.Errorf("syncing to disk: %w", bare(err)))
	}
	if err := w.out.Close(); err != nil {
		errs = append(errs, bare(err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("closing %s: %w", w.name, err)
	}
	return nil
}

// bare drops the operation and path of a *fs.PathError ("write x.mlpv: "),
// for messages that name the file themselves.
func bare(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
