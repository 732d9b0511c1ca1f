package seedjson

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
)

// pyReader rewrites the bare NaN, Infinity and -Infinity that Python's json
// module writes for non-finite floats into the strings "NaN", "Infinity" and
// "-Infinity", so that encoding/json accepts the file; floatArray and number
// read those strings back as floats. Everything else passes through as is.
type pyReader struct {
	r        io.Reader
	chunk    []byte // read from r, not yet rewritten: a word cut by a read
	out      []byte // rewritten, not yet returned
	pos      int    // into out
	inStr    bool
	esc      bool
	read     int64   // bytes read from r
	produced int64   // rewritten bytes before out[0]
	grown    []int64 // rewritten offsets just after each word that grew by 2
	err      error   // from r, returned once out is drained
}

const pyChunk = 256 << 10

func newPyReader(r io.Reader) *pyReader {
	return &pyReader{r: r, chunk: make([]byte, 0, pyChunk+16)}
}

func (p *pyReader) Read(b []byte) (int, error) {
	for p.pos == len(p.out) {
		if p.err != nil {
			return 0, p.err
		}
		p.fill()
	}
	n := copy(b, p.out[p.pos:])
	p.pos += n
	return n, nil
}

// fill reads the next chunk and rewrites it into out, keeping back a tail
// that may be the start of a word the next read completes.
func (p *pyReader) fill() {
	p.produced += int64(len(p.out))
	p.out, p.pos = p.out[:0], 0
	have := len(p.chunk)
	n, err := p.r.Read(p.chunk[have:cap(p.chunk)])
	p.chunk = p.chunk[:have+n]
	p.read += int64(n)
	final := err != nil
	rest := p.rewrite(p.chunk, final)
	p.chunk = p.chunk[:copy(p.chunk, p.chunk[rest:])]
	if err != nil {
		p.err = err
	}
}

// rewrite appends b to out with the words quoted and returns how much of b
// it consumed. Unless final, it stops before a possibly unfinished word or a
// trailing '-' (which may begin -Infinity).
func (p *pyReader) rewrite(b []byte, final bool) int {
	start, i := 0, 0
	for i < len(b) {
		if p.inStr {
			if p.esc {
				p.esc = false
				i++
				continue
			}
			j := bytes.IndexAny(b[i:], "\"\\")
			if j < 0 {
				i = len(b)
				break
			}
			i += j
			if b[i] == '\\' {
				p.esc = true
			} else {
				p.inStr = false
			}
			i++
			continue
		}
		j := bytes.IndexAny(b[i:], "\"NI")
		if j < 0 {
			i = len(b)
			break
		}
		i += j
		word := "NaN"
		switch b[i] {
		case '"':
			p.inStr = true
			i++
			continue
		case 'I':
			word = "Infinity"
		}
		if len(b)-i < len(word) && !final {
			p.out = append(p.out, b[start:i]...)
			return p.keepMinus(i)
		}
		if !bytes.HasPrefix(b[i:], []byte(word)) {
			i++ // not a word Python writes: left for the decoder to reject
			continue
		}
		from := i
		if word == "Infinity" && i > start && b[i-1] == '-' {
			from--
		}
		p.out = append(p.out, b[start:from]...)
		p.out = append(p.out, '"')
		p.out = append(p.out, b[from:i+len(word)]...)
		p.out = append(p.out, '"')
		p.grown = append(p.grown, p.produced+int64(len(p.out)))
		i += len(word)
		start = i
	}
	if !final && start < len(b) && b[len(b)-1] == '-' {
		p.out = append(p.out, b[start:len(b)-1]...)
		return len(b) - 1
	}
	p.out = append(p.out, b[start:]...)
	return len(b)
}

// keepMinus returns the offset from which to keep b for the next read: at,
// or one byte earlier when out ends in the '-' of a possible -Infinity.
func (p *pyReader) keepMinus(at int) int {
	if n := len(p.out); n > 0 && p.out[n-1] == '-' && at > 0 {
		p.out = p.out[:n-1]
		return at - 1
	}
	return at
}

// original maps an offset of the rewritten stream to one of the input.
func (p *pyReader) original(off int64) int64 {
	k := sort.Search(len(p.grown), func(i int) bool { return p.grown[i] > off })
	return max(off-2*int64(k), 0)
}

