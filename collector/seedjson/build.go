package seedjson

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/mlpviz/mlpviz/catalog"
	"github.com/mlpviz/mlpviz/collector"
)

// linearLayer is one Linear entry of the architecture, at its full size.
type linearLayer struct {
	tag  string
	full collector.LinearShape
}

// layerObs is the shape of one Linear layer's data in one pass.
type layerObs struct {
	in         int // input values, after averaging any batch
	batch      int // rows of a batched input (older seeds); 0 for a vector
	rows, cols int // of the weight
}

func (doc *document) build() (*collector.Architecture, []*collector.Pass, error) {
	sort.SliceStable(doc.arch, func(i, j int) bool { return doc.arch[i].num < doc.arch[j].num })
	sort.Slice(doc.passes, func(i, j int) bool { return doc.passes[i].num < doc.passes[j].num })
	linears, err := linearLayers(doc.arch)
	if err != nil {
		return nil, nil, err
	}
	arch := &collector.Architecture{}
	arch.Modules, arch.Model = modules(doc.arch, doc.ext != nil)
	for _, l := range linears {
		arch.FullHead = append(arch.FullHead, l.full)
	}
	neuronCap := 0
	if doc.ext != nil {
		neuronCap = doc.ext.NeuronCap
	}
	obs, head, neuronCap, err := doc.shapes(linears, neuronCap, doc.ext != nil)
	if err != nil {
		return nil, nil, err
	}
	arch.Head, arch.NeuronCap = head, neuronCap

	passes := make([]*collector.Pass, len(doc.passes))
	for i, p := range doc.passes {
		q, err := p.convert(linears, obs[i], head)
		if err != nil {
			return nil, nil, err
		}
		passes[i] = q
		arch.Gradients = arch.Gradients || len(q.Layers[0].GradWeight) > 0
	}
	if err := doc.finish(arch, passes); err != nil {
		return nil, nil, err
	}
	return arch, passes, nil
}

// linearLayers reads the Linear entries' sizes; the seed writes them as
// floats, "in_features" and " out_features".
func linearLayers(entries []archEntry) ([]linearLayer, error) {
	var out []linearLayer
	for _, e := range entries {
		if e.kind != "Linear" {
			continue
		}
		in, err := size(e, "in_features")
		if err != nil {
			return nil, err
		}
		o, err := size(e, "out_features")
		if err != nil {
			return nil, err
		}
		out = append(out, linearLayer{tag: e.tag, full: collector.LinearShape{In: in, Out: o}})
	}
	if len(out) == 0 {
		return nil, errors.New(`the "architecture" object has no Linear layer`)
	}
	return out, nil
}

func size(e archEntry, key string) (int, error) {
	for _, s := range e.settings {
		if s.key != key {
			continue
		}
		n, err := strconv.Atoi(s.value)
		if err != nil || n <= 0 || n > 1<<28 {
			return 0, fmt.Errorf("architecture %q: %s is %q, want a positive whole number", e.tag, key, s.value)
		}
		return n, nil
	}
	return 0, fmt.Errorf("architecture %q has no %s", e.tag, key)
}

// torchLayers are module kinds that are layers rather than a wrapped model.
var torchLayers = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`Identity Linear Bilinear LazyLinear
		Conv1d Conv2d Conv3d ConvTranspose1d ConvTranspose2d ConvTranspose3d
		ReLU ReLU6 LeakyReLU PReLU RReLU ELU CELU SELU GELU SiLU Mish Sigmoid Tanh
		Hardtanh Hardsigmoid Hardswish Softplus Softsign Tanhshrink Threshold GLU
		Softmax Softmax2d LogSoftmax MaxPool1d MaxPool2d MaxPool3d AvgPool1d AvgPool2d
		AvgPool3d AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveAvgPool3d
		AdaptiveMaxPool1d AdaptiveMaxPool2d AdaptiveMaxPool3d LPPool1d LPPool2d
		BatchNorm1d BatchNorm2d BatchNorm3d LayerNorm GroupNorm LocalResponseNorm
		InstanceNorm1d InstanceNorm2d InstanceNorm3d Dropout Dropout1d Dropout2d
		Dropout3d AlphaDropout Flatten Unflatten Embedding EmbeddingBag RNN LSTM GRU
		Upsample UpsamplingNearest2d PixelShuffle ZeroPad2d ConstantPad2d ReflectionPad2d
		ReplicationPad2d`) {
		torchLayers[k] = true
	}
}

