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

// Pass is one collection: the head's state for one probe sample at one step.
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
}
