package runfile

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/mlpviz/mlpviz/collector"
	"github.com/x448/float16"
)

// The pass encoding, before zstd (little-endian):
//
//	step int64 | epoch int64 | wall seconds int64 | wall nanoseconds uint32
//	loss float32 | accuracy float32 | true label int64 | prediction int64
//	array image | array logits | array probs
//	layer count uint32, then per layer:
//	  array input | output | weight | bias | grad weight | grad bias
//	from format version 4, optional sections to the end of the pass, each
//	opened by its tag uint8, in increasing tag order, each at most once:
//	  1 probes: count uint32 (the probe set less the pass's own probe),
//	    then per probe: true label int64 | prediction int64 | array image |
//	    array logits | array probs | per layer of the pass: array input |
//	    array output
//	  2 health: count uint32 (hidden layers), then per hidden layer:
//	    array mean | array active fraction | array standard deviation
//
// A pass without probes or health leaves their sections out: it encodes to
// the bytes format version 2 gave it. An unknown tag is damage, or a newer
// format.
//
// array: count uint32, then for count > 0
//
//	F16: scale exponent k int16 | count float16 bit patterns uint16
//	F32: count float32 bit patterns uint32
//
// A float16 value v of an array with scale exponent k stands for v·2^-k: k
// puts the array's largest finite magnitude in [2^14, 2^15), so that arrays of
// small values (gradients) keep float16's relative precision instead of
// falling into its subnormals, and large ones do not overflow to infinity.
// (Splitting the floats into byte planes was tried: zstd gained under 1%.)

// fixedPassLen is the size of the scalars before the first array.
const fixedPassLen = 8 + 8 + 8 + 4 + 4 + 4 + 8 + 8

// shape is what the reader allows a pass of an Architecture to take, so
// that no size read from a file makes it allocate without limit. Whether
// the arrays fit is Architecture.Check's to say, for the writer and the
// reader alike.
type shape struct {
	arch     *collector.Architecture
	maxRaw   int  // largest encoded pass, at the file's precision
	sections bool // format version 4: sections may follow the layers
}

func newShape(arch *collector.Architecture, prec Precision) (shape, error) {
	s := shape{arch: arch}
	classes := len(arch.ClassNames)
	if classes > maxClasses {
		return s, fmt.Errorf("%d class names (limit %d)", classes, maxClasses)
	}
	img := 1
	for i, d := range arch.InputShape {
		if d < 0 || d > maxImage {
			return s, fmt.Errorf("input shape %v: dimension %d out of range", arch.InputShape, i)
		}
		img *= d
		if img > maxImage {
			return s, fmt.Errorf("input shape %v: over %d values", arch.InputShape, maxImage)
		}
	}
	if arch.Probes < 0 || arch.Probes > maxProbes {
		return s, fmt.Errorf("a probe set of %d (limit %d)", arch.Probes, maxProbes)
	}
	if arch.HealthBatch < 0 {
		return s, fmt.Errorf("a health batch of %d images", arch.HealthBatch)
	}
	if len(arch.Head) > maxHeadLayers {
		return s, fmt.Errorf("%d head layers (limit %d)", len(arch.Head), maxHeadLayers)
	}
	weights, neurons := 0, 0
	for i, l := range arch.Head {
		if l.In <= 0 || l.Out <= 0 || l.In > maxNeurons || l.Out > maxNeurons {
			return s, fmt.Errorf("head layer %d: bad shape %dx%d", i+1, l.In, l.Out)
		}
		weights += l.In * l.Out
		neurons += l.In + l.Out
		if weights > maxHeadWeights || neurons > maxNeurons {
			return s, fmt.Errorf("a head of %s weights and %d neurons or more, over the %s weights and %d neurons a run file holds (cap it with a neuron cap)",
				grouped(weights), neurons, grouped(maxHeadWeights), maxNeurons)
		}
	}
	if classes == 0 {
		classes = maxClasses
	}
	e := prec.elemSize()
	arr := func(n int) int {
		if prec == F16 {
			return 4 + 2 + n*e
		}
		return 4 + n*e
	}
	total := fixedPassLen + arr(img) + 2*arr(classes) + 4
	acts := 0 // one probe's activations
	for _, l := range arch.Head {
		total += 2*arr(l.In*l.Out) + arr(l.In) + 3*arr(l.Out)
		acts += arr(l.In) + arr(l.Out)
	}
	if extra := max(arch.Probes, 1) - 1; extra > 0 {
		total += 1 + 4 + extra*(16+arr(img)+2*arr(arch.ProbeClasses())+acts)
	}
	if arch.HealthBatch > 0 && len(arch.Head) > 1 {
		total += 1 + 4
		for _, l := range arch.Head[1:] {
			total += 3 * arr(l.In)
		}
	}
	if total > maxPassBytes {
		return s, fmt.Errorf("a pass would take %d bytes, over the %d a run file holds", total, maxPassBytes)
	}
	s.maxRaw = total
	return s, nil
}

