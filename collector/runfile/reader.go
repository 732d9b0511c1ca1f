package runfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/mlpviz/mlpviz/collector"
)

// source is what a Reader reads: a file, or a run file in memory.
type source interface {
	io.ReaderAt
	io.Closer
	size() (int64, error) // the bytes readable now; a file may be growing
}

type fileSource struct{ *os.File }

func (f fileSource) size() (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

type memSource struct{ *bytes.Reader }

func (m memSource) size() (int64, error) { return m.Size(), nil }
func (memSource) Close() error           { return nil }

// Reader gives random access to the passes of a run file, including one that
// is still being written (see Refresh). Its methods are safe for concurrent
// use, so that a viewer may read passes while another goroutine tails.
type Reader struct {
	f       source
	name    string // the path, for messages
	version int
	prec    Precision
	arch    *collector.Architecture
	shape   shape
	head    []byte // magic and header record as first read, to notice an overwrite

	mu       sync.RWMutex
	offsets  []int64 // of every whole pass record
	scanOff  int64   // where the next scan starts: just past the last whole record
	size     int64   // file size at the last look
	closed   bool    // footer found
	bad      *Damage // first record that fails its checks; nothing past it is read
	partial  *Damage // a record cut short at the end, as Open found it
	readBad  *Damage // a pass record that Pass found bad
	released bool
}

// Open reads the header of the run file at path and finds its passes: from
// the index when the writer closed the file, else by scanning every record.
// A record cut short at the end is reported by Damage, since a file opened
// for reading is normally finished; a viewer tailing a live file should call
// Refresh, which treats it as not yet written.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", path, bare(err))
	}
	// A directory opens, but reading it fails with a message about read(2).
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s: is a directory, not a run file", path)
	}
	return newReader(fileSource{f}, path)
}

// OpenBytes reads a run file held in memory, such as Encode returns; name
// stands for it in messages. The Reader keeps data: do not modify it.
func OpenBytes(name string, data []byte) (*Reader, error) {
	return newReader(memSource{bytes.NewReader(data)}, name)
}

// newReader reads the header of f and finds its passes; on failure it
// closes f.
func newReader(f source, name string) (*Reader, error) {
	r := &Reader{f: f, name: name}
	if err := r.load(); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

func (r *Reader) load() error {
	size, err := r.f.size()
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", r.name, bare(err))
	}
	if size == 0 {
		return fmt.Errorf("%s: empty file, not even a header; was the run started?", r.name)
	}
	var m [magicLen]byte
	got := m[:min(size, magicLen)]
	if _, err := r.f.ReadAt(got, 0); err != nil {
		return fmt.Errorf("cannot read %s: %w", r.name, bare(err))
	}
	cut := len(got) < len(magic) && bytes.HasPrefix([]byte(magic), got)
	if !cut && !bytes.HasPrefix(got, []byte(magic)) {
		return fmt.Errorf("%s is not an mlpv run file (it starts with %q)", r.name, got)
	}
	if len(got) < magicLen {
		return fmt.Errorf("%s: file ends inside the magic (%d of %d bytes)", r.name, len(got), magicLen)
	}
	version := int(le.Uint16(m[4:]))
	if version > FormatVersion {
		return fmt.Errorf("%s: format version %d is newer than this mlpviz reads (%d); update mlpviz", r.name, version, FormatVersion)
	}
	if version == 0 {
		return fmt.Errorf("%s: format version 0 is not valid", r.name)
	}

	payload, end, err := readRecord(r.f, magicLen, size, maxHeaderLen, nil)
	if err != nil {
		var re *recordError
		if errors.As(err, &re) {
			return fmt.Errorf("%s: header record damaged: %w", r.name, err)
		}
		return fmt.Errorf("cannot read the header of %s: %w", r.name, bare(err))
	}
	h, err := parseHeader(payload)
	if err != nil {
		return fmt.Errorf("%s: header record damaged: %w", r.name, err)
	}
	if h.version != version {
		return fmt.Errorf("%s: header record damaged: it says format version %d, the magic %d", r.name, h.version, version)
	}
	s, err := newShape(h.arch, h.prec)
	if err != nil {
		return fmt.Errorf("%s: header record damaged: architecture: %w", r.name, err)
	}
	r.version, r.prec, r.arch, r.shape = version, h.prec, h.arch, s
	r.head = make([]byte, end)
	if _, err := r.f.ReadAt(r.head, 0); err != nil {
		return fmt.Errorf("cannot read %s: %w", r.name, bare(err))
	}

	r.size = size
	r.scanOff = end
	if r.loadIndex() {
		return nil
	}
	_, err = r.scan(true)
	return err
}

