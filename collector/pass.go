// Package collector holds what mlpviz records about a training run: the
// Architecture written once per run, the Pass captured every interval and
// the one check of a pass against its architecture. Its subpackages carry
// passes from the trainer to their readers (ring, pipeline) and keep them
// on disk (runfile, seedjson).
package collector

import "time"

// Setting is one constructor argument of a module, kept as text so that any
// model's settings (sizes, kernel tuples, rates) print and serialise alike.
type Setting struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Module is one layer of the whole model, in forward order, for the
// architecture summary.
type Module struct {
	Kind     string    `json:"kind"` // "Conv2d", "Linear", "ReLU", ...
	Settings []Setting `json:"settings,omitempty"`
}

// LinearShape is the size of one Linear layer of the head.
type LinearShape struct {
	In  int `json:"in"`
	Out int `json:"out"`
}

// Architecture describes a run; it is written once, before the first pass.
type Architecture struct {
	Dataset    string        `json:"dataset"`
	Model      string        `json:"model"`
	InputShape [3]int        `json:"input_shape"` // channels, height, width
	ClassNames []string      `json:"class_names"`
	Modules    []Module      `json:"modules"`
	Head       []LinearShape `json:"head"` // the Linear layers, as collected (after any neuron cap)
	FullHead   []LinearShape `json:"full_head"`
	NeuronCap  int           `json:"neuron_cap"` // 0: full size
	Gradients  bool          `json:"gradients"`
	Interval   int           `json:"interval"`
	BatchSize  int           `json:"batch_size"`
	Seed       int64         `json:"seed"`
	// Probe says which test image the passes show: its index, the same in
	// every pass, or "random" for a new one each pass; "" where the writer
	// did not say (runs written before mlpviz recorded it).
	Probe string `json:"probe,omitempty"`
	// Probes is the size of the probe set: the pass's own probe and the
	// Pass.Probes after it. 0 or 1: the pass's own probe alone (runs
	// written before mlpviz recorded a probe set).
	Probes int `json:"probes,omitempty"`
	// HealthBatch is how many fixed test images the neuron health of a
	// pass (Pass.Health) is measured over; 0: passes record no health.
	HealthBatch int `json:"health_batch,omitempty"`
}

// LayerPass is what one Linear layer of the head held for the probe sample.
// Weight is row-major, Out rows of In columns, as PyTorch stores it.
type LayerPass struct {
	Input      []float32 `json:"input"`  // In values: activations of the neurons on the left
	Output     []float32 `json:"output"` // Out values, before any activation
	Weight     []float32 `json:"weight"`
	Bias       []float32 `json:"bias"`
	GradWeight []float32 `json:"grad_weight,omitempty"` // only with --gradients
	GradBias   []float32 `json:"grad_bias,omitempty"`
}

// Pass is one collection: the head's state at one step, for one probe
// sample (and, when the run records a probe set, for the others: Probes),
// with the health of its hidden neurons when the run measures it.
type Pass struct {
	Step     int       `json:"step"` // global training step (batches done)
	Epoch    int       `json:"epoch"`
	Wall     time.Time `json:"wall"`
	Loss     float32   `json:"loss"`     // running mean training loss since the last pass
	Accuracy float32   `json:"accuracy"` // running training accuracy since the last pass, 0..1

	// The probe: an image of the test set, un-normalised to 0..1, laid out
	// channel by channel (InputShape of the Architecture).
	Image      []float32 `json:"image"`
	TrueLabel  int       `json:"true_label"`
	Prediction int       `json:"prediction"`
	Logits     []float32 `json:"logits"`
	Probs      []float32 `json:"probs"`

	Layers []LayerPass `json:"layers"`

	// Probes are the rest of the probe set, probe 1 to NumProbes()-1 (the
	// fields above are probe 0), each seen by the same weights; none when
	// the run records a single probe (Architecture.Probes).
	Probes []Probe `json:"probes,omitempty"`
	// Health is, per hidden layer, how its neurons behaved over the health
	// batch (Architecture.HealthBatch): Health[h] is the activation of
	// Linear h after its activation function, the Input of Layers[h+1].
	// None when the run does not measure it.
	Health []LayerHealth `json:"health,omitempty"`
}

