// Package trainer trains one of the seed's models on a dataset in its own
// goroutine and hands out a collector.Pass every Interval steps. The numeric
// work lives in trainer/nn (layers, models, optimiser) on a trainer/backend;
// the data in trainer/dataset.
package trainer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/mlpviz/mlpviz/catalog"
	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/trainer/backend"
	"github.com/mlpviz/mlpviz/trainer/dataset"
	"github.com/mlpviz/mlpviz/trainer/nn"
)

// Config is one training run.
type Config struct {
	Model     string
	Epochs    int
	BatchSize int
	LR        float32
	Dropout   float32 // < 0: the model's default (catalog.Model.DefaultDropout)
	Interval  int     // collect a pass every Interval steps; 0: never
	MaxSteps  int     // stop after this many batches; 0: no limit
	Seed      int64
	Gradients bool // collect the last step's weight and bias gradients
	NeuronCap int  // the head's widest layer in a pass; 0: full size
	Workers   int  // CPU goroutines; 0: one per core
	// Backend runs the maths; nil: the CPU backend with Workers goroutines.
	Backend backend.Backend
	// Probe is the test image every pass shows, so that passes compare;
	// ProbeRandom draws a new one for each pass, as the PyTorch tool did.
	Probe int
	// Probes is the size of the probe set each pass records: Probe, then
	// fixed test images, one of each class in turn; 0 or 1: Probe alone.
	Probes int
	// HealthBatch is how many fixed test images each pass runs forward to
	// measure the health of the hidden neurons; 0: none.
	HealthBatch int
}

// ProbeRandom as Config.Probe shows a new random test image in each pass.
const ProbeRandom = -1

// Validate reports the first setting that cannot run, in the words of the
// command-line flag that sets it.
func (c *Config) Validate() error {
	switch {
	case c.Epochs <= 0:
		return fmt.Errorf("--epochs must be at least 1, got %d", c.Epochs)
	case c.BatchSize <= 0:
		return fmt.Errorf("--batch-size must be at least 1, got %d", c.BatchSize)
	case c.Interval <= 0:
		return fmt.Errorf("--interval must be at least 1, got %d", c.Interval)
	case c.MaxSteps < 0:
		return fmt.Errorf("--max-steps must not be negative, got %d", c.MaxSteps)
	case !(c.LR > 0) || math.IsInf(float64(c.LR), 0):
		return fmt.Errorf("--lr must be a positive number, got %g", c.LR)
	case c.Dropout >= 1:
		return fmt.Errorf("--dropout must be in [0, 1), got %g", c.Dropout)
	case c.Probes < 0 || c.Probes > collector.MaxProbes:
		return fmt.Errorf("--probes must be 1 to %d, got %d", collector.MaxProbes, c.Probes)
	case c.HealthBatch < 0:
		return fmt.Errorf("--health-batch must not be negative (0: off), got %d", c.HealthBatch)
	case c.Probe < ProbeRandom:
		return fmt.Errorf("--probe must be a test image index (0 or more) or random, got %d", c.Probe)
	}
	return nil
}

// Progress is a snapshot for a progress bar.
type Progress struct {
	Epoch, Epochs   int // Epoch counts from 1
	Batch, Batches  int // within the epoch, Batch counts from 1
	Step            int // global batches done
	Loss, Accuracy  float64
	ImagesPerSecond float64
}

// Result is what a finished (or stopped) run reports.
type Result struct {
	Steps           int
	ImagesPerSecond float64 // training throughput
	Stopped         bool    // ctx was cancelled
}

// Hooks receive the run's output on the training goroutine; they must be
// quick, or hand the work on (the collector's ring buffer does).
type Hooks struct {
	// Progress comes after every batch whose loss has reached the host:
	// each batch on the CPU backend; on a GPU, at most a few times a
	// second, at every pass and at the end, so that the device need not
	// stop for it.
	Progress func(Progress)
	Pass     func(*collector.Pass) error // every Interval steps; an error stops the run
}

// ErrDiverged is wrapped by Run's error when the loss stops being finite.
var ErrDiverged = errors.New("training diverged")

// Trainer holds a model, its optimiser and its data.
type Trainer struct {
	cfg     Config
	data    *dataset.Dataset
	be      backend.Backend
	Model   *nn.Model
	opt     *nn.AdamW
	rng     *rand.Rand  // shuffling and augmentation
	figs    *figures    // the training steps' loss and correct counts
	capture *captureSet // Capture's images, made on first use
}