// loadIndex takes the pass offsets from the index a clean Close wrote, and
// reports whether it found one that holds together.
func (r *Reader) loadIndex() bool {
	first := r.scanOff
	if r.size < first+frameOverhead+9+footerLen {
		return false
	}
	var foot [footerLen]byte
	if _, err := r.f.ReadAt(foot[:], r.size-footerLen); err != nil {
		return false
	}
	indexOff, ok := parseFooter(foot[:])
	if !ok || indexOff < first || indexOff > r.size-footerLen {
		return false
	}
	payload, end, err := readRecord(r.f, indexOff, r.size-footerLen, maxRecordLen, nil)
	if err != nil || end != r.size-footerLen || payload[0] != recIndex || len(payload) < 9 {
		return false
	}
	n := le.Uint64(payload[1:])
	if n > uint64(len(payload)/8) || uint64(len(payload)-9) != 8*n {
		return false
	}
	offsets := make([]int64, n)
	prev := first - 1
	for i := range offsets {
		off := int64(le.Uint64(payload[9+8*i:]))
		if off <= prev || off > indexOff-frameOverhead-2 {
			return false
		}
		offsets[i], prev = off, off
	}
	r.offsets, r.scanOff, r.closed = offsets, indexOff, true
	return true
}

// scan reads the records from scanOff to the end of the file as last seen,
// checking every CRC, and returns how many passes it found. It stops at the
// first record that is cut short or bad; open says whether a cut-short one
// counts as damage. The caller holds mu or owns r.
func (r *Reader) scan(open bool) (added int, err error) {
	var buf []byte
	for off := r.scanOff; off < r.size; {
		payload, end, err := readRecord(r.f, off, r.size, maxRecordLen, buf)
		var re *recordError
		if errors.As(err, &re) {
			d := &Damage{Offset: off, Reason: re.reason}
			if !re.partial {
				r.bad = d
			} else if open {
				r.partial = d
			}
			return added, nil
		}
		if err != nil {
			return added, fmt.Errorf("cannot read %s at offset %d: %w", r.name, off, bare(err))
		}
		buf = payload[:cap(payload)]
		switch payload[0] {
		case recPass:
			if len(payload) < 2 {
				r.bad = &Damage{Offset: off, Reason: "empty pass record"}
				return added, nil
			}
			r.offsets = append(r.offsets, off)
			added++
			off = end
			r.scanOff = end
		case recIndex:
			return added, r.footerAfterIndex(off, end, open)
		default:
			r.bad = &Damage{Offset: off, Reason: fmt.Sprintf("unknown record type %d", payload[0])}
			return added, nil
		}
	}
	return added, nil
}

// footerAfterIndex checks the footer that should follow the index record
// found at off by a scan.
func (r *Reader) footerAfterIndex(off, end int64, open bool) error {
	left := r.size - end
	if left < footerLen {
		if open {
			r.partial = &Damage{Offset: end, Reason: fmt.Sprintf("truncated footer: %d of %d bytes", left, footerLen)}
		}
		return nil
	}
	var foot [footerLen]byte
	if _, err := r.f.ReadAt(foot[:], end); err != nil {
		return fmt.Errorf("cannot read the footer of %s at offset %d: %w", r.name, end, bare(err))
	}
	if at, ok := parseFooter(foot[:]); !ok || at != off {
		r.bad = &Damage{Offset: end, Reason: "footer damaged"}
		return nil
	}
	r.closed = true
	r.scanOff = off
	if left > footerLen {
		r.bad = &Damage{Offset: end + footerLen, Reason: fmt.Sprintf("%d bytes after the footer", left-footerLen)}
	}
	return nil
}

