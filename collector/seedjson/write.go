package seedjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/mlpviz/mlpviz/catalog"
	"github.com/mlpviz/mlpviz/collector"
)

// Writer writes one collection a pass at a time, as Write does, holding
// no pass: only the architecture's opening part, the number of passes
// written and a buffer it reuses for a pass's text, which it writes out in
// pieces of about 64 KiB.
//
// Write checks every pass before it writes anything; a Writer cannot, so
// when Pass refuses a pass, the passes before it have been written. A
// caller that must not leave a partial collection writes to a temporary
// file and discards it on error.
type Writer struct {
	w      io.Writer
	arch   *collector.Architecture
	header []byte           // up to the first pass; nil once written
	tags   []string         // of the head's Linear layers
	ds     *catalog.Dataset // nil when the run's dataset is not one of the catalog's
	first  int              // number of the first pass
	n      int              // passes written
	buf    []byte           // text of the pass being written, up to spillSize and a row
	err    error            // the first failure to write; every later call returns it
	closed bool
}

// NewWriter checks arch as Write does and returns a Writer that writes
// the collection to w. It writes nothing yet: the opening part, which
// depends on arch alone, goes out with the first pass or with Close.
func NewWriter(w io.Writer, arch *collector.Architecture) (*Writer, error) {
	if arch == nil {
		return nil, errors.New("write: nil architecture")
	}
	if len(arch.Head) == 0 {
		return nil, errors.New("write: the architecture has no head layers")
	}
	full := arch.Head
	if len(arch.FullHead) == len(arch.Head) {
		full = arch.FullHead
	}
	for i := range arch.Head {
		if h, f := arch.Head[i], full[i]; h.In <= 0 || h.Out <= 0 || f.In <= 0 || f.Out <= 0 {
			return nil, fmt.Errorf("write: head layer %d is %dx%d (full size %dx%d)", i, h.In, h.Out, f.In, f.Out)
		}
	}
	if !validShape(arch.InputShape) {
		return nil, fmt.Errorf("write: input shape %v", arch.InputShape)
	}
	e := &Writer{w: w, arch: arch, ds: catalog.LookupDataset(arch.Dataset), first: 1}
	if err := e.layout(full); err != nil {
		return nil, err
	}
	return e, nil
}

// Pass checks p against the architecture as Write checks each pass, with
// the same errors, and writes it. A refused pass writes nothing, and the
// Writer may go on with the next. The first pass written decides the
// numbering, as in Write: "0" for one whose loss and accuracy are both NaN,
// else "1". Pass keeps no reference to p. A failure to write may leave
// part of p written; that error ends the Writer, and every later call
// returns it.
func (e *Writer) Pass(p *collector.Pass) error {
	if e.err != nil {
		return e.err
	}
	if e.closed {
		return errors.New("write: pass after Close")
	}
	if err := e.check(p); err != nil {
		return err
	}
	if e.n == 0 && isNaN(p.Loss) && isNaN(p.Accuracy) {
		e.first = 0
	}
	if err := e.writeHeader(); err != nil {
		return err
	}
	e.buf = e.appendPass(e.buf[:0], e.first+e.n, p)
	if e.err == nil {
		e.emit(e.buf)
	}
	if e.err != nil {
		return e.err
	}
	e.n++
	return nil
}

// spillSize is how much of a pass's text the Writer holds before it writes
// it out, so that a pass of any size (an uncapped cnn_large pass is tens of
// megabytes of text) takes a buffer of about this size.
const spillSize = 64 << 10

// spill writes out the text b holds of the pass being written once it
// reaches spillSize, and returns b emptied; after a failure it only empties it.
func (e *Writer) spill(b []byte) []byte {
	if len(b) < spillSize {
		return b
	}
	if e.err == nil {
		e.emit(b)
	}
	return b[:0]
}

// emit writes text of the pass being written.
func (e *Writer) emit(b []byte) {
	if _, err := e.w.Write(b); err != nil {
		e.err = fmt.Errorf("write pass %d: %w", e.n, err)
	}
}

// Close writes the end of the collection (the opening part too when no
// pass was written). It does not close the io.Writer; a second Close
// writes nothing.
func (e *Writer) Close() error {
	if e.err != nil || e.closed {
		return e.err
	}
	e.closed = true
	e.buf = nil
	if err := e.writeHeader(); err != nil {
		return err
	}
	if _, err := io.WriteString(e.w, "\n}\n"); err != nil {
		e.err = fmt.Errorf("write: %w", err)
	}
	return e.err
}

