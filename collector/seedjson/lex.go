package seedjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"unicode/utf8"
)

// lexer reads JSON through a fixed buffer, so that no value has to be held
// whole as text: float arrays are read number by number (floats), and what
// is skipped is checked as it goes by. It takes Python's bare NaN, Infinity
// and -Infinity as numbers where a value may stand, and nowhere else.
// Offsets count the input's bytes from where the lexer started.
type lexer struct {
	r    io.Reader
	buf  []byte // buf[i:] is read and not yet consumed
	i    int
	base int64  // input offset of buf[0]
	err  error  // the reader's first error: io.EOF at the end
	text []byte // capture's, reused
}

const lexBuf = 64 << 10

func newLexer(r io.Reader) *lexer {
	return &lexer{r: r, buf: make([]byte, 0, lexBuf)}
}

// bytesLexer reads b, which it never writes to.
func bytesLexer(b []byte) *lexer { return &lexer{buf: b, err: io.EOF} }

// offset is the input offset of the next byte to consume.
func (l *lexer) offset() int64 { return l.base + int64(l.i) }

// end is the input offset just past what has been read.
func (l *lexer) end() int64 { return l.base + int64(len(l.buf)) }

// fill reads more input, moving buf[i:] to the front of buf first; it
// reports whether any came.
func (l *lexer) fill() bool {
	if l.err != nil {
		return false
	}
	if l.i > 0 {
		n := copy(l.buf[:cap(l.buf)], l.buf[l.i:])
		l.base += int64(l.i)
		l.buf, l.i = l.buf[:n], 0
	}
	if len(l.buf) == cap(l.buf) { // a token longer than the buffer
		l.buf = slices.Grow(l.buf, len(l.buf))
	}
	for range 100 {
		n, err := l.r.Read(l.buf[len(l.buf):cap(l.buf)])
		l.buf = l.buf[:len(l.buf)+n]
		if err != nil {
			l.err = err
		}
		if n > 0 {
			return true
		}
		if err != nil {
			return false
		}
	}
	l.err = io.ErrNoProgress
	return false
}

// ahead makes buf[i+k] readable, unless the input ends first.
func (l *lexer) ahead(k int) bool {
	for l.i+k >= len(l.buf) {
		if !l.fill() {
			return false
		}
	}
	return true
}

// seek moves the lexer to offset off of rs, which the lexer started reading
// at origin: within what it holds if it can.
func (l *lexer) seek(rs io.Seeker, origin, off int64) error {
	if off >= l.base && off <= l.end() {
		l.i = int(off - l.base)
		return nil
	}
	if _, err := rs.Seek(origin+off, io.SeekStart); err != nil {
		return err
	}
	l.buf, l.i, l.base, l.err = l.buf[:0], 0, off, nil
	return nil
}

// errTruncated: the input ends inside a value.
var errTruncated = errors.New("truncated")

// readError is the reader's failure, no fault of the input.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// syntaxError is input that is not JSON.
type syntaxError struct {
	off int64
	msg string
}

func (e *syntaxError) Error() string { return e.msg }

// short is the error of input that ends, or fails, where more must come.
func (l *lexer) short() error {
	if l.err != nil && !errors.Is(l.err, io.EOF) {
		return &readError{l.err}
	}
	return errTruncated
}

// invalid is the syntax error of buf[j], which context does not allow.
func (l *lexer) invalid(j int, context string) error {
	c := l.buf[j]
	q := fmt.Sprintf("byte 0x%02x", c)
	if c < utf8.RuneSelf {
		q = strconv.QuoteRune(rune(c))
	}
	return &syntaxError{off: l.base + int64(j), msg: "invalid character " + q + " " + context}
}

// fail turns an error met while reading what into one that says where.
func (l *lexer) fail(err error, what string) error {
	var re *readError
	var se *syntaxError
	switch {
	case errors.As(err, &re):
		return fmt.Errorf("reading %s: %w", what, re.err)
	case errors.Is(err, errTruncated):
		return fmt.Errorf("truncated JSON: the input ends at byte %d, inside %s", l.end(), what)
	case errors.As(err, &se):
		return fmt.Errorf("invalid JSON near byte %d, in %s: %s", se.off, what, se.msg)
	}
	return fmt.Errorf("%s near byte %d: %w", what, l.offset(), err)
}

