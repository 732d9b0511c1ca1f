package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mlpviz/mlpviz/catalog"
	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/collector/pipeline"
	"github.com/mlpviz/mlpviz/collector/runfile"
	"github.com/mlpviz/mlpviz/configs"
	"github.com/mlpviz/mlpviz/engine"
	"github.com/mlpviz/mlpviz/engine/video"
	"github.com/mlpviz/mlpviz/trainer"
	"github.com/mlpviz/mlpviz/trainer/dataset"
)

// trainFlags are the flags of "mlpviz train", the seed's plus ours.
type trainFlags struct {
	dataset, model, dataDir string
	cfg                     trainer.Config
	dropout                 float64
	lr                      float64
	headless, force         bool
	offline                 bool
	output                  string
	collection              string // a .json --output: the PyTorch tool's collection, written at the end
	precision               runfile.Precision
	window                  windowFlags
	profileName             string
	profile                 *configs.Profile
	device                  string // --device: cpu, cuda or auto
	gradients               gradientsFlag
}

func newTrainFlags() (*flag.FlagSet, *trainFlags) {
	f := &trainFlags{}
	fs := newFlags("train")
	fs.StringVar(&f.dataset, "dataset", "mnist", "`NAME` of the dataset: "+strings.Join(catalog.DatasetNames(), ", "))
	fs.StringVar(&f.model, "model", "cnn", "`NAME` of the model: "+strings.Join(catalog.ModelNames(), ", ")+" (cifar10 selects cifar10_cnn)")
	fs.IntVar(&f.cfg.Epochs, "epochs", 1, "training `epochs`")
	fs.IntVar(&f.cfg.Interval, "interval", 50, "collect a pass every this many `steps`")
	fs.IntVar(&f.cfg.BatchSize, "batch-size", 64, "`images` per training step")
	fs.Float64Var(&f.lr, "lr", 0.002, "AdamW learning `rate`")
	fs.Float64Var(&f.dropout, "dropout", -1, "`rate` of every dropout layer, in [0, 1) (default: the model's: cnn 0, cnn_large 0.5; the PyTorch tool's cnn used 0.5)")
	fs.IntVar(&f.cfg.MaxSteps, "max-steps", 0, "stop after this many `steps` (0: no limit)")
	fs.Int64Var(&f.cfg.Seed, "seed", 42, "random `seed`: the same seed gives the same loss sequence")
	fs.StringVar(&f.dataDir, "data-dir", dataset.DefaultDir(), "dataset cache `folder`")
	fs.BoolVar(&f.headless, "headless", false, "train in the terminal, no window")
	fs.BoolVar(&f.force, "force", false, "overwrite an existing output file")
	fs.BoolVar(&f.offline, "offline", false, "never download: use --data-dir and the MNIST copy bundled with the Go module cache")
	fs.IntVar(&f.cfg.Workers, "workers", 0, "CPU `threads` (0: one per core)")
	fs.StringVar(&f.device, "device", configs.DeviceCPU, "`where` to train: cpu, cuda (an NVIDIA GPU; needs only its driver) or auto (the GPU when a driver and one are there, else the CPU)")
	fs.StringVar(&f.output, "output", "", "run `file` to write (default runs/<dataset>_<model>_<time>.mlpv); a .json name also writes a PyTorch-tool collection there at the end")
	fs.StringVar(&f.output, "output_path", "", "the PyTorch tool's spelling of --output")
	fs.IntVar(&f.cfg.NeuronCap, "neuron-cap", 0, "reduce every head layer wider than this many `neurons`, as the PyTorch tool did (0: full size)")
	fs.IntVar(&f.cfg.NeuronCap, "neuron_cap", 0, "the PyTorch tool's spelling of --neuron-cap")
	f.gradients = configs.GradientsAuto
	fs.Var(&f.gradients, "gradients", "also record the last step's weight and bias `gradients`: true, false, or auto (when the head has at most 65536 weights, as cnn's has)")
	fs.IntVar(&f.cfg.Probes, "probes", 10, "test `images` each pass runs through the head: the --probe image, then one of each class in turn (1 to 100)")
	fs.IntVar(&f.cfg.HealthBatch, "health-batch", 256, "fixed test `images` each pass runs forward to find dead and saturated neurons (0: off)")
	fs.Var(&f.precision, "precision", "float `precision` in the run file: f16 (compact) or f32 (every bit)")
	fs.Var((*probeFlag)(&f.cfg.Probe), "probe", "test `image` every pass shows: its index, or random for a new one each pass as the PyTorch tool did")
	f.window.register(fs)
	fs.StringVar(&f.profileName, "profile", "", "settings `profile`: "+strings.Join(configs.Names(), ", ")+" or a YAML file (default: the --dataset's)")
	return fs, f
}

