package seedjson

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
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

// plan checks every pass against the architecture, in pass number order,
// and works out the Architecture: the head and neuron cap from the Linear
// layers' data, the input shape and classes from the passes' arrays and
// labels. It sorts doc.passes by number.
func (doc *document) plan() (*collector.Architecture, error) {
	if err := doc.sortPasses(); err != nil {
		return nil, err
	}
	arch := &collector.Architecture{}
	arch.Modules, arch.Model = modules(doc.arch, doc.ext != nil)
	for _, l := range doc.linears {
		arch.FullHead = append(arch.FullHead, l.full)
	}
	for i := range doc.passes {
		if err := doc.shapes[doc.passes[i].shape].check(doc.key(&doc.passes[i]), doc.linears); err != nil {
			return nil, err
		}
	}
	neuronCap := 0
	if doc.ext != nil {
		neuronCap = doc.ext.NeuronCap
	}
	head, neuronCap, err := doc.fit(neuronCap, doc.ext != nil)
	if err != nil {
		return nil, err
	}
	arch.Head, arch.NeuronCap, doc.head = head, neuronCap, head
	for _, s := range doc.shapes {
		if l := s.pass.layer(doc.linears[0].tag); l != nil && l.gradW.set {
			arch.Gradients = true
		}
	}
	if err := doc.finish(arch); err != nil {
		return nil, err
	}
	return arch, nil
}

// sortPasses puts the passes in number order, refusing a number twice.
func (doc *document) sortPasses() error {
	less := func(a, b passMeta) int { return cmp.Compare(a.num, b.num) }
	if !slices.IsSortedFunc(doc.passes, less) {
		order := make([]int, len(doc.passes))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(i, j int) int { return less(doc.passes[i], doc.passes[j]) })
		passes := make([]passMeta, len(order))
		var kept []*rawPass
		if doc.kept != nil {
			kept = make([]*rawPass, len(order))
		}
		for i, j := range order {
			passes[i] = doc.passes[j]
			if kept != nil {
				kept[i] = doc.kept[j]
			}
		}
		doc.passes, doc.kept = passes, kept
	}
	for i := 1; i < len(doc.passes); i++ {
		if m := &doc.passes[i]; m.num == doc.passes[i-1].num {
			return fmt.Errorf("pass %s appears twice", doc.key(m))
		}
	}
	return nil
}

// checkPass checks what can be checked of pass m on its own: its Linear
// layers' data, its arrays' dimensions, and, when the neuron cap is known,
// that each layer fits the architecture under it.
func (doc *document) checkPass(m *passMeta) error {
	s, key := doc.shapes[m.shape], doc.key(m)
	if err := s.check(key, doc.linears); err != nil {
		return err
	}
	if doc.ext == nil {
		return nil
	}
	for j, l := range doc.linears {
		if err := fits(s.obs[j], l.full, doc.ext.NeuronCap); err != nil {
			return fmt.Errorf("pass %s, layer %q: %w", key, l.tag, err)
		}
	}
	return nil
}