// Probe is one image of the probe set other than the pass's own (probe 0),
// with what the head did for it: its fields mean what the Pass's fields of
// the same names do.
type Probe struct {
	Image      []float32 `json:"image"`
	TrueLabel  int       `json:"true_label"`
	Prediction int       `json:"prediction"`
	Logits     []float32 `json:"logits"`
	Probs      []float32 `json:"probs"`
	// Layers holds, per Linear layer of the head, its Input and Output for
	// this image, as LayerPass does for probe 0.
	Layers []ProbeLayer `json:"layers"`
}

// ProbeLayer is one Linear layer's activations for one probe.
type ProbeLayer struct {
	Input  []float32 `json:"input"`
	Output []float32 `json:"output"`
}

// MaxProbes is the most probes a run records per pass: each costs the
// head's activations in every pass.
const MaxProbes = 100

// NumProbes is the number of probes the pass holds: its own and Probes.
func (p *Pass) NumProbes() int { return 1 + len(p.Probes) }

// ForProbe returns the pass as probe j saw it (0 <= j < NumProbes()): a
// shallow copy whose image, labels, logits, probs and per-layer Input and
// Output are probe j's, sharing every other array with p (weights, biases,
// gradients, health). ForProbe(0) and an index out of range return p
// itself. The copy holds no Probes, so that it reads as a single-probe pass.
func (p *Pass) ForProbe(j int) *Pass {
	if j <= 0 || j > len(p.Probes) {
		return p
	}
	pr := &p.Probes[j-1]
	q := *p
	q.Image, q.TrueLabel, q.Prediction, q.Logits, q.Probs = pr.Image, pr.TrueLabel, pr.Prediction, pr.Logits, pr.Probs
	q.Probes = nil
	q.Layers = make([]LayerPass, len(p.Layers))
	for i, l := range p.Layers {
		if i < len(pr.Layers) {
			l.Input, l.Output = pr.Layers[i].Input, pr.Layers[i].Output
		}
		q.Layers[i] = l
	}
	return &q
}

// LayerHealth is how the neurons of one hidden layer behaved over the
// health batch: per neuron, the mean of its activation, the fraction of the
// images for which it was active (activation > 0) and the standard
// deviation of its activation. Under a neuron cap each value stands for a
// group of neurons (see Reduce).
type LayerHealth struct {
	Mean   []float32 `json:"mean"`
	Active []float32 `json:"active"` // 0..1
	Std    []float32 `json:"std"`
}

// The one rule for unhealthy neurons, which the view, the summary and
// inspect all apply:
//
//   - dead: active (activation > 0) for no image of the health batch;
//   - saturated: active for every image, with a near-constant activation:
//     its standard deviation over the batch under SaturatedSpread·(1+|mean|).
//
// A neuron that is neither is healthy. Under a neuron cap a group is dead
// when all its neurons are, saturated when all are active for every image
// and the mean of their deviations is under the bound.
const SaturatedSpread = 1e-3

// Dead reports whether neuron i of the layer was active for no image.
func (h *LayerHealth) Dead(i int) bool { return h.Active[i] <= 0 }

// Saturated reports whether neuron i of the layer was active for every
// image with a near-constant activation.
func (h *LayerHealth) Saturated(i int) bool {
	m := float64(h.Mean[i])
	return h.Active[i] >= 1 && float64(h.Std[i]) < SaturatedSpread*(1+max(m, -m))
}

// Counts returns how many of the layer's neurons are dead and saturated.
func (h *LayerHealth) Counts() (dead, saturated int) {
	for i := range h.Active {
		if h.Dead(i) {
			dead++
		} else if h.Saturated(i) {
			saturated++
		}
	}
	return dead, saturated
}

// HealthCounts returns, per hidden layer, how many neurons are dead and
// saturated; nil when the pass holds no health.
func (p *Pass) HealthCounts() (dead, saturated []int) {
	if len(p.Health) == 0 {
		return nil, nil
	}
	dead, saturated = make([]int, len(p.Health)), make([]int, len(p.Health))
	for h := range p.Health {
		dead[h], saturated[h] = p.Health[h].Counts()
	}
	return dead, saturated
}
