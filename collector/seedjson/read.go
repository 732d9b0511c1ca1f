package seedjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// document is a seed collection as parsed, before it is checked against its
// architecture: the architecture may come after the passes.
type document struct {
	hasArch bool
	arch    []archEntry
	ext     *archExt
	passes  []*rawPass
	seen    map[int]bool // pass numbers
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
}

// passExt is the per-pass "mlpviz" object Write adds.
type passExt struct {
	Step      int        `json:"step"`
	Epoch     int        `json:"epoch"`
	Wall      time.Time  `json:"wall"`
	TrueLabel int        `json:"true_label"`
	Probs     floatArray `json:"probs"`
}

// rawPass is one numbered pass as parsed.
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
	layers     map[string]*rawLayer
}

// rawLayer is one "N_Kind" entry of a pass as parsed.
type rawLayer struct {
	notObject string // what the entry was instead of an object, if it was not
	input     floatArray
	weight    floatArray
	bias      floatArray
	gradW     floatArray
	gradB     floatArray
	output    floatArray
}

// classValue is a class as main.py registers it: an (index, name) tuple,
// which json writes as a pair, or, in older collections, a bare index.
type classValue struct {
	index int
	name  string
	set   bool
}

func (c *classValue) UnmarshalJSON(b []byte) error {
	return c.parse(b, "a class index or an [index, name] pair")
}

// parse reads a class; want names what else may stand there.
func (c *classValue) parse(b []byte, want string) error {
	b = bytes.TrimSpace(b)
	var idx []byte
	var name *string
	if len(b) > 0 && b[0] == '[' {
		var pair []json.RawMessage
		if err := json.Unmarshal(b, &pair); err != nil || len(pair) != 2 {
			return fmt.Errorf("an array of %d values, want %s", len(pair), want)
		}
		name = new(string)
		if err := json.Unmarshal(pair[1], name); err != nil {
			return fmt.Errorf("an [index, name] pair whose name is %s, want a string", describe(pair[1]))
		}
		idx = pair[0]
	} else if bytes.Equal(b, []byte("null")) {
		*c = classValue{}
		return nil
	} else {
		idx = b
	}
	var n number
	if err := n.UnmarshalJSON(idx); err != nil {
		if name != nil {
			return fmt.Errorf("an [index, name] pair whose index is %s, want a whole number ≥ 0", describe(idx))
		}
		return fmt.Errorf("%s, want %s", describe(b), want)
	}
	i, ok := n.integer()
	if !ok || i < 0 {
		return fmt.Errorf("class index %s is not a whole number ≥ 0", bytes.TrimSpace(idx))
	}
	*c = classValue{index: i, set: true}
	if name != nil {
		c.name = *name
	}
	return nil
}

// labelValue is an older collection's "label": "Class 7, label 7 - seven"
// (the true class), the predicted class's name, or a class.
type labelValue struct {
	text  string
	class classValue
}

func (l *labelValue) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &l.text)
	}
	return l.class.parse(b, "a string, a class index or an [index, name] pair")
}

// decoder pairs encoding/json's streaming decoder with the pyReader under
// it, so that errors can say where in the input they are.
type decoder struct {
	py  *pyReader
	dec *json.Decoder
}

func parse(r io.Reader) (*document, error) {
	py := newPyReader(r)
	d := &decoder{py: py, dec: json.NewDecoder(py)}
	tok, err := d.dec.Token()
	if errors.Is(err, io.EOF) && !d.readFailed() {
		return nil, errors.New("not a seed collection: the input is empty")
	}
	if err != nil {
		return nil, d.fail(err, "the top-level value")
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("not a seed collection: the top level is %s, want an object with an \"architecture\" object", tokenKind(tok))
	}
	doc := &document{seen: map[int]bool{}}
	for d.dec.More() {
		key, err := d.key("the top-level object")
		if err != nil {
			return nil, err
		}
		switch {
		case key == "architecture":
			if doc.hasArch {
				return nil, errors.New(`"architecture" appears twice`)
			}
			if err := d.architecture(doc); err != nil {
				return nil, err
			}
		case key == "mlpviz":
			doc.ext = new(archExt)
			if err := d.decode(doc.ext, `the "mlpviz" object`); err != nil {
				return nil, err
			}
		case isPassKey(key):
			if err := d.pass(doc, key); err != nil {
				return nil, err
			}
		default:
			if err := d.decode(&skipValue{}, fmt.Sprintf("top-level key %q", key)); err != nil {
				return nil, err
			}
		}
	}
	if err := d.end("the top-level object"); err != nil {
		return nil, err
	}
	switch _, err := d.dec.Token(); {
	case errors.Is(err, io.EOF):
	case d.readFailed():
		return nil, d.fail(err, "the end of the input")
	default:
		return nil, fmt.Errorf("more data after the collection, near byte %d", d.offset())
	}
	if !doc.hasArch {
		return nil, errors.New(`not a seed collection: no "architecture" object`)
	}
	return doc, nil
}

// readFailed reports whether the underlying reader failed (not at its end).
func (d *decoder) readFailed() bool {
	return d.py.err != nil && !errors.Is(d.py.err, io.EOF)
}

// offset is the input offset of the decoder, in bytes of the original input.
func (d *decoder) offset() int64 { return d.py.original(d.dec.InputOffset()) }