// modules turns the architecture entries into mlpviz's modules, leaving out
// the two Identity modules the collector wraps the model in and the entry of
// the model itself, whose settings are debris of parsing its whole repr. A
// wrapped nn.Sequential has no entry of its own. The model's entry is known
// by its class: one of the seed's models, or, in a file without mlpviz's
// additions, any kind that is not a PyTorch layer.
func modules(entries []archEntry, hasExt bool) ([]collector.Module, string) {
	if n := len(entries); n >= 2 && entries[0].kind == "Identity" && entries[n-1].kind == "Identity" {
		entries = entries[1 : n-1]
	}
	model := ""
	if len(entries) > 0 {
		k := entries[0].kind
		if m := catalog.ModelWithTorchClass(k); m != nil {
			model, entries = m.Name, entries[1:]
		} else if !hasExt && !torchLayers[k] {
			model, entries = k, entries[1:]
		}
	}
	mods := make([]collector.Module, 0, len(entries))
	for _, e := range entries {
		m := collector.Module{Kind: e.kind}
		for _, s := range e.settings {
			m.Settings = append(m.Settings, collector.Setting{Key: s.key, Value: s.value})
		}
		mods = append(mods, m)
	}
	return mods, model
}

// shapes observes every Linear layer of every pass, works out the seed's
// neuron cap (unless known) from the first pass, and checks every pass
// against the architecture under it. The head is the first pass's shape.
func (doc *document) shapes(linears []linearLayer, neuronCap int, known bool) ([][]layerObs, []collector.LinearShape, int, error) {
	obs := make([][]layerObs, len(doc.passes))
	for i, p := range doc.passes {
		obs[i] = make([]layerObs, len(linears))
		for j, l := range linears {
			rl := p.layers[l.tag]
			if rl == nil {
				return nil, nil, 0, fmt.Errorf("pass %s has no data for layer %q", p.key, l.tag)
			}
			if rl.notObject != "" {
				return nil, nil, 0, fmt.Errorf("pass %s, layer %q is %s, want an object", p.key, l.tag, rl.notObject)
			}
			o, err := observe(rl)
			if err != nil {
				return nil, nil, 0, fmt.Errorf("pass %s, layer %q: %w", p.key, l.tag, err)
			}
			obs[i][j] = o
		}
	}
	if len(doc.passes) == 0 {
		return obs, capHead(linears, neuronCap), neuronCap, nil
	}
	if !known {
		neuronCap = inferCap(obs, linears)
	}
	head := make([]collector.LinearShape, len(linears))
	for j, o := range obs[0] {
		head[j] = collector.LinearShape{In: o.in, Out: o.rows}
	}
	for i, p := range doc.passes {
		for j, l := range linears {
			o := obs[i][j]
			if err := fits(o, l.full, neuronCap); err != nil {
				return nil, nil, 0, fmt.Errorf("pass %s, layer %q: %w", p.key, l.tag, err)
			}
			if o.rows != head[j].Out {
				return nil, nil, 0, fmt.Errorf("pass %s, layer %q: weight has %d rows, pass %s's has %d",
					p.key, l.tag, o.rows, doc.passes[0].key, head[j].Out)
			}
		}
	}
	return obs, head, neuronCap, nil
}

// capHead is the head a cap leaves when there is no data to show it:
// mlpviz's rule, which keeps the class outputs.
func capHead(linears []linearLayer, c int) []collector.LinearShape {
	head := make([]collector.LinearShape, len(linears))
	for i, l := range linears {
		head[i] = collector.LinearShape{In: capTo(l.full.In, c), Out: capTo(l.full.Out, c)}
		if i == len(linears)-1 {
			head[i].Out = l.full.Out
		}
	}
	return head
}