// grouped writes n with thousands separated, as a reader counts weights.
func grouped(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// layerFields names the arrays of a LayerPass in encoding order.
var layerFields = [...]string{"input", "output", "weight", "bias", "grad_weight", "grad_bias"}

func layerField(l *collector.LayerPass, f int) *[]float32 {
	switch f {
	case 0:
		return &l.Input
	case 1:
		return &l.Output
	case 2:
		return &l.Weight
	case 3:
		return &l.Bias
	case 4:
		return &l.GradWeight
	default:
		return &l.GradBias
	}
}

// Section tags of format version 4.
const (
	sectionProbes byte = 1
	sectionHealth byte = 2
)

// appendPass appends the binary encoding of p. It does not check p.
func appendPass(dst []byte, p *collector.Pass, prec Precision) []byte {
	dst = le.AppendUint64(dst, uint64(int64(p.Step)))
	dst = le.AppendUint64(dst, uint64(int64(p.Epoch)))
	dst = le.AppendUint64(dst, uint64(p.Wall.Unix()))
	dst = le.AppendUint32(dst, uint32(p.Wall.Nanosecond()))
	dst = le.AppendUint32(dst, math.Float32bits(p.Loss))
	dst = le.AppendUint32(dst, math.Float32bits(p.Accuracy))
	dst = le.AppendUint64(dst, uint64(int64(p.TrueLabel)))
	dst = le.AppendUint64(dst, uint64(int64(p.Prediction)))
	dst = appendFloats(dst, p.Image, prec)
	dst = appendFloats(dst, p.Logits, prec)
	dst = appendFloats(dst, p.Probs, prec)
	dst = le.AppendUint32(dst, uint32(len(p.Layers)))
	for i := range p.Layers {
		for f := range layerFields {
			dst = appendFloats(dst, *layerField(&p.Layers[i], f), prec)
		}
	}
	if len(p.Probes) > 0 {
		dst = append(dst, sectionProbes)
		dst = le.AppendUint32(dst, uint32(len(p.Probes)))
		for j := range p.Probes {
			pr := &p.Probes[j]
			dst = le.AppendUint64(dst, uint64(int64(pr.TrueLabel)))
			dst = le.AppendUint64(dst, uint64(int64(pr.Prediction)))
			dst = appendFloats(dst, pr.Image, prec)
			dst = appendFloats(dst, pr.Logits, prec)
			dst = appendFloats(dst, pr.Probs, prec)
			for i := range p.Layers {
				var l collector.ProbeLayer
				if i < len(pr.Layers) {
					l = pr.Layers[i]
				}
				dst = appendFloats(dst, l.Input, prec)
				dst = appendFloats(dst, l.Output, prec)
			}
		}
	}
	if len(p.Health) > 0 {
		dst = append(dst, sectionHealth)
		dst = le.AppendUint32(dst, uint32(len(p.Health)))
		for h := range p.Health {
			lh := &p.Health[h]
			dst = appendFloats(dst, lh.Mean, prec)
			dst = appendFloats(dst, lh.Active, prec)
			dst = appendFloats(dst, lh.Std, prec)
		}
	}
	return dst
}

func appendFloats(dst []byte, v []float32, prec Precision) []byte {
	dst = le.AppendUint32(dst, uint32(len(v)))
	if len(v) == 0 {
		return dst
	}
	if prec == F32 {
		start := len(dst)
		dst = grow(dst, 4*len(v))
		b := dst[start:]
		for i, x := range v {
			le.PutUint32(b[4*i:], math.Float32bits(x))
		}
		return dst
	}
	k := f16Shift(v)
	dst = le.AppendUint16(dst, uint16(int16(k)))
	start := len(dst)
	dst = grow(dst, 2*len(v))
	b := dst[start:]
	if k == 0 {
		for i, x := range v {
			le.PutUint16(b[2*i:], toF16(x))
		}
		return dst
	}
	scale := math.Ldexp(1, k)
	for i, x := range v {
		le.PutUint16(b[2*i:], toF16(float32(float64(x)*scale)))
	}
	return dst
}

// toF16 rounds x to the nearest float16 (ties to even), as
// float16.Fromfloat32 does, but without branches for the values that scaling
// makes common, those in float16's normal range: the general conversion
// spends most of Append's time mispredicting its rounding branch.
func toF16(x float32) uint16 {
	u := math.Float32bits(x)
	a := u & 0x7fffffff
	if a < 0x38800000 || a >= 0x477ff000 { // below 2^-14, or rounds past 65504
		return float16.Fromfloat32(x).Bits()
	}
	h := (a + 0x0fff + (a>>13)&1) >> 13 // carries into the exponent as it should
	return uint16(u>>16&0x8000 | (h - (127-15)<<10))
}

// grow extends dst by n bytes whose contents the caller overwrites.
func grow(dst []byte, n int) []byte {
	if cap(dst)-len(dst) < n {
		d := make([]byte, len(dst), 2*cap(dst)+n)
		copy(d, dst)
		dst = d
	}
	return dst[:len(dst)+n]
}

// f16Shift is the power of two that brings the largest finite magnitude of v
// into [2^14, 2^15): the top of float16's range, with room left for rounding.
func f16Shift(v []float32) int {
	var m uint32 // largest finite magnitude, as bits: they order as the values do
	for _, x := range v {
		if a := math.Float32bits(x) & 0x7fffffff; a > m && a < 0x7f800000 {
			m = a
		}
	}
	if m == 0 {
		return 0
	}
	_, e := math.Frexp(float64(math.Float32frombits(m))) // m < 2^e
	return 15 - e
}

// decoder is shared by all readers: DecodeAll is safe for concurrent use, and
// the cap limit makes it stop at the size the frame header declared.
var decoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil,
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(maxPassBytes),
		zstd.WithDecoderMaxWindow(maxPassBytes),
		zstd.WithDecodeAllCapLimit(true))
})