// fail turns an error met while decoding what into one that says where.
func (d *decoder) fail(err error, what string) error {
	var syn *json.SyntaxError
	switch {
	case d.readFailed() && errors.Is(err, d.py.err):
		return fmt.Errorf("reading %s: %w", what, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("truncated JSON: the input ends at byte %d, inside %s", d.py.read, what)
	case errors.As(err, &syn):
		return fmt.Errorf("invalid JSON near byte %d, in %s: %v", d.offset(), what, err)
	}
	return fmt.Errorf("%s near byte %d: %w", what, d.offset(), err)
}

func (d *decoder) decode(v any, what string) error {
	if err := d.dec.Decode(v); err != nil {
		return d.fail(err, what)
	}
	return nil
}

// key reads an object key.
func (d *decoder) key(what string) (string, error) {
	tok, err := d.dec.Token()
	if err != nil {
		return "", d.fail(err, what)
	}
	s, ok := tok.(string)
	if !ok { // encoding/json reports a bad key itself; kept as a safeguard
		return "", fmt.Errorf("%s: %s where a key belongs", what, tokenKind(tok))
	}
	return s, nil
}

// open reads the '{' that must start what, or says what was there instead.
func (d *decoder) open(what string) (isObject bool, instead string, err error) {
	tok, err := d.dec.Token()
	if err != nil {
		return false, "", d.fail(err, what)
	}
	if tok == json.Delim('{') {
		return true, "", nil
	}
	if tok == json.Delim('[') {
		if err := d.skipRest(what); err != nil {
			return false, "", err
		}
	}
	return false, tokenKind(tok), nil
}

// skipRest skips what is left of an array whose '[' was read as a token.
func (d *decoder) skipRest(what string) error {
	for depth := 1; depth > 0; {
		tok, err := d.dec.Token()
		if err != nil {
			return d.fail(err, what)
		}
		switch tok {
		case json.Delim('['), json.Delim('{'):
			depth++
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
	}
	return nil
}

// end reads the '}' that closes what.
func (d *decoder) end(what string) error {
	if _, err := d.dec.Token(); err != nil {
		return d.fail(err, what)
	}
	return nil
}

func (d *decoder) architecture(doc *document) error {
	ok, instead, err := d.open(`"architecture"`)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf(`not a seed collection: "architecture" is %s, want an object`, instead)
	}
	doc.hasArch = true
	for d.dec.More() {
		tag, err := d.key(`"architecture"`)
		if err != nil {
			return err
		}
		num, kind, ok := splitTag(tag)
		if !ok {
			return fmt.Errorf(`architecture: key %q is not of the form "N_Kind"`, tag)
		}
		what := fmt.Sprintf("architecture %q", tag)
		isObj, instead, err := d.open(what)
		if err != nil {
			return err
		}
		if !isObj {
			return fmt.Errorf("%s is %s, want an object of settings", what, instead)
		}
		e := archEntry{tag: tag, num: num, kind: kind}
		for d.dec.More() {
			k, err := d.key(what)
			if err != nil {
				return err
			}
			var raw rawText
			if err := d.decode(&raw, fmt.Sprintf("%s setting %q", what, k)); err != nil {
				return err
			}
			// The seed's keys keep the space that followed a comma.
			e.settings = append(e.settings, setting{key: strings.TrimSpace(k), value: settingText(raw)})
		}
		if err := d.end(what); err != nil {
			return err
		}
		doc.arch = append(doc.arch, e)
	}
	return d.end(`"architecture"`)
}

func (d *decoder) pass(doc *document, key string) error {
	num, err := strconv.Atoi(key)
	if err != nil {
		return fmt.Errorf("pass %s: number out of range", key)
	}
	if doc.seen[num] {
		return fmt.Errorf("pass %s appears twice", key)
	}
	doc.seen[num] = true
	what := "pass " + key
	ok, instead, err := d.open(what)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s is %s, want an object", what, instead)
	}
	p := &rawPass{key: key, num: num, layers: map[string]*rawLayer{}}
	for d.dec.More() {
		k, err := d.key(what)
		if err != nil {
			return err
		}
		field := fmt.Sprintf("%s, %q", what, k)
		switch k {
		case "loss":
			err = d.decode(&p.loss, field)
		case "accuracy":
			err = d.decode(&p.acc, field)
		case "prediction":
			err = d.decode(&p.prediction, field)
		case "label":
			err = d.decode(&p.label, field)
		case "true_label":
			err = d.decode(&p.trueLabel, field)
		case "logits":
			err = d.decode(&p.logits, field)
		case "input":
			err = d.decode(&p.image, field)
		case "mlpviz":
			p.ext = new(passExt)
			err = d.decode(p.ext, field)
		default:
			if _, _, ok := splitTag(k); ok {
				err = d.layer(p, k, fmt.Sprintf("%s, layer %q", what, k))
			} else {
				err = d.decode(&skipValue{}, field)
			}
		}
		if err != nil {
			return err
		}
	}
	doc.passes = append(doc.passes, p)
	return d.end(what)
}

func (d *decoder) layer(p *rawPass, tag, what string) error {
	l := &rawLayer{}
	p.layers[tag] = l
	ok, instead, err := d.open(what)
	if err != nil {
		return err
	}
	if !ok {
		l.notObject = instead
		return nil
	}
	for d.dec.More() {
		k, err := d.key(what)
		if err != nil {
			return err
		}
		field := fmt.Sprintf("%s, %q", what, k)
		switch k {
		case "input":
			err = d.decode(&l.input, field)
		case "weight":
			err = d.decode(&l.weight, field)
		case "bias":
			err = d.decode(&l.bias, field)
		case "grad_weight":
			err = d.decode(&l.gradW, field)
		case "grad_bias":
			err = d.decode(&l.gradB, field)
		case "output":
			err = d.decode(&l.output, field)
		default: // grad_input, grad_output
			err = d.decode(&skipValue{}, field)
		}
		if err != nil {
			return err
		}
	}
	return d.end(what)
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

// tokenKind names a JSON token for errors.
func tokenKind(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return "an object"
		}
		return "an array"
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
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
