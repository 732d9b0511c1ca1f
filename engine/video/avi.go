package video

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
)

// jpegQuality trades size for fidelity; 85 keeps text and thin plot lines
// clean at about a tenth of the raw size.
const jpegQuality = 85

// maxAVISize is the largest file AVI 1.0 can describe: its RIFF sizes are
// 32-bit. A variable so that tests can reach it cheaply.
var maxAVISize int64 = 1<<32 - 1

// errAVIFull stops an AVI recording that reached maxAVISize.
var errAVIFull = errors.New("video: AVI file reached the 4 GiB limit of AVI 1.0; record to .mp4 for longer videos")

// Offsets in the header written by newAVI, patched by finish.
const (
	offRIFFSize       = 4
	offAvih           = 32 // avih data
	offMaxBytesPerSec = offAvih + 4
	offTotalFrames    = offAvih + 16
	offAvihBufSize    = offAvih + 28
	offStrh           = 108 // strh data
	offStrhLength     = offStrh + 32
	offStrhBufSize    = offStrh + 36
	offMoviSize       = 216 // size field of LIST movi
	offMovi           = 220 // the "movi" fourcc; idx1 offsets count from here
	headerSize        = 224
)

// aviFile is what the AVI writer needs of *os.File; tests substitute one
// that fails.
type aviFile interface {
	io.WriterAt
	Truncate(size int64) error
	Close() error
}

// aviEncoder writes MJPEG frames into a RIFF AVI 1.0 file with an idx1
// index. It writes at explicit offsets, so a failed write leaves off at the
// end of the last whole frame and finish can still complete the file there.
type aviEncoder struct {
	f        aviFile
	fps      int
	img      image.RGBA // Pix points at the frame being encoded
	jpg      bytes.Buffer
	chunk    []byte
	index    []byte // idx1 entries, 16 bytes per frame
	off      int64  // end of the last complete frame chunk
	frames   uint32
	maxChunk uint32
}

// newAVI writes the AVI header, with zero frame counts that finish patches.
func newAVI(f aviFile, opt Options) (*aviEncoder, error) {
	w, h := uint32(opt.Width), uint32(opt.Height)
	hdr := make([]byte, 0, headerSize)
	le := binary.LittleEndian
	hdr = append(hdr, "RIFF"...)
	hdr = le.AppendUint32(hdr, 0) // patched
	hdr = append(hdr, "AVI LIST"...)
	hdr = le.AppendUint32(hdr, 192)
	hdr = append(hdr, "hdrlavih"...)
	hdr = le.AppendUint32(hdr, 56)
	for _, v := range []uint32{
		uint32(1e6 / opt.FPS), // µs per frame
		0,                     // max bytes per second, patched
		0,                     // padding granularity
		0x10,                  // AVIF_HASINDEX
		0,                     // total frames, patched
		0,                     // initial frames
		1,                     // streams
		0,                     // suggested buffer size, patched
		w, h,
		0, 0, 0, 0,
	} {
		hdr = le.AppendUint32(hdr, v)
	}
	hdr = append(hdr, "LIST"...)
	hdr = le.AppendUint32(hdr, 116)
	hdr = append(hdr, "strlstrh"...)
	hdr = le.AppendUint32(hdr, 56)
	hdr = append(hdr, "vidsMJPG"...)
	for _, v := range []uint32{
		0,                // flags
		0,                // priority, language
		0,                // initial frames
		1,                // scale
		uint32(opt.FPS),  // rate: rate/scale frames per second
		0,                // start
		0,                // length in frames, patched
		0,                // suggested buffer size, patched
		0xFFFFFFFF,       // quality: default
		0,                // sample size: varies
		0,                // rcFrame left, top
		w&0xFFFF | h<<16, // rcFrame right, bottom (16 bits each)
	} {
		hdr = le.AppendUint32(hdr, v)
	}
	hdr = append(hdr, "strf"...)
	hdr = le.AppendUint32(hdr, 40)
	hdr = le.AppendUint32(hdr, 40) // BITMAPINFOHEADER size
	hdr = le.AppendUint32(hdr, w)
	hdr = le.AppendUint32(hdr, h)
	hdr = le.AppendUint16(hdr, 1)  // planes
	hdr = le.AppendUint16(hdr, 24) // bits per pixel once decoded
	hdr = append(hdr, "MJPG"...)
	hdr = le.AppendUint32(hdr, w*h*3)
	hdr = append(hdr, make([]byte, 16)...) // resolution, colours
	hdr = append(hdr, "LIST"...)
	hdr = le.AppendUint32(hdr, 4) // patched
	hdr = append(hdr, "movi"...)
	if len(hdr) != headerSize {
		return nil, fmt.Errorf("video: internal error: AVI header is %d bytes, want %d", len(hdr), headerSize)
	}
	if _, err := f.WriteAt(hdr, 0); err != nil {
		return nil, fmt.Errorf("video: writing AVI header: %w", err)
	}
	e := &aviEncoder{f: f, fps: opt.FPS, off: headerSize}
	e.img = image.RGBA{Stride: 4 * opt.Width, Rect: image.Rect(0, 0, opt.Width, opt.Height)}
	return e, nil
}

