package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/doorstep-dev/doorstep"
)

// MaxBodyBytes bounds every request body but an import's (MaxImportBytes).
const MaxBodyBytes = 1 << 20

// decode reads r's JSON body into v strictly: the content type must be JSON,
// the body at most MaxBodyBytes, with no unknown fields, no duplicate keys
// and nothing after the value. Errors are *doorstep.Error naming the field
// where there is one.
func decode(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	return decodeBytes(body, v)
}

// readBody checks the content type and reads at most MaxBodyBytes.
func readBody(r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, doorstep.Errorf(doorstep.EUNSUPPORTEDMT, "", "content type must be application/json")
		}
	} else {
		return nil, doorstep.Errorf(doorstep.EUNSUPPORTEDMT, "", "content type must be application/json")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, doorstep.Errorf(doorstep.EINVALID, fieldBody, "read body: %v", err)
	}
	if len(body) > MaxBodyBytes {
		return nil, doorstep.Errorf(doorstep.ETOOLARGE, "", "body exceeds %d bytes", MaxBodyBytes)
	}
	return body, nil
}

// decodeBytes is decode's JSON part, separate so it can be fuzzed.
func decodeBytes(body []byte, v any) error {
	if err := scan(body, reflect.TypeOf(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, v)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return doorstep.Errorf(doorstep.EINVALID, fieldBody, "unexpected data after the JSON value")
	}
	return nil
}

// fieldBody is the field of a problem with the body as a whole (malformed
// or empty JSON, data after the value, a value of the wrong kind): every
// 400 names a field, so that a client can always tell what to fix.
const fieldBody = "body"

// jsonError turns an encoding/json error into an *doorstep.Error naming
// the field, or fieldBody when the error is not about one field.
func jsonError(err error, v any) error {
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	var fe *doorstep.Error
	switch {
	case errors.As(err, &fe):
		return fe
	case errors.As(err, &ute) && ute.Field != "":
		return doorstep.Errorf(doorstep.EINVALID, wirePath(v, ute.Field), "must be a JSON %s", ute.Type.Kind())
	case errors.As(err, &ute):
		return doorstep.Errorf(doorstep.EINVALID, fieldBody, "the body must be a JSON object")
	case errors.As(err, &se):
		return doorstep.Errorf(doorstep.EINVALID, fieldBody, "malformed JSON at byte %d", se.Offset)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return doorstep.Errorf(doorstep.EINVALID, fieldBody, "body is empty or truncated")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return doorstep.Errorf(doorstep.EINVALID, name, "unknown field")
	}
	// scan has checked every time field, so this is not expected; say
	// what the format is anyway.
	return doorstep.Errorf(doorstep.EINVALID, fieldBody, "invalid JSON value: %s (times are RFC 3339)", strings.TrimPrefix(err.Error(), "json: "))
}

// wirePath drops from an UnmarshalTypeError's Field the names of the
// structs embedded in v ("requestBody.location.lat"), which encoding/json
// includes although they are not on the wire.
func wirePath(v any, field string) string {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return field
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if rest, ok := strings.CutPrefix(field, f.Name+"."); ok && f.Anonymous && f.Tag.Get("json") == "" {
			return wirePath(reflect.New(f.Type).Interface(), rest)
		}
	}
	return field
}

// maxDepth bounds the nesting of a body's arrays and objects. Doorstep's
// bodies nest four deep; json.Decoder.Token, unlike Decode, has no bound of
// its own, so without this a 1 MiB body of "[" would recurse a million
// frames deep (seconds of CPU and over 100 MB of stack per request).
const maxDepth = 32

// errSyntax stops scan at malformed JSON, which the real decode then
// reports. It must stop the whole walk: after an error json.Decoder.More
// may keep answering true while Token keeps failing without consuming
// anything ("[1 2]" looped forever).
var errSyntax = errors.New("malformed JSON")

// timeType is the type scan checks the values of.
var timeType = reflect.TypeFor[time.Time]()