func capTo(n, c int) int {
	if c > 0 && n > c {
		return c
	}
	return n
}

// observe reads the shape of one layer's data and checks it is coherent.
func observe(rl *rawLayer) (layerObs, error) {
	var o layerObs
	switch {
	case !rl.input.set:
		return o, errors.New(`no "input"`)
	case !rl.weight.set:
		return o, errors.New(`no "weight"`)
	case !rl.bias.set:
		return o, errors.New(`no "bias"`)
	}
	switch d := rl.input.dims; len(d) {
	case 1:
		o.in = d[0]
	case 2:
		if d[0] == 0 {
			return o, errors.New("input is an empty batch")
		}
		o.batch, o.in = d[0], d[1]
	default:
		return o, fmt.Errorf("input is %s, want a vector (or a batch of them)", shapeText(d))
	}
	if len(rl.weight.dims) != 2 {
		return o, fmt.Errorf("weight is %s, want a matrix", shapeText(rl.weight.dims))
	}
	o.rows, o.cols = rl.weight.dims[0], rl.weight.dims[1]
	if o.in == 0 || o.rows == 0 || o.cols == 0 {
		return o, fmt.Errorf("input of %d values and weight %dx%d: empty", o.in, o.rows, o.cols)
	}
	if !slices.Equal(rl.bias.dims, []int{o.rows}) {
		return o, fmt.Errorf("bias is %s, want %d values for a weight of %d rows", shapeText(rl.bias.dims), o.rows, o.rows)
	}
	if rl.gradW.set && !slices.Equal(rl.gradW.dims, rl.weight.dims) {
		return o, fmt.Errorf("grad_weight is %s, the weight %s", shapeText(rl.gradW.dims), shapeText(rl.weight.dims))
	}
	if rl.gradB.set && !slices.Equal(rl.gradB.dims, rl.bias.dims) {
		return o, fmt.Errorf("grad_bias is %s, the bias %s", shapeText(rl.gradB.dims), shapeText(rl.bias.dims))
	}
	if rl.output.set && !slices.Equal(rl.output.dims, rl.bias.dims) {
		return o, fmt.Errorf("output is %s, the bias %s", shapeText(rl.output.dims), shapeText(rl.bias.dims))
	}
	return o, nil
}

// inferCap finds the neuron cap the seed ran with: the size of a layer's
// data where it is smaller than the architecture's, provided every layer of
// every pass then fits. 0 (no cap) when none does, so that the check that
// follows reports the first misfit against the full sizes.
func inferCap(obs [][]layerObs, linears []linearLayer) int {
	var cands []int
	for _, pass := range obs {
		for j, o := range pass {
			if f := linears[j].full; o.in < f.In && !slices.Contains(cands, o.in) {
				cands = append(cands, o.in)
			} else if o.rows < f.Out && !slices.Contains(cands, o.rows) {
				cands = append(cands, o.rows)
			}
		}
	}
next:
	for _, c := range cands {
		for _, pass := range obs {
			for j, o := range pass {
				if fits(o, linears[j].full, c) != nil {
					continue next
				}
			}
		}
		return c
	}
	return 0
}

