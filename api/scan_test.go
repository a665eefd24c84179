package api

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/sim"
)

// scanTypes are the types the API decodes bodies into, and scanKitchen,
// which has what they do not.
var scanTypes = []reflect.Type{
	reflect.TypeFor[*requestBody](), reflect.TypeFor[*bookBody](), reflect.TypeFor[*rescheduleBody](),
	reflect.TypeFor[*assignBody](), reflect.TypeFor[*slotsBody](), reflect.TypeFor[*progressBody](),
	reflect.TypeFor[*feedbackBody](), reflect.TypeFor[*webhookBody](), reflect.TypeFor[*absenceBody](),
	reflect.TypeFor[*locationBody](), reflect.TypeFor[*doorstep.Worker](), reflect.TypeFor[*sim.Scenario](),
	reflect.TypeFor[*scanKitchen](),
}

// scanKitchen has a map, an any, a bool, a fixed array, optional and
// required times, an upper-case key and breaks (a value with a form of
// keys) inside maps.
type scanKitchen struct {
	requestBody
	Tags    map[string]int                `json:"tags"`
	Any     any                           `json:"any"`
	Flag    bool                          `json:"flag"`
	Pair    [2]float64                    `json:"pair"`
	When    *time.Time                    `json:"when"`
	At      time.Time                     `json:"at"`
	CaseKey string                        `json:"CaseKey"`
	Nested  []map[string][]doorstep.Break `json:"nested"`
}

// scanSeeds are bodies the mutations start from.
func scanSeeds() []string {
	seeds := append([]string(nil), RequestSeeds...)
	for _, b := range decodeBodies {
		seeds = append(seeds, b.body)
	}
	return append(seeds,
		`{"serv\u0069ce":"cleaning","SERVICE":"x","Urgency":"urgent","location":{"LAT":1,"lng":2}}`,
		`{"service":"\u00e9\u0000","urgency":"normal","customer_id":"c\"1","window":{"start":"2026-11-23T09:00:00\u005a","end":null}}`,
		"{\"service\xff\":\"x\",\"serv\xffice\":1,\"window\":{\"start\":\"2026-11-23T09:00:00Z\xff\"}}",
		`{"tags":{"a":1,"a":2,"b":-0.5e+3},"any":{"x":[1,{"y":null}],"x":true},"flag":true,"pair":[1,2,3],"when":null,"at":null}`,
		`{"at":"2026-11-23T09:00:00+01:00","when":"0001-01-01T00:00:00Z","CaseKey":"a","casekey":"b"}`,
		`{"nested":[{"k":[{"start":"2026-11-23T12:00:00Z","end":"2026-11-23T12:30:00Z"},{"earliest":"2026-11-23T11:00:00Z","minutes":30},{"start":"2026-11-23T12:00:00Z","minutes":3},[],null,1]}]}`,
		`{"flag":"true","pair":{"a":1},"tags":[1],"location":{"lat":"1","lng":true}}`,
		`[{"service":1}, 2, "three"]`,
		` { "service" : "cleaning" , "urgency" : "normal" } `+"\n\t",
		`{"service":01,"urgency":1.,"location":{"lat":-,"lng":1e}}`,
		`{"service":nul,"urgency":tru,"skills":[fals]}`,
		`{"service":"a"}{"service":"b"}`,
		`{"service" "a"}`, `{"service":"a",}`, `{,"service":"a"}`, `{"service":"a"]`, `["a":1]`, `[1,]`, `[,1]`, `{"a"::1}`,
		`"just a string"`, `12`, `null`, `true`, ``, `   `,
	)
}

// scanMutations yields body, its prefixes, and body with each byte
// replaced by, and with each place given, one of a few bytes that make or
// break JSON.
func scanMutations(body string, yield func(string)) {
	const bytes = "\"{}[]:,\\ 0-e.ntx\x01\xff"
	yield(body)
	for i := range len(body) {
		yield(body[:i])
		for _, c := range []byte(bytes) {
			yield(body[:i] + string(c) + body[i+1:])
			yield(body[:i] + string(c) + body[i:])
		}
	}
}

// TestScanAgreesWithTokens holds the lexer's scan to the scan it replaced
// (written on json.Decoder.Token, scanByTokens): the same answer, error
// and field included, for every type the API decodes into and for every
// body in a few hundred thousand made and broken ones.
func TestScanAgreesWithTokens(t *testing.T) {
	n := 0
	for _, seed := range scanSeeds() {
		for i, typ := range scanTypes {
			mutate := scanMutations
			if len(seed) > 400 || i%4 != len(seed)%4 && typ != reflect.TypeFor[*scanKitchen]() {
				// Every seed with scanKitchen and one type in four,
				// whole, with the others.
				mutate = func(body string, yield func(string)) { yield(body) }
			}
			mutate(seed, func(body string) {
				n++
				if got, want := fmt.Sprint(scan([]byte(body), typ)), fmt.Sprint(scanByTokens([]byte(body), typ)); got != want {
					t.Fatalf("scan of %q into %v:\n got %s\nwant %s", body, typ, got, want)
				}
			})
		}
	}
	deep := strings.Repeat(`{"any":`, maxDepth+2) + "1" + strings.Repeat("}", maxDepth+2)
	for _, body := range []string{deep, strings.Repeat("[", 20000), `{"nested":` + strings.Repeat("[", 40)} {
		for _, typ := range scanTypes {
			if got, want := fmt.Sprint(scan([]byte(body), typ)), fmt.Sprint(scanByTokens([]byte(body), typ)); got != want {
				t.Fatalf("scan of %.40q... into %v:\n got %s\nwant %s", body, typ, got, want)
			}
		}
	}
	t.Logf("%d bodies agree", n)
}

