package catalog

import (
	"fmt"
	"strings"

	"github.com/mlpviz/mlpviz/internal/suggest"
)

// Kind is a kind of layer in a model's recipe.
type Kind uint8

// The layers mlpviz's trainer implements.
const (
	Conv2D      Kind = iota + 1 // In→Out channels, Kernel×Kernel, padding Pad, stride 1
	BatchNorm2D                 // Out channels
	BatchNorm1D                 // Out features
	ReLU
	MaxPool2D // Kernel×Kernel windows, stride Kernel
	Dropout   // at the run's dropout rate
	Flatten
	Linear // In→Out features
)

// Layer is one step of a model's recipe.
type Layer struct {
	Kind        Kind
	In, Out     int
	Kernel, Pad int
}

// Model is one of the models mlpviz trains, as a recipe of layers that the
// trainer builds.
type Model struct {
	Name       string // the --model value, as the PyTorch tool spells it too
	TorchClass string // the PyTorch tool's class, which names the model in its collections
	InputShape Shape
	Classes    int
	// DefaultDropout is the dropout rate when the user sets none. The
	// PyTorch tool's cnn uses 0.5 after every layer, which leaves it near
	// chance after one epoch (0.12 and 0.38 test accuracy in PyTorch, two
	// seeds), so mlpviz's cnn runs without dropout and learns visibly;
	// --dropout 0.5 gives the tool's exact model. cnn_large keeps its 0.5
	// (its batch norm copes); cifar10_cnn has no dropout layers.
	DefaultDropout float64
	Layers         []Layer
}

func conv(in, out int) Layer { return Layer{Kind: Conv2D, In: in, Out: out, Kernel: 3, Pad: 1} }
func bn2(n int) Layer        { return Layer{Kind: BatchNorm2D, Out: n} }
func bn1(n int) Layer        { return Layer{Kind: BatchNorm1D, Out: n} }
func linear(in, out int) Layer {
	return Layer{Kind: Linear, In: in, Out: out}
}

var (
	relu    = Layer{Kind: ReLU}
	pool    = Layer{Kind: MaxPool2D, Kernel: 2}
	dropout = Layer{Kind: Dropout}
	flatten = Layer{Kind: Flatten}
)

var models = []*Model{
	{
		Name: "cnn", TorchClass: "CNN", InputShape: Shape{1, 28, 28}, Classes: 10,
		Layers: []Layer{
			conv(1, 8), relu, dropout,
			conv(8, 16), pool, relu, dropout,
			conv(16, 32), pool, relu, dropout,
			conv(32, 64), pool, relu, dropout,
			flatten,
			linear(576, 24), relu, dropout,
			linear(24, 24), relu, dropout,
			linear(24, 24), relu, dropout,
			linear(24, 24), relu, dropout,
			linear(24, 10),
		},
	},
	{
		Name: "cnn_large", TorchClass: "CNN_large", InputShape: Shape{1, 28, 28}, Classes: 10,
		DefaultDropout: 0.5,
		Layers: []Layer{
			conv(1, 32), bn2(32), relu,
			conv(32, 64), bn2(64), relu, pool,
			conv(64, 128), bn2(128), relu, pool,
			flatten,
			dropout, linear(128*7*7, 128), bn1(128), relu,
			dropout, linear(128, 64), bn1(64), relu,
			dropout, linear(64, 10),
		},
	},
	{
		Name: "cifar10_cnn", TorchClass: "Cifar10CnnModel", InputShape: Shape{3, 32, 32}, Classes: 10,
		Layers: []Layer{
			conv(3, 32), relu, conv(32, 64), relu, pool,
			conv(64, 128), relu, conv(128, 128), relu, pool,
			conv(128, 256), relu, conv(256, 256), relu, pool,
			flatten,
			linear(4096, 1024), relu, linear(1024, 512), relu, linear(512, 10),
		},
	},
}

// Models lists every model, cnn first (the default).
func Models() []*Model { return models }

// ModelNames lists the models' names in order.
func ModelNames() []string {
	names := make([]string, len(models))
	for i, m := range models {
		names[i] = m.Name
	}
	return names
}