// fits checks one layer's data against the architecture's Linear(full.In,
// full.Out) under the cap c: the seed reduces an input longer than c to c
// values, and a weight of more than c rows to c rows of int(in/(out/c))
// columns; mlpviz reduces the columns to the input's size instead.
func fits(o layerObs, full collector.LinearShape, c int) error {
	in := capTo(full.In, c)
	note := ""
	if c > 0 {
		note = fmt.Sprintf(" under the neuron cap of %d", c)
	}
	if o.in != in {
		return fmt.Errorf("input has %d values, the architecture's Linear(%d, %d) takes %d%s", o.in, full.In, full.Out, in, note)
	}
	reduced := c > 0 && full.Out > c && o.rows == c
	if o.rows != full.Out && !reduced {
		return fmt.Errorf("weight is %dx%d, the architecture's Linear(%d, %d) has %d outputs%s", o.rows, o.cols, full.In, full.Out, capTo(full.Out, c), note)
	}
	if o.cols == in || o.cols == full.In || (reduced && o.cols == seedCols(full, c)) {
		return nil
	}
	return fmt.Errorf("weight is %dx%d, the architecture's Linear(%d, %d) takes %dx%d%s", o.rows, o.cols, full.In, full.Out, o.rows, in, note)
}

// seedCols is the number of columns the seed's cap leaves a weight of more
// than c rows: int(in / (out / c)) in Python's float arithmetic, at least 1.
func seedCols(full collector.LinearShape, c int) int {
	return max(1, int(float64(full.In)/(float64(full.Out)/float64(c))))
}

func shapeText(dims []int) string {
	if len(dims) == 1 {
		return fmt.Sprintf("a vector of %d", dims[0])
	}
	s := make([]string, len(dims))
	for i, d := range dims {
		s[i] = strconv.Itoa(d)
	}
	return fmt.Sprintf("%d-dimensional (%s)", len(dims), strings.Join(s, "x"))
}

// convert builds one mlpviz pass from a checked seed pass.
func (p *rawPass) convert(linears []linearLayer, obs []layerObs, head []collector.LinearShape) (*collector.Pass, error) {
	nan := float32(math.NaN())
	q := &collector.Pass{Step: p.num, Loss: nan, Accuracy: nan, TrueLabel: -1, Prediction: -1}
	if p.loss.set {
		q.Loss = float32(p.loss.v)
	}
	if p.acc.set {
		q.Accuracy = float32(p.acc.v)
	}
	if c := p.predicted(); c.set {
		q.Prediction = c.index
	}
	if c := p.truth(); c.set {
		q.TrueLabel = c.index
	}
	if p.logits.set {
		d := p.logits.dims
		if len(d) != 1 && !(len(d) == 2 && d[0] == 1) {
			return nil, fmt.Errorf("pass %s: logits are %s, want a vector", p.key, shapeText(d))
		}
		q.Logits = p.logits.vals
	}
	if p.image.set {
		if _, err := imageShape(p.image.dims); err != nil {
			return nil, fmt.Errorf("pass %s: image: %w", p.key, err)
		}
		q.Image = p.image.vals
	}
	if e := p.ext; e != nil {
		q.Step, q.Epoch, q.Wall, q.TrueLabel = e.Step, e.Epoch, e.Wall, e.TrueLabel
		if e.Probs.set {
			if len(e.Probs.dims) != 1 {
				return nil, fmt.Errorf("pass %s: probs are %s, want a vector", p.key, shapeText(e.Probs.dims))
			}
			q.Probs = e.Probs.vals
		}
	}
	q.Layers = make([]collector.LayerPass, len(linears))
	for j, l := range linears {
		q.Layers[j] = layerPass(p.layers[l.tag], obs[j], l.full, head[j])
	}
	return q, nil
}

// truth is the pass's true class: "true_label", or an older collection's
// "label".
func (p *rawPass) truth() classValue {
	switch {
	case p.trueLabel.set:
		return p.trueLabel
	case p.label.class.set:
		return p.label.class
	}
	i, name, ok := parseLabel(p.label.text)
	return classValue{index: i, name: name, set: ok}
}

// predicted is the pass's predicted class, named by the oldest
// collections' "label", which held its name alone.
func (p *rawPass) predicted() classValue {
	c := p.prediction
	if _, _, isTruth := parseLabel(p.label.text); c.set && c.name == "" && !isTruth {
		c.name = p.label.text
	}
	return c
}

