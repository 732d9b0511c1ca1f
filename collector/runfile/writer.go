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
	"github.com/mlpviz/mlpviz/internal/tempfile"
)

// sink is where a Writer puts its bytes: a file on disk, or memory for
// Encode.
type sink interface {
	io.Writer
	Sync() error
	Close() error
	Truncate(size int64) error
}

// memSink keeps a run file in memory; there is nothing to sync or release.
type memSink struct{ bytes.Buffer }

func (*memSink) Sync() error              { return nil }
func (*memSink) Close() error             { return nil }
func (m *memSink) Truncate(n int64) error { m.Buffer.Truncate(int(n)); return nil }

// Writer appends passes to a run file. Its methods are safe for concurrent
// use, so that a signal handler may Close while the trainer appends.
//
// A Writer holds an exclusive lock on its file (flock(2)) until Close, so
// that a second writer of the same path is refused with a BusyError; readers
// never take the lock.
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
	err     error // a failed write
	cut     bool  // after err, the file was cut back to its last whole record
	closed  bool

	// A file that replaces another, or that must appear whole, is written
	// under a temporary name beside its path and renamed into place: with
	// its first pass, or at Close when whole is set.
	file  *os.File // out, when it is a file
	temp  string   // the temporary name, until the file is published
	old   *os.File // the file being replaced, locked until then
	whole bool
	kept  bool // Close found no pass and left the old file in place
}

// BusyError is a run file that another writer holds locked.
type BusyError struct {
	Path    string
	PID     int    // the writer's process, 0 when the system does not say
	Command string // its command line, when known
}

func (e *BusyError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = fmt.Sprintf("process %d", e.PID)
		if c := e.Command; c != "" {
			if len(c) > 80 {
				c = c[:77] + "..."
			}
			who += " (" + c + ")"
		}
	}
	return fmt.Sprintf("%s is being written by %s; wait for it to finish, or choose another path", e.Path, who)
}

// CheckNotBusy returns a *BusyError when another writer holds the file at
// path, and nil otherwise (also when there is no file): a check before
// work starts, which takes nothing.
func CheckNotBusy(path string) error { return locked(path) }

// Create starts a run file at path, making its directory if need be, and
// writes the magic and the header record.
//
// It refuses to replace an existing file unless opt.Force is set, and never
// replaces one another writer holds. A replacement keeps the old file in
// place until the new one has its first whole pass (or, with opt.Whole,
// until Close), so that a run that fails at its start loses nothing.
func Create(path string, arch *collector.Architecture, opt Options) (*Writer, error) {
	w, header, err := newWriter(path, arch, opt)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", path, err)
	}
	w.whole = opt.Whole
	if !opt.Whole {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			if err := lock(f, path); err != nil {
				f.Close() // another writer replacing it already: the file is theirs
				return nil, err
			}
			if err := w.start(f, header); err != nil {
				os.Remove(path)
				return nil, err
			}
			return w, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("cannot create %s: %w", path, bare(err))
		}
	}
	if w.old, err = claim(path, opt.Force); err != nil {
		return nil, err
	}
	f, err := tempfile.Create(dir, "."+filepath.Base(path)+".*.partial")
	if err == nil {
		err = lock(f, f.Name())
	}
	if err != nil {
		w.releaseOld()
		if f != nil {
			f.Close()
			os.Remove(f.Name())
		}
		return nil, fmt.Errorf("cannot create %s: %w", path, bare(err))
	}
	w.temp = f.Name()
	if err := w.start(f, header); err != nil {
		os.Remove(w.temp)
		w.releaseOld()
		return nil, err
	}
	return w, nil
}

// claim locks the file now at path, which is to be replaced, so that no
// other writer takes it meanwhile; it returns nil when there is none.
func claim(path string, force bool) (*os.File, error) {
	for {
		// Checked before opening: opening a named pipe would wait for a writer.
		if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
			if st.IsDir() {
				return nil, fmt.Errorf("cannot create %s: it is a directory", path)
			}
			return nil, fmt.Errorf("cannot replace %s: it is not a regular file", path)
		}
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("cannot replace %s: %w", path, bare(err))
		}
		if err := lock(f, path); err != nil {
			f.Close()
			return nil, err
		}
		if !force {
			f.Close()
			return nil, fmt.Errorf("%s already exists; choose another path or force an overwrite", path)
		}
		// The lock holds the file, not the name: a writer that renamed
		// another file into place meanwhile leaves this one unlinked.
		st, err1 := f.Stat()
		now, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(st, now) {
			return f, nil
		}
		f.Close()
	}
}

func (w *Writer) releaseOld() {
	if w.old != nil {
		w.old.Close()
		w.old = nil
	}
}

// publish puts the temporary file at its path: renamed over the file it
// replaces, or linked where there was none (a link, unlike a rename, fails
// when a file appeared there meanwhile). The file is synced first, so that
// a power cut never leaves an empty file where a whole run was.
func (w *Writer) publish() error {
	if err := w.file.Sync(); err != nil {
		return fmt.Errorf("syncing to disk: %w", bare(err))
	}
	if w.old != nil {
		if err := os.Rename(w.temp, w.name); err != nil {
			return bare(err)
		}
		w.releaseOld()
	} else {
		err := os.Link(w.temp, w.name)
		if errors.Is(err, fs.ErrExist) {
			if berr := locked(w.name); berr != nil {
				return berr
			}
			return fmt.Errorf("%s appeared while this run was being written; its own file is kept at %s", w.name, w.temp)
		}
		if err != nil { // a file system without hard links
			err = os.Rename(w.temp, w.name)
		} else {
			err = os.Remove(w.temp)
		}
		if err != nil {
			return bare(err)
		}
	}
	w.temp = ""
	syncDir(filepath.Dir(w.name))
	return nil
}