// rawBuffers keeps the buffers passes are inflated into: decodePass copies
// every value out, and a pass can take 70 MB before it is decoded, which a
// reader of many passes need not allocate again for each.
var rawBuffers sync.Pool

// rawBuffer returns a buffer of n bytes, reused when one is free.
func rawBuffer(n int) []byte {
	if b, ok := rawBuffers.Get().(*[]byte); ok && cap(*b) >= n {
		return (*b)[:n]
	}
	return make([]byte, n)
}

// decompress inflates the body of a pass record after checking the size it
// declares against what the architecture allows. The caller hands the
// result back with releaseRaw once it is decoded.
func decompress(c codec, src []byte, s *shape) ([]byte, error) {
	if c.compression == compressZstd {
		return decompressZstd(src, s)
	}
	if len(src) < 8 {
		return nil, errors.New("pass record too short for its size")
	}
	n := le.Uint64(src)
	src = src[8:]
	if n < fixedPassLen+4 || n > uint64(s.maxRaw) {
		return nil, fmt.Errorf("pass declares %d bytes, a pass of this architecture takes %d to %d", n, fixedPassLen+4, s.maxRaw)
	}
	if c.compression == compressNone {
		if uint64(len(src)) != n {
			return nil, fmt.Errorf("pass of %d bytes declares %d", len(src), n)
		}
		out := rawBuffer(int(n))
		copy(out, src)
		return out, nil
	}
	return inflate(src, int(n))
}