// New builds the model for cfg on data. The model's input shape must match
// the dataset's.
func New(cfg Config, data *dataset.Dataset) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	spec := catalog.LookupModel(cfg.Model)
	if spec == nil {
		return nil, catalog.UnknownModel(cfg.Model)
	}
	if err := spec.Takes(data.Name, data.Shape); err != nil {
		return nil, err
	}
	if cfg.Probe >= data.Test.N {
		return nil, fmt.Errorf("--probe %d: %s has %d test images (0 to %d)", cfg.Probe, data.Name, data.Test.N, data.Test.N-1)
	}
	if cfg.Probes > data.Test.N || cfg.HealthBatch > data.Test.N {
		return nil, fmt.Errorf("--probes %d and --health-batch %d: %s has %d test images", cfg.Probes, cfg.HealthBatch, data.Name, data.Test.N)
	}
	if cfg.BatchSize > data.Train.N {
		return nil, fmt.Errorf("--batch-size %d is more than the %d training images of %s", cfg.BatchSize, data.Train.N, data.Name)
	}
	if err := checkMemory(spec, cfg.BatchSize); err != nil {
		return nil, err
	}
	// A capture runs the probe set and the health batch as one batch.
	var me *MemoryError
	if err := checkMemory(spec, max(cfg.Probes, 1)+cfg.HealthBatch); errors.As(err, &me) {
		return nil, fmt.Errorf("--health-batch %d needs about %s, and this machine has %s available; use --health-batch %d or less",
			cfg.HealthBatch, gigabytes(me.Need), gigabytes(me.Available), max(me.MaxBatch-max(cfg.Probes, 1), 0))
	} else if err != nil {
		return nil, err
	}
	if cfg.Dropout < 0 {
		cfg.Dropout = float32(spec.DefaultDropout)
	}
	be := cfg.Backend
	if be == nil {
		be = backend.NewCPU(cfg.Workers)
		cfg.Backend = be
	}
	seed := uint64(cfg.Seed)
	model, err := nn.New(be, spec, cfg.Dropout, rand.New(rand.NewPCG(seed, 0x6d6f64656c)))
	if err != nil {
		return nil, err
	}
	return &Trainer{
		cfg: cfg, data: data, be: be, Model: model,
		opt:  nn.NewAdamW(be, model.Params(), cfg.LR),
		figs: newFigures(be),
		rng:  rand.New(rand.NewPCG(seed, 0x64617461)),
	}, nil
}

// Config returns the configuration in use, defaults resolved.
func (t *Trainer) Config() Config { return t.cfg }

// Backend is what the trainer runs its maths on; its Name is what the
// progress line shows.
func (t *Trainer) Backend() backend.Backend { return t.be }

// Architecture describes the model and run for the collector.
func (t *Trainer) Architecture() *collector.Architecture {
	a := &collector.Architecture{
		Dataset: t.data.Name, Model: t.cfg.Model, InputShape: t.data.Shape,
		ClassNames: t.data.Classes, Modules: t.Model.Modules(),
		Gradients: t.cfg.Gradients, Interval: t.cfg.Interval, BatchSize: t.cfg.BatchSize, Seed: t.cfg.Seed,
	}
	a.FullHead = t.fullHead()
	a.Head = collector.CapHead(a.FullHead, t.cfg.NeuronCap)
	a.NeuronCap = t.cfg.NeuronCap
	if t.cfg.Probes > 1 {
		a.Probes = t.cfg.Probes
	}
	a.HealthBatch = t.cfg.HealthBatch
	a.Probe = strconv.Itoa(t.cfg.Probe)
	if t.cfg.Probe == ProbeRandom {
		a.Probe = "random"
	}
	return a
}

// fullHead is the model's Linear layers at their own size, before the cap.
func (t *Trainer) fullHead() []collector.LinearShape {
	var h []collector.LinearShape
	for _, l := range t.Model.Head() {
		h = append(h, collector.LinearShape{In: l.In, Out: l.Out})
	}
	return h
}