// FuzzScan is TestScanAgreesWithTokens on whatever the fuzzer makes:
//
//	go test ./api -run '^$' -fuzz FuzzScan -fuzztime 5m
func FuzzScan(f *testing.F) {
	for _, s := range scanSeeds() {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, body string, which uint8) {
		typ := scanTypes[int(which)%len(scanTypes)]
		if got, want := fmt.Sprint(scan([]byte(body), typ)), fmt.Sprint(scanByTokens([]byte(body), typ)); got != want {
			t.Fatalf("scan of %q into %v:\n got %s\nwant %s", body, typ, got, want)
		}
	})
}

// RequestSeeds are bodies of match and booking requests, valid and not,
// the fuzz targets (package api_test) and TestScanAgreesWithTokens start
// from. The fuzz targets' server clock reads 2026-11-23T08:00:00Z.
var RequestSeeds = []string{
	// valid
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405}}`,
	`{"service":"cleaning","urgency":"urgent","location":{"lat":52.521,"lng":13.404},"duration_minutes":60}`,
	`{"service":"plumbing","urgency":"normal","location":{"lat":52.52,"lng":13.405},"window":{"start":"2026-11-23T10:00:00Z","end":"2026-11-23T11:00:00Z"},"customer_id":"c-1"}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"requested_at":"2026-11-23T07:30:00Z","skills":["cleaning"],"preferred_workers":["w-1"],"excluded_workers":["w-9"],"duration_minutes":30}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"window":{"start":"2026-11-23T10:00:00+01:00","end":"2026-11-23T12:00:00+01:00"}}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"window":{"start":"2026-11-23T10:00:00Z","end":"2026-11-23T11:00:00Z"},"recurrence":{"interval_days":1,"count":2}}`,
	// unservable
	`{"service":"cleaning","urgency":"normal","location":{"lat":48.137,"lng":11.575}}`,
	`{"service":"childcare","urgency":"normal","location":{"lat":52.52,"lng":13.405}}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"excluded_workers":["w-1"]}`,
	// personal data and unknown fields
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"name":"Erika Mustermann"}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"phone":"+49 30 1234567"}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405,"address":"Unter den Linden 1"}}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"recurrence":{"interval_days":1,"count":2,"name":"x"}}`,
	// duplicate keys, trailing data, empty and truncated bodies
	`{"service":"cleaning","service":"plumbing","urgency":"normal","location":{"lat":52.52,"lng":13.405}}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lat":1,"lng":13.405}}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405}} {}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405}}x`,
	``, `null`, `{}`, `[]`, `"x"`, `{"service":`, `{"service":"cleaning",`,
	// syntax errors inside arrays and objects (these once looped forever)
	`[1 2]`, `{"skills":["a" "b"]}`, `{"service":"cleaning","skills":["x":1]}`, `{"a" 1}`, `[1,]`, `{"a":{"b":[1 2 3]}}`,
	// huge numbers, NaN-like values
	`{"service":"cleaning","urgency":"normal","location":{"lat":1e400,"lng":13.405}}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"duration_minutes":1e20}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"duration_minutes":9223372036854775807}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"duration_minutes":-9223372036854775808}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":"NaN","lng":13.405}}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":NaN,"lng":Infinity}}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":-0,"lng":1e-320}}`,
	// bad times
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"requested_at":"yesterday"}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"requested_at":"2026-13-45T99:00:00Z"}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"requested_at":"0000-01-01T00:00:00Z"}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"requested_at":"9999-12-31T23:59:59Z"}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"window":{"start":"0001-01-01T00:00:00Z","end":"2026-11-23T11:00:00Z"}}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"window":{"start":"2026-11-23T10:00:00-23:59","end":"2026-11-23T11:00:00+23:59"}}`,
	// out of range
	`{"service":"cleaning","urgency":"normal","location":{"lat":91,"lng":13.405}}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":-181}}`,
	// windows: inverted, beyond 24 h, passed, on an urgent request
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"window":{"start":"2026-11-23T11:00:00Z","end":"2026-11-23T10:00:00Z"}}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"window":{"start":"2026-11-23T10:00:00Z","end":"2026-11-25T10:00:00Z"}}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"window":{"start":"2026-11-22T10:00:00Z","end":"2026-11-22T11:00:00Z"}}`,
	`{"service":"cleaning","urgency":"urgent","location":{"lat":52.52,"lng":13.405},"window":{"start":"2026-11-23T10:00:00Z","end":"2026-11-23T11:00:00Z"}}`,
	// durations
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"duration_minutes":0}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"duration_minutes":100000}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"duration_minutes":1.5}`,
	// wrong types and missing fields
	`{"service":1,"urgency":"normal","location":{"lat":52.52,"lng":13.405}}`,
	`{"service":"cleaning","urgency":"soon","location":{"lat":52.52,"lng":13.405}}`,
	`{"service":"cleaning","urgency":"normal","location":[52.52,13.405]}`,
	`{"service":null,"urgency":null,"location":null}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"skills":"cleaning"}`,
	`{"service":"cleaning","urgency":"normal"}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"customer_id":"not an id"}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"recurrence":{"interval_days":0,"count":99}}`,
	`{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"recurrence":null}`,
	// deep nesting
	`{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
	`{"location":` + strings.Repeat(`{"a":`, 50) + `1` + strings.Repeat("}", 50) + `}`,
	strings.Repeat("[", 20000),
}