// zlibReaders keeps inflaters for reuse: each holds a 32 KB window.
var zlibReaders sync.Pool

// inflate reads the zlib stream src, which must hold exactly n bytes.
func inflate(src []byte, n int) ([]byte, error) {
	in := bytes.NewReader(src)
	var zr io.ReadCloser
	if z, ok := zlibReaders.Get().(io.ReadCloser); ok && z.(zlib.Resetter).Reset(in, nil) == nil {
		zr = z
	} else {
		var err error
		if zr, err = zlib.NewReader(in); err != nil {
			return nil, fmt.Errorf("zlib: %w", err)
		}
	}
	defer zlibReaders.Put(zr)
	out := rawBuffer(n)
	if _, err := io.ReadFull(zr, out); err != nil {
		releaseRaw(out)
		return nil, fmt.Errorf("zlib: %d bytes declared: %w", n, err)
	}
	// The stream must end here, its checksum whole.
	if k, err := zr.Read(make([]byte, 1)); k != 0 || err != io.EOF {
		releaseRaw(out)
		if err == nil || err == io.EOF {
			return nil, fmt.Errorf("zlib stream holds more than the %d bytes declared", n)
		}
		return nil, fmt.Errorf("zlib: %w", err)
	}
	return out, nil
}

// decompressZstd inflates a zstd frame after checking the size it declares.
func decompressZstd(src []byte, s *shape) ([]byte, error) {
	var h zstd.Header
	if err := h.Decode(src); err != nil {
		return nil, fmt.Errorf("zstd header: %w", err)
	}
	if !h.HasFCS || h.Skippable {
		return nil, errors.New("zstd frame does not declare its size")
	}
	if h.FrameContentSize < fixedPassLen+4 || h.FrameContentSize > uint64(s.maxRaw) {
		return nil, fmt.Errorf("zstd frame declares %d bytes, a pass of this architecture takes %d to %d", h.FrameContentSize, fixedPassLen+4, s.maxRaw)
	}
	dec, err := decoder()
	if err != nil {
		return nil, err
	}
	n := int(h.FrameContentSize)
	out, err := dec.DecodeAll(src, rawBuffer(n)[:0])
	if err != nil {
		releaseRaw(out)
		return nil, fmt.Errorf("zstd: %w", err)
	}
	if len(out) != n {
		return nil, fmt.Errorf("zstd frame gave %d bytes, declared %d", len(out), n)
	}
	return out, nil
}

func releaseRaw(b []byte) {
	b = b[:0]
	rawBuffers.Put(&b)
}

// cursor reads the pass encoding, checking every length against the bytes
// left before it allocates.
type cursor struct {
	b    []byte
	prec Precision
}

var errShort = errors.New("pass encoding ends early")

func (c *cursor) u32() (uint32, error) {
	if len(c.b) < 4 {
		return 0, errShort
	}
	v := le.Uint32(c.b)
	c.b = c.b[4:]
	return v, nil
}

func (c *cursor) u64() (uint64, error) {
	if len(c.b) < 8 {
		return 0, errShort
	}
	v := le.Uint64(c.b)
	c.b = c.b[8:]
	return v, nil
}

// floats reads the array called name; its length is the bytes left's to
// bound, the architecture's to check once the pass is whole.
func (c *cursor) floats(name string) ([]float32, error) {
	un, err := c.u32()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	n := int(un)
	if n == 0 {
		return nil, nil
	}
	need := n * c.prec.elemSize()
	if c.prec == F16 {
		need += 2
	}
	if need > len(c.b) {
		return nil, fmt.Errorf("%s: %d values need %d bytes, %d left", name, n, need, len(c.b))
	}
	v := make([]float32, n)
	if c.prec == F32 {
		for i := range v {
			v[i] = math.Float32frombits(le.Uint32(c.b[4*i:]))
		}
		c.b = c.b[need:]
		return v, nil
	}
	k := int(int16(le.Uint16(c.b)))
	if k < -160 || k > 180 {
		return nil, fmt.Errorf("%s: float16 scale exponent %d out of range", name, k)
	}
	b := c.b[2:need]
	if k == 0 {
		for i := range v {
			v[i] = float16.Frombits(le.Uint16(b[2*i:])).Float32()
		}
	} else {
		scale := math.Ldexp(1, -k)
		for i := range v {
			v[i] = float32(float64(float16.Frombits(le.Uint16(b[2*i:])).Float32()) * scale)
		}
	}
	c.b = c.b[need:]
	return v, nil
}

