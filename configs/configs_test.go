package configs

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/viper"
)

func writeProfile(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "profile.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustLoad(t *testing.T, nameOrPath string, env []string) *Profile {
	t.Helper()
	p, err := Load(nameOrPath, env)
	if err != nil {
		t.Fatalf("Load(%q): %v", nameOrPath, err)
	}
	return p
}

// defaultView and defaultCollect are the same in every built-in profile.
var (
	defaultView    = View{Width: 1280, Height: 800, Fullscreen: false, DelayMS: 500, ColorRange: "layer", FPS: 60}
	defaultCollect = Collect{NeuronCap: 0, Gradients: "auto", Probes: 10, HealthBatch: 256, Precision: "f16"}
)

func TestBuiltins(t *testing.T) {
	want := map[string]Profile{
		"mnist": {Source: "built-in mnist", Dataset: "mnist", Model: "cnn", Epochs: 1, BatchSize: 64, LR: 0.002,
			Interval: 50, Seed: 42, Device: "cpu", Collect: defaultCollect, View: defaultView,
			Normalize: Normalize{Mean: []float64{0.1310}, Std: []float64{0.3085}}},
		"fashion_mnist": {Source: "built-in fashion_mnist", Dataset: "fashion_mnist", Model: "cnn_large", Epochs: 5,
			BatchSize: 64, LR: 0.002, Interval: 50, Seed: 42, Device: "cpu", Collect: defaultCollect, View: defaultView,
			Normalize: Normalize{Mean: []float64{0.2860}, Std: []float64{0.3530}}},
		"cifar10": {Source: "built-in cifar10", Dataset: "cifar10", Model: "cifar10_cnn", Epochs: 10,
			BatchSize: 64, LR: 0.002, Interval: 50, Seed: 42, Device: "cpu", Collect: defaultCollect, View: defaultView,
			Normalize: Normalize{Mean: []float64{0.4914, 0.4822, 0.4465}, Std: []float64{0.2023, 0.1994, 0.2010}}},
	}
	if got := Names(); !slices.Equal(got, []string{"mnist", "fashion_mnist", "cifar10"}) {
		t.Errorf("Names() = %q", got)
	}
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			p := mustLoad(t, name, nil)
			if w := want[name]; !reflect.DeepEqual(*p, w) {
				t.Errorf("got  %+v\nwant %+v", *p, w)
			}
			if p.Channels() != len(p.Normalize.Mean) {
				t.Errorf("Channels() = %d for %d means", p.Channels(), len(p.Normalize.Mean))
			}
		})
	}
}

func TestEmptyNameIsMnist(t *testing.T) {
	def, mnist := mustLoad(t, "", nil), mustLoad(t, "mnist", nil)
	if !reflect.DeepEqual(def, mnist) {
		t.Errorf("Load(\"\") = %+v\nLoad(\"mnist\") = %+v", def, mnist)
	}
	if def.Source != "built-in mnist" {
		t.Errorf("Source = %q", def.Source)
	}
}

// Every built-in file sets every key but dropout, so the defaults layer is
// complete, and its comments name every key's variable.
func TestBuiltinFilesAreComplete(t *testing.T) {
	for _, name := range Names() {
		data, err := builtin.ReadFile(name + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		v := viper.New()
		v.SetConfigType("yaml")
		if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		got := v.AllKeys()
		slices.Sort(got)
		// Dropout is the model's and the normalisation the dataset's
		// unless a profile sets them.
		want := slices.DeleteFunc(Keys(), func(k string) bool { return k == "dropout" || strings.HasPrefix(k, "normalize.") })
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s.yaml keys %q, want %q", name, got, want)
		}
		for _, k := range Keys() {
			if !regexp.MustCompile(`\b` + EnvVar(k) + `\b`).Match(data) {
				t.Errorf("%s.yaml does not document %s", name, EnvVar(k))
			}
		}
	}
	doc, err := os.ReadFile("configs.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys() {
		if !bytes.Contains(doc, []byte("//\t"+k+strings.Repeat(" ", 21-len(k))+EnvVar(k)+"\n")) {
			t.Errorf("package comment does not list %s %s", k, EnvVar(k))
		}
	}
}

