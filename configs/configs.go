// Package configs reads mlpviz's dataset profiles: YAML files that hold the
// training flags, what each capture of the head records, the input
// normalisation and the training window, so that one name ("cifar10") or one
// file reproduces a run.
//
// Three profiles are built in, mnist, fashion_mnist and cifar10: they are the
// YAML files of this directory, embedded in the binary, and their comments
// document every key.
//
// # Precedence
//
// Load layers its sources, highest first:
//
//  1. MLPVIZ_* environment variables;
//  2. the profile named (a built-in one or a file);
//  3. the built-in profile of the dataset in effect (mnist when none names
//     one), so that a file needs only the keys it changes and a file that
//     only says "dataset: cifar10" still gets cifar10's model and
//     normalisation.
//
// Command-line flags rank above all of these, but that is the caller's part:
// it applies a profile only to the flags the user did not set (see
// Profile.ApplyFlags).
//
// # Environment
//
// Every key has a variable: MLPVIZ_ and the key's path in capitals, with "."
// written as "_":
//
//	dataset              MLPVIZ_DATASET
//	model                MLPVIZ_MODEL
//	epochs               MLPVIZ_EPOCHS
//	batch_size           MLPVIZ_BATCH_SIZE
//	lr                   MLPVIZ_LR
//	dropout              MLPVIZ_DROPOUT
//	interval             MLPVIZ_INTERVAL
//	max_steps            MLPVIZ_MAX_STEPS
//	seed                 MLPVIZ_SEED
//	device               MLPVIZ_DEVICE
//	collect.neuron_cap   MLPVIZ_COLLECT_NEURON_CAP
//	collect.gradients    MLPVIZ_COLLECT_GRADIENTS
//	collect.probes       MLPVIZ_COLLECT_PROBES
//	collect.health_batch MLPVIZ_COLLECT_HEALTH_BATCH
//	collect.precision    MLPVIZ_COLLECT_PRECISION
//	normalize.mean       MLPVIZ_NORMALIZE_MEAN
//	normalize.std        MLPVIZ_NORMALIZE_STD
//	view.width           MLPVIZ_VIEW_WIDTH
//	view.height          MLPVIZ_VIEW_HEIGHT
//	view.fullscreen      MLPVIZ_VIEW_FULLSCREEN
//	view.delay_ms        MLPVIZ_VIEW_DELAY_MS
//	view.color_range     MLPVIZ_VIEW_COLOR_RANGE
//	view.fps             MLPVIZ_VIEW_FPS
//
// Lists are written with commas (MLPVIZ_NORMALIZE_MEAN=0.5,0.5,0.5) and
// booleans as strconv.ParseBool reads them. An empty variable is ignored, as
// viper does by default. So are MLPVIZ_ variables that name no key, because
// other parts of mlpviz use the prefix too; EnvTypos finds the ones that look
// like a misspelt key, for the caller to warn about.
package configs

import (
	"bytes"
	"embed"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"

	"github.com/mlpviz/mlpviz/catalog"
	"github.com/mlpviz/mlpviz/internal/suggest"
)

// builtin holds the profiles, kept as YAML so that they double as
// documented examples users can copy.
//
//go:embed mnist.yaml fashion_mnist.yaml cifar10.yaml
var builtin embed.FS

// EnvPrefix starts the name of every environment variable Load reads.
const EnvPrefix = "MLPVIZ"

// Values of Device, Collect.Precision and View.ColorRange.
const (
	DeviceCPU        = "cpu"
	DeviceCUDA       = "cuda"
	DeviceAuto       = "auto"
	GradientsAuto    = "auto"
	PrecisionF16     = "f16"
	PrecisionF32     = "f32"
	ColorRangeLayer  = "layer"
	ColorRangeGlobal = "global"
)

// Profile is one run's settings, every value checked.
type Profile struct {
	// Source is the file the profile was read from, or "built-in NAME".
	Source string

	// The flags of "mlpviz train".
	Dataset   string
	Model     string
	Epochs    int
	BatchSize int
	LR        float64
	Dropout   *float64 // nil: the model's default rate
	Interval  int
	MaxSteps  int // 0: no limit
	Seed      int64
	Device    string // DeviceCPU, DeviceCUDA or DeviceAuto

	Collect   Collect
	Normalize Normalize
	View      View
}

