package api

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// lexer reads a body's JSON tokens as json.Decoder.Token does, in the same
// states and with the same checks in the same order (so that scan reports
// what it reported on Token, TestScanAgreesWithTokens), but without
// allocating: Token boxes every token and decodes every scalar through
// reflection, and scan on Token was a seventh of a match's CPU.
//
// A syntax error stops it for good (every later call fails): scan then
// leaves the body to encoding/json, which reports the error.
type lexer struct {
	data  []byte
	pos   int
	state lexState
	// stack holds the states of the arrays and objects open (n of them):
	// scan's walk stops deeper than maxDepth, before the lexer would open
	// another.
	stack [maxDepth + 1]lexState
	n     int
	bad   bool
}

// lexState is where the lexer is in a value: json.Decoder's tokenState.
type lexState uint8

const (
	lexTopValue lexState = iota
	lexArrayStart
	lexArrayValue
	lexArrayComma
	lexObjectStart
	lexObjectKey
	lexObjectColon
	lexObjectValue
	lexObjectComma
)

// tokKind is the kind of a token.
type tokKind uint8

const (
	tokDelim  tokKind = iota + 1 // one of { } [ ]
	tokString                    // a string (a key or a value)
	tokNumber
	tokBool
	tokNull
)

// token is a token of a body: raw is its literal as written (a string's
// with its quotes), a slice of the body.
type token struct {
	kind  tokKind
	delim byte
	raw   []byte
}

// text is a string token's value as encoding/json decodes it: the
// literal's own bytes when it has no escape and is valid UTF-8, as nearly
// every key and value is, else decoded by encoding/json (escapes, U+FFFD
// for invalid UTF-8).
func (t token) text() []byte {
	in := t.raw[1 : len(t.raw)-1]
	if bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
		return in
	}
	var s string
	if json.Unmarshal(t.raw, &s) != nil {
		return nil // not reached: the lexer has checked the literal
	}
	return []byte(s)
}

// peek skips white space and returns the next byte; false at the end.
func (lx *lexer) peek() (byte, bool) {
	for lx.pos < len(lx.data) {
		switch c := lx.data[lx.pos]; c {
		case ' ', '\t', '\r', '\n':
			lx.pos++
		default:
			return c, true
		}
	}
	return 0, false
}

// more is json.Decoder.More: whether the array or object goes on.
func (lx *lexer) more() bool {
	c, ok := lx.peek()
	return ok && !lx.bad && c != ']' && c != '}'
}

// next is json.Decoder.Token; false at a syntax error or the end.
func (lx *lexer) next() (token, bool) {
	if lx.bad {
		return token{}, false
	}
	for {
		c, ok := lx.peek()
		if !ok {
			return lx.fail()
		}
		switch c {
		case '[', '{':
			if !lx.valueAllowed() {
				return lx.fail()
			}
			lx.pos++
			if lx.n == len(lx.stack) {
				return lx.fail() // not reached from scan
			}
			lx.stack[lx.n] = lx.state
			lx.n++
			if c == '[' {
				lx.state = lexArrayStart
			} else {
				lx.state = lexObjectStart
			}
			return token{kind: tokDelim, delim: c}, true
		case ']', '}':
			if c == ']' && lx.state != lexArrayStart && lx.state != lexArrayComma ||
				c == '}' && lx.state != lexObjectStart && lx.state != lexObjectComma {
				return lx.fail()
			}
			lx.pos++
			lx.n--
			lx.state = lx.stack[lx.n]
			lx.valueEnd()
			return token{kind: tokDelim, delim: c}, true
		case ':':
			if lx.state != lexObjectColon {
				return lx.fail()
			}
			lx.pos++
			lx.state = lexObjectValue
			continue
		case ',':
			switch lx.state {
			case lexArrayComma:
				lx.state = lexArrayValue
			case lexObjectComma:
				lx.state = lexObjectKey
			default:
				return lx.fail()
			}
			lx.pos++
			continue
		case '"':
			if lx.state == lexObjectStart || lx.state == lexObjectKey {
				end := stringEnd(lx.data, lx.pos)
				if end < 0 {
					return lx.fail()
				}
				t := token{kind: tokString, raw: lx.data[lx.pos:end]}
				lx.pos, lx.state = end, lexObjectColon
				return t, true
			}
		}
		if !lx.valueAllowed() {
			return lx.fail()
		}
		return lx.scalar(c)
	}
}

// scalar reads a string, number, true, false or null value starting with
// c (json.Decoder.Decode of one value into an any).
func (lx *lexer) scalar(c byte) (token, bool) {
	start, end, kind := lx.pos, -1, tokKind(0)
	switch {
	case c == '"':
		end, kind = stringEnd(lx.data, start), tokString
	case c == '-' || '0' <= c && c <= '9':
		end, kind = numberEnd(lx.data, start), tokNumber
	case c == 't':
		end, kind = literalEnd(lx.data, start, "true"), tokBool
	case c == 'f':
		end, kind = literalEnd(lx.data, start, "false"), tokBool
	case c == 'n':
		end, kind = literalEnd(lx.data, start, "null"), tokNull
	}
	if end < 0 {
		return lx.fail()
	}
	lx.pos = end
	lx.valueEnd()
	return token{kind: kind, raw: lx.data[start:end]}, true
}

func (lx *lexer) fail() (token, bool) {
	lx.bad = true
	return token{}, false
}

func (lx *lexer) valueAllowed() bool {
	switch lx.state {
	case lexTopValue, lexArrayStart, lexArrayValue, lexObjectValue:
		return true
	}
	return false
}

func (lx *lexer) valueEnd() {
	switch lx.state {
	case lexArrayStart, lexArrayValue:
		lx.state = lexArrayComma
	case lexObjectValue:
		lx.state = lexObjectComma
	}
}

// stringEnd returns the end of the string literal at data[i] (a quote),
// or -1 when it is not one: unterminated, a control character, or an
// escape JSON does not have. Invalid UTF-8 is not an error (encoding/json
// reads it as U+FFFD).
func stringEnd(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			i++
			if i >= len(data) {
				return -1
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(data) {
					return -1
				}
				for _, h := range data[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return -1
					}
				}
				i += 4
			default:
				return -1
			}
		}
	}
	return -1
}

// numberEnd returns the end of the number literal at data[i], or -1: JSON's
// grammar, -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?. Whatever follows
// ends it; the next token says whether it may.
func numberEnd(data []byte, i int) int {
	digits := func(i int) int { // the end of a run of at least one digit, or -1
		j := i
		for j < len(data) && '0' <= data[j] && data[j] <= '9' {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
	if data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	default:
		if i = digits(i); i < 0 {
			return -1
		}
	}
	if i < len(data) && data[i] == '.' {
		if i = digits(i + 1); i < 0 {
			return -1
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i = digits(i); i < 0 {
			return -1
		}
	}
	return i
}

// literalEnd returns the end of lit at data[i], or -1 when it is not there.
func literalEnd(data []byte, i int, lit string) int {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}