// The built-in files load from disk too, as paths, since "mnist.yaml" is a
// path and not a name.
func TestBuiltinFileAsPath(t *testing.T) {
	p := mustLoad(t, "mnist.yaml", nil)
	q := mustLoad(t, "mnist", nil)
	if p.Source != "mnist.yaml" {
		t.Errorf("Source = %q", p.Source)
	}
	q.Source = p.Source
	if !reflect.DeepEqual(p, q) {
		t.Errorf("file %+v\nembedded %+v", p, q)
	}
}

func TestFileOverridesSomeKeys(t *testing.T) {
	path := writeProfile(t, `
epochs: 3
Dropout: 0.25   # keys are not case-sensitive
seed: -7
collect:
  gradients: true
view:
  fullscreen: true
  color_range: global
`)
	p := mustLoad(t, path, nil)
	want := mustLoad(t, "mnist", nil)
	want.Source = path
	want.Epochs = 3
	d := 0.25
	want.Dropout = &d
	want.Seed = -7
	want.Collect.Gradients = "true"
	want.View.Fullscreen = true
	want.View.ColorRange = "global"
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got  %+v\nwant %+v", p, want)
	}
}

// A file that picks a dataset gets that dataset's built-in values for the
// keys it leaves out, not mnist's.
func TestFileDefaultsFollowDataset(t *testing.T) {
	p := mustLoad(t, writeProfile(t, "dataset: cifar10\nbatch_size: 128\n"), nil)
	want := mustLoad(t, "cifar10", nil)
	want.Source = p.Source
	want.BatchSize = 128
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got  %+v\nwant %+v", p, want)
	}
}

func TestEmptyFileAndSections(t *testing.T) {
	want := mustLoad(t, "mnist", nil)
	for _, yaml := range []string{"", "# nothing\n", "view:\ncollect:\n  # gradients: true\ndropout: null\n"} {
		p := mustLoad(t, writeProfile(t, yaml), nil)
		p.Source = want.Source
		if !reflect.DeepEqual(p, want) {
			t.Errorf("%q: got %+v\nwant %+v", yaml, p, want)
		}
	}
}