// space skips white space and returns the next byte, not consumed.
func (l *lexer) space() (byte, error) {
	for {
		for ; l.i < len(l.buf); l.i++ {
			switch c := l.buf[l.i]; c {
			case ' ', '\t', '\n', '\r':
			default:
				return c, nil
			}
		}
		if !l.fill() {
			return 0, l.short()
		}
	}
}

// open consumes the '{' of the next value; when the value is not an object
// it consumes the value and says what it is instead.
func (l *lexer) open() (instead string, err error) {
	c, err := l.space()
	if err != nil {
		return "", err
	}
	if c == '{' {
		l.i++
		return "", nil
	}
	if err := l.value(nil, 0); err != nil {
		return "", err
	}
	return kindOf(c), nil
}

// next moves to the next member of an object whose '{' has been consumed,
// first telling whether none has been read yet: it consumes the key and the
// colon and returns the key, or ok false after consuming the '}'.
func (l *lexer) next(first bool) (key string, ok bool, err error) {
	return l.member(first, nil)
}

// member is next; with out non-nil it appends the key's text and the colon
// (or the '}') to *out instead of decoding the key.
func (l *lexer) member(first bool, out *[]byte) (key string, ok bool, err error) {
	c, err := l.space()
	if err != nil {
		return "", false, err
	}
	switch {
	case c == '}':
		l.i++
		if out != nil {
			*out = append(*out, '}')
		}
		return "", false, nil
	case !first && c != ',':
		return "", false, l.invalid(l.i, "after object key:value pair")
	case !first:
		l.i++
		if out != nil {
			*out = append(*out, ',')
		}
		if c, err = l.space(); err != nil {
			return "", false, err
		}
	}
	if c != '"' {
		return "", false, l.invalid(l.i, "looking for beginning of object key string")
	}
	tok, esc, err := l.stringToken()
	if err != nil {
		return "", false, err
	}
	// tok lasts until the next read.
	if out != nil {
		*out = append(*out, tok...)
	} else {
		key = decodeString(tok, esc)
	}
	if c, err = l.space(); err != nil {
		return "", false, err
	}
	if c != ':' {
		return "", false, l.invalid(l.i, "after object key")
	}
	l.i++
	if out != nil {
		*out = append(*out, ':')
	}
	return key, true, nil
}

// decodeString is the text of a string token that stringToken checked.
func decodeString(tok []byte, esc bool) string {
	if !esc && utf8.Valid(tok) {
		return string(tok[1 : len(tok)-1])
	}
	var s string
	_ = json.Unmarshal(tok, &s) // checked: it cannot fail
	return s
}

