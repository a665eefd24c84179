package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/doorstep-dev/doorstep"
)

// MaxBodyBytes bounds every request body.
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
		return nil, doorstep.Errorf(doorstep.EINVALID, "", "read body: %v", err)
	}
	if len(body) > MaxBodyBytes {
		return nil, doorstep.Errorf(doorstep.ETOOLARGE, "", "body exceeds %d bytes", MaxBodyBytes)
	}
	return body, nil
}

// decodeBytes is decode's JSON part, separate so it can be fuzzed.
func decodeBytes(body []byte, v any) error {
	if err := checkDuplicateKeys(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, v)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return doorstep.Errorf(doorstep.EINVALID, "", "unexpected data after the JSON value")
	}
	return nil
}

// jsonError turns an encoding/json error into an *doorstep.Error naming
// the field.
func jsonError(err error, v any) error {
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	var fe *doorstep.Error
	switch {
	case errors.As(err, &fe):
		return fe
	case errors.As(err, &ute):
		return doorstep.Errorf(doorstep.EINVALID, wirePath(v, ute.Field), "must be a JSON %s", ute.Type.Kind())
	case errors.As(err, &se):
		return doorstep.Errorf(doorstep.EINVALID, "", "malformed JSON at byte %d", se.Offset)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return doorstep.Errorf(doorstep.EINVALID, "", "body is empty or truncated")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return doorstep.Errorf(doorstep.EINVALID, name, "unknown field")
	}
	// Time fields fail with a *time.ParseError wrapped in a message that
	// names no field; say what the format is.
	return doorstep.Errorf(doorstep.EINVALID, "", "invalid JSON value: %s (times are RFC 3339)", strings.TrimPrefix(err.Error(), "json: "))
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

// errSyntax stops checkDuplicateKeys at malformed JSON, which the real
// decode then reports. It must stop the whole walk: after an error
// json.Decoder.More may keep answering true while Token keeps failing
// without consuming anything ("[1 2]" looped forever).
var errSyntax = errors.New("malformed JSON")

// checkDuplicateKeys rejects an object with the same key twice, at any
// depth: encoding/json would silently keep the last, and a booking system
// that sent two different values deserves to hear which one it got. It also
// rejects nesting deeper than maxDepth.
func checkDuplicateKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	depth := 0
	var walk func(path string) error
	walk = func(path string) error {
		if depth++; depth > maxDepth {
			return doorstep.Errorf(doorstep.EINVALID, path, "nested more than %d deep", maxDepth)
		}
		defer func() { depth-- }()
		tok, err := dec.Token()
		if err != nil {
			return errSyntax
		}
		d, ok := tok.(json.Delim)
		if !ok {
			return nil
		}
		switch d {
		case '{':
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return errSyntax
				}
				k, _ := kt.(string)
				field := k
				if path != "" {
					field = path + "." + k
				}
				if seen[k] {
					return doorstep.Errorf(doorstep.EINVALID, field, "duplicate key")
				}
				seen[k] = true
				if err := walk(field); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return errSyntax
			}
		case '[':
			for i := 0; dec.More(); i++ {
				if err := walk(fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return errSyntax
			}
		}
		return nil
	}
	if err := walk(""); !errors.Is(err, errSyntax) {
		return err
	}
	return nil
}
