package configs

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/spf13/viper"

	"github.com/mlpviz/mlpviz/catalog"
	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/scene"
)

// Error is a bad setting: where it came from (a file, "built-in NAME" or an
// environment variable) and, when one is to blame, the key.
type Error struct {
	Source string
	Key    string // dotted path; "" for a file that cannot be parsed
	Err    error
}

func (e *Error) Error() string { return e.Source + ": " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

func keyError(source, key, format string, args ...any) *Error {
	return &Error{Source: source, Key: key, Err: fmt.Errorf("key %q: %s", key, fmt.Sprintf(format, args...))}
}

// Bounds that are not obvious from the type.
const (
	minDelayMS, maxDelayMS = 200, 2000 // the range of the seed's slider
	maxFPS                 = 1000
)

// decoder turns viper's values into typed ones. YAML gives numbers and
// booleans typed, variables give strings; both are accepted, but nothing is
// coerced silently (viper's Unmarshal would turn epochs: 1.5 into 1). The
// first problem of each key is kept, so one Load reports them all.
type decoder struct {
	v      *viper.Viper
	source func(key string) string
	errs   []error
}

func (d *decoder) fail(key, format string, args ...any) {
	d.errs = append(d.errs, keyError(d.source(key), key, format, args...))
}

func (d *decoder) str(key string) string {
	switch x := d.v.Get(key).(type) {
	case string:
		return strings.TrimSpace(x)
	default:
		d.fail(key, "want a word, got %s", describe(x))
		return ""
	}
}

func (d *decoder) int64(key string) int64 {
	raw := d.v.Get(key)
	switch x := raw.(type) {
	case int:
		return int64(x)
	case int64:
		return x
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
			return int64(x)
		}
	case string:
		if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
			return n
		}
	}
	d.fail(key, "want a whole number, got %s", describe(raw))
	return 0
}

func (d *decoder) int(key string) int {
	n := d.int64(key)
	if int64(int(n)) != n {
		d.fail(key, "%d is too large", n)
		return 0
	}
	return int(n)
}

func (d *decoder) float(key string) float64 {
	f, err := toFloat(d.v.Get(key))
	if err != nil {
		d.fail(key, "%v", err)
	}
	return f
}

// optFloat is float for keys that may be left out, as dropout is.
func (d *decoder) optFloat(key string) *float64 {
	if d.v.Get(key) == nil {
		return nil
	}
	f := d.float(key)
	return &f
}

// gradients reads true, false or auto, as the --gradients flag does.
func (d *decoder) gradients(key string) string {
	raw := d.v.Get(key)
	switch x := raw.(type) {
	case bool:
		return strconv.FormatBool(x)
	case string:
		if g, ok := ParseGradients(x); ok {
			return g
		}
	}
	d.fail(key, "want true, false or auto, got %s", describe(raw))
	return GradientsAuto
}

// ParseGradients reads a gradients setting (the --gradients flag, the
// collect.gradients key): "true", "false" (in any spelling
// strconv.ParseBool takes) or GradientsAuto, returned as one of those three.
func ParseGradients(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == GradientsAuto {
		return s, true
	}
	b, err := strconv.ParseBool(s)
	return strconv.FormatBool(b), err == nil
}

func (d *decoder) bool(key string) bool {
	raw := d.v.Get(key)
	switch x := raw.(type) {
	case bool:
		return x
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
			return b
		}
	}
	d.fail(key, "want true or false, got %s", describe(raw))
	return false
}

// floats reads a list of numbers: a YAML list, a single number (one
// channel), or a string of numbers separated by commas or spaces, which is
// how a variable writes a list.
func (d *decoder) floats(key string) []float64 {
	raw := d.v.Get(key)
	var items []any
	switch x := raw.(type) {
	case []any:
		items = x
	case string:
		s := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(x), "["), "]")
		for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
			items = append(items, f)
		}
	case int, int64, uint64, float64:
		items = []any{x}
	default:
		d.fail(key, "want a list of numbers, got %s", describe(raw))
		return nil
	}
	if len(items) == 0 {
		d.fail(key, "want a list of numbers, got an empty list")
		return nil
	}
	out := make([]float64, len(items))
	for i, it := range items {
		f, err := toFloat(it)
		if err != nil {
			d.fail(key, "item %d: %v", i+1, err)
			return nil
		}
		out[i] = f
	}
	return out
}