func TestPathWithoutExtension(t *testing.T) {
	path := filepath.Join(t.TempDir(), "myprofile")
	if err := os.WriteFile(path, []byte("epochs: 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := mustLoad(t, path, nil); p.Epochs != 4 || p.Source != path {
		t.Errorf("epochs %d source %q", p.Epochs, p.Source)
	}
}

func TestEnvOverridesFile(t *testing.T) {
	path := writeProfile(t, "epochs: 3\nbatch_size: 32\nview:\n  fullscreen: false\n  fps: 30\n")
	env := []string{
		"HOME=/home/x",
		"MLPVIZ_EPOCHS=7",
		"MLPVIZ_VIEW_FULLSCREEN=true",
		"MLPVIZ_COLLECT_GRADIENTS=1",
		"MLPVIZ_NORMALIZE_MEAN=0.5",
	}
	p := mustLoad(t, path, env)
	if p.Epochs != 7 || !p.View.Fullscreen || p.Collect.Gradients != "true" || !slices.Equal(p.Normalize.Mean, []float64{0.5}) {
		t.Errorf("env lost: epochs %d fullscreen %v gradients %v mean %v", p.Epochs, p.View.Fullscreen, p.Collect.Gradients, p.Normalize.Mean)
	}
	if p.BatchSize != 32 || p.View.FPS != 30 || p.LR != 0.002 {
		t.Errorf("file or defaults lost: batch %d fps %d lr %g", p.BatchSize, p.View.FPS, p.LR)
	}
}

// envAll sets every key to a value that no built-in profile has.
var envAll = map[string]struct {
	value string
	check func(p *Profile) bool
}{
	"dataset":              {"cifar10", func(p *Profile) bool { return p.Dataset == "cifar10" }},
	"model":                {"cifar10_cnn", func(p *Profile) bool { return p.Model == "cifar10_cnn" }},
	"epochs":               {"3", func(p *Profile) bool { return p.Epochs == 3 }},
	"batch_size":           {" 32 ", func(p *Profile) bool { return p.BatchSize == 32 }},
	"lr":                   {"1e-2", func(p *Profile) bool { return p.LR == 0.01 }},
	"dropout":              {"0.1", func(p *Profile) bool { return p.Dropout != nil && *p.Dropout == 0.1 }},
	"interval":             {"7", func(p *Profile) bool { return p.Interval == 7 }},
	"max_steps":            {"100", func(p *Profile) bool { return p.MaxSteps == 100 }},
	"seed":                 {"-5", func(p *Profile) bool { return p.Seed == -5 }},
	"device":               {" cuda ", func(p *Profile) bool { return p.Device == "cuda" }},
	"collect.neuron_cap":   {"16", func(p *Profile) bool { return p.Collect.NeuronCap == 16 }},
	"collect.gradients":    {"TRUE", func(p *Profile) bool { return p.Collect.Gradients == "true" }},
	"collect.probes":       {"3", func(p *Profile) bool { return p.Collect.Probes == 3 }},
	"collect.health_batch": {"0", func(p *Profile) bool { return p.Collect.HealthBatch == 0 }},
	"collect.precision":    {"f32", func(p *Profile) bool { return p.Collect.Precision == "f32" }},
	"normalize.mean": {"0.5,0.25, 0.125", func(p *Profile) bool {
		return slices.Equal(p.Normalize.Mean, []float64{0.5, 0.25, 0.125})
	}},
	"normalize.std": {"[0.2 0.3 0.4]", func(p *Profile) bool {
		return slices.Equal(p.Normalize.Std, []float64{0.2, 0.3, 0.4})
	}},
	"view.width":       {"1920", func(p *Profile) bool { return p.View.Width == 1920 }},
	"view.height":      {"1080", func(p *Profile) bool { return p.View.Height == 1080 }},
	"view.fullscreen":  {"T", func(p *Profile) bool { return p.View.Fullscreen }},
	"view.delay_ms":    {"1000", func(p *Profile) bool { return p.View.DelayMS == 1000 }},
	"view.color_range": {"global", func(p *Profile) bool { return p.View.ColorRange == "global" }},
	"view.fps":         {"144", func(p *Profile) bool { return p.View.FPS == 144 }},
}

func TestEnvSetsEveryKey(t *testing.T) {
	var env []string
	for _, k := range Keys() {
		e, ok := envAll[k]
		if !ok {
			t.Fatalf("test has no value for key %q", k)
		}
		env = append(env, EnvVar(k)+"="+e.value)
	}
	// Over no file, over a built-in and over a file that sets every key.
	full := writeProfile(t, "dataset: fashion_mnist\nmodel: cnn_large\nepochs: 2\nbatch_size: 8\nlr: 0.5\ndropout: 0.4\n"+
		"interval: 9\nmax_steps: 11\nseed: 12\ndevice: auto\ncollect: {neuron_cap: 5, gradients: false, precision: f16}\n"+
		"normalize: {mean: [0.3], std: [0.6]}\n"+
		"view: {width: 400, height: 300, fullscreen: false, delay_ms: 300, color_range: layer, fps: 20}\n")
	for _, nameOrPath := range []string{"", "fashion_mnist", full} {
		p := mustLoad(t, nameOrPath, env)
		for _, k := range Keys() {
			if !envAll[k].check(p) {
				t.Errorf("%q: %s=%q did not set %q: %+v", nameOrPath, EnvVar(k), envAll[k].value, k, p)
			}
		}
	}
}

func TestEnvIgnored(t *testing.T) {
	env := []string{
		"MLPVIZ_RUN_AS_MAIN=1", // used by cmd's tests, not a profile key
		"MLPVIZ_SEED=1",
		"MLPVIZ_SEED=",           // a later empty entry unsets it
		"MLPVIZ_EPOCHS=",         // empty: ignored
		"mlpviz_epochs=5",        // names are case-sensitive
		"MLPVIZ_BATCH_SIZE=8",    //
		"MLPVIZ_BATCH_SIZE=16",   // the last entry wins
		"MLPVIZ_NOT_A_KEY",       // no "="
		"MLPVIZ_VIEW=fullscreen", // a section is not a key
	}
	p := mustLoad(t, "", env)
	if p.Seed != 42 || p.Epochs != 1 || p.BatchSize != 16 {
		t.Errorf("seed %d epochs %d batch %d", p.Seed, p.Epochs, p.BatchSize)
	}
}

func TestEnvPicksDefaultsDataset(t *testing.T) {
	p := mustLoad(t, "", []string{"MLPVIZ_DATASET=cifar10"})
	want := mustLoad(t, "cifar10", nil)
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got  %+v\nwant %+v", p, want)
	}
}