// parse reads args and checks every value before any data is loaded.
func (f *trainFlags) parse(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	extra, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(extra) > 0 {
		return usageError{fmt.Sprintf("train takes no arguments, got %q (flags start with --)", extra[0])}
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if set["neuron_cap"] { // the seed's spelling counts as the flag itself
		fs.Set("neuron-cap", fmt.Sprint(f.cfg.NeuronCap))
	}
	if err := f.applyProfile(fs, set, stderr); err != nil {
		return err
	}
	ds := catalog.LookupDataset(f.dataset)
	if ds == nil {
		return usageError{catalog.UnknownDataset(f.dataset).Error()}
	}
	model := catalog.LookupModel(f.model)
	if model == nil {
		return usageError{catalog.UnknownModel(f.model).Error()}
	}
	// A model takes one shape of image: as in the seed, a dataset the
	// chosen model cannot take trains the dataset's own model instead,
	// unless the user asked for that model.
	if err := model.Fits(ds); err != nil {
		if set["model"] {
			return usageError{fmt.Sprintf("%v: use --model %s", err, catalog.ModelChoices(ds))}
		}
		model = catalog.DefaultModel(ds)
		f.model = model.Name
		fmt.Fprintf(stderr, "mlpviz: dataset %s uses model %s\n", ds.Name, model.Name)
	}
	if math.IsNaN(f.lr) || math.IsNaN(f.dropout) {
		return usageError{"--lr and --dropout must be numbers"}
	}
	if set["dropout"] && (f.dropout < 0 || f.dropout >= 1) {
		return usageError{fmt.Sprintf("--dropout must be in [0, 1), got %g", f.dropout)}
	}
	f.cfg.Model = f.model
	f.cfg.LR = float32(f.lr)
	f.cfg.Dropout = float32(f.dropout)
	if err := f.cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	if f.cfg.Probes < 1 {
		return usageError{fmt.Sprintf("--probes must be 1 to %d, got %d", collector.MaxProbes, f.cfg.Probes)}
	}
	if f.cfg.NeuronCap < 0 {
		return usageError{fmt.Sprintf("--neuron-cap must not be negative, got %d", f.cfg.NeuronCap)}
	}
	f.cfg.Gradients = f.gradients == "true" || (f.gradients == configs.GradientsAuto && trainer.GradientsByDefault(f.model, f.cfg.NeuronCap))
	if err := f.outputs(set); err != nil {
		return err
	}
	if f.cfg.Workers < 0 {
		return usageError{fmt.Sprintf("--workers must not be negative, got %d", f.cfg.Workers)}
	}
	if !slices.Contains([]string{configs.DeviceCPU, configs.DeviceCUDA, configs.DeviceAuto}, f.device) {
		return usageError{fmt.Sprintf("--device must be cpu, cuda or auto, got %q", f.device)}
	}
	return nil
}

// outputs settles where the run goes and checks it can be written: the
// run file always (crash-safe, renamed beside a .json --output), and the
// PyTorch tool's JSON collection at a .json --output, written at the end.
// As in the PyTorch tool, an existing file is kept unless --force.
func (f *trainFlags) outputs(set map[string]bool) error {
	name := "--output"
	if set["output_path"] {
		name = "--output_path"
	}
	if f.output == "" {
		f.output = filepath.Join("runs", fmt.Sprintf("%s_%s_%s.mlpv", f.dataset, f.model, time.Now().Format("20060102-150405")))
	}
	if ext := filepath.Ext(f.output); strings.EqualFold(ext, ".json") {
		f.collection = f.output
		f.output = strings.TrimSuffix(f.output, ext) + ".mlpv"
		if err := checkOutput(f.collection, name, f.force); err != nil {
			return err
		}
	}
	if err := checkOutput(f.output, name, f.force); err != nil {
		return err
	}
	// --force replaces a finished run, never one another process is writing.
	if err := runfile.CheckNotBusy(f.output); err != nil {
		return err
	}
	if f.window.record != "" {
		if err := checkOutput(f.window.record, "--record", true); err != nil {
			return err
		}
		if err := video.CheckPath(f.window.record); err != nil {
			return usageError{"--record " + err.Error()}
		}
	}
	if f.window.screenshot != "" {
		return checkOutput(f.window.screenshot, "--screenshot", true)
	}
	return nil
}

// applyProfile fills the flags the user did not set from the profile:
// precedence is flags > MLPVIZ_* environment > profile > built-in defaults.
// Without --profile, the --dataset's own profile applies.
func (f *trainFlags) applyProfile(fs *flag.FlagSet, set map[string]bool, stderr io.Writer) error {
	name := f.profileName
	if name == "" && set["dataset"] {
		name = f.dataset
		if !slices.Contains(configs.Names(), name) {
			return usageError{catalog.UnknownDataset(f.dataset).Error()}
		}
	}
	env := os.Environ()
	for _, typo := range configs.EnvTypos(env) {
		fmt.Fprintln(stderr, "mlpviz: ignoring unknown environment variable", typo)
	}
	p, err := configs.Load(name, env)
	if err != nil {
		return usageError{err.Error()}
	}
	if err := p.ApplyFlags(fs); err != nil {
		return usageError{err.Error()}
	}
	f.profile = p
	return nil
}

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs, f := newTrainFlags()
	if err := f.parse(fs, args, stdout, stderr); err != nil {
		return err
	}
	// The device before anything else, so that a missing GPU creates nothing.
	gpu, device, err := openDevice(f.device, stderr)
	if err != nil {
		return err
	}
	if gpu != nil {
		defer gpu.Close()
		f.cfg.Backend = gpu
	}
	var win engine.Options
	if f.headless && f.window.record != "" {
		return usageError{"--record needs the window; to make a video of a headless run, train with --headless, then run: mlpviz render RUN.mlpv -o out.mp4"}
	}
	if !f.headless {
		var err error
		if win, err = f.window.options("mlpviz · training " + f.model + " on " + f.dataset); err != nil {
			return err
		}
		if err := engine.CheckDisplay(); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	data, err := dataset.Load(ctx, f.dataset, dataset.Options{Dir: f.dataDir, Progress: stderr, Offline: f.offline})
	if err != nil {
		return datasetError(err)
	}
	if n := f.profile.Normalize; len(n.Mean) == len(data.Mean) && len(n.Std) == len(data.Std) {
		for c := range data.Mean {
			data.Mean[c], data.Std[c] = float32(n.Mean[c]), float32(n.Std[c])
		}
	}
	tr, err := trainer.New(f.cfg, data)
	if err != nil {
		return err
	}
	cfg := tr.Config()
	sink, err := pipeline.Create(f.output, tr.Architecture(), runfile.Options{Precision: f.precision, Force: f.force})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "mlpviz: training %s on %s: %d train / %d test images, %d epoch(s), batch %d, lr %g, dropout %g, seed %d, on %s\n",
		cfg.Model, data.Name, data.Train.N, data.Test.N, cfg.Epochs, cfg.BatchSize, cfg.LR, cfg.Dropout, cfg.Seed, device)

	// Training runs on its own goroutine; the main one waits for it, or runs
	// the window (which must own the main thread) until it is closed.
	trainCtx, stopTraining := context.WithCancel(ctx)
	defer stopTraining()
	bar := newProgressBar(stderr, f.cfg.MaxSteps)
	bar.saved = sink.Passes
	bar.device = tr.Backend().Name()
	var status atomic.Pointer[engine.Status]
	status.Store(&engine.Status{State: "training"})
	done := make(chan trainOutcome, 1)
	go func() {
		done <- trainAndEvaluate(trainCtx, tr, sink, bar, &status, stderr)
	}()

	var o trainOutcome
	if f.headless {
		o = <-done
	} else {
		// The file as the writer has it: under a temporary name until its
		// first pass when it replaces another run.
		r, err := sink.OpenReader()
		if err != nil {
			stopTraining()
			<-done
			return err
		}
		src := engine.NewSource(r, sink.Latest())
		win.Live, win.WaitForPass = true, true
		win.Stop = ctx.Done() // Ctrl-C closes the window too
		win.OnRecorded = func(s string) { fmt.Fprintln(stderr, "mlpviz: recorded", s) }
		win.Status = func() engine.Status { return *status.Load() }
		win.Device = tr.Backend().Name()
		werr := engine.Run(src, win)
		src.Close()
		stopTraining() // closing the window stops training cleanly
		o = <-done
		if werr != nil && o.err == nil {
			o.err = werr
		}
	}
	if sink.Kept() {
		fmt.Fprintf(stderr, "mlpviz: no pass was collected, so %s keeps the run it held\n", f.output)
	} else {
		fmt.Fprintf(stderr, "mlpviz: run file %s: %d passes, %d bytes\n", f.output, sink.Passes(), sink.Bytes())
	}
	if f.collection != "" && o.writeErr == nil {
		n, err := writeCollection(f.output, f.collection)
		if err != nil {
			o.err = errors.Join(o.err, fmt.Errorf("collection %s: %w", f.collection, err))
		} else {
			fmt.Fprintf(stderr, "mlpviz: collection %s: %d passes in the PyTorch tool's JSON format\n", f.collection, n)
		}
	}
	if f.window.screenshot != "" && o.err == nil {
		fmt.Fprintf(stderr, "mlpviz: screenshot %s\n", f.window.screenshot)
	}
	if o.err != nil {
		return o.err
	}
	if o.res.Stopped && ctx.Err() == nil {
		fmt.Fprintf(stderr, "mlpviz: window closed: training stopped after %d steps\n", o.res.Steps)
		return nil
	}
	if o.res.Stopped {
		return exitError{130, fmt.Sprintf("stopped by interrupt after %d steps", o.res.Steps)}
	}
	fmt.Fprintf(stdout, "done: steps=%d test_accuracy=%.4f img_per_s=%.0f\n", o.res.Steps, o.accuracy, o.res.ImagesPerSecond)
	return nil
}

