package seedjsontest

import (
	"io"
	"math"
	"strconv"
	"unicode/utf16"
)

// pyWriter writes JSON as Python's json.dump(obj, f, indent=4,
// separators=(",", ": ")) does: every member and element on its own line,
// four spaces a level, "{}" and "[]" when empty, floats by repr, non-finite
// floats as NaN, Infinity and -Infinity, strings ASCII-escaped.
type pyWriter struct {
	w     io.Writer
	buf   []byte
	n     int64
	err   error
	empty []bool // per open container: nothing in it yet
}

const flushAt = 256 << 10

func (p *pyWriter) open(c byte) {
	p.buf = append(p.buf, c)
	p.empty = append(p.empty, true)
}

func (p *pyWriter) close(c byte) {
	top := len(p.empty) - 1
	empty := p.empty[top]
	p.empty = p.empty[:top]
	if !empty {
		p.newline()
	}
	p.buf = append(p.buf, c)
	if len(p.buf) >= flushAt {
		p.flush()
	}
}

// item starts the next member or element of the open container.
func (p *pyWriter) item() {
	top := len(p.empty) - 1
	if !p.empty[top] {
		p.buf = append(p.buf, ',')
	}
	p.empty[top] = false
	p.newline()
}

func (p *pyWriter) newline() {
	p.buf = append(p.buf, '\n')
	for range len(p.empty) {
		p.buf = append(p.buf, "    "...)
	}
}

func (p *pyWriter) key(k string) {
	p.item()
	p.buf = appendPyString(p.buf, k)
	p.buf = append(p.buf, ": "...)
}

// floats writes v as nested lists of the given dimensions.
func (p *pyWriter) floats(v []float32, dims ...int) {
	p.open('[')
	if len(dims) == 1 {
		for _, x := range v {
			p.item()
			p.buf = appendPyFloat(p.buf, float64(x))
		}
	} else {
		stride := len(v) / max(dims[0], 1)
		for i := range dims[0] {
			p.item()
			p.floats(v[i*stride:(i+1)*stride], dims[1:]...)
		}
	}
	p.close(']')
}

func (p *pyWriter) flush() {
	if p.err == nil {
		var n int
		n, p.err = p.w.Write(p.buf)
		p.n += int64(n)
	}
	p.buf = p.buf[:0]
}

// appendPyFloat writes x as Python's float.__repr__: the shortest digits
// that read back as x, in fixed notation from 1e-4 up to 1e16 (with ".0"
// when whole) and in exponent notation with at least two exponent digits
// otherwise.
func appendPyFloat(b []byte, x float64) []byte {
	switch {
	case math.IsNaN(x):
		return append(b, "NaN"...)
	case math.IsInf(x, 1):
		return append(b, "Infinity"...)
	case math.IsInf(x, -1):
		return append(b, "-Infinity"...)
	case x == 0:
		if math.Signbit(x) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], x, 'e', -1, 64) // "-1.2345e-05": Python's exponent form
	at := len(e) - 4
	for e[at] != 'e' {
		at--
	}
	exp := 0
	for _, c := range e[at+2:] {
		exp = exp*10 + int(c-'0')
	}
	if e[at+1] == '-' {
		exp = -exp
	}
	if exp < -4 || exp >= 16 {
		return append(b, e...)
	}
	// Fixed notation from the same digits.
	var dbuf [24]byte
	digits := dbuf[:0]
	for _, c := range e[:at] {
		if c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	if x < 0 {
		b = append(b, '-')
	}
	if exp < 0 {
		b = append(b, "0."...)
		for range -exp - 1 {
			b = append(b, '0')
		}
		return append(b, digits...)
	}
	for len(digits) <= exp {
		digits = append(digits, '0')
	}
	b = append(b, digits[:exp+1]...)
	b = append(b, '.')
	if len(digits) == exp+1 {
		return append(b, '0')
	}
	return append(b, digits[exp+1:]...)
}

// appendPyString writes s as json.dumps does with ensure_ascii: quotes,
// backslashes and control characters escaped, non-ASCII as \uXXXX (UTF-16).
func appendPyString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"':
			b = append(b, `\"`...)
		case r == '\\':
			b = append(b, `\\`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r == '\b':
			b = append(b, `\b`...)
		case r == '\f':
			b = append(b, `\f`...)
		case r >= 0x20 && r < 0x7f:
			b = append(b, byte(r))
		default:
			units := []uint16{uint16(r)}
			if r > 0xffff {
				units = utf16.Encode([]rune{r})
			}
			for _, u := range units {
				b = append(b, '\\', 'u', hex[u>>12], hex[u>>8&15], hex[u>>4&15], hex[u&15])
			}
		}
	}
	return append(b, '"')
}
