// Package runfile reads and writes .mlpv run files: the Architecture of a
// training run followed by one record per collected Pass.
//
// The file is append-only and framed like TFRecord, so that a trainer killed
// at any moment leaves a file that reads up to its last whole record, and so
// that a viewer can tail a file that is still being written. A file closed
// cleanly ends in an index and a fixed-size footer, which let Open reach any
// pass without reading the others. Encode and OpenBytes write and read the
// same bytes in memory, for collections imported on the fly.
//
// Layout (all integers little-endian):
//
//	magic     "MLPV" | format version uint16 | codec uint16 (0 before version 3)
//	record    header: type 1 | version uint16 | precision uint8 | reserved uint8 | Architecture as JSON
//	record    pass:   type 2 | sequence uint64 | zstd frame of the binary pass encoding (see codec.go)
//	...       one pass record per Append
//	record    index:  type 3 | count uint64 | count × offset uint64 (file offset of each pass record)
//	footer    index offset uint64 | masked CRC-32C of (offset bytes | "MLPV") uint32 | "MLPV"
//
// Every record is framed as: payload length uint64 | masked CRC-32C of the
// 8 length bytes uint32 | payload | masked CRC-32C of the payload uint32.
// The CRC of the length doubles as a sync marker: after a damaged record the
// reader looks for the next offset where both CRCs hold, so one bad block
// costs only the passes inside it. The sequence number counts passes from 0,
// so that a duplicated, swapped or missing record is damage the reader sees.
// Format version 1 had no sequence numbers; it is still read.
//
// Format version 3 lets a writer choose its checksum and compression (the
// codec in the magic), so that a writer without CRC-32C and zstd at hand,
// such as the Python recorder (python/), writes at its library's speed:
// the codec's low byte is the checksum of every frame and of the footer (0
// CRC-32C, 1 CRC-32 as zlib computes it, masked alike), its high byte the
// compression of pass records (0 zstd, 1 zlib, 2 none). With zlib or none a
// pass record's payload is type 2 | sequence uint64 | raw length uint64 |
// the compressed bytes, so that the reader bounds the inflated size first.
//
// Format version 4 adds to a pass the probe set and the neuron health
// (collector.Pass's Probes and Health) as optional sections after its
// layers (see codec.go), and to the architecture JSON their sizes
// ("probes", "health_batch", left out when unused). A pass without them
// encodes as in version 2. Frames and the magic's codec are as in version
// 3; mlpviz writes codec 0 (CRC-32C and zstd). mlpviz writes version 4 and
// reads versions 1 to 4, the Python recorder's version 3 included.
package runfile

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
)

// FormatVersion is the newest file format this package reads.
const FormatVersion = 4

// writeVersion is the format this package writes. Its codec is fixed
// (CRC-32C and zstd), as in version 2: only the pass encoding grew.
const writeVersion = 4

// magic opens every run file and closes every cleanly closed one, so that a
// foreign file is recognised from its first bytes.
const magic = "MLPV"

const (
	magicLen       = 8  // "MLPV" | version uint16 | reserved uint16
	frameHeaderLen = 12 // payload length uint64 | its masked CRC uint32
	frameCRCLen    = 4  // masked CRC of the payload
	frameOverhead  = frameHeaderLen + frameCRCLen
	footerLen      = 16 // index offset uint64 | masked CRC uint32 | "MLPV"
)

// Record types, the first byte of every record payload.
const (
	recHeader byte = 1
	recPass   byte = 2
	recIndex  byte = 3
)

// Bounds on what a file may claim, for the whole file and not only for one
// record, so that no length or shape read from disk can make a reader
// allocate without limit: a header that claims a head is checked against
// them before any pass is read, and a pass may not decode to more than that
// head takes. The largest head mlpviz trains, cifar10_cnn's 4096-1024-512-10,
// has 4.7 million weights; a pass of maxHeadWeights at f32 with gradients
// decodes to 64 MiB.
const (
	maxHeadWeights = 1 << 23 // In·Out summed over the head's layers
	maxNeurons     = 1 << 20 // In+Out summed over the head's layers
	maxHeadLayers  = 64
	maxImage       = 1 << 22 // values of the probe image
	maxClasses     = 1 << 16
	maxProbes      = 1 << 12   // the probe set, the pass's own probe included
	maxPassBytes   = 100 << 20 // decoded size of one pass, whatever its shape
	maxRecordLen   = maxPassBytes + 1<<20
	maxHeaderLen   = 16 << 20
)

