package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/go-chi/chi/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Every response of the HTTP tests is validated against the document's
// schema for its route and status with a maintained JSON Schema library
// (santhosh-tekuri/jsonschema, draft 2020-12, the dialect of OpenAPI
// 3.1, with formats asserted), which compiles the schemas straight out of
// the document by JSON pointer.

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

// TestSchemaValidator checks the validator itself, so that a lenient
// validator cannot make the suite pass: a good booking passes, each kind
// of departure fails, and a deliberately wrong schema (a document whose
// Booking says version is a string) fails a body the real one accepts.
func TestSchemaValidator(t *testing.T) {
	t.Parallel()
	good := `{"id":"b1","worker_id":"w1","service":"cleaning","urgency":"normal",
		"requested_at":"2026-11-23T08:00:00Z","deadline":"2026-11-24T08:00:00Z","rule":"normal_24h",
		"start":"2026-11-23T08:00:00Z","end":"2026-11-23T10:00:00Z",
		"arrival":"2026-11-23T08:00:00Z","status":"confirmed","version":1}`
	tests := []struct {
		name, body, want string // want: a part of the error, "" for none
	}{
		{"good", good, ""},
		{"extra", strings.Replace(good, `"id"`, `"owner":"x","id"`, 1), "owner"},
		{"missing", strings.Replace(good, `"status":"confirmed"`, `"customer_id":"c1"`, 1), "status"},
		{"enum", strings.Replace(good, `"confirmed"`, `"pending"`, 1), "/status"},
		{"type", strings.Replace(good, `"b1"`, `1`, 1), "/id"},
		{"date-time", strings.Replace(good, `"2026-11-23T10:00:00Z"`, `"10:00"`, 1), "/end"},
		{"nested", strings.Replace(good, `"status"`, `"window":{"start":"2026-11-23T08:00:00Z"},"status"`, 1), "/window"},
	}
	v := newValidator(t, api.OpenAPI())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.validate("#/components/schemas/Booking", mustJSON(t, tt.body))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("validate: %v, want no error", err)
			case tt.want != "" && err == nil:
				t.Errorf("validate passed, want an error on %s", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("validate: %v, want it to name %s", err, tt.want)
			}
		})
	}
	t.Run("wrong schema", func(t *testing.T) {
		var d map[string]any
		if err := json.Unmarshal(api.OpenAPI(), &d); err != nil {
			t.Fatal(err)
		}
		version := d["components"].(map[string]any)["schemas"].(map[string]any)["Booking"].(map[string]any)["properties"].(map[string]any)["version"].(map[string]any)
		version["type"] = "string"
		if err := newValidator(t, mustMarshal(t, d)).validate("#/components/schemas/Booking", mustJSON(t, good)); err == nil {
			t.Error("a body that departs from the (wrong) schema passed")
		}
	})
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
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
	body := mustJSON(t, string(r.Body))
	if err := docValidator(t).validate(schemaPointer(pattern, r.Method, r.Status, resp, mt), body); err != nil {
		t.Errorf("%s %s: %d body does not match the document: %v", r.Method, pattern, r.Status, err)
	}
}

// schemaPointer is the JSON pointer of the schema of a response: under
// the operation's responses, or under the components' responses when the
// operation refers to one (resp carries the name it was resolved from).
func schemaPointer(pattern, method string, status int, resp map[string]any, mt string) string {
	esc := strings.NewReplacer("~", "~0", "/", "~1").Replace
	base := "#/paths/" + esc(pattern) + "/" + strings.ToLower(method) + "/responses/" + strconv.Itoa(status)
	if from, ok := resp[resolvedFrom].(string); ok {
		base = from
	}
	return base + "/content/" + esc(mt) + "/schema"
}

// validator compiles the schemas of one OpenAPI document on demand and
// validates instances against them. It is safe for concurrent use.
type validator struct {
	mu       sync.Mutex
	compiler *jsonschema.Compiler
	schemas  map[string]*jsonschema.Schema
}

// docURL names the document for the compiler.
const docURL = "https://doorstep.dev/openapi.json"

func newValidator(t testing.TB, document []byte) *validator {
	t.Helper()
	d, err := jsonschema.UnmarshalJSON(bytes.NewReader(document))
	if err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(docURL, d); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return &validator{compiler: c, schemas: map[string]*jsonschema.Schema{}}
}

// validate validates v (decoded with UseNumber) against the schema at
// pointer ("#/components/schemas/Booking") of the document.
func (v *validator) validate(pointer string, inst any) error {
	v.mu.Lock()
	sch, ok := v.schemas[pointer]
	if !ok {
		var err error
		if sch, err = v.compiler.Compile(docURL + pointer); err != nil {
			v.mu.Unlock()
			return fmt.Errorf("compile %s: %w", pointer, err)
		}
		v.schemas[pointer] = sch
	}
	v.mu.Unlock()
	return sch.Validate(inst)
}

// docValidator is the validator of the served document.
var docValidator = func() func(t testing.TB) *validator {
	var once sync.Once
	var v *validator
	return func(t testing.TB) *validator {
		once.Do(func() { v = newValidator(t, api.OpenAPI()) })
		return v
	}
}()

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

// resolvedFrom is the key under which mustResolve notes the $ref it
// followed last, in a copy of the object it returns.
const resolvedFrom = "x-test-resolved-from"

func mustResolve(t testing.TB, d, v map[string]any) map[string]any {
	t.Helper()
	from := ""
	for {
		ref, ok := v["$ref"].(string)
		if !ok {
			break
		}
		var err error
		if v, err = resolve(d, ref); err != nil {
			t.Fatal(err)
		}
		from = ref
	}
	if from == "" {
		return v
	}
	out := make(map[string]any, len(v)+1)
	for k, e := range v {
		out[k] = e
	}
	out[resolvedFrom] = from
	return out
}

// TestOpenAPIMovesBound: the document bounds a booking's moves as the
// planner does (matcher.MaxRescueMoves).
func TestOpenAPIMovesBound(t *testing.T) {
	d := mustDoc(t)
	for _, schema := range []string{"Booking", "MatchResult"} {
		s := mustResolve(t, d, map[string]any{"$ref": "#/components/schemas/" + schema})
		moves, ok := s["properties"].(map[string]any)["moves"].(map[string]any)
		if !ok {
			t.Fatalf("schema %s has no moves", schema)
		}
		if got := moves["maxItems"]; fmt.Sprint(got) != strconv.Itoa(matcher.MaxRescueMoves) {
			t.Errorf("%s.moves maxItems = %v, want %d", schema, got, matcher.MaxRescueMoves)
		}
	}
	// A committed batch books what it could not place as a booking does.
	s := mustResolve(t, d, map[string]any{"$ref": "#/components/schemas/AssignResult"})
	placement := s["properties"].(map[string]any)["assignments"].(map[string]any)["items"].(map[string]any)
	moves, ok := placement["properties"].(map[string]any)["moves"].(map[string]any)
	if !ok {
		t.Fatal("AssignResult's assignments have no moves")
	}
	if got := moves["maxItems"]; fmt.Sprint(got) != strconv.Itoa(matcher.MaxRescueMoves) {
		t.Errorf("AssignResult.assignments.moves maxItems = %v, want %d", got, matcher.MaxRescueMoves)
	}
}
