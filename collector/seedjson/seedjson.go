// Package seedjson reads and writes the seed tool's JSON collections, so that
// runs recorded by the PyTorch + PyQt6 visualizer mlpviz grew from can be
// opened (and converted to run files), and mlpviz runs can be shown in it.
//
// # The seed's format
//
// As read in the seed's code, github.com/kubosis/MLP_VIZ, which holds the
// mlp_visualizer tree the seed's README links to under kubosis/VIZ_project:
// mlp_visualizer/torch_collector/_collector_module.py writes the file
// (ModelCollector.dump_to_json: json.dump of one dict, indent 4), main.py
// fills in the per-pass values, and mlp_visualizer/visualization/_visualizer.py
// reads it back. The repository's example.json is from an older collector.
// The file is one object:
//
//	{
//	  "architecture": {
//	    "1_Identity": {},                      // wrapper the collector adds
//	    "2_CNN": {" kernel_size": false, ...}, // the model itself, unless it is a Sequential
//	    "3_Conv2d": {" kernel_size": false, " stride": false, " padding": false},
//	    "7_Linear": {"in_features": 576.0, " out_features": 24.0, " bias": true},
//	    ...
//	    "12_Identity": {}                      // wrapper
//	  },
//	  "0": {"7_Linear": {"input": [...], "weight": [[...]], "bias": [...]}, ...},
//	  "1": {
//	    "input": [[[...]]],                    // the probe image, C×H×W, normalised
//	    "7_Linear": {"input": [...], "weight": [[...], ...], "bias": [...]},
//	    ...
//	    "prediction": [7, "7 - seven"],        // (index, torchvision class name)
//	    "true_label": [4, "4 - four"],
//	    "logits": [...],                       // raw outputs
//	    "loss": 2.30, "accuracy": 0.11
//	  },
//	  "2": {...}
//	}
//
// Architecture keys are "N_Kind", numbered from 1 over every module that is
// not a Sequential or ModuleList. Their settings come from parsing the
// module's repr: split on "(", ")" and ",", so every key but the first keeps a
// leading space; values go through float() then bool(), so sizes are floats
// and anything else, tuples and "False" included, becomes true or false.
//
// Older versions of main.py wrote a bare "prediction" index and a "label",
// "Class 4, label 4 - four" (the true class) or before that the predicted
// class's name; Read takes those too. The class names are torchvision's
// (MNIST's "7 - seven", Fashion-MNIST's "Ankle boot", CIFAR-10's "cat"),
// which tell the dataset.
//
// "loss" and "accuracy" are not test figures, nor the interval's: "loss" is
// the mean training loss over every step of the run so far and "accuracy"
// torchmetrics' accuracy over every training sample so far; neither is ever
// reset. Read keeps them as the pass's Loss and Accuracy as they are.
//
// Pass keys are the collector's pass counter. Forward hooks on the Linear
// layers fire on every training step too and write into the current pass, so
// pass "0" holds the layer data of the training steps before the first
// collection and nothing else, and each pass's layer data is in fact from the
// last training batch before the next collection. Layer "input" is the batch
// mean of the layer's input. Older versions of the collector wrote the whole
// batch instead, and hooked ReLU and Identity modules too. With gradients on,
// "grad_weight" and "grad_bias" hold the parameters again (a seed bug), and
// "grad_input" is added.
//
// The neuron cap (main.py --neuron_cap, default 24) reduces every captured
// array whose first dimension exceeds the cap c: a vector to c group means;
// a weight to c rows of group means whose columns are adaptive-averaged to
// int(in/(out/c)). A weight with out <= c is kept whole, so a Linear(576, 24)
// under cap 24 has an input of 24 group means but a 24×576 weight. The
// architecture keeps the model's full sizes.
//
// Python writes non-finite floats as the bare words NaN, Infinity and
// -Infinity, which are not JSON; this package reads them where a number may
// stand, and writes them, as Python does.
//
// # What mlpviz adds
//
// Write adds what the seed's format cannot hold under keys the seed's
// visualizer never reads: a top-level "mlpviz" object (dataset, model, class
// names, input shape, neuron cap and the run's settings), a per-pass "mlpviz"
// object (step, epoch, wall time, true label, probabilities) and a per-layer
// "output". Read uses them when present, so mlpviz → JSON → mlpviz loses
// nothing, and derives what it can from a plain seed file otherwise.
package seedjson

import (
	"fmt"
	"io"

	"github.com/mlpviz/mlpviz/collector"
)