// decodePass reads the binary encoding of a pass and checks it against the
// architecture.
func decodePass(raw []byte, s *shape, prec Precision) (*collector.Pass, error) {
	c := cursor{b: raw, prec: prec}
	if len(raw) < fixedPassLen {
		return nil, errShort
	}
	p := &collector.Pass{
		Step:  int(int64(le.Uint64(raw[0:]))),
		Epoch: int(int64(le.Uint64(raw[8:]))),
	}
	sec, nsec := int64(le.Uint64(raw[16:])), le.Uint32(raw[24:])
	if nsec >= 1e9 {
		return nil, fmt.Errorf("wall time nanoseconds %d out of range", nsec)
	}
	p.Wall = time.Unix(sec, int64(nsec))
	p.Loss = math.Float32frombits(le.Uint32(raw[28:]))
	p.Accuracy = math.Float32frombits(le.Uint32(raw[32:]))
	p.TrueLabel = int(int64(le.Uint64(raw[36:])))
	p.Prediction = int(int64(le.Uint64(raw[44:])))
	c.b = raw[fixedPassLen:]

	var err error
	if p.Image, err = c.floats("image"); err != nil {
		return nil, err
	}
	if p.Logits, err = c.floats("logits"); err != nil {
		return nil, err
	}
	if p.Probs, err = c.floats("probs"); err != nil {
		return nil, err
	}
	nl, err := c.u32()
	if err != nil {
		return nil, fmt.Errorf("layer count: %w", err)
	}
	// Every layer takes at least its six array counts: a bound before the
	// allocation, whatever the count claims.
	if int64(nl) > int64(len(c.b)/(4*len(layerFields))) {
		return nil, fmt.Errorf("layer count %d: %w", nl, errShort)
	}
	p.Layers = make([]collector.LayerPass, nl)
	for i := range p.Layers {
		for f := range layerFields {
			v, err := c.floats(fmt.Sprintf("layer %d %s", i+1, layerFields[f]))
			if err != nil {
				return nil, err
			}
			*layerField(&p.Layers[i], f) = v
		}
	}
	if s.sections {
		if err := c.sections(p, s.arch); err != nil {
			return nil, err
		}
	}
	if len(c.b) != 0 {
		return nil, fmt.Errorf("%d bytes after the last layer", len(c.b))
	}
	if err := s.arch.Check(p); err != nil {
		return nil, err
	}
	return p, nil
}

