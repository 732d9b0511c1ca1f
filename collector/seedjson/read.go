package seedjson

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mlpviz/mlpviz/catalog"
	"github.com/mlpviz/mlpviz/collector"
)

// document is what one reading of a collection keeps: the architecture,
// the mlpviz object and, per pass, a passMeta of a few tens of bytes whose
// arrays' shapes are interned (the passes of a run share a handful), which
// is all it takes to check every pass and to work out the Architecture
// before any pass is converted. The passes' values are kept (kept) only
// when reading for Read.
type document struct {
	hasArch bool
	arch    []archEntry
	ext     *archExt
	linears []linearLayer // once the architecture is read

	passes  []passMeta // in input order until plan sorts them
	kept    []*rawPass // with their values, beside passes, for Read
	shapes  []*passShape
	shapeID map[string]int32 // by passShape.key
	names   []string         // the classes' names, interned
	nameID  map[string]int32
	odd     map[int64]string // pass keys that do not spell their number plainly ("007"), by offset
	scratch []byte

	// Worked out by plan.
	head       []collector.LinearShape
	inputShape [3]int
	ds         *catalog.Dataset // whose normalisation the images undo; nil for none
}

func newDocument() *document {
	return &document{shapeID: map[string]int32{}, nameID: map[string]int32{}, odd: map[int64]string{}}
}

// archEntry is one "N_Kind" entry of the architecture object.
type archEntry struct {
	tag      string
	num      int
	kind     string
	settings []setting
}

type setting struct{ key, value string }

// archExt is the top-level "mlpviz" object Write adds.
type archExt struct {
	Dataset    string   `json:"dataset"`
	Model      string   `json:"model"`
	InputShape [3]int   `json:"input_shape"`
	ClassNames []string `json:"class_names"`
	NeuronCap  int      `json:"neuron_cap"`
	Gradients  bool     `json:"gradients"`
	Interval   int      `json:"interval"`
	BatchSize  int      `json:"batch_size"`
	Seed       int64    `json:"seed"`
	Probe      string   `json:"probe,omitempty"`
}

// passExt is the per-pass "mlpviz" object Write adds.
type passExt struct {
	Step      int        `json:"step"`
	Epoch     int        `json:"epoch"`
	Wall      time.Time  `json:"wall"`
	TrueLabel int        `json:"true_label"`
	Probs     floatArray `json:"probs"`
}

// rawPass is one numbered pass as read.
type rawPass struct {
	key        string
	num        int
	loss, acc  number
	prediction classValue
	trueLabel  classValue
	label      labelValue // older collections' "label"
	logits     floatArray
	image      floatArray
	ext        *passExt
	layers     []rawLayer // in input order; a repeated key replaces its layer
}

// rawLayer is one "N_Kind" entry of a pass as read.
type rawLayer struct {
	tag       string
	notObject string // what the entry was instead of an object, if it was not
	input     floatArray
	weight    floatArray
	bias      floatArray
	gradW     floatArray
	gradB     floatArray
	output    floatArray
}

func (l *rawLayer) arrays() [6]*floatArray {
	return [...]*floatArray{&l.input, &l.weight, &l.bias, &l.gradW, &l.gradB, &l.output}
}

// layer is the entry tag of the pass, or nil.
func (p *rawPass) layer(tag string) *rawLayer {
	for i := range p.layers {
		if p.layers[i].tag == tag {
			return &p.layers[i]
		}
	}
	return nil
}

// probs are the mlpviz object's probabilities.
func (p *rawPass) probs() floatArray {
	if p.ext == nil {
		return floatArray{}
	}
	return p.ext.Probs
}

// passMeta is what reading a collection keeps of a pass without its values.
type passMeta struct {
	at          int64 // input offset of the pass's '{'
	num         int
	shape       int32 // into document.shapes
	truth, pred classRef
}

// classRef is a class a pass names (rawPass.truth, rawPass.predicted).
type classRef struct {
	index int
	name  int32 // into document.names; -1 for none
	set   bool
}

// passShape is the shape of a pass's arrays: its layers and arrays without
// their values.
type passShape struct {
	key    string // all of it, as shapeKey writes it
	pass   rawPass
	obs    []layerObs // of the Linear layers, once checked
	fitted bool       // its layers fit the head
}