// LookupModel returns the named model, or nil.
func LookupModel(name string) *Model {
	for _, m := range models {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// ModelWithTorchClass returns the model the PyTorch tool names by its class
// ("CNN_large"), or nil.
func ModelWithTorchClass(class string) *Model {
	for _, m := range models {
		if m.TorchClass == class {
			return m
		}
	}
	return nil
}

// UnknownModel is the error for a name that is no model, with a
// suggestion when the name looks like a typo of one.
func UnknownModel(name string) error {
	return fmt.Errorf("unknown model %q%s (valid: %s)", name,
		suggest.DidYouMean(name, ModelNames(), ""), strings.Join(ModelNames(), ", "))
}

// Head lists the model's Linear layers: the MLP head mlpviz shows.
func (m *Model) Head() []Layer {
	var h []Layer
	for _, l := range m.Layers {
		if l.Kind == Linear {
			h = append(h, l)
		}
	}
	return h
}

// Fits reports whether the model takes the dataset's images and gives one
// output per class; the error says what differs.
func (m *Model) Fits(d *Dataset) error {
	if err := m.Takes(d.Name, d.Shape); err != nil {
		return err
	}
	if m.Classes != len(d.Classes) {
		return fmt.Errorf("model %s has %d outputs; %s has %d classes", m.Name, m.Classes, d.Name, len(d.Classes))
	}
	return nil
}

// Takes reports whether the model takes images of shape s; the error names
// their source (a dataset's name) and both shapes.
func (m *Model) Takes(source string, s Shape) error {
	if m.InputShape != s {
		return fmt.Errorf("model %s takes %s images; %s has %s images", m.Name, m.InputShape.Describe(), source, s.Describe())
	}
	return nil
}

// ModelsFor lists the models that fit the dataset, the default first.
func ModelsFor(d *Dataset) []*Model {
	var fit []*Model
	for _, m := range models {
		if m.Fits(d) == nil {
			fit = append(fit, m)
		}
	}
	return fit
}

// ModelChoices names the models that fit the dataset: "cnn or cnn_large".
func ModelChoices(d *Dataset) string {
	var names []string
	for _, m := range ModelsFor(d) {
		names = append(names, m.Name)
	}
	return strings.Join(names, " or ")
}

// DefaultModel is the first model that fits the dataset, or nil.
func DefaultModel(d *Dataset) *Model {
	if fit := ModelsFor(d); len(fit) > 0 {
		return fit[0]
	}
	return nil
}

// Trace follows an image through the model's layers and returns the shape
// after each, so a recipe whose sizes do not chain is caught: an error
// names the first layer that cannot take its input.
func (m *Model) Trace() ([][]int, error) {
	cur := []int{m.InputShape[0], m.InputShape[1], m.InputShape[2]}
	out := make([][]int, len(m.Layers))
	for i, l := range m.Layers {
		bad := func(format string, args ...any) error {
			return fmt.Errorf("model %s, layer %d: %s", m.Name, i, fmt.Sprintf(format, args...))
		}
		switch l.Kind {
		case Conv2D:
			if len(cur) != 3 || cur[0] != l.In {
				return nil, bad("Conv2D(%d, %d) gets %v", l.In, l.Out, cur)
			}
			cur = []int{l.Out, cur[1] + 2*l.Pad - l.Kernel + 1, cur[2] + 2*l.Pad - l.Kernel + 1}
		case BatchNorm2D:
			if len(cur) != 3 || cur[0] != l.Out {
				return nil, bad("BatchNorm2D(%d) gets %v", l.Out, cur)
			}
		case BatchNorm1D:
			if len(cur) != 1 || cur[0] != l.Out {
				return nil, bad("BatchNorm1D(%d) gets %v", l.Out, cur)
			}
		case MaxPool2D:
			if len(cur) != 3 || l.Kernel < 1 {
				return nil, bad("MaxPool2D(%d) gets %v", l.Kernel, cur)
			}
			cur = []int{cur[0], cur[1] / l.Kernel, cur[2] / l.Kernel}
		case Flatten:
			n := 1
			for _, d := range cur {
				n *= d
			}
			cur = []int{n}
		case Linear:
			if len(cur) != 1 || cur[0] != l.In {
				return nil, bad("Linear(%d, %d) gets %v", l.In, l.Out, cur)
			}
			cur = []int{l.Out}
		case ReLU, Dropout:
		default:
			return nil, bad("unknown kind %d", l.Kind)
		}
		out[i] = append([]int(nil), cur...)
	}
	if len(cur) != 1 || cur[0] != m.Classes {
		return nil, fmt.Errorf("model %s ends in %v, not %d class outputs", m.Name, cur, m.Classes)
	}
	return out, nil
}