// parseLabel reads main.py's f"Class {i}, label {name}".
func parseLabel(s string) (int, string, bool) {
	rest, ok := strings.CutPrefix(s, "Class ")
	if !ok {
		return 0, "", false
	}
	num, name, _ := strings.Cut(rest, ", label ")
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n < 0 {
		return 0, "", false
	}
	return n, name, true
}

// layerPass shapes one layer's data to its head shape: a batched input is
// averaged, weight columns are pooled to the input's size, and a missing
// output is computed.
func layerPass(rl *rawLayer, o layerObs, full, head collector.LinearShape) collector.LayerPass {
	lp := collector.LayerPass{Input: rl.input.vals, Bias: rl.bias.vals}
	if o.batch > 0 {
		lp.Input = batchMean(rl.input.vals, o.batch, o.in)
	}
	lp.Weight = poolCols(rl.weight.vals, o.rows, o.cols, head.In)
	if rl.gradW.set {
		lp.GradWeight = poolCols(rl.gradW.vals, o.rows, o.cols, head.In)
	}
	if rl.gradB.set {
		lp.GradBias = rl.gradB.vals
	}
	if rl.output.set {
		lp.Output = rl.output.vals
	} else {
		lp.Output = affine(lp.Weight, lp.Input, lp.Bias, float64(full.In)/float64(head.In))
	}
	return lp
}

func batchMean(v []float32, rows, cols int) []float32 {
	sum := make([]float64, cols)
	for r := range rows {
		for c, x := range v[r*cols : (r+1)*cols] {
			sum[c] += float64(x)
		}
	}
	out := make([]float32, cols)
	for c, s := range sum {
		out[c] = float32(s / float64(rows))
	}
	return out
}

// poolCols resizes every row of a rows×cols matrix to n columns with
// PyTorch's adaptive average windows (which repeat columns when n > cols).
func poolCols(m []float32, rows, cols, n int) []float32 {
	if cols == n {
		return m
	}
	out := make([]float32, rows*n)
	for r := range rows {
		row := m[r*cols : (r+1)*cols]
		for i := range n {
			lo, hi := i*cols/n, ((i+1)*cols+n-1)/n
			var s float64
			for _, x := range row[lo:hi] {
				s += float64(x)
			}
			out[r*n+i] = float32(s / float64(hi-lo))
		}
	}
	return out
}

// affine is scale·(W·x) + b. With a capped input of group means, scale (the
// group size) makes each group count for the inputs it stands for.
func affine(w, x, b []float32, scale float64) []float32 {
	out := make([]float32, len(b))
	n := len(x)
	for r := range b {
		var s float64
		for c, xv := range x {
			s += float64(w[r*n+c]) * float64(xv)
		}
		out[r] = float32(scale*s + float64(b[r]))
	}
	return out
}

// maxClasses bounds class indices that Read names classes up to.
const maxClasses = 1 << 16

// validShape reports whether an input shape's dimensions are sane.
func validShape(s [3]int) bool {
	for _, d := range s {
		if d < 0 || d > 1<<16 {
			return false
		}
	}
	return true
}

// imageShape reads the probe image's shape: C×H×W as the seed writes it, or
// H×W, or a flat vector.
func imageShape(dims []int) ([3]int, error) {
	switch len(dims) {
	case 3:
		return [3]int{dims[0], dims[1], dims[2]}, nil
	case 2:
		return [3]int{1, dims[0], dims[1]}, nil
	case 1:
		return [3]int{1, 1, dims[0]}, nil
	}
	return [3]int{}, fmt.Errorf("%s, want channels×height×width", shapeText(dims))
}