// checkError wants err to be an *Error from source about key, with every
// fragment in its text.
func checkError(t *testing.T, err error, source, key string, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one from %s about %q", source, key)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%v: not an *Error", err)
	}
	if e.Source != source || e.Key != key {
		t.Errorf("%v: source %q key %q, want %q %q", err, e.Source, e.Key, source, key)
	}
	if key != "" {
		fragments = append(fragments, strconv.Quote(key))
	}
	for _, f := range append(fragments, source+": ") {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not contain %q", err, f)
		}
	}
}

func TestFileErrors(t *testing.T) {
	for _, c := range []struct {
		yaml, key string
		fragments []string
	}{
		{"epohcs: 3\n", "epohcs", []string{`unknown key "epohcs" (did you mean "epochs"?)`}},
		{"view:\n  widht: 800\n", "view.widht", []string{`unknown key`, `"view.width"`}},
		{"width: 800\n", "width", []string{`unknown key`, `did you mean "view.width"`}},
		{"colour: red\n", "colour", []string{`unknown key "colour"`}},
		{"epochs: three\n", "epochs", []string{`whole number`, `"three"`}},
		{"epochs: 1.5\n", "epochs", []string{`whole number`, `1.5`}},
		{"epochs: 0\n", "epochs", []string{`at least 1`}},
		{"epochs:\n", "epochs", []string{`no value`}},
		{"epochs: {x: 1}\n", "epochs", []string{`not a section`}},
		{"epochs: [1]\n", "epochs", []string{`whole number`, `a list`}},
		{"batch_size: -1\n", "batch_size", []string{`at least 1`, `-1`}},
		{"lr: 0\n", "lr", []string{`greater than 0`}},
		{"lr: -0.1\n", "lr", []string{`greater than 0`}},
		{"lr: .nan\n", "lr", []string{`finite`}},
		{"lr: fast\n", "lr", []string{`want a number`, `"fast"`}},
		{"dropout: 1.5\n", "dropout", []string{`[0, 1)`, `1.5`}},
		{"dropout: -0.5\n", "dropout", []string{`[0, 1)`}},
		{"interval: 0\n", "interval", []string{`at least 1`}},
		{"max_steps: -1\n", "max_steps", []string{`negative`}},
		{"seed: 1e30\n", "seed", []string{`whole number`}},
		{"device: gpu\n", "device", []string{`want cpu, cuda or auto`, `"gpu"`}},
		{"device: CUDA\n", "device", []string{`want cpu, cuda or auto`, `"CUDA"`}},
		{"device: 1\n", "device", []string{`want a word`}},
		{"dataset: imagenet\n", "dataset", []string{`unknown dataset "imagenet"`, `mnist, fashion_mnist, cifar10`}},
		{"dataset: fashion-mnist\n", "dataset", []string{`did you mean "fashion_mnist"`}},
		{"dataset: 3\n", "dataset", []string{`want a word`}},
		{"model: resnet\n", "model", []string{`unknown model "resnet"`}},
		{"model: cifar10_cnn\n", "model", []string{`32x32`, `dataset mnist`}},
		{"dataset: cifar10\nmodel: cnn_large\n", "model", []string{`28x28`, `cifar10_cnn`}},
		{"collect:\n  precision: f8\n", "collect.precision", []string{`f16 or f32`, `"f8"`}},
		{"collect:\n  gradients: yes\n", "collect.gradients", []string{`true, false or auto`, `"yes"`}},
		{"collect:\n  probes: 0\n", "collect.probes", []string{`1 to 100`}},
		{"collect:\n  health_batch: -1\n", "collect.health_batch", []string{`negative`}},
		{"collect:\n  neuron_cap: -3\n", "collect.neuron_cap", []string{`negative`}},
		{"collect: 3\n", "collect", []string{`must be a section`, `gradients`}},
		{"normalize:\n  mean: [0.5, 0.5]\n", "normalize.mean", []string{`want 1 value`, `dataset mnist`, `got 2`}},
		{"dataset: cifar10\nnormalize:\n  std: [0.2]\n", "normalize.std", []string{`want 3 value`, `got 1`}},
		{"normalize:\n  std: [0]\n", "normalize.std", []string{`greater than 0`}},
		{"normalize:\n  mean: []\n", "normalize.mean", []string{`empty list`}},
		{"normalize:\n  mean: [a]\n", "normalize.mean", []string{`item 1`, `"a"`}},
		{"view:\n  color_range: rainbow\n", "view.color_range", []string{`layer or global`, `"rainbow"`}},
		{"view:\n  delay_ms: 199\n", "view.delay_ms", []string{`200..2000`, `199`}},
		{"view:\n  delay_ms: 2001\n", "view.delay_ms", []string{`200..2000`}},
		{"view:\n  width: 319\n", "view.width", []string{`320`, `319`}},
		{"view:\n  height: 199\n", "view.height", []string{`200`, `199`}},
		{"view:\n  fullscreen: 1\n", "view.fullscreen", []string{`true or false`}},
		{"view:\n  fps: 0\n", "view.fps", []string{`1..1000`}},
		{"view: [1, 2]\n", "view", []string{`must be a section`}},
	} {
		t.Run(c.yaml, func(t *testing.T) {
			path := writeProfile(t, c.yaml)
			_, err := Load(path, nil)
			checkError(t, err, path, c.key, c.fragments...)
		})
	}
}