func toFloat(raw any) (float64, error) {
	var f float64
	switch x := raw.(type) {
	case float64:
		f = x
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case uint64:
		f = float64(x)
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
			return 0, fmt.Errorf("want a number, got %s", describe(raw))
		}
	default:
		return 0, fmt.Errorf("want a number, got %s", describe(raw))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("want a finite number, got %s", describe(raw))
	}
	return f, nil
}

// describe shows a value the way the user wrote it.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case string:
		return strconv.Quote(x)
	case []any:
		return "a list"
	case map[string]any:
		return "a section"
	}
	return fmt.Sprint(v)
}

// validate checks ranges and the keys that depend on each other, blaming
// each problem on the source of the key it is about.
func (l *loader) validate(p *Profile) error {
	var errs []error
	check := func(ok bool, key, format string, args ...any) {
		if !ok {
			errs = append(errs, keyError(l.source(key), key, format, args...))
		}
	}
	ds, model := catalog.LookupDataset(p.Dataset), catalog.LookupModel(p.Model)
	datasetOK := ds != nil
	check(ds != nil, "dataset", "%v", catalog.UnknownDataset(p.Dataset))
	check(model != nil, "model", "%v", catalog.UnknownModel(p.Model))
	if ds != nil && model != nil {
		check(model.Fits(ds) == nil, "model", "%s takes %s images; dataset %s (from %s) has %s images and needs %s",
			model.Name, model.InputShape.Describe(), ds.Name, l.source("dataset"), ds.Shape.Describe(), catalog.ModelChoices(ds))
	}
	check(p.Epochs >= 1, "epochs", "must be at least 1, got %d", p.Epochs)
	check(p.BatchSize >= 1, "batch_size", "must be at least 1, got %d", p.BatchSize)
	check(p.LR > 0, "lr", "must be greater than 0, got %g", p.LR)
	if p.Dropout != nil {
		check(*p.Dropout >= 0 && *p.Dropout < 1, "dropout", "must be in [0, 1), got %g", *p.Dropout)
	}
	check(p.Interval >= 1, "interval", "must be at least 1, got %d", p.Interval)
	check(p.MaxSteps >= 0, "max_steps", "must not be negative (0: no limit), got %d", p.MaxSteps)
	check(p.Device == DeviceCPU || p.Device == DeviceCUDA || p.Device == DeviceAuto, "device",
		"want cpu, cuda or auto, got %q", p.Device)

	check(p.Collect.NeuronCap >= 0, "collect.neuron_cap", "must not be negative (0: full size), got %d", p.Collect.NeuronCap)
	check(p.Collect.Probes >= 1 && p.Collect.Probes <= collector.MaxProbes, "collect.probes",
		"must be 1 to %d, got %d", collector.MaxProbes, p.Collect.Probes)
	check(p.Collect.HealthBatch >= 0, "collect.health_batch", "must not be negative (0: off), got %d", p.Collect.HealthBatch)
	check(p.Collect.Precision == PrecisionF16 || p.Collect.Precision == PrecisionF32, "collect.precision",
		"want f16 or f32, got %q", p.Collect.Precision)

	if datasetOK {
		for _, s := range []struct {
			key  string
			vals []float64
		}{{"normalize.mean", p.Normalize.Mean}, {"normalize.std", p.Normalize.Std}} {
			check(len(s.vals) == p.Channels(), s.key, "want %d value(s), one per channel of dataset %s (from %s), got %d",
				p.Channels(), p.Dataset, l.source("dataset"), len(s.vals))
		}
	}
	for i, s := range p.Normalize.Std {
		check(s > 0, "normalize.std", "item %d: must be greater than 0, got %g", i+1, s)
	}

	v := p.View
	check(v.Width >= scene.MinWidth && v.Width <= scene.MaxSide, "view.width", "must be in %d..%d, got %d", scene.MinWidth, scene.MaxSide, v.Width)
	check(v.Height >= scene.MinHeight && v.Height <= scene.MaxSide, "view.height", "must be in %d..%d, got %d", scene.MinHeight, scene.MaxSide, v.Height)
	check(v.DelayMS >= minDelayMS && v.DelayMS <= maxDelayMS, "view.delay_ms",
		"must be in %d..%d milliseconds, got %d", minDelayMS, maxDelayMS, v.DelayMS)
	check(v.ColorRange == ColorRangeLayer || v.ColorRange == ColorRangeGlobal, "view.color_range",
		"want layer or global, got %q", v.ColorRange)
	check(v.FPS >= 1 && v.FPS <= maxFPS, "view.fps", "must be in 1..%d, got %d", maxFPS, v.FPS)
	return errors.Join(errs...)
}
