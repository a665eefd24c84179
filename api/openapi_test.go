package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/go-chi/chi/v5"
	"github.com/google/go-cmp/cmp"
)

// The document is checked with a small hand-written shape checker rather
// than a full OpenAPI validator: the document uses a handful of JSON Schema
// keywords ($ref, oneOf, type, properties, required, additionalProperties,
// items, enum, propertyNames, format date-time), a checker of those is
// about a hundred lines, and the validators that cover all of OpenAPI 3.1 (kin-openapi,
// libopenapi, santhosh-tekuri/jsonschema) would add a dependency tree to the
// module for what those lines do.

// doc is the parsed OpenAPI document, with numbers kept as json.Number.
var doc = sync.OnceValues(func() (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(api.OpenAPI()))
	dec.UseNumber()
	var d map[string]any
	if err := dec.Decode(&d); err != nil {
		return nil, err
	}
	return d, nil
})

func mustDoc(t testing.TB) map[string]any {
	t.Helper()
	d, err := doc()
	if err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	return d
}

// httpMethods are the operation keys of an OpenAPI path item.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func TestOpenAPIIsJSON31(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, api.OpenAPI()) {
		t.Error("api.OpenAPI() differs from openapi.json")
	}
	if !json.Valid(data) {
		t.Fatal("openapi.json is not valid JSON")
	}
	d := mustDoc(t)
	if v, _ := d["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	for _, k := range []string{"info", "paths", "components"} {
		if _, ok := d[k].(map[string]any); !ok {
			t.Errorf("document lacks %q", k)
		}
	}
	// Every $ref resolves.
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok {
				if _, err := resolve(d, r); err != nil {
					t.Errorf("%s: %v", path, err)
				}
			}
			for k, e := range v {
				walk(path+"/"+k, e)
			}
		case []any:
			for i, e := range v {
				walk(path+"/"+strconv.Itoa(i), e)
			}
		}
	}
	walk("#", d)
	// Every operation has an id, roles and responses; ids are unique.
	ids := map[string]string{}
	for path, item := range d["paths"].(map[string]any) {
		for _, m := range httpMethods {
			o, ok := item.(map[string]any)[m].(map[string]any)
			if !ok {
				continue
			}
			where := strings.ToUpper(m) + " " + path
			id, _ := o["operationId"].(string)
			if id == "" {
				t.Errorf("%s: no operationId", where)
			} else if prev, dup := ids[id]; dup {
				t.Errorf("%s: operationId %q also used by %s", where, id, prev)
			}
			ids[id] = where
			if _, ok := o["x-roles"].([]any); !ok {
				t.Errorf("%s: no x-roles", where)
			}
			if rs, _ := o["responses"].(map[string]any); len(rs) == 0 {
				t.Errorf("%s: no responses", where)
			}
		}
	}
}