// maxDepth bounds the nesting of a float array (an image is three deep).
const maxDepth = 8

// floatArray is a JSON array of numbers nested to any depth up to maxDepth,
// read flat with its shape: a weight [[...], [...]] is Out·In values and
// dims [Out, In]. It must be rectangular.
type floatArray struct {
	vals []float32
	dims []int
	set  bool
}

// UnmarshalJSON parses the array itself: encoding/json has already checked
// the syntax, and decoding each number through reflection would be slow.
func (a *floatArray) UnmarshalJSON(b []byte) error {
	p := arrayParser{b: b, leaf: -1}
	p.space()
	if p.i >= len(b) || b[p.i] != '[' {
		return fmt.Errorf("%s, want an array of numbers", describe(b))
	}
	// Commas bound the count, so that the values are allocated once.
	p.vals = make([]float32, 0, bytes.Count(b, []byte{','})+1)
	if err := p.array(0); err != nil {
		return err
	}
	*a = floatArray{vals: p.vals, dims: p.dims, set: true}
	return nil
}

type arrayParser struct {
	b    []byte
	i    int
	vals []float32
	dims []int
	leaf int // the depth that holds numbers; -1 until one is seen
}

func (p *arrayParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

var errEnd = errors.New("array ends early")

// array reads the array that starts at p.i, at the given depth.
func (p *arrayParser) array(depth int) error {
	if depth >= maxDepth {
		return fmt.Errorf("arrays nested deeper than %d", maxDepth)
	}
	if len(p.dims) == depth {
		p.dims = append(p.dims, -1)
	}
	p.i++ // '['
	p.space()
	n := 0
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return p.setDim(depth, 0)
	}
	for {
		p.space()
		if p.i >= len(p.b) {
			return errEnd
		}
		if p.b[p.i] == '[' {
			if p.leaf >= 0 && p.leaf <= depth {
				return errors.New("numbers and arrays mixed at one level")
			}
			if err := p.array(depth + 1); err != nil {
				return err
			}
		} else {
			if p.leaf < 0 {
				p.leaf = depth
			} else if p.leaf != depth || len(p.dims) > depth+1 {
				return errors.New("numbers and arrays mixed at one level")
			}
			if err := p.number(); err != nil {
				return err
			}
		}
		n++
		p.space()
		if p.i >= len(p.b) {
			return errEnd
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return p.setDim(depth, n)
		default:
			return fmt.Errorf("unexpected %q in an array", p.b[p.i])
		}
	}
}

func (p *arrayParser) setDim(depth, n int) error {
	if p.dims[depth] < 0 {
		p.dims[depth] = n
		return nil
	}
	if p.dims[depth] != n {
		return fmt.Errorf("ragged array: a row of %d values where another has %d", n, p.dims[depth])
	}
	return nil
}

// number reads one element: a JSON number or a quoted Python word.
func (p *arrayParser) number() error {
	start := p.i
	if p.b[p.i] == '"' {
		end := bytes.IndexByte(p.b[start+1:], '"')
		if end < 0 {
			return errEnd
		}
		p.i = start + 1 + end + 1
		v, ok := pyWord(p.b[start+1 : p.i-1])
		if !ok {
			return fmt.Errorf("string %s where a number belongs", p.b[start:p.i])
		}
		p.vals = append(p.vals, float32(v))
		return nil
	}
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == ',' || c == ']' || c == ' ' || c == '\n' || c == '\r' || c == '\t' {
			break
		}
		p.i++
	}
	v, err := strconv.ParseFloat(string(p.b[start:p.i]), 32)
	if err != nil && !errors.Is(err, strconv.ErrRange) { // out of range: ±Inf or 0, as float32() would
		return fmt.Errorf("%s where a number belongs", describe(p.b[start:p.i]))
	}
	p.vals = append(p.vals, float32(v))
	return nil
}

// pyWord reads the words pyReader quotes.
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

// skipValue accepts any JSON value, for keys Read does not use.
type skipValue struct{}

func (skipValue) UnmarshalJSON([]byte) error { return nil }

// rawText keeps a value's JSON text, for the architecture's settings.
type rawText []byte

func (t *rawText) UnmarshalJSON(b []byte) error {
	*t = append((*t)[:0], b...)
	return nil
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
