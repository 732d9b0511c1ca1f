package seedjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// maxDepth bounds the nesting of a float array (an image is three deep).
const maxDepth = 8

// floatArray is a JSON array of numbers nested to any depth up to maxDepth,
// read flat with its shape: a weight [[...], [...]] is Out·In values and
// dims [Out, In]. It must be rectangular. The first reading of a collection
// keeps only the shape (vals nil).
type floatArray struct {
	vals []float32
	dims []int
	set  bool
}

// count is the number of values the shape holds.
func (a floatArray) count() int {
	if !a.set {
		return 0
	}
	n := 1
	for _, d := range a.dims {
		n *= d
	}
	return n
}

// UnmarshalJSON reads the probabilities of an mlpviz object, whose text
// capture has checked.
func (a *floatArray) UnmarshalJSON(b []byte) error {
	v, err := bytesLexer(b).floats(true, 0)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// floats reads the array of numbers that is the next value: its shape, and
// its values when keep, of which about n are expected (0: unknown).
func (l *lexer) floats(keep bool, n int) (floatArray, error) {
	c, err := l.space()
	if err != nil {
		return floatArray{}, err
	}
	if c != '[' {
		text, err := l.capture()
		if err != nil {
			return floatArray{}, err
		}
		return floatArray{}, fmt.Errorf("%s, want an array of numbers", describe(text))
	}
	a := arrayReader{l: l, keep: keep, leaf: -1}
	if keep {
		a.vals = make([]float32, 0, n)
	}
	if err := a.array(0); err != nil {
		return floatArray{}, err
	}
	return floatArray{vals: a.vals, dims: a.dims, set: true}, nil
}

// arrayReader reads one float array from a lexer.
type arrayReader struct {
	l    *lexer
	keep bool
	vals []float32
	dims []int
	leaf int // the depth that holds numbers; -1 until one is seen
}

var errMixed = errors.New("numbers and arrays mixed at one level")

// array reads the array whose '[' is next, at the given depth.
func (a *arrayReader) array(depth int) error {
	l := a.l
	if depth >= maxDepth {
		return fmt.Errorf("arrays nested deeper than %d", maxDepth)
	}
	if len(a.dims) == depth {
		a.dims = append(a.dims, -1)
	}
	l.i++ // '['
	c, err := l.space()
	if err != nil {
		return err
	}
	if c == ']' {
		l.i++
		return a.setDim(depth, 0)
	}
	for n := 1; ; n++ {
		if c == '[' {
			if a.leaf >= 0 && a.leaf <= depth {
				return errMixed
			}
			if err := a.array(depth + 1); err != nil {
				return err
			}
		} else {
			if a.leaf < 0 {
				a.leaf = depth
			} else if a.leaf != depth || len(a.dims) > depth+1 {
				return errMixed
			}
			if err := a.number(c); err != nil {
				return err
			}
		}
		if c, err = l.space(); err != nil {
			return err
		}
		switch c {
		case ',':
			l.i++
			if c, err = l.space(); err != nil {
				return err
			}
		case ']':
			l.i++
			return a.setDim(depth, n)
		default:
			return l.invalid(l.i, "after array element")
		}
	}
}

func (a *arrayReader) setDim(depth, n int) error {
	if a.dims[depth] < 0 {
		a.dims[depth] = n
		return nil
	}
	if a.dims[depth] != n {
		return fmt.Errorf("ragged array: a row of %d values where another has %d", n, a.dims[depth])
	}
	return nil
}

// number reads one element, which begins with c: a number, or one of
// Python's words, bare or quoted.
func (a *arrayReader) number(c byte) error {
	l := a.l
	var v float64
	switch {
	case startsNumber(c):
		tok, word, err := l.numberToken()
		if err != nil || !a.keep {
			return err
		}
		if word {
			v, _ = pyWord(tok)
		} else if v, err = strconv.ParseFloat(string(tok), 32); err != nil && !errors.Is(err, strconv.ErrRange) {
			return err // numberToken checked the syntax
		} // out of range: ±Inf or 0, as float32() would
	case c == '"':
		tok, _, err := l.stringToken()
		if err != nil {
			return err
		}
		w, ok := pyWord(tok[1 : len(tok)-1])
		if !ok {
			return fmt.Errorf("string %s where a number belongs", tok)
		}
		v = w
	case c == '{' || c == 't' || c == 'f' || c == 'n':
		if err := l.value(nil, 0); err != nil {
			return err
		}
		return fmt.Errorf("%s where a number belongs", kindOf(c))
	default:
		return l.invalid(l.i, "looking for beginning of value")
	}
	if a.keep {
		a.vals = append(a.vals, float32(v))
	}
	return nil
}

// pyWord reads Python's words for non-finite floats.
func pyWord(s []byte) (float64, bool) {
	switch string(s) {
	case "NaN":
		return math.NaN(), true
	case "Infinity":
		return math.Inf(1), true
	case "-Infinity":
		return math.Inf(-1), true
	}
	return 0, false
}

// number is a JSON number, or one of Python's non-finite words. Null leaves
// it unset.
type number struct {
	v   float64
	set bool
}

func (n *number) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*n = number{}
		return nil
	}
	if len(b) > 1 && b[0] == '"' {
		v, ok := pyWord(b[1 : len(b)-1])
		if !ok {
			return fmt.Errorf("%s, want a number", describe(b))
		}
		*n = number{v: v, set: true}
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("%s, want a number", describe(b))
	}
	*n = number{v: v, set: true}
	return nil
}

// integer reads n as a whole number.
func (n number) integer() (int, bool) {
	if !n.set || n.v != math.Trunc(n.v) || math.Abs(n.v) > 1<<53 {
		return 0, false
	}
	return int(n.v), true
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

// describe names a JSON value by its kind, for errors: a value that should
// be an array may be megabytes of something else.
func describe(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		if len(b) > 40 {
			return "a string"
		}
		return "the string " + string(b)
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	if len(b) > 40 {
		return "a number"
	}
	return "the number " + string(b)
}
