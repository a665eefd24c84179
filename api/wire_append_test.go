package api

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/internal/randfill"
	"github.com/doorstep-dev/doorstep/matcher"
)

// TestMatchJSONAsEncodingJSON holds a match's answer written directly
// (appendJSON) to what json.Marshal writes of it, byte for byte, over
// random answers that reach every branch: escaped and unescaped strings,
// floats of every format, times in zones and out of RFC 3339's range,
// nil and empty maps and slices, prices with and without lines, rescues
// and moves. Where json.Marshal refuses a value, appendJSON must give up.
func TestMatchJSONAsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var refused, escaped int
	for i := range 20000 {
		m := randomMatch(r)
		want, err := json.Marshal(m)
		got, ok := m.appendJSON(nil)
		if ok != (err == nil) {
			t.Fatalf("case %d: appendJSON ok=%v, json.Marshal error %v\n%#v", i, ok, err, m)
		}
		if !ok {
			refused++
			continue
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d:\n got %s\nwant %s", i, got, want)
		}
		if bytes.Contains(want, []byte(`\u`)) {
			escaped++
		}
	}
	// The cases reached what they are for.
	if refused < 100 || escaped < 100 {
		t.Fatalf("refused %d, escaped %d of 20000: the generator misses a branch", refused, escaped)
	}
}

func randomMatch(r *rand.Rand) *matchJSON {
	m := &matchJSON{Deadline: randomTime(r), Rule: randomString(r), Considered: r.IntN(5000) - 10,
		Rejected: randomIntMap(r), Outranked: r.IntN(100)}
	if r.IntN(10) > 0 {
		m.Options = []optionJSON{}
		for range r.IntN(4) {
			o := optionJSON{WorkerID: randomString(r), Start: randomTime(r), End: randomTime(r), Arrival: randomTime(r),
				TravelMinutes: randomFloat(r), DistanceKm: randomFloat(r), Cost: randomFloat(r)}
			o.Breakdown = breakdownJSON{randomFloat(r), randomFloat(r), randomFloat(r), randomFloat(r), randomFloat(r), randomFloat(r), randomFloat(r), randomFloat(r)}
			if r.IntN(3) > 0 {
				o.Price = &doorstep.Price{Currency: randomString(r), Total: r.Int64N(1e8) - 1e4}
				if r.IntN(5) > 0 {
					o.Price.Lines = []doorstep.PriceLine{}
					for range r.IntN(4) {
						o.Price.Lines = append(o.Price.Lines, doorstep.PriceLine{Kind: randomString(r), Minutes: r.IntN(3) * r.IntN(200), Amount: r.Int64N(1e6)})
					}
				}
			}
			m.Options = append(m.Options, o)
		}
	}
	if r.IntN(10) == 0 {
		m.Rescue = &rescueJSON{MovedBookingID: randomString(r), MovedBookingRef: randomString(r), FromWorker: "a", ToWorker: "b<", OldStart: randomTime(r), NewStart: randomTime(r)}
	}
	switch r.IntN(10) {
	case 0:
		m.Moves = []rescueJSON{}
	case 1:
		m.Moves = []rescueJSON{{MovedBookingRef: randomString(r), OldStart: randomTime(r), NewStart: randomTime(r)}}
	}
	return m
}

// randomString is mostly an id or a term, sometimes text that
// encoding/json escapes.
func randomString(r *rand.Rand) string {
	plain := []string{"", "w-17", "travel", "fairness", "protection", "continuity", "wait", "rating", "preferred", "skills", "EUR", "base", "hours", "night"}
	odd := []string{"<b>", "a&b", "q\"uote", "back\\slash", "tab\there", "nl\n", "\x00\x1f", "\u2028line", "para\u2029", "é-ünïcode", "日本", "bad\xff\xfeutf8", "\x7f", "emoji 😀", ">"}
	if r.IntN(4) == 0 {
		return odd[r.IntN(len(odd))] + plain[r.IntN(len(plain))]
	}
	return plain[r.IntN(len(plain))]
}