// syncDir makes a rename in dir durable; where directories cannot be
// synced, the rename is still atomic, only not yet on disk.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// OpenReader opens the file being written for reading, under whichever name
// it has now; the Reader keeps reading it after it is renamed into place.
func (w *Writer) OpenReader() (*Reader, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.file == nil {
		return nil, fmt.Errorf("%s is not a file", w.name)
	}
	path := w.name
	if w.temp != "" {
		path = w.temp
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", w.name, bare(err))
	}
	return newReader(fileSource{File: f}, w.name)
}

// Encode builds a whole closed run file in memory: the bytes that Create,
// an Append of every pass and Close would leave on disk. It serves
// collections imported on the fly, which need no file (see OpenBytes).
func Encode(arch *collector.Architecture, passes []*collector.Pass, opt Options) ([]byte, error) {
	w, err := NewEncoder(arch, opt)
	if err != nil {
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
	return w.Encoded(), nil
}

// NewEncoder starts a run file in memory, for passes that come one at a
// time; after Close, Encoded holds its bytes.
func NewEncoder(arch *collector.Architecture, opt Options) (*Writer, error) {
	w, header, err := newWriter("the run file in memory", arch, opt)
	if err != nil {
		return nil, err
	}
	if err := w.start(new(memSink), header); err != nil {
		return nil, err
	}
	return w, nil
}

// Encoded is the run file a Writer from NewEncoder holds: whole once it is
// closed. It is nil for a Writer of a file.
func (w *Writer) Encoded() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	if m, ok := w.out.(*memSink); ok {
		return m.Bytes()
	}
	return nil
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
	buf = le.AppendUint16(buf, writeVersion)
	buf = le.AppendUint16(buf, 0) // codec: CRC-32C and zstd
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
	w.file, _ = out.(*os.File)
	return nil
}

// Append writes p as one record with a single write, so that a killed
// process leaves whole records and at most one partial one. It does not
// fsync: what write(2) has handed the kernel survives the process being
// killed, and syncing every pass would cost the trainer a disk flush each
// time (see BenchmarkAppendSync). A pass that does not fit the architecture
// (collector.Architecture.Check) is refused.
//
// A write that fails (a full disk) is cut back off the file, so that the
// file still ends in a whole record and Close can still try to finish it.
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
	fr = le.AppendUint64(fr, uint64(len(w.offsets)))
	fr = w.enc.EncodeAll(w.raw, fr)
	fr = endFrame(fr, start)
	w.frame = fr
	if _, err := w.out.Write(fr); err != nil {
		w.err = bare(err)
		w.cut = w.out.Truncate(w.size) == nil
		return fmt.Errorf("writing the pass at step %d to %s (byte %d): %w", p.Step, w.name, w.size, w.err)
	}
	w.offsets = append(w.offsets, w.size)
	w.size += int64(len(fr))
	if w.temp != "" && !w.whole {
		if err := w.publish(); err != nil {
			w.err = err
			return fmt.Errorf("cannot put %s in place: %w", w.name, err)
		}
	}
	return nil
}

// Bytes is the size of the file written so far.
func (w *Writer) Bytes() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.size
}

// Passes is the number of passes written so far.
func (w *Writer) Passes() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.offsets)
}

// Kept reports whether Close left an earlier file at the path in place:
// the run that was to replace it had no pass.
func (w *Writer) Kept() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.kept
}

// Close writes the index and the footer in one write, syncs the file to disk
// and closes it. After a failed write that could not be cut back off it
// leaves them out, so that readers scan the records instead of trusting an
// index past the damage. A file that was to replace another and got no pass
// is removed, leaving the other in place (see Kept); one that was to appear
// whole is renamed into place now, unless a write failed. Calling Close
// again does nothing.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	defer w.enc.Close()
	defer w.releaseOld()
	if w.temp != "" && !w.whole && len(w.offsets) == 0 {
		w.kept = w.old != nil
		w.out.Close()
		os.Remove(w.temp)
		return nil
	}
	var errs []error
	if w.err == nil || w.cut {
		buf, start := beginFrame(make([]byte, 0, frameOverhead+9+8*len(w.offsets)+footerLen))
		buf = append(buf, recIndex)
		buf = le.AppendUint64(buf, uint64(len(w.offsets)))
		for _, off := range w.offsets {
			buf = le.AppendUint64(buf, uint64(off))
		}
		buf = endFrame(buf, start)
		buf = appendFooter(codec{}, buf, w.size)
		if _, err := w.out.Write(buf); err != nil {
			errs = append(errs, fmt.Errorf("writing the index: %w", bare(err)))
			w.out.Truncate(w.size)
		} else {
			w.size += int64(len(buf))
		}
	}
	if err := w.out.Sync(); err != nil {
		errs = append(errs, fmt.Errorf("syncing to disk: %w", bare(err)))
	}
	if w.temp != "" && w.err == nil && len(errs) == 0 {
		if err := w.publish(); err != nil {
			errs = append(errs, fmt.Errorf("putting it in place: %w", err))
		}
	}
	if err := w.out.Close(); err != nil {
		errs = append(errs, bare(err))
	}
	if w.temp != "" { // never published: nothing half-made stays behind
		os.Remove(w.temp)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("closing %s: %w", w.name, err)
	}
	return nil
}

// Abort gives up a file that is to appear whole (Options.Whole) or to
// replace another: its temporary file is removed and nothing at the path
// changes. A file written in place is closed as Close would.
func (w *Writer) Abort() error {
	w.mu.Lock()
	if w.temp == "" {
		w.mu.Unlock()
		return w.Close()
	}
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	w.enc.Close()
	w.releaseOld()
	w.out.Close()
	os.Remove(w.temp)
	w.temp = ""
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
