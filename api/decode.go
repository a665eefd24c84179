package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
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
	sc := scanner{lx: lexer{data: body}, path: make([]step, 0, 8)}
	if err := sc.walk(t); !errors.Is(err, errSyntax) {
		return err
	}
	return nil
}

// scanner is scan's walk over a body's tokens. It lives on the stack of
// scan, so that a scan allocates its path, its errors, the names of a
// map's keys and the set of a value with a form of keys, and nothing else
// (json.Decoder.Token allocated for every token).
type scanner struct {
	lx lexer
	// path is where the walk is: one step a key or element, path[:depth-1]
	// the value being walked (spelt only when an error names it).
	path  []step
	depth int
}

// step is a key of an object, or the index-th element of an array.
type step struct {
	key   token
	index int
	elem  bool
}

// walk checks the value that comes next, of Go type t, at the path of
// the steps taken.
func (sc *scanner) walk(t reflect.Type) error {
	if sc.depth++; sc.depth > maxDepth {
		return doorstep.Errorf(doorstep.EINVALID, sc.at(), "nested more than %d deep", maxDepth)
	}
	defer func() { sc.depth-- }()
	tok, ok := sc.lx.next()
	if !ok {
		return errSyntax
	}
	optional := t != nil && t.Kind() == reflect.Pointer
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		return checkTime(sc, tok, optional)
	}
	t = wireType(t)
	if len(sc.path) < sc.depth {
		sc.path = append(sc.path, step{})
	}
	inner := &sc.path[sc.depth-1] // the step to each key or element
	switch {
	case tok.kind == tokDelim && tok.delim == '{':
		var seen seenKeys
		keys := membersOf(t)
		for sc.lx.more() {
			kt, ok := sc.lx.next()
			if !ok || kt.kind != tokString {
				return errSyntax
			}
			*inner = step{key: kt}
			name, i, ft, known := keys.lookup(kt)
			if !known {
				return doorstep.Errorf(doorstep.EINVALID, sc.within(), "unknown field")
			}
			if !seen.add(name, i) {
				return doorstep.Errorf(doorstep.EINVALID, sc.within(), "duplicate key")
			}
			if err := sc.walk(ft); err != nil {
				return err
			}
		}
		if c, ok := keyCheckerOf(t); ok {
			got := seen // a copy: only a value with a form of keys pays for the func
			has := func(k string) bool { return got.has(keys, k) }
			if err := c.CheckKeys(sc.at(), has); err != nil {
				return err
			}
		}
	case tok.kind == tokDelim && tok.delim == '[':
		if _, ok := keyCheckerOf(t); ok {
			return doorstep.Errorf(doorstep.EINVALID, sc.at(), "must be a JSON object")
		}
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		for i := 0; sc.lx.more(); i++ {
			*inner = step{index: i, elem: true}
			if err := sc.walk(et); err != nil {
				return err
			}
		}
	default:
		return checkKind(sc, tok, t)
	}
	if _, ok := sc.lx.next(); !ok {
		return errSyntax
	}
	return nil
}

// at spells the path of the value being walked ("shifts[0].breaks[1].start";
// "" for the body itself).
func (sc *scanner) at() string { return spell(sc.path[:sc.depth-1]) }

// within spells the path of the key or element being read in it.
func (sc *scanner) within() string { return spell(sc.path[:sc.depth]) }

func spell(steps []step) string {
	var b strings.Builder
	for _, st := range steps {
		switch {
		case st.elem:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(st.index))
			b.WriteByte(']')
		case b.Len() > 0:
			b.WriteByte('.')
			fallthrough
		default:
			b.Write(st.key.text())
		}
	}
	return b.String()
}

// seenKeys is the set of an object's keys read so far: a struct's by
// their fields' places (the first 64; its members' names), any other's by
// name.
type seenKeys struct {
	fields uint64
	names  map[string]bool
}

// add adds the key members.lookup named name, the field at place i (-1
// for none), false when it was there.
func (s *seenKeys) add(name string, i int) bool {
	if 0 <= i && i < 64 {
		had := s.fields&(1<<i) != 0
		s.fields |= 1 << i
		return !had
	}
	if s.names[name] {
		return false
	}
	if s.names == nil {
		s.names = map[string]bool{}
	}
	s.names[name] = true
	return true
}