// Collect says what each capture of the head records.
type Collect struct {
	NeuronCap int // widest head layer in a capture; 0: full size
	// Gradients is "true", "false" or GradientsAuto: record the weight and
	// bias gradients too, or only for a small head (the trainer decides).
	Gradients   string
	Probes      int    // test images per capture
	HealthBatch int    // images of the neuron-health batch; 0: none
	Precision   string // PrecisionF16 or PrecisionF32
}

// Normalize holds the per-channel statistics the input is normalised with:
// (pixel/255 - Mean[c]) / Std[c].
type Normalize struct {
	Mean, Std []float64
}

// View holds the training window's settings.
type View struct {
	Width, Height int
	Fullscreen    bool
	DelayMS       int    // how long each capture stays on screen
	ColorRange    string // ColorRangeLayer or ColorRangeGlobal
	FPS           int
}

// Delay is DelayMS as a duration.
func (v View) Delay() time.Duration { return time.Duration(v.DelayMS) * time.Millisecond }

// Names lists the built-in profiles; each is named after its dataset.
func Names() []string { return catalog.DatasetNames() }

// key is one setting: its path in the YAML and the "mlpviz train" flag that
// sets it, if any.
type key struct{ name, flag string }

// keys lists every setting, in the order of the built-in files.
var keys = []key{
	{"dataset", "dataset"},
	{"model", "model"},
	{"epochs", "epochs"},
	{"batch_size", "batch-size"},
	{"lr", "lr"},
	{"dropout", "dropout"},
	{"interval", "interval"},
	{"max_steps", "max-steps"},
	{"seed", "seed"},
	{"device", "device"},
	{"collect.neuron_cap", "neuron-cap"},
	{"collect.gradients", "gradients"},
	{"collect.probes", "probes"},
	{"collect.health_batch", "health-batch"},
	{"collect.precision", "precision"},
	{"normalize.mean", ""},
	{"normalize.std", ""},
	{"view.width", "width"},
	{"view.height", "height"},
	{"view.fullscreen", ""},
	{"view.delay_ms", "delay"},
	{"view.color_range", "range"},
	{"view.fps", ""},
}

// Keys lists every key a profile may set, as dotted paths ("view.fps").
func Keys() []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.name
	}
	return out
}

// EnvVar is the environment variable that overrides key ("view.delay_ms":
// "MLPVIZ_VIEW_DELAY_MS").
func EnvVar(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Load reads a profile. nameOrPath is a built-in name (see Names), a path to
// a YAML file (anything with a slash or a .yaml/.yml ending), or "" for the
// built-in defaults (the mnist profile, or the profile of the dataset the
// environment picks). env is the environment in os.Environ's form; only its
// MLPVIZ_* variables are read. Errors name the file or variable and the key.
//
// Callers that let --dataset pick the data without naming a profile should
// Load that dataset's built-in profile, so the model and normalisation match.
func Load(nameOrPath string, env []string) (*Profile, error) {
	l := &loader{v: viper.New()}
	l.readEnv(env)
	if err := l.readProfile(nameOrPath); err != nil {
		return nil, err
	}
	if err := l.checkKeys(); err != nil {
		return nil, err
	}
	// Variables go into viper's override layer, which ranks above the file;
	// viper's own AutomaticEnv reads the process environment, not env.
	for k, e := range l.env {
		l.v.Set(k, e.value)
	}
	if err := l.setDefaults(); err != nil {
		return nil, err
	}
	p, err := l.decode()
	if err != nil {
		return nil, err
	}
	if err := l.validate(p); err != nil {
		return nil, err
	}
	return p, nil
}

// envValue is one MLPVIZ_ variable that names a key.
type envValue struct{ name, value string }

// loader is the state of one Load: a fresh viper (never the global one, so
// loads do not leak into each other) and where each layer came from.
type loader struct {
	v    *viper.Viper
	env  map[string]envValue // key -> variable
	file string              // the profile's Source; "" when none was named
	base string              // "built-in NAME" of the defaults layer
}

func (l *loader) readEnv(env []string) {
	byVar := make(map[string]string, len(keys))
	for _, k := range keys {
		byVar[EnvVar(k.name)] = k.name
	}
	l.env = map[string]envValue{}
	for _, kv := range env {
		name, value, ok := strings.Cut(kv, "=")
		k, known := byVar[name]
		switch {
		case !ok || !known: // not a profile key: other code may use the prefix
		case strings.TrimSpace(value) == "":
			delete(l.env, k) // a later empty entry unsets an earlier one
		default:
			l.env[k] = envValue{name, value}
		}
	}
}

// isPath tells file paths from built-in names.
func isPath(s string) bool {
	return strings.ContainsRune(s, '/') || strings.ContainsRune(s, os.PathSeparator) ||
		strings.HasSuffix(s, ".yaml") || strings.HasSuffix(s, ".yml")
}

func (l *loader) readProfile(nameOrPath string) error {
	l.v.SetConfigType("yaml") // also for paths without a .yaml ending
	switch {
	case nameOrPath == "":
		return nil
	case isPath(nameOrPath):
		l.file = nameOrPath
		l.v.SetConfigFile(nameOrPath)
		return l.readError(l.v.ReadInConfig())
	case !slices.Contains(Names(), nameOrPath):
		return fmt.Errorf("unknown profile %q%s (built-in: %s; a file path needs a %q or a .yaml ending)",
			nameOrPath, suggest.DidYouMean(nameOrPath, Names(), ""), strings.Join(Names(), ", "), "/")
	}
	l.file = "built-in " + nameOrPath
	data, err := builtin.ReadFile(nameOrPath + ".yaml")
	if err != nil {
		return fmt.Errorf("%s: %w", l.file, err)
	}
	return l.readError(l.v.ReadConfig(bytes.NewReader(data)))
}

// readError words viper's errors: a YAML error keeps its line number.
func (l *loader) readError(err error) error {
	var parse viper.ConfigParseError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &parse):
		return &Error{Source: l.file, Err: fmt.Errorf("cannot parse: %w", parse.Unwrap())}
	}
	return fmt.Errorf("read profile: %w", err) // os errors name the file
}