// convert builds the mlpviz pass of m from its values p.
func (doc *document) convert(m *passMeta, p *rawPass) *collector.Pass {
	q := p.convert(doc.linears, doc.shapes[m.shape].obs, doc.head)
	if q.Probs == nil && q.Logits != nil {
		q.Probs = softmax(q.Logits)
	}
	if doc.ds != nil {
		q.Image = unnormalise(doc.ds, q.Image, doc.inputShape)
	}
	return q
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

// check observes the Linear layers of a pass of shape s (key) and checks
// that their data and its other arrays are coherent; it keeps the
// observations in s.obs.
func (s *passShape) check(key string, linears []linearLayer) error {
	if s.obs != nil {
		return nil
	}
	obs := make([]layerObs, len(linears))
	for j, l := range linears {
		rl := s.pass.layer(l.tag)
		if rl == nil {
			return fmt.Errorf("pass %s has no data for layer %q", key, l.tag)
		}
		if rl.notObject != "" {
			return fmt.Errorf("pass %s, layer %q is %s, want an object", key, l.tag, rl.notObject)
		}
		o, err := observe(rl)
		if err != nil {
			return fmt.Errorf("pass %s, layer %q: %w", key, l.tag, err)
		}
		obs[j] = o
	}
	p := &s.pass
	if d := p.logits.dims; p.logits.set && len(d) != 1 && !(len(d) == 2 && d[0] == 1) {
		return fmt.Errorf("pass %s: logits are %s, want a vector", key, shapeText(d))
	}
	if p.image.set {
		if _, err := imageShape(p.image.dims); err != nil {
			return fmt.Errorf("pass %s: image: %w", key, err)
		}
	}
	if probs := p.probs(); probs.set && len(probs.dims) != 1 {
		return fmt.Errorf("pass %s: probs are %s, want a vector", key, shapeText(probs.dims))
	}
	s.obs = obs
	return nil
}

// fit works out the seed's neuron cap (unless known) and checks every
// checked pass against the architecture under it. The head is the first
// pass's shape.
func (doc *document) fit(neuronCap int, known bool) ([]collector.LinearShape, int, error) {
	linears := doc.linears
	if len(doc.passes) == 0 {
		return capHead(linears, neuronCap), neuronCap, nil
	}
	if !known {
		// The distinct shapes in pass order: inferCap's candidates come in it.
		var obs [][]layerObs
		seen := make([]bool, len(doc.shapes))
		for _, m := range doc.passes {
			if !seen[m.shape] {
				seen[m.shape] = true
				obs = append(obs, doc.shapes[m.shape].obs)
			}
		}
		neuronCap = inferCap(obs, linears)
	}
	first := &doc.passes[0]
	head := make([]collector.LinearShape, len(linears))
	for j, o := range doc.shapes[first.shape].obs {
		head[j] = collector.LinearShape{In: o.in, Out: o.rows}
	}
	for i := range doc.passes {
		m := &doc.passes[i]
		s := doc.shapes[m.shape]
		if s.fitted {
			continue
		}
		for j, l := range linears {
			o := s.obs[j]
			if err := fits(o, l.full, neuronCap); err != nil {
				return nil, 0, fmt.Errorf("pass %s, layer %q: %w", doc.key(m), l.tag, err)
			}
			if o.rows != head[j].Out {
				return nil, 0, fmt.Errorf("pass %s, layer %q: weight has %d rows, pass %s's has %d",
					doc.key(m), l.tag, o.rows, doc.key(first), head[j].Out)
			}
		}
		s.fitted = true
	}
	return head, neuronCap, nil
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
	note := func() string {
		if c > 0 {
			return fmt.Sprintf(" under the neuron cap of %d", c)
		}
		return ""
	}
	if o.in != in {
		return fmt.Errorf("input has %d values, the architecture's Linear(%d, %d) takes %d%s", o.in, full.In, full.Out, in, note())
	}
	reduced := c > 0 && full.Out > c && o.rows == c
	if o.rows != full.Out && !reduced {
		return fmt.Errorf("weight is %dx%d, the architecture's Linear(%d, %d) has %d outputs%s", o.rows, o.cols, full.In, full.Out, capTo(full.Out, c), note())
	}
	if o.cols == in || o.cols == full.In || (reduced && o.cols == seedCols(full, c)) {
		return nil
	}
	return fmt.Errorf("weight is %dx%d, the architecture's Linear(%d, %d) takes %dx%d%s", o.rows, o.cols, full.In, full.Out, o.rows, in, note())
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

// convert builds one mlpviz pass from a checked seed pass, whose Linear
// layers look as obs says.
func (p *rawPass) convert(linears []linearLayer, obs []layerObs, head []collector.LinearShape) *collector.Pass {
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
		q.Logits = p.logits.vals
	}
	if p.image.set {
		q.Image = p.image.vals
	}
	if e := p.ext; e != nil {
		q.Step, q.Epoch, q.Wall, q.TrueLabel = e.Step, e.Epoch, e.Wall, e.TrueLabel
		if e.Probs.set {
			q.Probs = e.Probs.vals
		}
	}
	q.Layers = make([]collector.LayerPass, len(linears))
	for j, l := range linears {
		q.Layers[j] = layerPass(p.layer(l.tag), obs[j], l.full, head[j])
	}
	return q
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

// finish works out what takes every pass to know: input shape, classes,
// dataset, and the dataset whose normalisation convert undoes.
func (doc *document) finish(arch *collector.Architecture) error {
	var imgFrom, logitsFrom *passMeta
	classes := 0
	for i := range doc.passes {
		m := &doc.passes[i]
		p := &doc.shapes[m.shape].pass
		if p.image.set {
			s, _ := imageShape(p.image.dims)
			if imgFrom == nil {
				arch.InputShape, imgFrom = s, m
			} else if s != arch.InputShape {
				return fmt.Errorf("pass %s: image is %v, pass %s's is %v", doc.key(m), s, doc.key(imgFrom), arch.InputShape)
			}
		}
		if n := p.logits.count(); p.logits.set {
			if logitsFrom == nil {
				classes, logitsFrom = n, m
			} else if n != classes {
				return fmt.Errorf("pass %s has %d logits, pass %s has %d", doc.key(m), n, doc.key(logitsFrom), classes)
			}
		}
	}
	if e := doc.ext; e != nil {
		arch.Dataset, arch.Model, arch.ClassNames = e.Dataset, e.Model, e.ClassNames
		arch.Gradients, arch.Interval, arch.BatchSize, arch.Seed = e.Gradients, e.Interval, e.BatchSize, e.Seed
		arch.Probe = e.Probe
		if e.InputShape != [3]int{} {
			if !validShape(e.InputShape) {
				return fmt.Errorf("the mlpviz input shape %v is not a shape", e.InputShape)
			}
			if imgFrom != nil && e.InputShape != arch.InputShape {
				return fmt.Errorf("pass %s: image is %v, the mlpviz input shape %v", doc.key(imgFrom), arch.InputShape, e.InputShape)
			}
			arch.InputShape = e.InputShape
		}
	} else {
		doc.classNames(arch, classes)
	}
	for i := range doc.passes {
		m := &doc.passes[i]
		if n := doc.shapes[m.shape].pass.probs().count(); n > 0 && classes > 0 && n != classes {
			return fmt.Errorf("pass %s has %d probabilities for %d logits", doc.key(m), n, classes)
		}
	}
	if ds := catalog.LookupDataset(arch.Dataset); ds != nil && arch.InputShape[0] == len(ds.Mean) {
		doc.ds, doc.inputShape = ds, arch.InputShape
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
	for _, m := range doc.passes {
		for _, c := range [...]classRef{m.truth, m.pred} {
			if !c.set || c.name < 0 {
				continue
			}
			if _, dup := names[c.index]; !dup {
				names[c.index] = doc.names[c.name]
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