// key is the pass's key as the input spells it.
func (doc *document) key(m *passMeta) string {
	if k, ok := doc.odd[m.at]; ok {
		return k
	}
	return strconv.Itoa(m.num)
}

// shapeKey writes the shape of p's arrays into doc.scratch.
func (doc *document) shapeKey(p *rawPass) []byte {
	b := doc.scratch[:0]
	text := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	shape := func(a *floatArray) {
		if !a.set {
			b = append(b, 0)
			return
		}
		b = binary.AppendUvarint(b, uint64(len(a.dims))+1)
		for _, d := range a.dims {
			b = binary.AppendUvarint(b, uint64(d))
		}
	}
	b = binary.AppendUvarint(b, uint64(len(p.layers)))
	for i := range p.layers {
		l := &p.layers[i]
		text(l.tag)
		text(l.notObject)
		for _, a := range l.arrays() {
			shape(a)
		}
	}
	probs := p.probs()
	for _, a := range [...]*floatArray{&p.image, &p.logits, &probs} {
		shape(a)
	}
	doc.scratch = b
	return b
}

// intern returns the index of p's shape in doc.shapes, adding it if new.
func (doc *document) intern(p *rawPass) int32 {
	key := doc.shapeKey(p)
	if id, ok := doc.shapeID[string(key)]; ok {
		return id
	}
	s := &passShape{key: string(key)}
	s.pass.layers = make([]rawLayer, len(p.layers))
	for i, l := range p.layers {
		for _, a := range l.arrays() {
			a.vals = nil
		}
		s.pass.layers[i] = l
	}
	s.pass.image, s.pass.logits = p.image, p.logits
	s.pass.image.vals, s.pass.logits.vals = nil, nil
	if probs := p.probs(); probs.set {
		s.pass.ext = &passExt{Probs: floatArray{dims: probs.dims, set: true}}
	}
	id := int32(len(doc.shapes))
	doc.shapes = append(doc.shapes, s)
	doc.shapeID[s.key] = id
	return id
}

// classRef interns c's name.
func (doc *document) classRef(c classValue) classRef {
	r := classRef{index: c.index, name: -1, set: c.set}
	if c.name == "" {
		return r
	}
	id, ok := doc.nameID[c.name]
	if !ok {
		id = int32(len(doc.names))
		doc.names = append(doc.names, c.name)
		doc.nameID[c.name] = id
	}
	r.name = id
	return r
}

// read reads a collection, checking each pass against the architecture as
// soon as both are read. With keep, it keeps the passes' values.
func (doc *document) read(l *lexer, keep bool) error {
	c, err := l.space()
	switch {
	case errors.Is(err, errTruncated):
		return errors.New("not a seed collection: the input is empty")
	case err != nil:
		return l.fail(err, "the top-level value")
	case c != '{':
		if c != '[' { // a bad start is invalid JSON before it is no collection
			if err := l.value(nil, 0); err != nil {
				return l.fail(err, "the top-level value")
			}
		}
		return fmt.Errorf("not a seed collection: the top level is %s, want an object with an \"architecture\" object", kindOf(c))
	}
	l.i++
	for first := true; ; first = false {
		key, ok, err := l.next(first)
		if err != nil {
			return l.fail(err, "the top-level object")
		}
		if !ok {
			break
		}
		switch {
		case key == "architecture":
			if doc.hasArch {
				return errors.New(`"architecture" appears twice`)
			}
			err = doc.readArchitecture(l)
		case key == "mlpviz":
			if doc.ext != nil {
				return errors.New(`"mlpviz" appears twice`)
			}
			err = doc.readExt(l)
		case isPassKey(key):
			err = doc.readPassMeta(l, key, keep)
		default:
			if err := l.value(nil, 0); err != nil {
				return l.fail(err, fmt.Sprintf("top-level key %q", key))
			}
		}
		if err != nil {
			return err
		}
	}
	switch _, err := l.space(); {
	case errors.Is(err, errTruncated): // the end
	case err != nil:
		return l.fail(err, "the end of the input")
	default:
		return fmt.Errorf("more data after the collection, near byte %d", l.offset())
	}
	if !doc.hasArch {
		return errors.New(`not a seed collection: no "architecture" object`)
	}
	return nil
}