var le = binary.LittleEndian

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// codec is how a file checks its frames and compresses its passes: chosen
// by a format 3 writer, the zero value (CRC-32C, zstd) before that.
type codec struct {
	checksum    byte // checksumCRC32C or checksumCRC32
	compression byte // compressZstd, compressZlib or compressNone
}

const (
	checksumCRC32C = 0
	checksumCRC32  = 1 // IEEE, as Python's zlib.crc32
)

const (
	compressZstd = 0
	compressZlib = 1 // an RFC 1950 stream, as Python's zlib.compress
	compressNone = 2
)

// parseCodec reads the magic's codec field of a format 3 file.
func parseCodec(v uint16) (codec, error) {
	c := codec{checksum: byte(v), compression: byte(v >> 8)}
	if c.checksum > checksumCRC32 {
		return c, fmt.Errorf("unknown checksum %d", c.checksum)
	}
	if c.compression > compressNone {
		return c, fmt.Errorf("unknown compression %d", c.compression)
	}
	return c, nil
}

// crc is TFRecord's masked CRC of b with the codec's checksum: masking
// keeps a CRC computed over data that itself holds CRCs from being
// trivially related to them.
func (c codec) crc(b []byte) uint32 {
	var v uint32
	if c.checksum == checksumCRC32 {
		v = crc32.ChecksumIEEE(b)
	} else {
		v = crc32.Checksum(b, castagnoli)
	}
	return (v>>15 | v<<17) + 0xa282ead8
}

// maskedCRC is the masked CRC-32C that formats 1 and 2, and mlpviz's own
// writer, use.
func maskedCRC(b []byte) uint32 { return codec{}.crc(b) }

// Precision is how float arrays of a pass are stored.
type Precision uint8

const (
	// F16 stores float arrays as float16 with a power-of-two scale per array;
	// it halves the file at about three significant digits.
	F16 Precision = iota
	// F32 keeps every bit of every float.
	F32
)

// ParsePrecision reads "f16" or "f32", as given on a command line.
func ParsePrecision(s string) (Precision, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "f16":
		return F16, nil
	case "f32":
		return F32, nil
	}
	return 0, fmt.Errorf("unknown precision %q (want f16 or f32)", s)
}

// String returns "f16" or "f32".
func (p Precision) String() string {
	switch p {
	case F16:
		return "f16"
	case F32:
		return "f32"
	}
	return fmt.Sprintf("Precision(%d)", uint8(p))
}

// Set parses s into p, so that *Precision serves as a flag.Value.
func (p *Precision) Set(s string) error {
	v, err := ParsePrecision(s)
	if err != nil {
		return err
	}
	*p = v
	return nil
}

func (p Precision) valid() bool { return p == F16 || p == F32 }

// elemSize is the bytes one float takes at this precision.
func (p Precision) elemSize() int {
	if p == F32 {
		return 4
	}
	return 2
}

// Options tunes Create.
type Options struct {
	Precision Precision // F16 (the zero value) or F32
	Force     bool      // replace an existing file instead of refusing
	// Whole makes the file appear at its path only once Close has written
	// it whole, as an import's should; a training run's appears at once, or
	// with its first pass when it replaces another, so it can be watched.
	Whole bool
}

// Damage says where a run file stops being readable: the offset of the first
// record that is cut short or fails its checks, and why.
type Damage struct {
	Offset int64
	Reason string
	// Partial marks a last record cut short: a writer stopped in the middle
	// of it (killed, or still writing). The records before it are whole.
	Partial bool
}

func (d *Damage) String() string {
	return fmt.Sprintf("offset %d: %s", d.Offset, d.Reason)
}