// finish fills in what takes every pass to know: input shape, classes,
// dataset, and then un-normalised images and probabilities.
func (doc *document) finish(arch *collector.Architecture, passes []*collector.Pass) error {
	var imgFrom, logitsFrom string
	classes := 0
	for i, p := range doc.passes {
		if p.image.set {
			s, _ := imageShape(p.image.dims)
			if imgFrom == "" {
				arch.InputShape, imgFrom = s, p.key
			} else if s != arch.InputShape {
				return fmt.Errorf("pass %s: image is %v, pass %s's is %v", p.key, s, imgFrom, arch.InputShape)
			}
		}
		if n := len(passes[i].Logits); p.logits.set {
			if logitsFrom == "" {
				classes, logitsFrom = n, p.key
			} else if n != classes {
				return fmt.Errorf("pass %s has %d logits, pass %s has %d", p.key, n, logitsFrom, classes)
			}
		}
	}
	if e := doc.ext; e != nil {
		arch.Dataset, arch.Model, arch.ClassNames = e.Dataset, e.Model, e.ClassNames
		arch.Gradients, arch.Interval, arch.BatchSize, arch.Seed = e.Gradients, e.Interval, e.BatchSize, e.Seed
		if e.InputShape != [3]int{} {
			if !validShape(e.InputShape) {
				return fmt.Errorf("the mlpviz input shape %v is not a shape", e.InputShape)
			}
			if imgFrom != "" && e.InputShape != arch.InputShape {
				return fmt.Errorf("pass %s: image is %v, the mlpviz input shape %v", imgFrom, arch.InputShape, e.InputShape)
			}
			arch.InputShape = e.InputShape
		}
	} else {
		doc.classNames(arch, classes)
	}
	for i, q := range passes {
		if len(q.Probs) > 0 && classes > 0 && len(q.Probs) != classes {
			return fmt.Errorf("pass %s has %d probabilities for %d logits", doc.passes[i].key, len(q.Probs), classes)
		}
		if q.Probs == nil && q.Logits != nil {
			q.Probs = softmax(q.Logits)
		}
	}
	if ds := catalog.LookupDataset(arch.Dataset); ds != nil && arch.InputShape[0] == len(ds.Mean) {
		for _, q := range passes {
			q.Image = unnormalise(ds, q.Image, arch.InputShape)
		}
	}
	return nil
}

// classNames infers the dataset and class names of a plain seed file from
// the names its classes carry, which are torchvision's; or, failing that,
// from the model (only cifar10_cnn fixes its dataset). Indices no pass
// names are named by their number.
func (doc *document) classNames(arch *collector.Architecture, classes int) {
	names := map[int]string{}
	top := -1
	for _, p := range doc.passes {
		for _, c := range [...]classValue{p.truth(), p.predicted()} {
			if !c.set || c.name == "" {
				continue
			}
			if _, dup := names[c.index]; !dup {
				names[c.index] = c.name
			}
			top = max(top, c.index)
		}
	}
	if classes == 0 {
		if top >= maxClasses {
			return // an index no dataset has: not worth a name table
		}
		classes = top + 1
	}
	if ds := catalog.DatasetWithTorchClasses(names, classes); ds != nil {
		arch.Dataset, arch.ClassNames = ds.Name, slices.Clone(ds.Classes)
		return
	}
	if len(names) == 0 {
		if ds := datasetFor(arch.Model); ds != nil && (classes == 0 || classes == len(ds.Classes)) {
			arch.Dataset, arch.ClassNames = ds.Name, slices.Clone(ds.Classes)
		}
		return
	}
	arch.ClassNames = make([]string, classes)
	for i := range arch.ClassNames {
		if n, ok := names[i]; ok {
			arch.ClassNames[i] = n
		} else {
			arch.ClassNames[i] = strconv.Itoa(i)
		}
	}
}

func softmax(logits []float32) []float32 {
	m := math.Inf(-1)
	for _, x := range logits {
		m = max(m, float64(x))
	}
	exps := make([]float64, len(logits))
	var sum float64
	for i, x := range logits {
		d := float64(x) - m
		if math.IsInf(m, 1) { // the limit, not Inf-Inf: the infinite logits share it all
			d = math.Inf(-1)
			if math.IsInf(float64(x), 1) {
				d = 0
			}
		}
		exps[i] = math.Exp(d)
		sum += exps[i]
	}
	out := make([]float32, len(logits))
	for i, e := range exps {
		out[i] = float32(e / sum)
	}
	return out
}
