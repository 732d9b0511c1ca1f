package runfile

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/mlpviz/mlpviz/collector"
)

// source is what a Reader reads: a file, or a run file in memory.
type source interface {
	io.ReaderAt
	io.Closer
	size() (int64, error) // the bytes readable now; a file may be growing
	replaced() bool
}

// fileSource is a file; path, when set, is the name it was opened at, to
// notice when another file is put there.
type fileSource struct {
	*os.File
	path string
}

// replaced reports whether the path now names another file than the one
// open: a run renamed over it.
func (f fileSource) replaced() bool {
	if f.path == "" {
		return false
	}
	now, err := os.Stat(f.path)
	if err != nil {
		return true
	}
	st, err := f.Stat()
	return err == nil && !os.SameFile(st, now)
}

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
func (memSource) replaced() bool         { return false }

// ErrReplaced is the error of Refresh when another file has been put at the
// path since it was opened: another run overwrote it.
var ErrReplaced = errors.New("another run has replaced it; open it again to see that run")

// Reader gives random access to the passes of a run file, including one that
// is still being written (see Refresh). Its methods are safe for concurrent
// use, so that a viewer may read passes while another goroutine tails.
//
// A damaged record costs only itself: the reader finds the next whole record
// after it, and reports every damage it met (Damages).
type Reader struct {
	f       source
	name    string // the path, for messages
	version int
	codec   codec
	prec    Precision
	arch    *collector.Architecture
	shape   shape
	head    []byte // magic and header record as first read, to notice an overwrite

	mu       sync.RWMutex
	offsets  []int64  // of every whole pass record found
	seqs     []uint64 // the sequence number each should carry
	ends     []int64  // where the record after each should start (index path: checked by Pass)
	scanOff  int64    // where the next scan starts
	lost     bool     // scanOff is where to go on looking for a record after damage, not a record
	nextSeq  uint64   // the sequence number the next pass record should carry
	size     int64    // file size at the last look
	closed   bool     // footer found
	damage   []Damage // every record that failed its checks, in file order as found
	partial  *Damage  // a record cut short at the end, as Open found it
	bad      map[int]bool
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
	return newReader(fileSource{File: f, path: path}, path)
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
	switch {
	case version >= 3:
		if r.codec, err = parseCodec(le.Uint16(m[6:])); err != nil {
			return fmt.Errorf("%s: the magic's codec: %v: damaged, or written by a newer mlpviz", r.name, err)
		}
	case le.Uint16(m[6:]) != 0:
		return fmt.Errorf("%s: the magic's reserved bytes are not zero: damaged", r.name)
	}

	payload, end, err := readRecord(r.codec, r.f, magicLen, size, maxHeaderLen, nil)
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
	s.sections = version >= 4
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
	indexOff, ok := parseFooter(r.codec, foot[:])
	if !ok || indexOff < first || indexOff > r.size-footerLen {
		return false
	}
	payload, end, err := readRecord(r.codec, r.f, indexOff, r.size-footerLen, maxRecordLen, nil)
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
	if (n > 0 && offsets[0] != first) || (n == 0 && indexOff != first) {
		return false // bytes the index does not account for
	}
	// Every record must end where the next begins: an index that disagrees
	// with the records (some moved, as when two are swapped) is not used,
	// and the scan finds what is whole.
	for i, off := range offsets {
		end := indexOff
		if i+1 < len(offsets) {
			end = offsets[i+1]
		}
		var h [frameHeaderLen]byte
		if _, err := r.f.ReadAt(h[:], off); err != nil || r.codec.crc(h[:8]) != le.Uint32(h[8:]) ||
			le.Uint64(h[:8]) != uint64(end-off-frameOverhead) {
			return false
		}
	}
	r.offsets, r.scanOff, r.closed = offsets, indexOff, true
	r.seqs = make([]uint64, n)
	r.ends = make([]int64, n)
	for i := range offsets {
		r.seqs[i] = uint64(i)
		r.ends[i] = indexOff
		if i+1 < len(offsets) {
			r.ends[i] = offsets[i+1]
		}
	}
	r.nextSeq = n
	return true
}