func (e *aviEncoder) name() string { return EncoderMJPEG }

func (e *aviEncoder) encode(rgba []byte) error {
	// image/jpeg reads only R, G and B of an *image.RGBA: alpha is ignored.
	e.img.Pix = rgba
	e.jpg.Reset()
	err := jpeg.Encode(&e.jpg, &e.img, &jpeg.Options{Quality: jpegQuality})
	e.img.Pix = nil
	if err != nil {
		return fmt.Errorf("video: encoding JPEG frame %d: %w", e.frames, err)
	}
	n := e.jpg.Len()
	padded := int64(n + n&1) // RIFF chunks are word aligned
	// Room for this chunk, the index with its entry, and the idx1 header.
	if e.off+8+padded+int64(len(e.index))+16+8 > maxAVISize {
		return errAVIFull
	}
	le := binary.LittleEndian
	e.chunk = append(e.chunk[:0], "00dc"...)
	e.chunk = le.AppendUint32(e.chunk, uint32(n))
	e.chunk = append(e.chunk, e.jpg.Bytes()...)
	if n&1 != 0 {
		e.chunk = append(e.chunk, 0)
	}
	if _, err := e.f.WriteAt(e.chunk, e.off); err != nil {
		return fmt.Errorf("video: writing AVI frame %d: %w", e.frames, err)
	}
	e.index = append(e.index, "00dc"...)
	e.index = le.AppendUint32(e.index, 0x10) // AVIIF_KEYFRAME
	e.index = le.AppendUint32(e.index, uint32(e.off-offMovi))
	e.index = le.AppendUint32(e.index, uint32(n))
	e.off += int64(len(e.chunk))
	e.frames++
	e.maxChunk = max(e.maxChunk, uint32(n))
	return nil
}

// finish appends the index after the last whole frame, patches the sizes
// and counts into the header, cuts off any partly written frame and closes
// the file.
func (e *aviEncoder) finish() error {
	err := e.finalise()
	if cerr := e.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("video: closing AVI file: %w", cerr)
	}
	return err
}

func (e *aviEncoder) finalise() error {
	le := binary.LittleEndian
	idx := make([]byte, 0, 8+len(e.index))
	idx = append(idx, "idx1"...)
	idx = le.AppendUint32(idx, uint32(len(e.index)))
	idx = append(idx, e.index...)
	if _, err := e.f.WriteAt(idx, e.off); err != nil {
		return fmt.Errorf("video: writing AVI index: %w", err)
	}
	end := e.off + int64(len(idx))
	rate := uint64(e.maxChunk) * uint64(e.fps)
	patches := []struct {
		off int64
		v   uint32
	}{
		{offRIFFSize, uint32(end - 8)},
		{offMaxBytesPerSec, uint32(min(rate, 1<<32-1))},
		{offTotalFrames, e.frames},
		{offAvihBufSize, e.maxChunk},
		{offStrhLength, e.frames},
		{offStrhBufSize, e.maxChunk},
		{offMoviSize, uint32(e.off - offMovi)},
	}
	var b [4]byte
	for _, p := range patches {
		le.PutUint32(b[:], p.v)
		if _, err := e.f.WriteAt(b[:], p.off); err != nil {
			return fmt.Errorf("video: patching AVI header: %w", err)
		}
	}
	if err := e.f.Truncate(end); err != nil {
		return fmt.Errorf("video: truncating AVI file: %w", err)
	}
	return nil
}