// Run trains until the epochs or MaxSteps are done or ctx is cancelled.
// TestAccuracy evaluates the result.
func (t *Trainer) Run(ctx context.Context, hooks Hooks) (Result, error) {
	cfg, train := t.cfg, &t.data.Train
	batches := (train.N + cfg.BatchSize - 1) / cfg.BatchSize
	in := newBatch(t.be, t.data, cfg.BatchSize)
	defer in.free()
	figs := t.figs
	figs.n = 0 // a stopped run's last steps are not this run's
	var res Result
	var images int
	var trainTime time.Duration
	// Running metrics since the last pass, as the seed reports them.
	var runLoss float64
	var runCorrect, runSeen, runBatches int
	// fold adds the figures of the steps up to last that are not yet on the
	// host to the running metrics; a loss that is not finite stops the run
	// after the step before it.
	fold := func(last int) error {
		f := figs.read()
		if err := t.be.Err(); err != nil {
			return fmt.Errorf("by step %d: %w", last, err)
		}
		for k := 0; k < len(f); k += 2 {
			step := last - (len(f)-k)/2 + 1
			if loss := f[k]; math.IsNaN(loss) || math.IsInf(loss, 0) {
				res.Steps = step - 1
				return fmt.Errorf("%w at step %d: loss is %v (try a lower --lr)", ErrDiverged, step, loss)
			}
			runLoss += f[k]
			runBatches++
			runCorrect += int(f[k+1])
		}
		return nil
	}
	probes := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x70726f6265))
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		order := t.rng.Perm(train.N)
		for b := 0; b < batches; b++ {
			if ctx.Err() != nil {
				res.Stopped = true
				return t.finish(res, images, trainTime), nil
			}
			start := time.Now()
			idx := order[b*cfg.BatchSize : min((b+1)*cfg.BatchSize, train.N)]
			x, labels := in.load(train, idx, t.rng)
			t.Model.ZeroGrad()
			t.Model.Loss(x, labels, true, figs.next())
			step := res.Steps + 1
			passDue := step%cfg.Interval == 0
			last := (cfg.MaxSteps > 0 && step >= cfg.MaxSteps) || (epoch == cfg.Epochs && b == batches-1)
			fresh := figs.due(passDue || last)
			if fresh {
				if err := fold(step); err != nil {
					return t.finish(res, images, trainTime), err
				}
			}
			t.opt.Step()
			trainTime += time.Since(start)
			res.Steps++
			images += len(idx)
			runSeen += len(idx)
			if fresh && hooks.Progress != nil {
				hooks.Progress(Progress{Epoch: epoch, Epochs: cfg.Epochs, Batch: b + 1, Batches: batches, Step: res.Steps,
					Loss: runLoss / float64(runBatches), Accuracy: float64(runCorrect) / float64(runSeen),
					ImagesPerSecond: float64(images) / trainTime.Seconds()})
			}
			if passDue {
				if hooks.Pass != nil {
					probe := cfg.Probe
					if probe == ProbeRandom {
						probe = probes.IntN(t.data.Test.N)
					}
					p := t.Capture(probe, res.Steps, epoch)
					if err := t.be.Err(); err != nil {
						return t.finish(res, images, trainTime), fmt.Errorf("capturing step %d: %w", res.Steps, err)
					}
					p.Loss = float32(runLoss / float64(runBatches))
					p.Accuracy = float32(runCorrect) / float32(runSeen)
					if err := hooks.Pass(p); err != nil {
						if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
							// Stopped while the hook waited (for the disk): a stop, not a failure.
							res.Stopped = true
							return t.finish(res, images, trainTime), nil
						}
						return t.finish(res, images, trainTime), err // the hook names the pass
					}
				}
				runLoss, runCorrect, runSeen, runBatches = 0, 0, 0, 0
			}
			if cfg.MaxSteps > 0 && res.Steps >= cfg.MaxSteps {
				return t.finish(res, images, trainTime), nil
			}
		}
	}
	return t.finish(res, images, trainTime), nil
}

func (t *Trainer) finish(res Result, images int, d time.Duration) Result {
	if d > 0 {
		res.ImagesPerSecond = float64(images) / d.Seconds()
	}
	return res
}

// TestAccuracy runs the model in eval mode over the whole test set; the
// counts reach the host once, at the end.
func (t *Trainer) TestAccuracy(ctx context.Context) (float64, error) {
	const size = 250
	test := &t.data.Test
	if test.N == 0 {
		return 0, fmt.Errorf("the %s test set is empty", t.data.Name)
	}
	in := newBatch(t.be, t.data, size)
	defer in.free()
	batches := (test.N + size - 1) / size
	figures := t.be.AllocFloat64(2 * batches)
	defer t.be.Free(figures)
	idx := make([]int, size)
	for b := range batches {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		lo := b * size
		n := min(size, test.N-lo)
		for i := range n {
			idx[i] = lo + i
		}
		x, labels := in.load(test, idx[:n], nil)
		t.Model.Loss(x, labels, false, figures.Slice(2*b, 2))
	}
	f := make([]float64, figures.Len())
	t.be.DownloadFloat64(f, figures)
	if err := t.be.Err(); err != nil {
		return 0, fmt.Errorf("evaluating: %w", err)
	}
	correct := 0
	for b := range batches {
		correct += int(f[2*b+1])
	}
	return float64(correct) / float64(test.N), nil
}

// TestImages is the size of the test set TestAccuracy runs over.
func (t *Trainer) TestImages() int { return t.data.Test.N }