// scan reads the records from scanOff to the end of the file as last seen,
// checking every CRC and sequence number, and returns how many passes it
// found. After a damaged record it looks for the next whole one; open says
// whether a record cut short at the end counts as damage. The caller holds
// mu or owns r.
func (r *Reader) scan(open bool) (added int, err error) {
	var buf []byte
	for off := r.scanOff; off < r.size; {
		if r.lost {
			next, err := r.resync(off)
			if err != nil {
				return added, err
			}
			if next < 0 {
				// Nothing whole yet; a live file may still append one.
				r.scanOff = max(off, r.size-frameHeaderLen+1)
				return added, nil
			}
			off, r.lost = next, false
		}
		payload, end, err := readRecord(r.codec, r.f, off, r.size, maxRecordLen, buf)
		var re *recordError
		if errors.As(err, &re) {
			if re.partial {
				r.scanOff = off
				if open {
					r.partial = &Damage{Offset: off, Reason: re.reason, Partial: true}
				}
				return added, nil
			}
			r.addDamage(off, re.reason)
			r.scanOff, r.lost = off+1, true
			off++
			continue
		}
		if err != nil {
			return added, fmt.Errorf("cannot read %s at offset %d: %w", r.name, off, bare(err))
		}
		buf = payload[:cap(payload)]
		switch payload[0] {
		case recPass:
			seq, ok := r.passSeq(payload)
			switch {
			case !ok:
				r.addDamage(off, "pass record too short")
			case seq < r.nextSeq:
				r.addDamage(off, fmt.Sprintf("pass record %d where pass %d belongs: repeated or out of order", seq, r.nextSeq))
			default:
				switch {
				case seq == r.nextSeq+1:
					r.addDamage(off, fmt.Sprintf("pass %d missing", r.nextSeq))
				case seq > r.nextSeq:
					r.addDamage(off, fmt.Sprintf("passes %d to %d missing", r.nextSeq, seq-1))
				}
				r.offsets = append(r.offsets, off)
				r.seqs = append(r.seqs, seq)
				r.ends = append(r.ends, -1)
				r.nextSeq = seq + 1
				added++
			}
			off = end
			r.scanOff = end
		case recIndex:
			return added, r.footerAfterIndex(off, end, open)
		default:
			r.addDamage(off, fmt.Sprintf("unknown record type %d", payload[0]))
			r.scanOff, r.lost = off+1, true
			off++
		}
	}
	return added, nil
}

// passSeq reads the sequence number of a pass record; files of format
// version 1 have none, and their passes are numbered as found.
func (r *Reader) passSeq(payload []byte) (uint64, bool) {
	if r.version < 2 {
		return r.nextSeq, len(payload) >= 2
	}
	if len(payload) < 10 {
		return 0, false
	}
	return le.Uint64(payload[1:]), true
}

// resync returns the first offset at or after from where a record starts
// whose length CRC and payload CRC both hold (or one cut short by the end
// of the file), or -1.
func (r *Reader) resync(from int64) (int64, error) {
	const chunk = 1 << 20
	buf := make([]byte, chunk+frameHeaderLen)
	for base := from; base+frameHeaderLen <= r.size; base += chunk {
		n := int(min(int64(len(buf)), r.size-base))
		if _, err := r.f.ReadAt(buf[:n], base); err != nil && !errors.Is(err, io.EOF) {
			return -1, fmt.Errorf("cannot read %s at offset %d: %w", r.name, base, bare(err))
		}
		for i := 0; i+frameHeaderLen <= n && i < chunk; i++ {
			h := buf[i : i+frameHeaderLen]
			if r.codec.crc(h[:8]) != le.Uint32(h[8:]) {
				continue
			}
			off := base + int64(i)
			_, _, err := readRecord(r.codec, r.f, off, r.size, maxRecordLen, nil)
			var re *recordError
			if err == nil || (errors.As(err, &re) && re.partial) {
				return off, nil
			}
		}
	}
	return -1, nil
}

func (r *Reader) addDamage(off int64, reason string) {
	r.damage = append(r.damage, Damage{Offset: off, Reason: reason})
}

// footerAfterIndex checks the footer that should follow the index record
// found at off by a scan.
func (r *Reader) footerAfterIndex(off, end int64, open bool) error {
	left := r.size - end
	if left < footerLen {
		r.scanOff = off
		if open {
			r.partial = &Damage{Offset: end, Reason: fmt.Sprintf("truncated footer: %d of %d bytes", left, footerLen), Partial: true}
		}
		return nil
	}
	var foot [footerLen]byte
	if _, err := r.f.ReadAt(foot[:], end); err != nil {
		return fmt.Errorf("cannot read the footer of %s at offset %d: %w", r.name, end, bare(err))
	}
	r.scanOff = off
	if at, ok := parseFooter(r.codec, foot[:]); !ok || at != off {
		r.addDamage(end, "footer damaged")
		r.scanOff = r.size // nothing can follow a footer
		return nil
	}
	r.closed = true
	if left > footerLen {
		r.addDamage(end+footerLen, fmt.Sprintf("%d bytes after the footer", left-footerLen))
	}
	return nil
}