func TestAllProblemsReported(t *testing.T) {
	path := writeProfile(t, "epochs: 0\nlr: 0\nview:\n  fps: 0\n")
	_, err := Load(path, nil)
	for _, k := range []string{"epochs", "lr", "view.fps"} {
		if err == nil || !strings.Contains(err.Error(), path+`: key "`+k+`"`) {
			t.Errorf("error %v does not report %q", err, k)
		}
	}
}

func TestEnvErrors(t *testing.T) {
	for _, c := range []struct {
		env, key  string
		fragments []string
	}{
		{"MLPVIZ_EPOCHS=three", "epochs", []string{`whole number`, `"three"`}},
		{"MLPVIZ_EPOCHS=0", "epochs", []string{`at least 1`}},
		{"MLPVIZ_LR=0", "lr", []string{`greater than 0`}},
		{"MLPVIZ_LR=NaN", "lr", []string{`finite`}},
		{"MLPVIZ_DROPOUT=1", "dropout", []string{`[0, 1)`}},
		{"MLPVIZ_VIEW_FULLSCREEN=maybe", "view.fullscreen", []string{`true or false`, `"maybe"`}},
		{"MLPVIZ_COLLECT_PRECISION=f8", "collect.precision", []string{`f16 or f32`}},
		{"MLPVIZ_DEVICE=tpu", "device", []string{`want cpu, cuda or auto`, `"tpu"`}},
		{"MLPVIZ_NORMALIZE_MEAN=0.5,0.5", "normalize.mean", []string{`want 1 value`}},
		{"MLPVIZ_NORMALIZE_STD=0.3,x", "normalize.std", []string{`item 2`, `"x"`}},
		{"MLPVIZ_VIEW_DELAY_MS=50", "view.delay_ms", []string{`200..2000`}},
		{"MLPVIZ_MODEL=cifar10_cnn", "model", []string{`32x32`}},
		{"MLPVIZ_DATASET=imagenet", "dataset", []string{`unknown dataset`}},
	} {
		t.Run(c.env, func(t *testing.T) {
			_, err := Load(writeProfile(t, "epochs: 2\n"), []string{c.env})
			name, _, _ := strings.Cut(c.env, "=")
			checkError(t, err, name, c.key, c.fragments...)
		})
	}
}

// A variable that changes the dataset under a profile written for another
// one blames the profile's key and names the variable.
func TestEnvDatasetConflictsWithProfile(t *testing.T) {
	_, err := Load("mnist", []string{"MLPVIZ_DATASET=cifar10"})
	checkError(t, err, "built-in mnist", "model", "from MLPVIZ_DATASET", "cifar10_cnn")
}