func (e *Writer) writeHeader() error {
	if e.header == nil {
		return nil
	}
	if _, err := e.w.Write(e.header); err != nil {
		e.err = fmt.Errorf("write: %w", err)
		return e.err
	}
	e.header = nil
	return nil
}

func isNaN(x float32) bool { return math.IsNaN(float64(x)) }

// layout builds the "architecture" object and the top-level "mlpviz" one:
// the modules between the collector's two Identity wrappers, after the
// seed's entry for the model when it is one of the seed's, each Linear with
// the head's full sizes as its settings.
func (e *Writer) layout(full []collector.LinearShape) error {
	mods := e.arch.Modules
	linears := 0
	for _, m := range mods {
		if m.Kind == "Linear" {
			linears++
		}
	}
	switch linears {
	case len(full):
	case 0:
		mods = slices.Clone(mods)
		for range full {
			mods = append(mods, collector.Module{Kind: "Linear"})
		}
	default:
		return fmt.Errorf("write: %d Linear modules for a head of %d layers", linears, len(full))
	}
	kinds := []collector.Module{{Kind: "Identity"}}
	// The seed's entry for the model names it by its class.
	if m := catalog.LookupModel(e.arch.Model); m != nil {
		kinds = append(kinds, collector.Module{Kind: m.TorchClass})
	}
	kinds = append(append(kinds, mods...), collector.Module{Kind: "Identity"})

	b := []byte(`{"architecture": {`)
	k := 0
	for i, m := range kinds {
		if m.Kind == "" || strings.ContainsAny(m.Kind, " \t\n") {
			return fmt.Errorf("write: module %d has the kind %q", i, m.Kind)
		}
		settings := m.Settings
		if m.Kind == "Linear" {
			settings = withSizes(settings, full[k])
			e.tags = append(e.tags, fmt.Sprintf("%d_Linear", i+1))
			k++
		}
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendString(b, fmt.Sprintf("%d_%s", i+1, m.Kind))
		b = append(b, ": {"...)
		for j, s := range settings {
			if j > 0 {
				b = append(b, ", "...)
			}
			key := strings.TrimSpace(s.Key)
			if j > 0 {
				key = " " + key // the seed's keys after the first keep a space
			}
			b = appendString(b, key)
			b = append(b, ": "...)
			b = appendSetting(b, s.Value)
		}
		b = append(b, '}')
	}
	b = append(b, "},\n\"mlpviz\": "...)
	a := e.arch
	ext, err := json.Marshal(archExt{
		Dataset: a.Dataset, Model: a.Model, InputShape: a.InputShape, ClassNames: a.ClassNames,
		NeuronCap: a.NeuronCap, Gradients: a.Gradients, Interval: a.Interval, BatchSize: a.BatchSize, Seed: a.Seed, Probe: a.Probe,
	})
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	e.header = append(b, ext...)
	return nil
}

// withSizes sets a Linear's in_features and out_features to the head's, and
// gives it the seed's bias setting if it has none.
func withSizes(settings []collector.Setting, full collector.LinearShape) []collector.Setting {
	out := []collector.Setting{
		{Key: "in_features", Value: strconv.Itoa(full.In)},
		{Key: "out_features", Value: strconv.Itoa(full.Out)},
	}
	bias := false
	for _, s := range settings {
		switch strings.TrimSpace(s.Key) {
		case "in_features", "out_features":
			continue
		case "bias":
			bias = true
		}
		out = append(out, s)
	}
	if !bias {
		out = append(out, collector.Setting{Key: "bias", Value: "true"})
	}
	return out
}

// appendSetting writes a setting as the seed would: numbers as floats
// (576.0), true and false as booleans. Text that would not read back the
// same as a number stays a string.
func appendSetting(b []byte, v string) []byte {
	if v == "true" || v == "false" {
		return append(b, v...)
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) && formatSetting(f) == v {
		b = append(b, v...)
		if !strings.ContainsAny(v, ".e") {
			b = append(b, ".0"...)
		}
		return b
	}
	return appendString(b, v)
}

// check refuses a pass that does not fit the architecture: the one check
// every writer of passes makes, and the wall time this format must hold.
func (e *Writer) check(p *collector.Pass) error {
	if err := e.arch.Check(p); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if !p.Wall.IsZero() {
		if _, err := p.Wall.MarshalJSON(); err != nil {
			return fmt.Errorf("write: pass at step %d: wall time: %w", p.Step, err)
		}
	}
	return nil
}

