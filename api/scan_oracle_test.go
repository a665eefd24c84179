package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/doorstep-dev/doorstep"
)

// scanByTokens is scan as it was written on json.Decoder.Token, before the
// lexer: the oracle the lexer's scan must agree with on every body
// (TestScanAgreesWithTokens, FuzzScan).
func scanByTokens(body []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	depth := 0
	var walk func(path string, t reflect.Type) error
	walk = func(path string, t reflect.Type) error {
		if depth++; depth > maxDepth {
			return doorstep.Errorf(doorstep.EINVALID, path, "nested more than %d deep", maxDepth)
		}
		defer func() { depth-- }()
		tok, err := dec.Token()
		if err != nil {
			return errSyntax
		}
		optional := t != nil && t.Kind() == reflect.Pointer
		for t != nil && t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t == timeType {
			return oracleTimeToken(path, tok, optional)
		}
		t = wireType(t)
		switch tok {
		case json.Delim('{'):
			seen, keys := map[string]bool{}, membersOf(t)
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return errSyntax
				}
				k, _ := kt.(string)
				lit, _ := json.Marshal(k)
				name, _, ft, known := keys.lookup(token{kind: tokString, raw: lit})
				field := k
				if path != "" {
					field = path + "." + k
				}
				if !known {
					return doorstep.Errorf(doorstep.EINVALID, field, "unknown field")
				}
				if seen[name] {
					return doorstep.Errorf(doorstep.EINVALID, field, "duplicate key")
				}
				seen[name] = true
				if err := walk(field, ft); err != nil {
					return err
				}
			}
			if c, ok := keyCheckerOf(t); ok {
				if err := c.CheckKeys(path, func(k string) bool { return seen[k] }); err != nil {
					return err
				}
			}
		case json.Delim('['):
			if _, ok := keyCheckerOf(t); ok {
				return doorstep.Errorf(doorstep.EINVALID, path, "must be a JSON object")
			}
			var et reflect.Type
			if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
				et = t.Elem()
			}
			for i := 0; dec.More(); i++ {
				if err := walk(fmt.Sprintf("%s[%d]", path, i), et); err != nil {
					return err
				}
			}
		default:
			return oracleKind(path, tok, t)
		}
		if _, err := dec.Token(); err != nil {
			return errSyntax
		}
		return nil
	}
	if err := walk("", t); !errors.Is(err, errSyntax) {
		return err
	}
	return nil
}

// oracleKind is checkKind on a json.Token: it reports a scalar of the wrong JSON kind for Go type t, naming
// the field with its indices ("shifts[0].breaks[1].minutes"), where
// encoding/json would name it without them. Types that decode themselves,
// and null, are left to the decoder.
func oracleKind(path string, tok json.Token, t reflect.Type) error {
	if _, ok := keyCheckerOf(t); ok {
		// A value with a form of keys (a break) is an object, never null.
		return doorstep.Errorf(doorstep.EINVALID, path, "must be a JSON object")
	}
	if t == nil || tok == nil || reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return nil
	}
	var ok bool
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		_, ok = tok.(json.Number)
	case reflect.String:
		_, ok = tok.(string)
	case reflect.Bool:
		_, ok = tok.(bool)
	default:
		return nil
	}
	if !ok {
		return doorstep.Errorf(doorstep.EINVALID, path, "must be a JSON %s", t.Kind())
	}
	return nil
}

// oracleTimeToken is checkTime on a json.Token: it checks the JSON value of a time field, as a token. null
// is the absence of an optional time (a pointer); a time that is not
// optional would silently be Go's zero time, 0001-01-01.
func oracleTimeToken(path string, tok json.Token, optional bool) error {
	const want = "an RFC 3339 time with a UTC offset, such as 2026-11-23T09:00:00Z or 2026-11-23T10:00:00+01:00"
	switch v := tok.(type) {
	case nil:
		if !optional {
			return doorstep.Errorf(doorstep.EINVALID, path, "must be %s, not null", want)
		}
		return nil
	case string:
		var t time.Time
		if err := t.UnmarshalText([]byte(v)); err != nil {
			return doorstep.Errorf(doorstep.EINVALID, path, "not %s", want)
		}
		return doorstep.CheckTime(path, t)
	}
	return doorstep.Errorf(doorstep.EINVALID, path, "must be %s, as a string", want)
}