func TestReadErrors(t *testing.T) {
	t.Run("syntax", func(t *testing.T) {
		path := writeProfile(t, "epochs: 3\nview:\n  width: [800\n")
		_, err := Load(path, nil)
		checkError(t, err, path, "", "cannot parse", "line ")
	})
	t.Run("duplicate", func(t *testing.T) {
		path := writeProfile(t, "epochs: 3\nepochs: 4\n")
		_, err := Load(path, nil)
		checkError(t, err, path, "", "line 2", `"epochs"`)
	})
	t.Run("not a mapping", func(t *testing.T) {
		path := writeProfile(t, "- epochs\n")
		_, err := Load(path, nil)
		checkError(t, err, path, "", "cannot parse")
	})
	t.Run("missing", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nope.yaml")
		_, err := Load(path, nil)
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := Load(dir, nil); err == nil || !strings.Contains(err.Error(), dir) {
			t.Errorf("got %v", err)
		}
	})
	for name, want := range map[string]string{"fashion-mnist": "fashion_mnist", "cifar": "cifar10"} {
		t.Run("unknown name "+name, func(t *testing.T) {
			_, err := Load(name, nil)
			if err == nil || !strings.Contains(err.Error(), `did you mean "`+want+`"`) {
				t.Errorf("got %v", err)
			}
		})
	}
}

func TestFlagValuesAndApplyFlags(t *testing.T) {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	ds := fs.String("dataset", "mnist", "")
	model := fs.String("model", "cnn", "")
	epochs := fs.Int("epochs", 1, "")
	batch := fs.Int("batch-size", 64, "")
	lr := fs.Float64("lr", 0.002, "")
	dropout := fs.Float64("dropout", -1, "")
	seed := fs.Int64("seed", 42, "")
	device := fs.String("device", "x", "")
	if err := fs.Parse([]string{"--epochs", "9"}); err != nil {
		t.Fatal(err)
	}
	p := mustLoad(t, "cifar10", []string{"MLPVIZ_BATCH_SIZE=16", "MLPVIZ_LR=0.01", "MLPVIZ_SEED=7"})
	if _, ok := p.FlagValues()["dropout"]; ok {
		t.Error("FlagValues sets dropout the profile leaves to the model")
	}
	if err := p.ApplyFlags(fs); err != nil {
		t.Fatal(err)
	}
	if *ds != "cifar10" || *model != "cifar10_cnn" || *epochs != 9 || *batch != 16 || *lr != 0.01 || *dropout != -1 || *seed != 7 || *device != "cpu" {
		t.Errorf("dataset %s model %s epochs %d batch %d lr %g dropout %g seed %d device %s", *ds, *model, *epochs, *batch, *lr, *dropout, *seed, *device)
	}
	d := 0.3
	p.Dropout = &d
	if err := p.ApplyFlags(fs); err != nil || *dropout != 0.3 {
		t.Errorf("dropout %g, err %v", *dropout, err)
	}
}

func TestEnvTypos(t *testing.T) {
	got := EnvTypos([]string{"MLPVIZ_EPOHCS=3", "MLPVIZ_EPOCHS=3", "MLPVIZ_RUN_AS_MAIN=1", "MLPVIZ_VIEW_WIDHT=9", "HOME=/"})
	want := []string{`MLPVIZ_EPOHCS (did you mean "MLPVIZ_EPOCHS"?)`, `MLPVIZ_VIEW_WIDHT (did you mean "MLPVIZ_VIEW_WIDTH"?)`}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestEnvVarNamesAreDistinct(t *testing.T) {
	seen := map[string]string{}
	for _, k := range Keys() {
		v := EnvVar(k)
		if other, dup := seen[v]; dup {
			t.Errorf("%s and %s share %s", k, other, v)
		}
		seen[v] = k
	}
	if EnvVar("view.delay_ms") != "MLPVIZ_VIEW_DELAY_MS" {
		t.Errorf("EnvVar(view.delay_ms) = %s", EnvVar("view.delay_ms"))
	}
}

func TestViewDelay(t *testing.T) {
	if d := (View{DelayMS: 500}).Delay(); d.Milliseconds() != 500 {
		t.Errorf("Delay() = %v", d)
	}
}