func (doc *document) readArchitecture(l *lexer) error {
	instead, err := l.open()
	if err != nil {
		return l.fail(err, `"architecture"`)
	}
	if instead != "" {
		return fmt.Errorf(`not a seed collection: "architecture" is %s, want an object`, instead)
	}
	doc.hasArch = true
	for first := true; ; first = false {
		tag, ok, err := l.next(first)
		if err != nil {
			return l.fail(err, `"architecture"`)
		}
		if !ok {
			break
		}
		num, kind, ok := splitTag(tag)
		if !ok {
			return fmt.Errorf(`architecture: key %q is not of the form "N_Kind"`, tag)
		}
		what := fmt.Sprintf("architecture %q", tag)
		instead, err := l.open()
		if err != nil {
			return l.fail(err, what)
		}
		if instead != "" {
			return fmt.Errorf("%s is %s, want an object of settings", what, instead)
		}
		e := archEntry{tag: tag, num: num, kind: kind}
		for first := true; ; first = false {
			k, ok, err := l.next(first)
			if err != nil {
				return l.fail(err, what)
			}
			if !ok {
				break
			}
			raw, err := l.capture()
			if err != nil {
				return l.fail(err, fmt.Sprintf("%s setting %q", what, k))
			}
			// The seed's keys keep the space that followed a comma.
			e.settings = append(e.settings, setting{key: strings.TrimSpace(k), value: settingText(raw)})
		}
		doc.arch = append(doc.arch, e)
	}
	sort.SliceStable(doc.arch, func(i, j int) bool { return doc.arch[i].num < doc.arch[j].num })
	if doc.linears, err = linearLayers(doc.arch); err != nil {
		return err
	}
	// Passes may come first.
	for i := range doc.passes {
		if err := doc.checkPass(&doc.passes[i]); err != nil {
			return err
		}
	}
	return nil
}

func (doc *document) readExt(l *lexer) error {
	const what = `the "mlpviz" object`
	raw, err := l.capture()
	if err != nil {
		return l.fail(err, what)
	}
	doc.ext = new(archExt)
	if err := json.Unmarshal(raw, doc.ext); err != nil {
		return l.fail(err, what)
	}
	return nil
}

// readPassMeta reads pass key, keeping its passMeta (and, with keep, its
// values), and checks it if the architecture is known.
func (doc *document) readPassMeta(l *lexer, key string, keep bool) error {
	num, err := strconv.Atoi(key)
	if err != nil {
		return fmt.Errorf("pass %s: number out of range", key)
	}
	if _, err := l.space(); err != nil {
		return l.fail(err, "pass "+key)
	}
	at := l.offset()
	var like *passShape
	if keep && len(doc.passes) > 0 { // likely the shape of the one before
		like = doc.shapes[doc.passes[len(doc.passes)-1].shape]
	}
	p, err := doc.readPass(l, key, num, keep, like)
	if err != nil {
		return err
	}
	if doc.linears == nil && len(p.layers) == 0 {
		// No architecture takes it: refuse it now, not after a file of them.
		return fmt.Errorf("pass %s has no layer data", key)
	}
	if len(key) > 1 && key[0] == '0' {
		doc.odd[at] = key
	}
	m := passMeta{at: at, num: num, shape: doc.intern(p), truth: doc.classRef(p.truth()), pred: doc.classRef(p.predicted())}
	if doc.linears != nil {
		if err := doc.checkPass(&m); err != nil {
			return err
		}
	}
	doc.passes = append(doc.passes, m)
	if keep {
		doc.kept = append(doc.kept, p)
	}
	return nil
}