// appendPass writes one pass in the order the seed fills it: the image (a
// forward argument), the layers (hooks), then main.py's registered values.
func (e *Writer) appendPass(b []byte, num int, p *collector.Pass) []byte {
	a := e.arch
	b = append(b, ",\n\""...)
	b = strconv.AppendInt(b, int64(num), 10)
	b = append(b, `": {`...)
	sep := ""
	field := func(key string) {
		b = append(b, sep...)
		b = append(b, '"')
		b = append(b, key...)
		b = append(b, `": `...)
		sep = ", "
	}
	if len(p.Image) > 0 {
		img := p.Image
		img = normalise(e.ds, img, a.InputShape)
		field("input")
		c, h, w := a.InputShape[0], a.InputShape[1], a.InputShape[2]
		b = append(b, '[')
		for ch := range c {
			if ch > 0 {
				b = append(b, ',')
			}
			b = e.appendMatrix(b, img[ch*h*w:(ch+1)*h*w], h, w)
		}
		b = append(b, ']')
	}
	for j, l := range p.Layers {
		h := a.Head[j]
		field(e.tags[j])
		b = append(b, `{"input": `...)
		b = appendVector(b, l.Input)
		b = append(b, `, "weight": `...)
		b = e.appendMatrix(b, l.Weight, h.Out, h.In)
		b = append(b, `, "bias": `...)
		b = appendVector(b, l.Bias)
		if len(l.GradWeight) > 0 {
			b = append(b, `, "grad_weight": `...)
			b = e.appendMatrix(b, l.GradWeight, h.Out, h.In)
		}
		if len(l.GradBias) > 0 {
			b = append(b, `, "grad_bias": `...)
			b = appendVector(b, l.GradBias)
		}
		if len(l.Output) > 0 {
			b = append(b, `, "output": `...)
			b = appendVector(b, l.Output)
		}
		b = append(b, '}')
	}
	// main.py's (index, class name) tuples, which its viewer unpacks.
	if p.Prediction >= 0 {
		field("prediction")
		b = e.appendClass(b, p.Prediction)
	}
	if p.TrueLabel >= 0 {
		field("true_label")
		b = e.appendClass(b, p.TrueLabel)
	}
	if len(p.Logits) > 0 {
		field("logits")
		b = appendVector(b, p.Logits)
	}
	// The seed's pass "0" has neither; its viewer reads a NaN anywhere else.
	if num != 0 {
		field("loss")
		b = appendFloat(b, p.Loss)
		field("accuracy")
		b = appendFloat(b, p.Accuracy)
	}
	field("mlpviz")
	b = append(b, `{"step": `...)
	b = strconv.AppendInt(b, int64(p.Step), 10)
	b = append(b, `, "epoch": `...)
	b = strconv.AppendInt(b, int64(p.Epoch), 10)
	b = append(b, `, "true_label": `...)
	b = strconv.AppendInt(b, int64(p.TrueLabel), 10)
	if !p.Wall.IsZero() {
		wall, _ := p.Wall.MarshalJSON() // checked by check
		b = append(b, `, "wall": `...)
		b = append(b, wall...)
	}
	if len(p.Probs) > 0 {
		b = append(b, `, "probs": `...)
		b = appendVector(b, p.Probs)
	}
	return append(b, "}}"...)
}

// appendClass writes class i as main.py does, [i, name], with the name
// torchvision gives the class when the run's classes are a catalog
// dataset's, else the run's own name, else the index.
func (e *Writer) appendClass(b []byte, i int) []byte {
	name, ok := torchLabel(e.ds, i, e.arch.ClassNames)
	switch {
	case ok:
	case i < len(e.arch.ClassNames):
		name = e.arch.ClassNames[i]
	default:
		name = strconv.Itoa(i)
	}
	b = append(b, '[')
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, ", "...)
	b = appendString(b, name)
	return append(b, ']')
}

// appendFloat writes the shortest text that reads back as the same
// float32, and non-finite values as Python's json module does.
func appendFloat(b []byte, x float32) []byte {
	switch {
	case isNaN(x):
		return append(b, "NaN"...)
	case math.IsInf(float64(x), 1):
		return append(b, "Infinity"...)
	case math.IsInf(float64(x), -1):
		return append(b, "-Infinity"...)
	}
	return strconv.AppendFloat(b, float64(x), 'g', -1, 32)
}

func appendVector(b []byte, v []float32) []byte {
	b = append(b, '[')
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendFloat(b, x)
	}
	return append(b, ']')
}

// appendMatrix writes a row-major rows×cols matrix as nested arrays,
// spilling the text between rows.
func (e *Writer) appendMatrix(b []byte, m []float32, rows, cols int) []byte {
	b = append(b, '[')
	for r := range rows {
		if r > 0 {
			b = append(b, ',')
		}
		b = appendVector(b, m[r*cols:(r+1)*cols])
		b = e.spill(b)
	}
	return append(b, ']')
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}