// Refresh reads the records appended since the last look, to tail a file
// that is still being written, and returns how many passes it found. A
// record cut short at the end is taken as not yet written, not as damage.
// A closed file has nothing to add. Refresh fails when the file shrank or
// its header changed: another run has overwritten it, and it must be opened
// again.
func (r *Reader) Refresh() (added int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.released {
		return 0, fmt.Errorf("cannot look for new passes in %s: it is closed", r.name)
	}
	size, err := r.f.size()
	if err != nil {
		return 0, fmt.Errorf("cannot read %s: %w", r.name, bare(err))
	}
	if size < r.size {
		return 0, fmt.Errorf("%s: file shrank from %d to %d bytes; another run overwrote it", r.name, r.size, size)
	}
	head := make([]byte, len(r.head))
	if _, err := r.f.ReadAt(head, 0); err != nil {
		return 0, fmt.Errorf("cannot reread the header of %s: %w", r.name, bare(err))
	}
	if !bytes.Equal(head, r.head) {
		return 0, fmt.Errorf("%s: header changed; another run overwrote it", r.name)
	}
	if r.closed {
		return 0, nil
	}
	r.size = size
	r.partial = nil
	if r.bad != nil {
		return 0, nil
	}
	return r.scan(false)
}

// Name is the path the Reader was opened at, or the name given to OpenBytes.
func (r *Reader) Name() string { return r.name }

// Architecture is the run's architecture, shared: do not modify it.
func (r *Reader) Architecture() *collector.Architecture { return r.arch }

// FormatVersion is the format version the file was written in.
func (r *Reader) FormatVersion() int { return r.version }

// Precision is how the file stores float arrays.
func (r *Reader) Precision() Precision { return r.prec }

// Len is the number of whole passes found so far.
func (r *Reader) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.offsets)
}

// Damage reports the first byte of the file that cannot be read, or nil: a
// record that fails its checks (nothing past it is read), a record cut short
// at the end when Open found it, or a pass record that Pass found bad.
func (r *Reader) Damage() *Damage {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var first *Damage
	for _, d := range []*Damage{r.bad, r.partial, r.readBad} {
		if d != nil && (first == nil || d.Offset < first.Offset) {
			first = d
		}
	}
	if first == nil {
		return nil
	}
	c := *first
	return &c
}

// Closed reports whether the writer closed the file cleanly: its footer is
// present.
func (r *Reader) Closed() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.closed
}

// Size is the file size at the last look (Open or Refresh).
func (r *Reader) Size() int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.size
}

// Pass reads, checks and decodes pass i (0 is the first).
func (r *Reader) Pass(i int) (*collector.Pass, error) {
	r.mu.RLock()
	if i < 0 || i >= len(r.offsets) {
		n := len(r.offsets)
		r.mu.RUnlock()
		return nil, fmt.Errorf("%s: pass %d out of range: it holds %d passes", r.name, i, n)
	}
	off, size := r.offsets[i], r.size
	r.mu.RUnlock()

	p, err := r.readPass(off, size)
	var re *recordError
	switch {
	case errors.As(err, &re):
		r.mu.Lock()
		if r.readBad == nil || off < r.readBad.Offset {
			r.readBad = &Damage{Offset: off, Reason: fmt.Sprintf("pass %d: %s", i, err)}
		}
		r.mu.Unlock()
		return nil, fmt.Errorf("%s: pass %d at offset %d is damaged: %w", r.name, i, off, err)
	case err != nil:
		return nil, fmt.Errorf("cannot read pass %d of %s: %w", i, r.name, bare(err))
	}
	return p, nil
}

func (r *Reader) readPass(off, size int64) (*collector.Pass, error) {
	payload, _, err := readRecord(r.f, off, size, maxRecordLen, nil)
	if err != nil {
		return nil, err
	}
	if payload[0] != recPass {
		return nil, corrupt("record type %d, want pass (%d)", payload[0], recPass)
	}
	raw, err := decompress(payload[1:], &r.shape)
	if err != nil {
		return nil, corrupt("%v", err)
	}
	p, err := decodePass(raw, &r.shape, r.prec)
	if err != nil {
		return nil, corrupt("decode: %v", err)
	}
	return p, nil
}

// Close releases the file; a Reader of bytes has nothing to release.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.released {
		return nil
	}
	r.released = true
	if err := r.f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", r.name, bare(err))
	}
	return nil
}