// readPass reads the object of pass key, the next value: only its arrays'
// shapes unless keep, and then with room for the values of like's arrays
// when like is not nil.
func (doc *document) readPass(l *lexer, key string, num int, keep bool, like *passShape) (*rawPass, error) {
	what := "pass " + key
	instead, err := l.open()
	if err != nil {
		return nil, l.fail(err, what)
	}
	if instead != "" {
		return nil, fmt.Errorf("%s is %s, want an object", what, instead)
	}
	if !keep {
		like = nil
	}
	p := &rawPass{key: key, num: num}
	for first := true; ; first = false {
		k, ok, err := l.next(first)
		if err != nil {
			return nil, l.fail(err, what)
		}
		if !ok {
			return p, nil
		}
		var raw []byte
		switch k {
		case "loss", "accuracy", "prediction", "label", "true_label", "mlpviz":
			raw, err = l.capture()
		}
		if err == nil {
			switch k {
			case "loss":
				err = p.loss.UnmarshalJSON(raw)
			case "accuracy":
				err = p.acc.UnmarshalJSON(raw)
			case "prediction":
				err = p.prediction.UnmarshalJSON(raw)
			case "label":
				err = p.label.UnmarshalJSON(raw)
			case "true_label":
				err = p.trueLabel.UnmarshalJSON(raw)
			case "mlpviz":
				p.ext = new(passExt)
				err = json.Unmarshal(raw, p.ext)
			case "logits":
				p.logits, err = l.floats(keep, like.count(func(p *rawPass) *floatArray { return &p.logits }))
			case "input":
				p.image, err = l.floats(keep, like.count(func(p *rawPass) *floatArray { return &p.image }))
			default:
				if _, _, ok := splitTag(k); !ok {
					err = l.value(nil, 0)
					break
				}
				var likeLayer *rawLayer
				if like != nil {
					likeLayer = like.pass.layer(k)
				}
				if err := readLayer(l, p, k, fmt.Sprintf("%s, layer %q", what, k), keep, likeLayer); err != nil {
					return nil, err
				}
			}
		}
		if err != nil {
			return nil, l.fail(err, fmt.Sprintf("%s, %q", what, k))
		}
	}
}

// count is the number of values of the array of s's pass that field
// picks; 0 for a nil s.
func (s *passShape) count(field func(*rawPass) *floatArray) int {
	if s == nil {
		return 0
	}
	return field(&s.pass).count()
}

// layerFields are the keys of a layer's arrays, in rawLayer.arrays order.
var layerFields = [6]string{"input", "weight", "bias", "grad_weight", "grad_bias", "output"}

// readLayer reads entry tag of pass p, the next value; see readPass.
func readLayer(l *lexer, p *rawPass, tag, what string, keep bool, like *rawLayer) error {
	rl := p.layer(tag)
	if rl == nil {
		p.layers = append(p.layers, rawLayer{})
		rl = &p.layers[len(p.layers)-1]
	}
	*rl = rawLayer{tag: tag}
	instead, err := l.open()
	if err != nil {
		return l.fail(err, what)
	}
	if instead != "" {
		rl.notObject = instead
		return nil
	}
	for first := true; ; first = false {
		k, ok, err := l.next(first)
		if err != nil {
			return l.fail(err, what)
		}
		if !ok {
			return nil
		}
		if i := slices.Index(layerFields[:], k); i < 0 { // grad_input, grad_output
			err = l.value(nil, 0)
		} else {
			n := 0
			if like != nil {
				n = like.arrays()[i].count()
			}
			*rl.arrays()[i], err = l.floats(keep, n)
		}
		if err != nil {
			return l.fail(err, fmt.Sprintf("%s, %q", what, k))
		}
	}
}

// isPassKey reports whether key is a pass number: digits only, as Python's
// str.isdigit, which the seed's visualizer uses, sees the keys it writes.
func isPassKey(key string) bool {
	return key != "" && strings.Trim(key, "0123456789") == ""
}

// splitTag splits an architecture key "12_Linear" into 12 and "Linear".
func splitTag(tag string) (int, string, bool) {
	n, kind, ok := strings.Cut(tag, "_")
	if !ok || kind == "" || n == "" || strings.Trim(n, "0123456789") != "" {
		return 0, "", false
	}
	num, err := strconv.Atoi(n)
	if err != nil {
		return 0, "", false
	}
	return num, kind, true
}

// settingText turns a setting's JSON value into the text mlpviz keeps:
// numbers as Go prints them (the seed's 576.0 is "576"), booleans as
// "true"/"false", strings unquoted, anything else as its JSON.
func settingText(raw []byte) string {
	s := strings.TrimSpace(string(raw))
	if s == "" {
		return ""
	}
	switch s[0] {
	case '"':
		var v string
		if json.Unmarshal([]byte(s), &v) == nil {
			return v
		}
		return s
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return formatSetting(f)
		}
	}
	return s
}

// formatSetting prints a numeric setting: whole numbers without a point.
func formatSetting(f float64) string {
	if f == float64(int64(f)) && f > -1e15 && f < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
