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
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mlpviz/mlpviz/catalog"
	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/collector/runfile"
	"github.com/mlpviz/mlpviz/configs"
	"github.com/mlpviz/mlpviz/engine"
	"github.com/mlpviz/mlpviz/internal/suggest"
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
	precision               runfile.Precision
	window                  windowFlags
	profileName             string
	profile                 *configs.Profile
}

func newTrainFlags(stderr io.Writer) (*flag.FlagSet, *trainFlags) {
	f := &trainFlags{}
	fs := flag.NewFlagSet("mlpviz train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.dataset, "dataset", "mnist", "dataset: "+strings.Join(catalog.DatasetNames(), ", "))
	fs.StringVar(&f.model, "model", "cnn", "model: "+strings.Join(catalog.ModelNames(), ", ")+" (cifar10 selects cifar10_cnn)")
	fs.IntVar(&f.cfg.Epochs, "epochs", 1, "training epochs")
	fs.IntVar(&f.cfg.Interval, "interval", 50, "collect a pass every this many steps")
	fs.IntVar(&f.cfg.BatchSize, "batch-size", 64, "images per training step")
	fs.Float64Var(&f.lr, "lr", 0.002, "AdamW learning rate")
	fs.Float64Var(&f.dropout, "dropout", -1, "dropout rate for every dropout layer (default: cnn 0, cnn_large 0.5; the seed's cnn used 0.5)")
	fs.IntVar(&f.cfg.MaxSteps, "max-steps", 0, "stop after this many batches (0: no limit)")
	fs.Int64Var(&f.cfg.Seed, "seed", 42, "random seed: the same seed gives the same loss sequence")
	fs.StringVar(&f.dataDir, "data-dir", dataset.DefaultDir(), "dataset cache directory")
	fs.BoolVar(&f.headless, "headless", false, "train in the terminal, no window")
	fs.BoolVar(&f.force, "force", false, "overwrite an existing output file")
	fs.BoolVar(&f.offline, "offline", false, "never download: use --data-dir and the MNIST copy bundled with the Go module cache")
	fs.IntVar(&f.cfg.Workers, "workers", 0, "CPU threads (0: one per core)")
	fs.StringVar(&f.output, "output", "", "run file to write (default runs/<dataset>_<model>_<time>.mlpv)")
	fs.StringVar(&f.output, "output_path", "", "the seed's spelling of --output")
	fs.IntVar(&f.cfg.NeuronCap, "neuron-cap", 0, "reduce every head layer wider than this, as the seed (0: full size)")
	fs.IntVar(&f.cfg.NeuronCap, "neuron_cap", 0, "the seed's spelling of --neuron-cap")
	fs.BoolVar(&f.cfg.Gradients, "gradients", false, "also record the last step's weight and bias gradients")
	fs.Var(&f.precision, "precision", "float precision in the run file: f16 (compact) or f32 (every bit)")
	f.window.register(fs)
	fs.StringVar(&f.profileName, "profile", "", "settings profile: "+strings.Join(configs.Names(), ", ")+" or a YAML file (default: the --dataset's)")
	return fs, f
}

// parse reads args and checks every value before any data is loaded.
func (f *trainFlags) parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
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
		return usageError{catalog.UnknownDataset(f.dataset, suggest.DidYouMean(f.dataset, catalog.DatasetNames(), "")).Error()}
	}
	model := catalog.LookupModel(f.model)
	if model == nil {
		return usageError{catalog.UnknownModel(f.model, suggest.DidYouMean(f.model, catalog.ModelNames(), "")).Error()}
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
	if f.cfg.NeuronCap < 0 {
		return usageError{fmt.Sprintf("--neuron-cap must not be negative, got %d", f.cfg.NeuronCap)}
	}
	if f.output == "" {
		f.output = filepath.Join("runs", fmt.Sprintf("%s_%s_%s.mlpv", f.dataset, f.model, time.Now().Format("20060102-150405")))
	}
	if _, err := os.Stat(f.output); err == nil && !f.force {
		// As the seed: an existing collection is kept unless --force.
		return usageError{fmt.Sprintf("%s already exists: add --force to overwrite it, or choose another --output", f.output)}
	}
	if f.cfg.Workers < 0 {
		return usageError{fmt.Sprintf("--workers must not be negative, got %d", f.cfg.Workers)}
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
			return usageError{fmt.Sprintf("unknown dataset %q (valid: %s)", f.dataset, strings.Join(catalog.DatasetNames(), ", "))}
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
	fs, f := newTrainFlags(stderr)
	if err := f.parse(fs, args, stderr); err != nil {
		return err
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
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	data, err := dataset.Load(ctx, f.dataset, dataset.Options{Dir: f.dataDir, Progress: stderr, Offline: f.offline})
	if err != nil {
		return err
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
	sink, err := newPassSink(f.output, tr.Architecture(), runfile.Options{Precision: f.precision, Force: f.force})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "mlpviz: training %s on %s: %d train / %d test images, %d epoch(s), batch %d, lr %g, dropout %g, seed %d\n",
		cfg.Model, data.Name, data.Train.N, data.Test.N, cfg.Epochs, cfg.BatchSize, cfg.LR, cfg.Dropout, cfg.Seed)

	// Training runs on its own goroutine; the main one waits for it, or runs
	// the window (which must own the main thread) until it is closed.
	trainCtx, stopTraining := context.WithCancel(ctx)
	defer stopTraining()
	bar := newProgressBar(stderr)
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
		src, err := engine.OpenSource(f.output, sink.ring.Latest())
		if err != nil {
			stopTraining()
			<-done
			return err
		}
		win.Live, win.WaitForPass = true, true
		win.Stop = ctx.Done() // Ctrl-C closes the window too
		win.OnRecorded = func(s string) { fmt.Fprintln(stderr, "mlpviz: recorded", s) }
		win.Status = func() engine.Status { return *status.Load() }
		werr := engine.Run(src, win)
		src.Close()
		stopTraining() // closing the window stops training cleanly
		o = <-done
		if werr != nil && o.err == nil {
			o.err = werr
		}
		if o.res.Stopped && ctx.Err() == nil {
			fmt.Fprintf(stderr, "mlpviz: window closed: training stopped after %d steps\n", o.res.Steps)
			return o.err
		}
	}
	fmt.Fprintf(stderr, "mlpviz: run file %s: %d passes, %d bytes\n", f.output, sink.ring.Published(), sink.file.Bytes())
	if o.err != nil {
		return o.err
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
}

// trainAndEvaluate trains, closes the run file (every published pass on
// disk, index written, whatever happened), then measures test accuracy
// unless training was stopped.
func trainAndEvaluate(ctx context.Context, tr *trainer.Trainer, sink *passSink, bar *progressBar, status *atomic.Pointer[engine.Status], stderr io.Writer) trainOutcome {
	var o trainOutcome
	o.res, o.err = tr.Run(ctx, trainer.Hooks{
		Progress: func(p trainer.Progress) {
			bar.update(p)
			status.Store(&engine.Status{State: "training", ImagesPerSecond: p.ImagesPerSecond})
		},
		Pass: func(p *collector.Pass) error { return sink.publish(ctx, p) },
	})
	bar.finish()
	if err := sink.close(); err != nil && o.err == nil {
		o.err = err
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