// stringToken consumes the string at buf[i], checking it, and returns its
// text with the quotes, valid until the next read, and whether it holds an
// escape.
func (l *lexer) stringToken() (tok []byte, esc bool, err error) {
	for k := 1; ; k++ {
		if !l.ahead(k) {
			return nil, false, l.short()
		}
		switch c := l.buf[l.i+k]; {
		case c == '"':
			tok = l.buf[l.i : l.i+k+1]
			l.i += k + 1
			return tok, esc, nil
		case c == '\\':
			esc = true
			k++
			if !l.ahead(k) {
				return nil, false, l.short()
			}
			switch l.buf[l.i+k] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				for range 4 {
					k++
					if !l.ahead(k) {
						return nil, false, l.short()
					}
					if !isHex(l.buf[l.i+k]) {
						return nil, false, l.invalid(l.i+k, `in \u hexadecimal character escape`)
					}
				}
			default:
				return nil, false, l.invalid(l.i+k, "in string escape code")
			}
		case c < ' ':
			return nil, false, l.invalid(l.i+k, "in string literal")
		}
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// startsNumber reports whether c may begin a number or a Python word.
func startsNumber(c byte) bool { return isDigit(c) || c == '-' || c == 'N' || c == 'I' }

// numberToken consumes the number or Python word at buf[i] and returns its
// text, valid until the next read, and whether it is a word.
func (l *lexer) numberToken() (tok []byte, word bool, err error) {
	switch c := l.buf[l.i]; {
	case c == 'N':
		return l.word("NaN")
	case c == 'I':
		return l.word("Infinity")
	case c == '-' && l.ahead(1) && l.buf[l.i+1] == 'I':
		return l.word("-Infinity")
	}
	for {
		b := l.buf[l.i:]
		n, context := numberLen(b)
		if n == len(b) && l.fill() {
			continue // it may go on
		}
		switch {
		case context == "":
			l.i += n
			return b[:n], false, nil
		case n == len(b):
			return nil, false, l.short()
		}
		return nil, false, l.invalid(l.i+n, context)
	}
}

// numberLen is the length of the JSON number that b begins with, or where
// it goes wrong and how.
func numberLen(b []byte) (n int, context string) {
	if n < len(b) && b[n] == '-' {
		n++
	}
	switch {
	case n == len(b):
		return n, "in numeric literal"
	case b[n] == '0':
		n++
	case isDigit(b[n]):
		for n++; n < len(b) && isDigit(b[n]); n++ {
		}
	default:
		return n, "in numeric literal"
	}
	if n < len(b) && b[n] == '.' {
		n++
		if n == len(b) || !isDigit(b[n]) {
			return n, "after decimal point in numeric literal"
		}
		for n++; n < len(b) && isDigit(b[n]); n++ {
		}
	}
	if n < len(b) && (b[n] == 'e' || b[n] == 'E') {
		n++
		if n < len(b) && (b[n] == '+' || b[n] == '-') {
			n++
		}
		if n == len(b) || !isDigit(b[n]) {
			return n, "in exponent of numeric literal"
		}
		for n++; n < len(b) && isDigit(b[n]); n++ {
		}
	}
	return n, ""
}

// word consumes w, which must come next, and returns it as a token.
func (l *lexer) word(w string) ([]byte, bool, error) {
	if err := l.literal(w); err != nil {
		return nil, false, err
	}
	return l.buf[l.i-len(w) : l.i], true, nil
}

// literal consumes w, which must come next.
func (l *lexer) literal(w string) error {
	for k := range len(w) {
		if !l.ahead(k) {
			return l.short()
		}
		if l.buf[l.i+k] != w[k] {
			return l.invalid(l.i+k, fmt.Sprintf("in literal %s (expecting %s)", w, strconv.QuoteRune(rune(w[k]))))
		}
	}
	l.i += len(w)
	return nil
}

// maxNesting bounds how deep values nest, as encoding/json does.
const maxNesting = 10000

// value consumes the next value, checking it. With out non-nil it appends
// the value's text to *out, Python's words as the strings "NaN",
// "Infinity" and "-Infinity", which number and floatArray read as floats
// and encoding/json accepts.
func (l *lexer) value(out *[]byte, depth int) error {
	put := func(b ...byte) {
		if out != nil {
			*out = append(*out, b...)
		}
	}
	c, err := l.space()
	if err != nil {
		return err
	}
	switch {
	case c == '{' || c == '[':
		if depth >= maxNesting {
			return &syntaxError{off: l.offset(), msg: "exceeded max depth"}
		}
		l.i++
		put(c)
		if c == '{' {
			for first := true; ; first = false {
				_, ok, err := l.member(first, out)
				if err != nil || !ok {
					return err
				}
				if err := l.value(out, depth+1); err != nil {
					return err
				}
			}
		}
		for first := true; ; first = false {
			c, err := l.space()
			if err != nil {
				return err
			}
			switch {
			case c == ']' && first:
			case first:
				if err := l.value(out, depth+1); err != nil {
					return err
				}
				continue
			case c == ',':
				l.i++
				put(',')
				if err := l.value(out, depth+1); err != nil {
					return err
				}
				continue
			case c != ']':
				return l.invalid(l.i, "after array element")
			}
			l.i++
			put(']')
			return nil
		}
	case c == '"':
		tok, _, err := l.stringToken()
		if err != nil {
			return err
		}
		put(tok...)
	case startsNumber(c):
		tok, word, err := l.numberToken()
		if err != nil {
			return err
		}
		if word {
			put('"')
			put(tok...)
			put('"')
		} else {
			put(tok...)
		}
	case c == 't', c == 'f', c == 'n':
		w := "null"
		switch c {
		case 't':
			w = "true"
		case 'f':
			w = "false"
		}
		if err := l.literal(w); err != nil {
			return err
		}
		put([]byte(w)...)
	default:
		return l.invalid(l.i, "looking for beginning of value")
	}
	return nil
}

// capture consumes the next value and returns its text as value writes it,
// valid until the next capture.
func (l *lexer) capture() ([]byte, error) {
	l.text = l.text[:0]
	err := l.value(&l.text, 0)
	return l.text, err
}

// kindOf names a value by its first byte, for errors.
func kindOf(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