// trainOutcome is how a training goroutine ended.
type trainOutcome struct {
	res      trainer.Result
	accuracy float64
	err      error
	writeErr error // closing the run file failed: it may lack passes
}

// trainAndEvaluate trains, closes the run file (every published pass on
// disk, index written, whatever happened), then measures test accuracy
// unless training was stopped.
func trainAndEvaluate(ctx context.Context, tr *trainer.Trainer, sink *pipeline.Pipeline, bar *progressBar, status *atomic.Pointer[engine.Status], stderr io.Writer) trainOutcome {
	var o trainOutcome
	o.res, o.err = tr.Run(ctx, trainer.Hooks{
		Progress: func(p trainer.Progress) {
			bar.update(p)
			status.Store(&engine.Status{State: "training", ImagesPerSecond: p.ImagesPerSecond})
		},
		Pass: func(p *collector.Pass) error { return sink.Publish(ctx, p) },
	})
	bar.finish()
	if err := sink.Close(); err != nil {
		o.writeErr = err
		if o.err == nil {
			o.err = err
		}
	}
	ips := o.res.ImagesPerSecond
	if o.err != nil || o.res.Stopped {
		status.Store(&engine.Status{State: "stopped", ImagesPerSecond: ips})
		return o
	}
	status.Store(&engine.Status{State: "evaluating", ImagesPerSecond: ips})
	fmt.Fprintf(stderr, "mlpviz: evaluating on %d test images\n", tr.TestImages())
	acc, err := tr.TestAccuracy(ctx)
	switch {
	case ctx.Err() != nil:
		o.res.Stopped = true
	case err != nil:
		o.err = err
	default:
		o.accuracy = acc
		status.Store(&engine.Status{State: fmt.Sprintf("done · test accuracy %.4f", acc), ImagesPerSecond: ips})
	}
	return o
}