func randomFloat(r *rand.Rand) float64 {
	switch r.IntN(14) {
	case 0:
		return 0
	case 1:
		return math.Copysign(0, -1)
	case 2:
		return r.Float64() * 1e-7 // 'e' format, small exponent
	case 3:
		return -r.Float64() * 1e-12
	case 4:
		return 1e21 * (1 + r.Float64()) // 'e' format, large
	case 5:
		return 1e-6 // the format's edges
	case 6:
		return 1e21
	case 7:
		if r.IntN(20) == 0 {
			return math.NaN()
		}
		return 12.5
	case 8:
		if r.IntN(20) == 0 {
			return math.Inf(1 - 2*r.IntN(2))
		}
		return -3.25
	case 9:
		return math.MaxFloat64
	case 10:
		return math.SmallestNonzeroFloat64
	default:
		return round2((r.Float64() - 0.2) * math.Pow(10, float64(r.IntN(8))))
	}
}

func randomTime(r *rand.Rand) time.Time {
	t := time.Unix(r.Int64N(4e9), r.Int64N(2)*r.Int64N(1e9)).UTC()
	switch r.IntN(12) {
	case 0:
		return t.In(time.FixedZone("x", -5*3600-30*60))
	case 1:
		return t.In(time.FixedZone("y", 14*3600))
	case 2:
		if r.IntN(10) == 0 {
			return time.Date(10000+r.IntN(5), 1, 1, 0, 0, 0, 0, time.UTC) // refused
		}
		return time.Time{}
	case 3:
		if r.IntN(10) == 0 {
			return t.In(time.FixedZone("z", 24*3600)) // refused
		}
		return t.In(time.FixedZone("s", 3600+17)) // seconds in the offset
	case 4:
		loc, err := time.LoadLocation("America/New_York")
		if err == nil {
			return t.In(loc)
		}
	}
	return t
}

func randomIntMap(r *rand.Rand) map[string]int {
	switch r.IntN(5) {
	case 0:
		return nil
	case 1:
		return map[string]int{}
	}
	m := map[string]int{}
	for range 1 + r.IntN(6) {
		m[randomString(r)] = r.IntN(1000) - 5
	}
	return m
}

// TestFloatAsEncodingJSON holds the float writer's shortcut for whole
// hundredths to strconv's shortest decimal (encoding/json's), over every
// hundredth to 2,000 and random ones up to its bound, and their
// neighbouring doubles (not whole hundredths: the general path).
func TestFloatAsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	check := func(f float64) {
		t.Helper()
		want, err := json.Marshal(f)
		e := jsonAppender{ok: true}
		e.float(f)
		if err != nil || !e.ok || string(e.b) != string(want) {
			t.Fatalf("%v (%b): got %s (ok %v), want %s (%v)", f, math.Float64bits(f), e.b, e.ok, want, err)
		}
	}
	for c := int64(-200_000); c <= 200_000; c++ {
		check(float64(c) / 100)
	}
	for range 50_000 {
		f := float64(r.Int64N(2e15)-1e15) / 100
		check(f)
		check(math.Nextafter(f, math.Inf(1)))
		check(math.Nextafter(f, math.Inf(-1)))
		check(round2(r.NormFloat64() * math.Pow(10, float64(r.IntN(14)))))
	}
}

// TestBreakdownJSONAsTheTermsMap holds an option's breakdown to what the
// map of the cost's terms (matcher.Breakdown.Map), rounded, wrote: a term
// added to the map and not to breakdownJSON fails it.
func TestBreakdownJSONAsTheTermsMap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		b := matcher.Breakdown{Travel: randomFloat(r), Wait: randomFloat(r), Rating: randomFloat(r), Fairness: randomFloat(r),
			Preferred: randomFloat(r), Continuity: randomFloat(r), Protection: randomFloat(r)}
		terms := b.Map()
		for k, v := range terms {
			terms[k] = round2(v)
		}
		want, err := json.Marshal(terms)
		got, err2 := json.Marshal(breakdownOut(b))
		if (err == nil) != (err2 == nil) || !bytes.Equal(got, want) {
			t.Fatalf("breakdown %+v:\n got %s (%v)\nwant %s (%v)", b, got, err2, want, err)
		}
	}
}