// scan walks body's JSON alongside the Go type t it is about to be decoded
// into, and rejects, naming the field, what encoding/json would take
// silently or report without a field:
//
//   - an object with the same key twice, at any depth: encoding/json would
//     keep the last, and a booking system that sent two different values
//     deserves to hear which one it got (keys are compared as encoding/json
//     matches them, ignoring case, where t knows the field);
//   - a key the type has no field for, with its whole path
//     ("location.address"; encoding/json names the key alone);
//   - nesting deeper than maxDepth;
//   - a time that is not an RFC 3339 string with a UTC offset (encoding/json
//     reports "month out of range" and the like without saying where), or
//     one outside the times Doorstep accepts (doorstep.CheckTime), or null
//     where the time is not optional (it would read as 0001-01-01).
//
// Malformed JSON ends the walk without an error: the decode reports it.
func scan(body []byte, t reflect.Type) error {
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
			return checkTimeToken(path, tok, optional)
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
				name, ft, known := keys.lookup(k)
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
			return checkKind(path, tok, t)
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

// checkKind reports a scalar of the wrong JSON kind for Go type t, naming
// the field with its indices ("shifts[0].breaks[1].minutes"), where
// encoding/json would name it without them. Types that decode themselves,
// and null, are left to the decoder.
func checkKind(path string, tok json.Token, t reflect.Type) error {
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

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// wireFormer is a type written in the form of another type (doorstep.Break
// as a doorstep.BreakJSON): scan walks a body's value of it as that form.
type wireFormer interface{ WireForm() any }

// keyChecker is a wire form that says which combinations of its keys make
// a value (a break is fixed or flexible, never both), naming the field.
type keyChecker interface {
	CheckKeys(path string, has func(key string) bool) error
}

// wireType is the type whose shape t's JSON has.
func wireType(t reflect.Type) reflect.Type {
	if t == nil || t.Kind() != reflect.Struct {
		return t
	}
	if f, ok := reflect.Zero(t).Interface().(wireFormer); ok {
		return reflect.TypeOf(f.WireForm())
	}
	return t
}

// keyCheckerOf returns t's keyChecker when t has one.
func keyCheckerOf(t reflect.Type) (keyChecker, bool) {
	if t == nil || t.Kind() != reflect.Struct {
		return nil, false
	}
	c, ok := reflect.Zero(t).Interface().(keyChecker)
	return c, ok
}

// checkTimeToken checks the JSON value of a time field, as a token. null
// is the absence of an optional time (a pointer); a time that is not
// optional would silently be Go's zero time, 0001-01-01.
func checkTimeToken(path string, tok json.Token, optional bool) error {
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

// members are the keys of a JSON object as encoding/json decodes them into
// Go type t.
type members struct {
	t      reflect.Type
	fields []jsonField // when t is a struct
}

type jsonField struct {
	name string
	t    reflect.Type
}

// structMembers caches membersOf of struct types (read only once made):
// every request body walks them.
var structMembers sync.Map // reflect.Type -> members

// membersOf lists the keys of t, once per object rather than per key.
func membersOf(t reflect.Type) members {
	m := members{t: t}
	if t == nil || t.Kind() != reflect.Struct {
		return m
	}
	if cached, ok := structMembers.Load(t); ok {
		return cached.(members)
	}
	defer func() { structMembers.Store(t, m) }()
	for _, f := range reflect.VisibleFields(t) {
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" || (f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct) {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		m.fields = append(m.fields, jsonField{name, f.Type})
	}
	return m
}

// lookup returns the name under which encoding/json stores key k, and
// its type: for a struct the field of exactly that name, else one that
// differs in case only; known is false when the struct has no such field
// (decode refuses unknown fields). For a map it is k and the element type;
// for a value of unknown type (inside an unknown field, or any) it is k
// and nil.
func (m members) lookup(k string) (name string, t reflect.Type, known bool) {
	switch {
	case m.t == nil:
		return k, nil, true
	case m.t.Kind() == reflect.Map:
		return k, m.t.Elem(), true
	case m.t.Kind() != reflect.Struct:
		return k, nil, true
	}
	var fold *jsonField
	for i, f := range m.fields {
		if f.name == k {
			return f.name, f.t, true
		}
		if fold == nil && strings.EqualFold(f.name, k) {
			fold = &m.fields[i]
		}
	}
	if fold != nil {
		return fold.name, fold.t, true
	}
	return k, nil, false
}

// queryLimit reads the ?limit= of a listing: def when absent, else a whole
// number in [1, maxLimit], or a 400 naming "limit".
func queryLimit(r *http.Request, def, maxLimit int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLimit {
		return 0, doorstep.Errorf(doorstep.EINVALID, "limit", "limit must be a whole number in [1, %d]", maxLimit)
	}
	return n, nil
}