// TestOpenAPIMatchesRouter checks that every route the router serves is
// documented and every documented operation is routed. (TestRoles checks
// the documented x-roles against what the router enforces.)
func TestOpenAPIMatchesRouter(t *testing.T) {
	t.Parallel()
	srv := newHarness(t, allKeys).Server
	var routed []string
	err := chi.Walk(srv.Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routed = append(routed, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, item := range mustDoc(t)["paths"].(map[string]any) {
		for _, m := range httpMethods {
			if _, ok := item.(map[string]any)[m]; ok {
				documented = append(documented, strings.ToUpper(m)+" "+path)
			}
		}
	}
	sort.Strings(routed)
	sort.Strings(documented)
	if diff := cmp.Diff(routed, documented); diff != "" {
		t.Errorf("routes (-routed +documented):\n%s", diff)
	}
}

// TestOpenAPIServed checks that /openapi.json serves the document to any
// key (every route but the probes needs one).
func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	r := h.do(t, http.MethodGet, "/openapi.json", keyBooking, nil)
	wantStatus(t, r, http.StatusOK)
	if mt := mediaType(r); mt != "application/json" {
		t.Errorf("Content-Type %q, want application/json", mt)
	}
	if !bytes.Equal(r.Body, api.OpenAPI()) {
		t.Error("served document differs from api.OpenAPI()")
	}
}

// TestShapeChecker checks the checker itself, so that a lenient checker
// cannot make the suite pass.
func TestShapeChecker(t *testing.T) {
	t.Parallel()
	d := mustDoc(t)
	good := `{"id":"b1","worker_id":"w1","service":"cleaning","urgency":"normal",
		"requested_at":"2026-11-23T08:00:00Z","deadline":"2026-11-24T08:00:00Z",
		"start":"2026-11-23T08:00:00Z","end":"2026-11-23T10:00:00Z",
		"arrival":"2026-11-23T08:00:00Z","status":"confirmed","version":1}`
	tests := []struct {
		name, body, want string
	}{
		{"good", good, ""},
		{"extra", strings.Replace(good, `"id"`, `"owner":"x","id"`, 1), "owner: not documented"},
		{"missing", strings.Replace(good, `"status":"confirmed"`, `"customer_id":"c1"`, 1), "status: required"},
		{"enum", strings.Replace(good, `"confirmed"`, `"pending"`, 1), "status: \"pending\" not in enum"},
		{"type", strings.Replace(good, `"b1"`, `1`, 1), "id: number, want string"},
		{"date-time", strings.Replace(good, `"2026-11-23T10:00:00Z"`, `"10:00"`, 1), "end: not an RFC 3339 date-time"},
		{"nested", strings.Replace(good, `"status"`, `"window":{"start":"2026-11-23T08:00:00Z"},"status"`, 1), "window.end: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := checkShape(d, map[string]any{"$ref": "#/components/schemas/Booking"}, mustJSON(t, tt.body), "")
			got := strings.Join(errs, "; ")
			if got != tt.want {
				t.Errorf("checkShape = %q, want %q", got, tt.want)
			}
		})
	}
}

func mustJSON(t testing.TB, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("parse %s: %v", s, err)
	}
	return v
}

// checkDocumented checks r against the document: the operation of its
// route and method is documented, with r's status, content type and body
// shape. Answers of no route (404, 405) are the router's own and only
// problems.
func checkDocumented(t testing.TB, srv *api.Server, r *response) {
	t.Helper()
	d := mustDoc(t)
	path, _, _ := strings.Cut(r.Path, "?")
	pattern := srv.Routes().Find(chi.NewRouteContext(), r.Method, path)
	if pattern == "" {
		return
	}
	item, _ := d["paths"].(map[string]any)[pattern].(map[string]any)
	op, _ := item[strings.ToLower(r.Method)].(map[string]any)
	if op == nil {
		t.Errorf("%s %s: operation is not documented", r.Method, pattern)
		return
	}
	resp, _ := op["responses"].(map[string]any)[strconv.Itoa(r.Status)].(map[string]any)
	if resp == nil {
		t.Errorf("%s %s: status %d is not documented; body %s", r.Method, pattern, r.Status, r.Body)
		return
	}
	resp = mustResolve(t, d, resp)
	content, _ := resp["content"].(map[string]any)
	if len(content) == 0 {
		if len(r.Body) != 0 {
			t.Errorf("%s %s: %d documented without content, got %q", r.Method, pattern, r.Status, r.Body)
		}
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	media, _ := content[mt].(map[string]any)
	if media == nil {
		t.Errorf("%s %s: %d with Content-Type %q; documented: %v", r.Method, pattern, r.Status, mt, keys(content))
		return
	}
	for name := range mustResolveMap(resp["headers"]) {
		if name == "Idempotent-Replayed" || name == "Retry-After" || name == "WWW-Authenticate" {
			continue // conditional: checked by the tests that cause them
		}
		if r.Header.Get(name) == "" {
			t.Errorf("%s %s: %d lacks documented header %s", r.Method, pattern, r.Status, name)
		}
	}
	if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return
	}
	schema, _ := media["schema"].(map[string]any)
	body := mustJSON(t, string(r.Body))
	for _, e := range checkShape(d, schema, body, "") {
		t.Errorf("%s %s: %d body does not match the document: %s", r.Method, pattern, r.Status, e)
	}
}

func mustResolveMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func keys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// resolve follows a local $ref ("#/components/schemas/Booking").
func resolve(d map[string]any, ref string) (map[string]any, error) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("$ref %q is not local", ref)
	}
	var cur any = d
	for _, part := range strings.Split(rest, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q: %q is not an object", ref, part)
		}
		if cur, ok = m[part]; !ok {
			return nil, fmt.Errorf("$ref %q: no %q", ref, part)
		}
	}
	m, ok := cur.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("$ref %q is not an object", ref)
	}
	return m, nil
}

func mustResolve(t testing.TB, d, v map[string]any) map[string]any {
	t.Helper()
	for {
		ref, ok := v["$ref"].(string)
		if !ok {
			return v
		}
		var err error
		if v, err = resolve(d, ref); err != nil {
			t.Fatal(err)
		}
	}
}

// checkShape reports where v departs from schema: JSON types, required and
// undocumented properties, enums, items, map values and date-times. path
// prefixes the places it names.
func checkShape(d, schema map[string]any, v any, path string) []string {
	for {
		ref, ok := schema["$ref"].(string)
		if !ok {
			break
		}
		s, err := resolve(d, ref)
		if err != nil {
			return []string{path + ": " + err.Error()}
		}
		schema = s
	}
	at := func(format string, args ...any) []string {
		p := path
		if p == "" {
			p = "(root)"
		}
		return []string{p + ": " + fmt.Sprintf(format, args...)}
	}
	if alts, ok := schema["oneOf"].([]any); ok {
		var matched []int
		var why []string
		for i, a := range alts {
			errs := checkShape(d, a.(map[string]any), v, path)
			if len(errs) == 0 {
				matched = append(matched, i)
			}
			why = append(why, errs...)
		}
		if len(matched) != 1 {
			return at("matches oneOf alternatives %v, want exactly one (%s)", matched, strings.Join(why, "; "))
		}
		return nil
	}
	got := jsonType(v)
	if types := schemaTypes(schema["type"]); len(types) > 0 && !slices.Contains(types, got) &&
		!(got == "integer" && slices.Contains(types, "number")) {
		return at("%s, want %s", strings.Replace(got, "integer", "number", 1), strings.Join(types, " or "))
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		return at("%q not in enum", fmt.Sprint(v))
	}
	if schema["format"] == "date-time" {
		if s, ok := v.(string); ok {
			if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
				return at("not an RFC 3339 date-time")
			}
		}
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	var errs []string
	switch v := v.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		for _, k := range keys(v) {
			if ps, ok := props[k].(map[string]any); ok {
				errs = append(errs, checkShape(d, ps, v[k], join(k))...)
				continue
			}
			if names, ok := schema["propertyNames"].(map[string]any); ok {
				errs = append(errs, checkShape(d, names, k, join(k))...)
			}
			switch ap := schema["additionalProperties"].(type) {
			case bool:
				if !ap {
					errs = append(errs, join(k)+": not documented")
				}
			case map[string]any:
				errs = append(errs, checkShape(d, ap, v[k], join(k))...)
			}
		}
		req, _ := schema["required"].([]any)
		for _, k := range req {
			if _, ok := v[k.(string)]; !ok {
				errs = append(errs, join(k.(string))+": required")
			}
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, e := range v {
				errs = append(errs, checkShape(d, items, e, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	}
	return errs
}

func schemaTypes(t any) []string {
	switch t := t.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, e := range t {
			out = append(out, e.(string))
		}
		return out
	}
	return nil
}

// jsonType is the JSON Schema type of a value decoded with UseNumber.
func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number:
		if _, err := v.Int64(); err == nil {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// TestOpenAPIMovesBound: the document bounds a booking's moves as the
// planner does (matcher.MaxRescueMoves).
func TestOpenAPIMovesBound(t *testing.T) {
	d := mustDoc(t)
	for _, schema := range []string{"Booking", "MatchResponse"} {
		s := mustResolve(t, d, map[string]any{"$ref": "#/components/schemas/" + schema})
		moves, ok := s["properties"].(map[string]any)["moves"].(map[string]any)
		if !ok {
			t.Fatalf("schema %s has no moves", schema)
		}
		if got := moves["maxItems"]; fmt.Sprint(got) != strconv.Itoa(matcher.MaxRescueMoves) {
			t.Errorf("%s.moves maxItems = %v, want %d", schema, got, matcher.MaxRescueMoves)
		}
	}
}