// Refresh reads the records appended since the last look, to tail a file
// that is still being written, and returns how many passes it found. A
// record cut short at the end is taken as not yet written, not as damage.
// A closed file has nothing to add. Refresh fails with ErrReplaced when
// another file has been put at the path, and also when the file shrank or
// its header changed: another run has overwritten it, and it must be
// opened again.
func (r *Reader) Refresh() (added int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.released {
		return 0, fmt.Errorf("cannot look for new passes in %s: it is closed", r.name)
	}
	if r.f.replaced() {
		return 0, fmt.Errorf("%s: %w", r.name, ErrReplaced)
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

// Expected is the number of passes the file's records account for: one
// past the last sequence number found, so that passes lost to damage are
// counted too (for format version 1 files, those found).
func (r *Reader) Expected() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return int(r.nextSeq)
}

// Len is the number of pass records found so far; Pass may still find one
// of them damaged.
func (r *Reader) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.offsets)
}

// Damage reports the first damaged byte of the file, or nil: a record that
// fails its checks, a record cut short at the end when Open found it, or a
// pass record that Pass found bad.
func (r *Reader) Damage() *Damage {
	d := r.Damages()
	if len(d) == 0 {
		return nil
	}
	return &d[0]
}

// Damages reports every damage found so far, in file order.
func (r *Reader) Damages() []Damage {
	r.mu.RLock()
	defer r.mu.RUnlock()
	all := slices.Clone(r.damage)
	if r.partial != nil {
		all = append(all, *r.partial)
	}
	slices.SortStableFunc(all, func(a, b Damage) int { return cmp.Compare(a.Offset, b.Offset) })
	return slices.CompactFunc(all, func(a, b Damage) bool { return a.Offset == b.Offset })
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

// Pass reads, checks and decodes pass i (0 is the first whole one found).
// A pass that fails its checks is added to Damages. Messages count passes
// from 1, as the timeline does.
func (r *Reader) Pass(i int) (*collector.Pass, error) {
	r.mu.RLock()
	if i < 0 || i >= len(r.offsets) {
		n := len(r.offsets)
		r.mu.RUnlock()
		return nil, fmt.Errorf("%s: pass %d out of range: it holds %d passes", r.name, i, n)
	}
	off, seq, end, size := r.offsets[i], r.seqs[i], r.ends[i], r.size
	r.mu.RUnlock()

	p, err := r.readPass(off, seq, end, size)
	var re *recordError
	switch {
	case errors.As(err, &re):
		r.mu.Lock()
		if !r.bad[i] {
			if r.bad == nil {
				r.bad = map[int]bool{}
			}
			r.bad[i] = true
			r.addDamage(off, fmt.Sprintf("pass %d: %s", i+1, err))
		}
		r.mu.Unlock()
		return nil, fmt.Errorf("%s: pass %d at offset %d is damaged: %w", r.name, i+1, off, err)
	case err != nil:
		return nil, fmt.Errorf("cannot read pass %d of %s: %w", i, r.name, bare(err))
	}
	return p, nil
}

// SkipDamaged decodes every pass and leaves out of the Reader those that
// fail, so that Len and Pass then cover the whole passes only; it returns
// how the passes left out were numbered before. Their damage stays in
// Damages. It holds one decoded pass at a time.
func (r *Reader) SkipDamaged() (skipped []int) {
	var keep []int
	for i := range r.Len() {
		if _, err := r.Pass(i); err != nil {
			skipped = append(skipped, i)
		} else {
			keep = append(keep, i)
		}
	}
	if len(skipped) == 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	offsets, seqs, ends := r.offsets[:0:0], r.seqs[:0:0], r.ends[:0:0]
	for _, i := range keep {
		offsets, seqs, ends = append(offsets, r.offsets[i]), append(seqs, r.seqs[i]), append(ends, r.ends[i])
	}
	r.offsets, r.seqs, r.ends, r.bad = offsets, seqs, ends, nil
	return skipped
}

// readPass reads the pass record at off, which should carry seq and, when
// end is not -1, be followed by a record at end.
func (r *Reader) readPass(off int64, seq uint64, end, size int64) (*collector.Pass, error) {
	payload, next, err := readRecord(r.codec, r.f, off, size, maxRecordLen, nil)
	if err != nil {
		return nil, err
	}
	if payload[0] != recPass {
		return nil, corrupt("record type %d, want pass (%d)", payload[0], recPass)
	}
	if end >= 0 && next != end {
		return nil, corrupt("record ends at %d, the next one starts at %d", next, end)
	}
	body := payload[1:]
	if r.version >= 2 {
		if len(payload) < 10 {
			return nil, corrupt("pass record too short")
		}
		if got := le.Uint64(payload[1:]); got != seq {
			return nil, corrupt("pass record %d where pass %d belongs", got, seq)
		}
		body = payload[9:]
	}
	raw, err := decompress(r.codec, body, &r.shape)
	if err != nil {
		return nil, corrupt("%v", err)
	}
	p, err := decodePass(raw, &r.shape, r.prec)
	releaseRaw(raw)
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