// Read parses a seed collection: the architecture and the passes in pass
// number order.
//
// The Architecture's Head is the shape of the collected data and FullHead
// the Linear layers' sizes from the "architecture" object; they differ when
// the seed ran with a neuron cap, which Read infers (NeuronCap) from the data
// and checks against every layer of every pass. Because the seed reduced a
// capped layer's weight columns differently from its input, Read averages
// (or repeats) weight columns to the input's groups with PyTorch's adaptive
// windows, as mlpviz's own cap does. Modules are the architecture's entries in
// order, without the collector's two Identity wrappers and the entry of the
// model itself (which gives Model). Dataset and ClassNames come from the
// labels when they are those of a dataset the seed trains on; then images
// are un-normalised to 0..1 with the seed's constants. Otherwise the class
// names are the names the classes carry, and their numbers where none does.
//
// A plain seed file has no steps, epochs, wall times, layer outputs or
// probabilities. Then Step is the seed's pass number, Epoch 0 and Wall the
// zero time; Output is W·input + bias (exact for uncapped layers, an estimate
// that takes the input constant within each group for capped ones); Probs is
// the softmax of the logits. A value the pass lacks is marked, not invented:
// Loss and Accuracy are NaN (as in the seed's pass "0"), TrueLabel and
// Prediction -1, and Image, Logits and Probs empty.
//
// Input that is not a seed collection, is cut short, or holds arrays that do
// not fit the architecture gives an error that says where. Read holds every
// pass at once; Decode reads a file one pass at a time.
func Read(r io.Reader) (*collector.Architecture, []*collector.Pass, error) {
	doc := newDocument()
	if err := doc.read(newLexer(r), true); err != nil {
		return nil, nil, err
	}
	arch, err := doc.plan()
	if err != nil {
		return nil, nil, err
	}
	passes := make([]*collector.Pass, len(doc.passes))
	for i := range doc.passes {
		passes[i] = doc.convert(&doc.passes[i], doc.kept[i])
		doc.kept[i] = nil
	}
	return arch, passes, nil
}

// Decode reads the seed collection r holds, from its current offset, as
// Read does, but hands the architecture to start and then each pass, in
// pass number order, to pass, holding one pass at a time: it reads r twice,
// first keeping only the shapes of each pass's arrays, which is all it
// takes to check the passes and to work out the Architecture, then seeking
// to each pass in turn for its values. The Architecture and the passes are
// those Read gives; an input Read refuses, Decode refuses before it calls
// start. An error from start or pass ends Decode, which returns it.
func Decode(r io.ReadSeeker, start func(*collector.Architecture) error, pass func(*collector.Pass) error) error {
	origin, err := r.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("seeking the input: %w", err)
	}
	doc := newDocument()
	l := newLexer(r)
	if err := doc.read(l, false); err != nil {
		return err
	}
	arch, err := doc.plan()
	if err != nil {
		return err
	}
	if err := start(arch); err != nil {
		return err
	}
	for i := range doc.passes {
		m := &doc.passes[i]
		key := doc.key(m)
		if err := l.seek(r, origin, m.at); err != nil {
			return fmt.Errorf("pass %s: seeking the input: %w", key, err)
		}
		s := doc.shapes[m.shape]
		p, err := doc.readPass(l, key, m.num, true, s)
		if err != nil {
			return err
		}
		// convert trusts the shapes the first reading checked.
		if string(doc.shapeKey(p)) != s.key {
			return fmt.Errorf("pass %s changed while it was read", key)
		}
		if err := pass(doc.convert(m, p)); err != nil {
			return err
		}
	}
	return nil
}

// Write writes arch and passes in the seed's format, so that the seed's
// visualizer can load them, plus the "mlpviz" additions that let Read restore
// them: every float32 is written exactly, but for the images of a dataset the
// seed knows, which are normalised again as the seed stores them (and so come
// back within float32 rounding).
//
// Passes are numbered from 1, as the seed numbers its collections, except that
// a first pass without loss and accuracy (both NaN) is numbered 0 and has
// neither key, like the seed's pass of layer data only. Every other pass has
// both, a NaN as Python's bare NaN. A negative TrueLabel or Prediction is
// left out. Prediction and TrueLabel are written as main.py writes them,
// [index, name] pairs, named as torchvision names the classes when the
// run's are a catalog dataset's. Linear modules get the head's full sizes as
// settings (and Linear modules are added when Modules has none). Every pass
// must fit arch.Head; nothing is written otherwise.
//
// Write holds every pass at once; a Writer (NewWriter) takes one at a time
// and writes the same bytes.
func Write(w io.Writer, arch *collector.Architecture, passes []*collector.Pass) error {
	sw, err := NewWriter(w, arch)
	if err != nil {
		return err
	}
	for _, p := range passes {
		if err := sw.check(p); err != nil {
			return err
		}
	}
	for _, p := range passes {
		if err := sw.Pass(p); err != nil {
			return err
		}
	}
	return sw.Close()
}