// has reports whether key name of object m was read.
func (s *seenKeys) has(m members, name string) bool {
	for i, f := range m.fields {
		if f.name == name && i < 64 {
			return s.fields&(1<<i) != 0
		}
	}
	return s.names[name]
}

// checkKind reports a scalar of the wrong JSON kind for Go type t, naming
// the field with its indices ("shifts[0].breaks[1].minutes"), where
// encoding/json would name it without them. Types that decode themselves,
// and null, are left to the decoder.
func checkKind(sc *scanner, tok token, t reflect.Type) error {
	if _, ok := keyCheckerOf(t); ok {
		// A value with a form of keys (a break) is an object, never null.
		return doorstep.Errorf(doorstep.EINVALID, sc.at(), "must be a JSON object")
	}
	if t == nil || tok.kind == tokNull || reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return nil
	}
	var want tokKind
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		want = tokNumber
	case reflect.String:
		want = tokString
	case reflect.Bool:
		want = tokBool
	default:
		return nil
	}
	if tok.kind != want {
		return doorstep.Errorf(doorstep.EINVALID, sc.at(), "must be a JSON %s", t.Kind())
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
	return formOf(t).wire
}

// keyCheckerOf returns t's keyChecker when t has one.
func keyCheckerOf(t reflect.Type) (keyChecker, bool) {
	if t == nil || t.Kind() != reflect.Struct {
		return nil, false
	}
	c := formOf(t).checker
	return c, c != nil
}

// structForm is what scan asks of a struct type: its wire form's type
// (itself when it has none) and its keyChecker.
type structForm struct {
	wire    reflect.Type
	checker keyChecker
}

// structForms caches formOf (read only once made): asking a type's zero
// value boxes one, and every object of every body asks.
var structForms sync.Map // reflect.Type -> structForm

// formOf is t's structForm; t is a struct type.
func formOf(t reflect.Type) structForm {
	if f, ok := structForms.Load(t); ok {
		return f.(structForm)
	}
	f := structForm{wire: t}
	z := reflect.Zero(t).Interface()
	if w, ok := z.(wireFormer); ok {
		f.wire = reflect.TypeOf(w.WireForm())
	}
	f.checker, _ = z.(keyChecker)
	structForms.Store(t, f)
	return f
}

// checkTime checks the JSON value of a time field. null is the absence of
// an optional time (a pointer); a time that is not optional would silently
// be Go's zero time, 0001-01-01.
func checkTime(sc *scanner, tok token, optional bool) error {
	const want = "an RFC 3339 time with a UTC offset, such as 2026-11-23T09:00:00Z or 2026-11-23T10:00:00+01:00"
	switch tok.kind {
	case tokNull:
		if !optional {
			return doorstep.Errorf(doorstep.EINVALID, sc.at(), "must be %s, not null", want)
		}
		return nil
	case tokString:
		var t time.Time
		if err := t.UnmarshalText(tok.text()); err != nil {
			return doorstep.Errorf(doorstep.EINVALID, sc.at(), "not %s", want)
		}
		if doorstep.CheckTime("", t) != nil {
			return doorstep.CheckTime(sc.at(), t) // the path spelt only for the error
		}
		return nil
	}
	return doorstep.Errorf(doorstep.EINVALID, sc.at(), "must be %s, as a string", want)
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

// lookup returns the name under which encoding/json stores key (its
// text, k), the field's place i and its type: for a struct the field of
// exactly that name, else one that differs in case only; known is false
// when the struct has no such field (decode refuses unknown fields). For a
// map it is k, -1 and the element type; for a value of unknown type
// (inside an unknown field, or any) it is k, -1 and nil.
func (m members) lookup(key token) (name string, i int, t reflect.Type, known bool) {
	k := key.text()
	switch {
	case m.t == nil:
		return string(k), -1, nil, true
	case m.t.Kind() == reflect.Map:
		return string(k), -1, m.t.Elem(), true
	case m.t.Kind() != reflect.Struct:
		return string(k), -1, nil, true
	}
	fold := -1
	for i, f := range m.fields {
		if string(k) == f.name {
			return f.name, i, f.t, true
		}
		if fold < 0 && bytes.EqualFold(k, []byte(f.name)) {
			fold = i
		}
	}
	if fold >= 0 {
		return m.fields[fold].name, fold, m.fields[fold].t, true
	}
	return string(k), -1, nil, false
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