// checkKeys runs before any other layer is added, so viper's keys are the
// file's own.
func (l *loader) checkKeys() error {
	all := l.v.AllKeys()
	slices.Sort(all)
	var errs []error
	for _, k := range all {
		if err := l.checkKey(k); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (l *loader) checkKey(k string) error {
	if slices.ContainsFunc(keys, func(c key) bool { return c.name == k }) {
		// viper skips keys without a value, falling back to the default;
		// that would hide a value the user meant to write.
		if !l.v.InConfig(k) && k != "dropout" {
			return keyError(l.file, k, "has no value; remove the line to keep the default")
		}
		return nil
	}
	var inSection []string
	for _, c := range keys {
		if rest, ok := strings.CutPrefix(c.name, k+"."); ok {
			inSection = append(inSection, rest)
		}
		if strings.HasPrefix(k, c.name+".") {
			return keyError(l.file, c.name, "is a single value, not a section")
		}
	}
	switch {
	case inSection != nil && !l.v.InConfig(k):
		return nil // an empty section, as when all its lines are commented out
	case inSection != nil:
		return keyError(l.file, k, "must be a section with the keys %s", strings.Join(inSection, ", "))
	}
	return &Error{Source: l.file, Key: k,
		Err: fmt.Errorf("unknown key %q%s", k, suggest.DidYouMean(k, Keys(), ""))}
}

// setDefaults fills viper's default layer from the built-in profile of the
// dataset in effect, so that a file or variable choosing cifar10 gets
// cifar10's model and three-channel statistics rather than mnist's.
func (l *loader) setDefaults() error {
	name := "mnist"
	if ds, ok := l.v.Get("dataset").(string); ok && slices.Contains(Names(), ds) {
		name = ds
	}
	l.base = "built-in " + name
	if l.file == "" {
		l.file = l.base
	}
	data, err := builtin.ReadFile(name + ".yaml")
	if err != nil {
		return fmt.Errorf("%s: %w", l.base, err)
	}
	bv := viper.New()
	bv.SetConfigType("yaml")
	if err := bv.ReadConfig(bytes.NewReader(data)); err != nil {
		return fmt.Errorf("%s: %w", l.base, err)
	}
	for _, k := range keys {
		if bv.IsSet(k.name) {
			l.v.SetDefault(k.name, bv.Get(k.name))
		}
	}
	// The built-in files leave the normalisation to the dataset's own.
	ds := catalog.LookupDataset(name)
	l.v.SetDefault("normalize.mean", anys(ds.Mean))
	l.v.SetDefault("normalize.std", anys(ds.Std))
	return nil
}

// anys is v as YAML gives a list, so defaults decode as files do.
func anys(v []float64) []any {
	out := make([]any, len(v))
	for i, x := range v {
		out[i] = x
	}
	return out
}

// source names where key's value came from: its variable, the profile, or
// the built-in defaults.
func (l *loader) source(k string) string {
	if e, ok := l.env[k]; ok {
		return e.name
	}
	if l.v.InConfig(k) {
		return l.file
	}
	return l.base
}

func (l *loader) decode() (*Profile, error) {
	d := &decoder{v: l.v, source: l.source}
	p := &Profile{
		Source:    l.file,
		Dataset:   d.str("dataset"),
		Model:     d.str("model"),
		Epochs:    d.int("epochs"),
		BatchSize: d.int("batch_size"),
		LR:        d.float("lr"),
		Dropout:   d.optFloat("dropout"),
		Interval:  d.int("interval"),
		MaxSteps:  d.int("max_steps"),
		Seed:      d.int64("seed"),
		Device:    d.str("device"),
		Collect: Collect{
			NeuronCap:   d.int("collect.neuron_cap"),
			Gradients:   d.gradients("collect.gradients"),
			Probes:      d.int("collect.probes"),
			HealthBatch: d.int("collect.health_batch"),
			Precision:   d.str("collect.precision"),
		},
		Normalize: Normalize{
			Mean: d.floats("normalize.mean"),
			Std:  d.floats("normalize.std"),
		},
		View: View{
			Width:      d.int("view.width"),
			Height:     d.int("view.height"),
			Fullscreen: d.bool("view.fullscreen"),
			DelayMS:    d.int("view.delay_ms"),
			ColorRange: d.str("view.color_range"),
			FPS:        d.int("view.fps"),
		},
	}
	if err := errors.Join(d.errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// Channels is the number of image channels of the profile's dataset.
func (p *Profile) Channels() int {
	if d := catalog.LookupDataset(p.Dataset); d != nil {
		return d.Shape[0]
	}
	return 0
}

// FlagValues maps each "mlpviz train" flag the profile sets to its value in
// the flag's syntax. Dropout is left out when the profile leaves it to the
// model.
func (p *Profile) FlagValues() map[string]string {
	m := map[string]string{
		"dataset":      p.Dataset,
		"model":        p.Model,
		"epochs":       strconv.Itoa(p.Epochs),
		"batch-size":   strconv.Itoa(p.BatchSize),
		"lr":           strconv.FormatFloat(p.LR, 'g', -1, 64),
		"interval":     strconv.Itoa(p.Interval),
		"max-steps":    strconv.Itoa(p.MaxSteps),
		"seed":         strconv.FormatInt(p.Seed, 10),
		"device":       p.Device,
		"neuron-cap":   strconv.Itoa(p.Collect.NeuronCap),
		"gradients":    p.Collect.Gradients,
		"probes":       strconv.Itoa(p.Collect.Probes),
		"health-batch": strconv.Itoa(p.Collect.HealthBatch),
		"precision":    p.Collect.Precision,
		"width":        strconv.Itoa(p.View.Width),
		"height":       strconv.Itoa(p.View.Height),
		"delay":        strconv.Itoa(p.View.DelayMS),
		"range":        p.View.ColorRange,
	}
	if p.Dropout != nil {
		m["dropout"] = strconv.FormatFloat(*p.Dropout, 'g', -1, 64)
	}
	return m
}

// ApplyFlags sets every flag of fs that the profile sets and the command
// line did not, so flags keep the highest precedence. Call it after
// fs.Parse; flags fs does not define are skipped. Like any fs.Set, it marks
// the flags it sets as set for fs.Visit.
func (p *Profile) ApplyFlags(fs *flag.FlagSet) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	values := p.FlagValues()
	for _, k := range keys {
		v, ok := values[k.flag]
		if !ok || set[k.flag] || fs.Lookup(k.flag) == nil {
			continue
		}
		if err := fs.Set(k.flag, v); err != nil {
			return fmt.Errorf("%s: key %q: set --%s=%s: %w", p.Source, k.name, k.flag, v, err)
		}
	}
	return nil
}

// EnvTypos returns the MLPVIZ_ variables of env that name no key but are
// close to one, each with the likely name (`MLPVIZ_EPOHCS (did you mean
// "MLPVIZ_EPOCHS"?)`). Load ignores such variables; callers may warn.
func EnvTypos(env []string) []string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = EnvVar(k.name)
	}
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix+"_") || slices.Contains(names, name) {
			continue
		}
		if s := suggest.DidYouMean(name, names, "MLPVIZ_"); s != "" {
			out = append(out, name+s)
		}
	}
	return out
}