// sections reads the optional sections of a format 4 pass, whose layers p
// holds already, up to the end of the encoding. No count may exceed what
// the architecture a declares, nor what the bytes left can hold, before
// anything is allocated for it: the architecture's bounds are worded as
// Architecture.Check words them.
func (c *cursor) sections(p *collector.Pass, a *collector.Architecture) error {
	var last byte
	for len(c.b) > 0 {
		tag := c.b[0]
		c.b = c.b[1:]
		if tag <= last || tag > sectionHealth {
			return fmt.Errorf("section %d after the last layer: unknown or out of order", tag)
		}
		last = tag
		n, err := c.u32()
		switch {
		case err != nil:
			return fmt.Errorf("section %d count: %w", tag, err)
		case n == 0:
			return fmt.Errorf("section %d is empty", tag)
		case tag == sectionProbes && int64(n) >= int64(max(a.Probes, 1)):
			return fmt.Errorf("pass at step %d holds %s, the run's probe set has %d", p.Step, counted(int(n)+1, "probe"), max(a.Probes, 1))
		case tag == sectionHealth && a.HealthBatch <= 0:
			return fmt.Errorf("pass at step %d holds neuron health, the run measures none (its health batch is %d)", p.Step, a.HealthBatch)
		case tag == sectionHealth && int64(n) >= int64(len(a.Head)):
			return fmt.Errorf("pass at step %d has the health of %s, the head has %d", p.Step, counted(int(n), "hidden layer"), max(len(a.Head)-1, 0))
		case tag == sectionProbes:
			err = c.probes(p, n)
		default:
			err = c.health(p, n)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// counted writes n with its noun, "1 probe" or "3 probes".
func counted(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// probes reads n probes of the probe section.
func (c *cursor) probes(p *collector.Pass, n uint32) error {
	// Every probe takes at least its labels and its array counts.
	if int64(n) > int64(len(c.b)/(16+4*(3+2*len(p.Layers)))) {
		return fmt.Errorf("probe count %d: %w", n, errShort)
	}
	p.Probes = make([]collector.Probe, n)
	for j := range p.Probes {
		pr := &p.Probes[j]
		name := fmt.Sprintf("probe %d", j+2)
		tl, err := c.u64()
		if err != nil {
			return fmt.Errorf("%s true label: %w", name, err)
		}
		pd, err := c.u64()
		if err != nil {
			return fmt.Errorf("%s prediction: %w", name, err)
		}
		pr.TrueLabel, pr.Prediction = int(int64(tl)), int(int64(pd))
		for _, f := range [...]struct {
			name string
			v    *[]float32
		}{{"image", &pr.Image}, {"logits", &pr.Logits}, {"probs", &pr.Probs}} {
			if *f.v, err = c.floats(name + " " + f.name); err != nil {
				return err
			}
		}
		pr.Layers = make([]collector.ProbeLayer, len(p.Layers))
		for i := range pr.Layers {
			l := &pr.Layers[i]
			if l.Input, err = c.floats(fmt.Sprintf("%s layer %d input", name, i+1)); err != nil {
				return err
			}
			if l.Output, err = c.floats(fmt.Sprintf("%s layer %d output", name, i+1)); err != nil {
				return err
			}
		}
	}
	return nil
}

// health reads the health of n hidden layers.
func (c *cursor) health(p *collector.Pass, n uint32) error {
	if int64(n) > int64(len(c.b)/12) {
		return fmt.Errorf("health layer count %d: %w", n, errShort)
	}
	p.Health = make([]collector.LayerHealth, n)
	for h := range p.Health {
		lh := &p.Health[h]
		for _, f := range [...]struct {
			name string
			v    *[]float32
		}{{"mean", &lh.Mean}, {"active fraction", &lh.Active}, {"deviation", &lh.Std}} {
			v, err := c.floats(fmt.Sprintf("hidden layer %d health %s", h+1, f.name))
			if err != nil {
				return err
			}
			*f.v = v
		}
	}
	return nil
}

// header is the content of the header record.
type header struct {
	version int
	prec    Precision
	arch    *collector.Architecture
}

func appendHeader(dst []byte, prec Precision, archJSON []byte) []byte {
	dst = append(dst, recHeader)
	dst = le.AppendUint16(dst, writeVersion)
	dst = append(dst, byte(prec), 0)
	return append(dst, archJSON...)
}

func parseHeader(payload []byte) (header, error) {
	var h header
	if len(payload) < 5 {
		return h, fmt.Errorf("header record of %d bytes is too short", len(payload))
	}
	if payload[0] != recHeader {
		return h, fmt.Errorf("record type %d, want header (%d)", payload[0], recHeader)
	}
	h.version = int(le.Uint16(payload[1:]))
	h.prec = Precision(payload[3])
	if !h.prec.valid() {
		return h, fmt.Errorf("unknown precision %d", payload[3])
	}
	h.arch = new(collector.Architecture)
	if err := json.Unmarshal(payload[5:], h.arch); err != nil {
		return h, fmt.Errorf("architecture: %w", err)
	}
	return h, nil
}