// BenchmarkMatchJSON is the cost of writing one typical match answer
// (three options with prices), by encoding/json and by appendJSON.
func BenchmarkMatchJSON(b *testing.B) {
	t0 := time.Date(2026, 12, 4, 18, 30, 0, 0, time.UTC)
	m := &matchJSON{Deadline: t0.Add(time.Hour), Rule: "urgent_1h", Considered: 412, Rejected: map[string]int{"skills": 290, "shift": 61, "busy": 40}, Outranked: 18}
	for i := range 3 {
		m.Options = append(m.Options, optionJSON{WorkerID: "w-" + string(rune('a'+i)) + "01234", Start: t0.Add(time.Duration(20+i) * time.Minute),
			End: t0.Add(time.Duration(110+i) * time.Minute), Arrival: t0.Add(time.Duration(20+i) * time.Minute), TravelMinutes: 14.27, DistanceKm: 3.81, Cost: 21.44,
			Breakdown: breakdownJSON{Travel: 14.27, Rating: 1.2, Fairness: 3.1, Protection: 2.87},
			Price:     &doorstep.Price{Currency: "EUR", Lines: []doorstep.PriceLine{{Kind: "base", Amount: 3000}, {Kind: "hours", Minutes: 90, Amount: 6000}, {Kind: "urgent", Amount: 2500}}, Total: 11500}})
	}
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("appendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := m.appendJSON(make([]byte, 0, 2048)); !ok {
				b.Fatal("refused")
			}
		}
	})
}

// TestBookingJSONAsEncodingJSON holds a booking's answer written directly
// (bookingJSON.appendJSON) to what json.Marshal writes of it, byte for
// byte, over random answers whose every field, nested ones too, is
// filled by reflection (so a field added to bookingJSON and not to the
// writer fails it); where json.Marshal refuses a value, appendJSON must
// give up.
func TestBookingJSONAsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var refused, written int
	for i := range 20000 {
		var b bookingJSON
		randfill.Fill(r, reflect.ValueOf(&b).Elem(), answerValues)
		want, err := json.Marshal(&b)
		got, ok := b.appendJSON(nil)
		if ok != (err == nil) {
			t.Fatalf("case %d: appendJSON ok=%v, json.Marshal error %v\n%#v", i, ok, err, b)
		}
		if !ok {
			refused++
			continue
		}
		written++
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
	if refused < 100 || written < 10000 {
		t.Fatalf("refused %d, written %d of 20000: the generator misses a branch", refused, written)
	}
}

// answerValues draws an answer's leaves from the generators above.
var answerValues = randfill.Values{
	String: randomString,
	Time:   randomTime,
	Int:    func(r *rand.Rand) int64 { return r.Int64N(1e6) - 100 },
	Float:  randomFloat,
}

// BenchmarkBookingJSON: a new booking's answer, through json.Marshal and
// written directly.
func BenchmarkBookingJSON(b *testing.B) {
	zone := time.FixedZone("", 2*3600)
	now := time.Date(2026, 6, 2, 9, 14, 3, 120_000_000, zone)
	bk := bookingJSON{ID: "b_6f1c2a9e4d7b1a2c", WorkerID: "w-01234", Service: "plumbing", Urgency: doorstep.Urgent,
		RequestedAt: now, Deadline: now.Add(time.Hour), Rule: "urgent_1h", Start: now.Add(40 * time.Minute),
		End: now.Add(130 * time.Minute), Arrival: now.Add(40 * time.Minute), Status: "confirmed", CustomerID: "c-42",
		Version: 1, UpdatedAt: now, Price: &doorstep.Price{Currency: "EUR", Lines: []doorstep.PriceLine{{Kind: "base", Amount: 4000}, {Kind: "urgent", Amount: 2000}}, Total: 6000}}
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(&bk); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := bk.appendJSON(make([]byte, 0, 1024)); !ok {
				b.Fatal("refused")
			}
		}
	})
}
