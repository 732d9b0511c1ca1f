package seedjsontest

import (
	"fmt"
	"strconv"
	"strings"
)

// module is one nn.Module of a seed model: a layer with its one-line repr,
// or a container (the model, an nn.Sequential) with its children.
type module struct {
	name  string // attribute name in the parent: "conv1", "0"
	repr  string // a layer's repr, or a container's class
	child []module
}

// The seed's models (its models.py), each layer by the repr PyTorch gives
// it; the containers' reprs are built from them as Module.__repr__ does.
var models = map[string]module{
	"cnn": {repr: "CNN", child: []module{
		{name: "conv1", repr: "Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"},
		{name: "conv2", repr: "Conv2d(8, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"},
		{name: "conv3", repr: "Conv2d(16, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"},
		{name: "conv4", repr: "Conv2d(32, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"},
		{name: "fc1", repr: "Linear(in_features=576, out_features=24, bias=True)"},
		{name: "fc2", repr: "Linear(in_features=24, out_features=24, bias=True)"},
		{name: "fc3", repr: "Linear(in_features=24, out_features=24, bias=True)"},
		{name: "fc4", repr: "Linear(in_features=24, out_features=24, bias=True)"},
		{name: "fc5", repr: "Linear(in_features=24, out_features=10, bias=True)"},
	}},
	"cnn_large": {repr: "CNN_large", child: []module{
		sequential("conv_block",
			"Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
			"BatchNorm2d(32, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)",
			"ReLU()",
			"Conv2d(32, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
			"BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)",
			"ReLU()",
			"MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
			"Conv2d(64, 128, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
			"BatchNorm2d(128, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)",
			"ReLU()",
			"MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
		),
		sequential("linear_block",
			"Dropout(p=0.5, inplace=False)",
			"Linear(in_features=6272, out_features=128, bias=True)",
			"BatchNorm1d(128, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)",
			"ReLU()",
			"Dropout(p=0.5, inplace=False)",
			"Linear(in_features=128, out_features=64, bias=True)",
			"BatchNorm1d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)",
			"ReLU()",
			"Dropout(p=0.5, inplace=False)",
			"Linear(in_features=64, out_features=10, bias=True)",
		),
	}},
	"cifar10_cnn": {repr: "Cifar10CnnModel", child: []module{
		sequential("network",
			"Conv2d(3, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
			"ReLU()",
			"Conv2d(32, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
			"ReLU()",
			"MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
			"Conv2d(64, 128, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
			"ReLU()",
			"Conv2d(128, 128, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
			"ReLU()",
			"MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
			"Conv2d(128, 256, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
			"ReLU()",
			"Conv2d(256, 256, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
			"ReLU()",
			"MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
			"Flatten(start_dim=1, end_dim=-1)",
			"Linear(in_features=4096, out_features=1024, bias=True)",
			"ReLU()",
			"Linear(in_features=1024, out_features=512, bias=True)",
			"ReLU()",
			"Linear(in_features=512, out_features=10, bias=True)",
		),
	}},
}

// sequential is an nn.Sequential, whose children are named "0", "1", ...
func sequential(name string, reprs ...string) module {
	m := module{name: name, repr: "Sequential"}
	for i, r := range reprs {
		m.child = append(m.child, module{name: strconv.Itoa(i), repr: r})
	}
	return m
}

// String is the module's repr: a container's is multi-line, its children
// indented by two spaces, as torch.nn.Module.__repr__ writes it.
func (m module) String() string {
	if m.child == nil {
		return m.repr
	}
	lines := make([]string, len(m.child))
	for i, c := range m.child {
		lines[i] = "(" + c.name + "): " + strings.ReplaceAll(c.String(), "\n", "\n  ")
	}
	return m.repr + "(\n  " + strings.Join(lines, "\n  ") + "\n)"
}

// modules lists the modules the collector registers, in its order: every
// module of nn.Sequential(nn.Identity(), model, nn.Identity()), depth first,
// but the Sequential and ModuleList containers.
func modules(model module) []module {
	out := []module{{repr: "Identity()"}}
	var walk func(m module)
	walk = func(m module) {
		if m.repr != "Sequential" && m.repr != "ModuleList" {
			out = append(out, m)
		}
		for _, c := range m.child {
			walk(c)
		}
	}
	walk(model)
	return append(out, module{repr: "Identity()"})
}

// Setting is one key and value of an architecture entry. Value is a
// float64 or a bool, as Python's float() then bool() made it.
type Setting struct {
	Key   string
	Value any
}

// Entry is one "N_Kind" entry of the architecture object.
type Entry struct {
	Tag      string
	Settings []Setting
}

// parseRepr is the collector's _parse_module_str: the text is split at
// every "(", ")" and ","; the first piece is the kind, and every later
// piece with an "=" a key (spaces kept) and a value. A key seen again keeps
// its place and takes the new value, as a Python dict does.
func parseRepr(s string) (string, []Setting, error) {
	pieces := strings.FieldsFunc(s, func(r rune) bool { return r == '(' || r == ')' || r == ',' })
	// FieldsFunc drops empty pieces, which the collector skips too; only the
	// kind may be empty, and none of the seed's reprs starts with a "(".
	kind, pieces := pieces[0], pieces[1:]
	var out []Setting
	at := map[string]int{}
	for _, p := range pieces {
		if !strings.Contains(p, "=") {
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		if strings.Contains(v, "=") {
			return "", nil, fmt.Errorf("repr piece %q: Python's k, v = spec.split('=') fails", p)
		}
		val := pyValue(v)
		if i, ok := at[k]; ok {
			out[i].Value = val
			continue
		}
		at[k] = len(out)
		out = append(out, Setting{Key: k, Value: val})
	}
	return kind, out, nil
}

// pyValue is try_convert(v, [float, bool]): float(v) when Python reads v
// as a number, else bool(v), true for any text but the empty string.
func pyValue(v string) any {
	t := strings.TrimSpace(v)
	if f, err := strconv.ParseFloat(t, 64); err == nil && !strings.ContainsAny(t, "xXpP_") {
		return f
	}
	return v != ""
}

// architecture is the collector's "architecture" object for the model.
func architecture(model module) ([]Entry, error) {
	var out []Entry
	for i, m := range modules(model) {
		kind, settings, err := parseRepr(m.String())
		if err != nil {
			return nil, err
		}
		out = append(out, Entry{Tag: fmt.Sprintf("%d_%s", i+1, kind), Settings: settings})
	}
	return out, nil
}
