package runfile

import (
	"bytes"
	"compress/zlib"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// transcode rewrites a closed format 2 file as format 3 with codec c, as
// the Python recorder writes: every frame and the footer checked with c's
// checksum, passes compressed as c says; cut leaves out the index and
// footer, as a killed writer would.
func transcode(t *testing.T, v2 []byte, c codec, cut bool) []byte {
	t.Helper()
	src, err := OpenBytes("v2", v2)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out := []byte(magic)
	out = le.AppendUint16(out, 3)
	out = le.AppendUint16(out, uint16(c.checksum)|uint16(c.compression)<<8)
	frame := func(payload []byte) {
		var start int
		out, start = beginFrame(out)
		out = endFrameWith(c, append(out, payload...), start)
	}
	// The header record as read, with version 3.
	hdr, _, err := readRecord(codec{}, bytes.NewReader(v2), magicLen, int64(len(v2)), maxHeaderLen, nil)
	if err != nil {
		t.Fatal(err)
	}
	hdr = append([]byte(nil), hdr...)
	le.PutUint16(hdr[1:], 3)
	frame(hdr)
	var offsets []int64
	for i := range src.Len() {
		p, err := src.Pass(i)
		if err != nil {
			t.Fatal(err)
		}
		raw := appendPass(nil, p, src.Precision())
		rec := []byte{recPass}
		rec = le.AppendUint64(rec, uint64(i))
		switch c.compression {
		case compressZstd:
			enc, err := zstd.NewWriter(nil, zstd.WithSingleSegment(true))
			if err != nil {
				t.Fatal(err)
			}
			rec = enc.EncodeAll(raw, rec)
			enc.Close()
		case compressZlib:
			rec = le.AppendUint64(rec, uint64(len(raw)))
			var b bytes.Buffer
			z, _ := zlib.NewWriterLevel(&b, 1)
			z.Write(raw)
			z.Close()
			rec = append(rec, b.Bytes()...)
		case compressNone:
			rec = le.AppendUint64(rec, uint64(len(raw)))
			rec = append(rec, raw...)
		}
		offsets = append(offsets, int64(len(out)))
		frame(rec)
	}
	if cut {
		return out
	}
	index := []byte{recIndex}
	index = le.AppendUint64(index, uint64(len(offsets)))
	for _, o := range offsets {
		index = le.AppendUint64(index, uint64(o))
	}
	indexOff := len(out)
	frame(index)
	return appendFooter(c, out, int64(indexOff))
}

// TestVersion3 reads format 3 files of every codec, closed (through the
// index) and cut short (by scanning), with the same passes as the format 2
// file they were made from; a flipped byte is damage, as in format 2.
func TestVersion3(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	arch := mnistArch()
	want := passes(rng, arch, 5, true)
	path, _, _ := writeRun(t, arch, F16, want, true)
	v2, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []codec{{checksumCRC32, compressZlib}, {checksumCRC32, compressNone}, {checksumCRC32C, compressZlib}, {checksumCRC32, compressZstd}} {
		for _, cut := range []bool{false, true} {
			data := transcode(t, v2, c, cut)
			r, err := OpenBytes("v3", data)
			if err != nil {
				t.Fatalf("codec %+v cut %v: %v", c, cut, err)
			}
			if r.FormatVersion() != 3 || r.Len() != len(want) || r.Closed() == cut || r.Damage() != nil {
				t.Fatalf("codec %+v cut %v: version %d, %d passes, closed %v, damage %v", c, cut, r.FormatVersion(), r.Len(), r.Closed(), r.Damage())
			}
			for i := range want {
				got, err := r.Pass(i)
				if err != nil {
					t.Fatalf("codec %+v: pass %d: %v", c, i, err)
				}
				sameF16(t, i, want[i], got)
			}
			r.Close()
		}
		// One flipped byte in the middle of the second pass: that pass is
		// damaged, the others read.
		data := transcode(t, v2, c, false)
		r0, _ := OpenBytes("v3", data)
		mid := (r0.offsets[1] + r0.offsets[2]) / 2
		r0.Close()
		data[mid] ^= 0x40
		r, err := OpenBytes("v3 flipped", data)
		if err != nil {
			t.Fatalf("codec %+v flipped: %v", c, err)
		}
		if _, err := r.Pass(1); err == nil {
			t.Fatalf("codec %+v: a flipped byte in pass 2 went unnoticed", c)
		}
		if _, err := r.Pass(3); err != nil {
			t.Fatalf("codec %+v: pass 4 after a damaged pass 2: %v", c, err)
		}
		r.Close()
	}
}

// TestVersion3Refusals: an unknown codec, a zlib pass that declares more
// than the architecture allows or holds more than it declares.
func TestVersion3Refusals(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	arch := smallArch()
	path, _, _ := writeRun(t, arch, F32, passes(rng, arch, 2, false), true)
	v2, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data := transcode(t, v2, codec{checksumCRC32, compressZlib}, false)
	bad := append([]byte(nil), data...)
	le.PutUint16(bad[6:], 7<<8|1)
	if _, err := OpenBytes("unknown", bad); err == nil || !strings.Contains(err.Error(), "unknown compression 7") {
		t.Fatalf("unknown compression: %v", err)
	}
	// A pass whose declared size is larger than its stream inflates to.
	r, _ := OpenBytes("v3", data)
	off := r.offsets[0]
	r.Close()
	lie := append([]byte(nil), data...)
	sizeAt := off + frameHeaderLen + 9
	le.PutUint64(lie[sizeAt:], le.Uint64(lie[sizeAt:])+4)
	// Re-seal the frame so that only the size is wrong.
	n := le.Uint64(lie[off:])
	payload := lie[off+frameHeaderLen : off+frameHeaderLen+int64(n)]
	c := codec{checksumCRC32, compressZlib}
	le.PutUint32(lie[off+frameHeaderLen+int64(n):], c.crc(payload))
	r, err = OpenBytes("lie", lie)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Pass(0); err == nil || !strings.Contains(err.Error(), "zlib") {
		t.Fatalf("a zlib pass declaring 4 bytes more than it holds: %v", err)
	}
	r.Close()
}