// beginFrame reserves the frame header at the end of dst; the caller then
// appends the payload and calls endFrame with the returned start.
func beginFrame(dst []byte) (out []byte, start int) {
	start = len(dst)
	return append(dst, make([]byte, frameHeaderLen)...), start
}

// endFrame fills in the header of the frame that begins at start and appends
// the payload CRC, with the checksum mlpviz writes.
func endFrame(dst []byte, start int) []byte { return endFrameWith(codec{}, dst, start) }

// endFrameWith is endFrame with codec c's checksum.
func endFrameWith(c codec, dst []byte, start int) []byte {
	payload := dst[start+frameHeaderLen:]
	h := dst[start : start+frameHeaderLen]
	le.PutUint64(h, uint64(len(payload)))
	le.PutUint32(h[8:], c.crc(h[:8]))
	return le.AppendUint32(dst, c.crc(payload))
}

// recordError is a record that cannot be read. partial marks one that is
// merely cut short: not yet written by a live writer, or lost in a crash.
type recordError struct {
	partial bool
	reason  string
}

func (e *recordError) Error() string { return e.reason }

func corrupt(format string, args ...any) error {
	return &recordError{reason: fmt.Sprintf(format, args...)}
}

func cutShort(format string, args ...any) error {
	return &recordError{partial: true, reason: fmt.Sprintf(format, args...)}
}

// readRecord reads and checks the record framed at off in a file whose
// readable bytes end at end, refusing a payload longer than limit. It returns the payload (in buf when it is big
// enough) and the offset just after the record. Errors about the bytes are
// *recordError; any other error is the file's.
func readRecord(c codec, ra io.ReaderAt, off, end int64, limit uint64, buf []byte) (payload []byte, next int64, err error) {
	left := end - off
	if left < frameHeaderLen {
		return nil, 0, cutShort("truncated record header: %d of %d bytes", max(left, 0), frameHeaderLen)
	}
	var h [frameHeaderLen]byte
	if _, err := ra.ReadAt(h[:], off); err != nil {
		return nil, 0, err
	}
	if c.crc(h[:8]) != le.Uint32(h[8:]) {
		return nil, 0, corrupt("record length crc mismatch")
	}
	n := le.Uint64(h[:8])
	if n == 0 {
		return nil, 0, corrupt("empty record")
	}
	if n > limit {
		return nil, 0, corrupt("absurd record length %d (limit %d)", n, limit)
	}
	left -= frameHeaderLen
	if int64(n)+frameCRCLen > left {
		return nil, 0, cutShort("truncated record: %d payload bytes, only %d left in the file", n, max(left-frameCRCLen, 0))
	}
	total := int(n) + frameCRCLen
	if cap(buf) < total {
		buf = make([]byte, total)
	}
	buf = buf[:total]
	if _, err := ra.ReadAt(buf, off+frameHeaderLen); err != nil {
		return nil, 0, err
	}
	payload = buf[:n]
	if c.crc(payload) != le.Uint32(buf[n:]) {
		return nil, 0, corrupt("crc mismatch")
	}
	return payload, off + frameHeaderLen + int64(total), nil
}

// appendFooter appends the footer that points at the index record.
func appendFooter(c codec, dst []byte, indexOff int64) []byte {
	var b [footerLen]byte
	le.PutUint64(b[:], uint64(indexOff))
	copy(b[12:], magic)
	le.PutUint32(b[8:], footerCRC(c, b[:]))
	return append(dst, b[:]...)
}

// footerCRC covers the offset and the magic, so that a footer cannot pass
// for the header of a record.
func footerCRC(c codec, b []byte) uint32 {
	var d [12]byte
	copy(d[:8], b[:8])
	copy(d[8:], magic)
	return c.crc(d[:])
}

// parseFooter returns the index offset a footer holds, or false.
func parseFooter(c codec, b []byte) (int64, bool) {
	if len(b) != footerLen || string(b[12:]) != magic || footerCRC(c, b) != le.Uint32(b[8:]) {
		return 0, false
	}
	off := le.Uint64(b[:8])
	if off > 1<<62 {
		return 0, false
	}
	return int64(off), true
}
