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

// encoder writes one collection; newEncoder checks everything first, so
// that a Write that fails writes nothing.
type encoder struct {
	arch   *collector.Architecture
	passes []*collector.Pass
	header []byte           // up to the first pass
	tags   []string         // of the head's Linear layers
	ds     *catalog.Dataset // nil when the run's dataset is not one of the catalog's
	first  int              // number of the first pass
}

func newEncoder(arch *collector.Architecture, passes []*collector.Pass) (*encoder, error) {
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
	e := &encoder{arch: arch, passes: passes, ds: catalog.LookupDataset(arch.Dataset), first: 1}
	if err := e.layout(full); err != nil {
		return nil, err
	}
	for _, p := range passes {
		if err := e.check(p); err != nil {
			return nil, err
		}
	}
	if len(passes) > 0 && isNaN(passes[0].Loss) && isNaN(passes[0].Accuracy) {
		e.first = 0
	}
	return e, nil
}

func isNaN(x float32) bool { return math.IsNaN(float64(x)) }

// layout builds the "architecture" object and the top-level "mlpviz" one:
// the modules between the collector's two Identity wrappers, after the
// seed's entry for the model when it is one of the seed's, each Linear with
// the head's full sizes as its settings.
func (e *encoder) layout(full []collector.LinearShape) error {
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
		NeuronCap: a.NeuronCap, Gradients: a.Gradients, Interval: a.Interval, BatchSize: a.BatchSize, Seed: a.Seed,
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
func (e *encoder) check(p *collector.Pass) error {
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

func (e *encoder) write(w io.Writer) error {
	if _, err := w.Write(e.header); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	var b []byte
	for i, p := range e.passes {
		b = e.appendPass(b[:0], e.first+i, p)
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("write pass %d: %w", i, err)
		}
	}
	if _, err := io.WriteString(w, "\n}\n"); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// appendPass writes one pass in the order the seed fills it: the image (a
// forward argument), the layers (hooks), then main.py's registered values.
func (e *encoder) appendPass(b []byte, num int, p *collector.Pass) []byte {
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
			b = appendMatrix(b, img[ch*h*w:(ch+1)*h*w], h, w)
		}
		b = append(b, ']')
	}
	for j, l := range p.Layers {
		h := a.Head[j]
		field(e.tags[j])
		b = append(b, `{"input": `...)
		b = appendVector(b, l.Input)
		b = append(b, `, "weight": `...)
		b = appendMatrix(b, l.Weight, h.Out, h.In)
		b = append(b, `, "bias": `...)
		b = appendVector(b, l.Bias)
		if len(l.GradWeight) > 0 {
			b = append(b, `, "grad_weight": `...)
			b = appendMatrix(b, l.GradWeight, h.Out, h.In)
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
func (e *encoder) appendClass(b []byte, i int) []byte {
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

// appendMatrix writes a row-major rows×cols matrix as nested arrays.
func appendMatrix(b []byte, m []float32, rows, cols int) []byte {
	b = append(b, '[')
	for r := range rows {
		if r > 0 {
			b = append(b, ',')
		}
		b = appendVector(b, m[r*cols:(r+1)*cols])
	}
	return append(b, ']')
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}
