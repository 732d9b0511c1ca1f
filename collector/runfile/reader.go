package runfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/mlpviz/mlpviz/collector"
)

// Reader gives random access to the passes of a run file, including one that
// is still being written (see Refresh). Its methods are safe for concurrent
// use, so that a viewer may read passes while another goroutine tails.
type Reader struct {
	f       *os.File
	path    string
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
		return nil, fmt.Errorf("runfile: %w", err)
	}
	r := &Reader{f: f, path: path}
	if err := r.load(); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

func (r *Reader) load() error {
	st, err := r.f.Stat()
	if err != nil {
		return fmt.Errorf("runfile: %w", err)
	}
	size := st.Size()
	if size == 0 {
		return fmt.Errorf("runfile: %s: empty file, not even a header; was the run started?", r.path)
	}
	var m [magicLen]byte
	got := m[:min(size, magicLen)]
	if _, err := r.f.ReadAt(got, 0); err != nil {
		return fmt.Errorf("runfile: %w", err)
	}
	cut := len(got) < len(magic) && bytes.HasPrefix([]byte(magic), got)
	if !cut && !bytes.HasPrefix(got, []byte(magic)) {
		return fmt.Errorf("runfile: %s is not an mlpv run file (it starts with %q)", r.path, got)
	}
	if len(got) < magicLen {
		return fmt.Errorf("runfile: %s: file ends inside the magic (%d of %d bytes)", r.path, len(got), magicLen)
	}
	version := int(le.Uint16(m[4:]))
	if version > FormatVersion {
		return fmt.Errorf("runfile: %s: format version %d is newer than this mlpviz reads (%d); update mlpviz", r.path, version, FormatVersion)
	}
	if version == 0 {
		return fmt.Errorf("runfile: %s: format version 0 is not valid", r.path)
	}

	payload, end, err := readRecord(r.f, magicLen, size, maxHeaderLen, nil)
	if err != nil {
		var re *recordError
		if errors.As(err, &re) {
			return fmt.Errorf("runfile: %s: header record damaged: %w", r.path, err)
		}
		return fmt.Errorf("runfile: %s: header record: %w", r.path, err)
	}
	h, err := parseHeader(payload)
	if err != nil {
		return fmt.Errorf("runfile: %s: header record damaged: %w", r.path, err)
	}
	if h.version != version {
		return fmt.Errorf("runfile: %s: header record damaged: it says format version %d, the magic %d", r.path, h.version, version)
	}
	s, err := newShape(h.arch, h.prec)
	if err != nil {
		return fmt.Errorf("runfile: %s: header record damaged: architecture: %w", r.path, err)
	}
	r.version, r.prec, r.arch, r.shape = version, h.prec, h.arch, s
	r.head = make([]byte, end)
	if _, err := r.f.ReadAt(r.head, 0); err != nil {
		return fmt.Errorf("runfile: %w", err)
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
			return added, fmt.Errorf("runfile: %s: record at offset %d: %w", r.path, off, err)
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
		return fmt.Errorf("runfile: %s: footer at offset %d: %w", r.path, end, err)
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
		return 0, fmt.Errorf("runfile: %s: refresh after Close", r.path)
	}
	st, err := r.f.Stat()
	if err != nil {
		return 0, fmt.Errorf("runfile: %w", err)
	}
	size := st.Size()
	if size < r.size {
		return 0, fmt.Errorf("runfile: %s: file shrank from %d to %d bytes; another run overwrote it", r.path, r.size, size)
	}
	head := make([]byte, len(r.head))
	if _, err := r.f.ReadAt(head, 0); err != nil {
		return 0, fmt.Errorf("runfile: %s: reread header: %w", r.path, err)
	}
	if !bytes.Equal(head, r.head) {
		return 0, fmt.Errorf("runfile: %s: header changed; another run overwrote it", r.path)
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
		return nil, fmt.Errorf("runfile: %s: pass %d out of range (the file has %d)", r.path, i, n)
	}
	off, size := r.offsets[i], r.size
	r.mu.RUnlock()

	p, err := r.readPass(off, size)
	if err != nil {
		var re *recordError
		if errors.As(err, &re) {
			r.mu.Lock()
			if r.readBad == nil || off < r.readBad.Offset {
				r.readBad = &Damage{Offset: off, Reason: fmt.Sprintf("pass %d: %s", i, err)}
			}
			r.mu.Unlock()
		}
		return nil, fmt.Errorf("runfile: pass %d at offset %d: %w", i, off, err)
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

// Close releases the file.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.released {
		return nil
	}
	r.released = true
	if err := r.f.Close(); err != nil {
		return fmt.Errorf("runfile: close %s: %w", r.path, err)
	}
	return nil
}