// gradientsFlag reads --gradients: true, false or auto; the flag alone
// means true.
type gradientsFlag string

func (g *gradientsFlag) String() string   { return string(*g) }
func (g *gradientsFlag) IsBoolFlag() bool { return true }

func (g *gradientsFlag) Set(s string) error {
	v, ok := configs.ParseGradients(s)
	if !ok {
		return fmt.Errorf("want true, false or auto, got %q", strings.ToLower(strings.TrimSpace(s)))
	}
	*g = gradientsFlag(v)
	return nil
}

// probeFlag reads --probe: a test image index, or "random".
type probeFlag int

func (p *probeFlag) String() string {
	if *p == trainer.ProbeRandom {
		return "random"
	}
	return strconv.Itoa(int(*p))
}

func (p *probeFlag) Set(s string) error {
	if strings.EqualFold(s, "random") {
		*p = trainer.ProbeRandom
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("want a test image index (0 or more) or random, got %q", s)
	}
	*p = probeFlag(n)
	return nil
}

// datasetError words a dataset that cannot be had in the command line's
// terms: the files, the folder, --data-dir, and where to get them.
func datasetError(err error) error {
	var me *dataset.MissingError
	if !errors.As(err, &me) {
		return err
	}
	what := "missing " + strings.Join(me.Files, ", ")
	if len(me.Corrupt) > 0 {
		what = strings.Join(me.Corrupt, "; ")
	}
	reason := me.Reason()
	if me.Offline {
		reason += " (--offline)"
	}
	return fmt.Errorf("dataset %s is not in %s: %s, and %s.\nDownload %s from %s into that folder, or point --data-dir at a folder whose %s/ holds %s.",
		me.Dataset, me.Dir, what, reason, pronoun(len(me.Files)), strings.Join(me.Mirrors, " or "), me.Dataset, pronoun(len(me.Files)))
}

func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}
