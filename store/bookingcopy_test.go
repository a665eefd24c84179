package store

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/internal/randfill"
)

// TestStoredCopyAsDecoded holds storedCopy to what it stands for: the
// booking decodeBooking reads back from encodeBooking's JSON, equal by
// reflect.DeepEqual (time zones, nil and empty lists, no monotonic
// reading), over random bookings whose every field, nested ones too, is
// filled by reflection: a field added to doorstep.Booking that the copy
// does not know fails it.
func TestStoredCopyAsDecoded(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 41))
	zones := []*time.Location{time.UTC, time.Local, time.FixedZone("", 2*3600), time.FixedZone("CEST", 2*3600),
		time.FixedZone("", -(3*3600 + 1800)), time.FixedZone("", 14*3600), time.FixedZone("", 30)}
	if paris, err := time.LoadLocation("Europe/Paris"); err == nil {
		zones = append(zones, paris)
	}
	vals := bookingValues(zones)
	copied, refused := 0, 0
	for i := range 40000 {
		b := new(doorstep.Booking)
		randfill.Fill(rng, reflect.ValueOf(b).Elem(), vals)
		data, err := encodeBooking(b)
		got, ok := storedCopy(b)
		if err != nil {
			if ok {
				t.Fatalf("booking %d: copied, but the encoder refuses it: %v", i, err)
			}
			continue
		}
		if !ok {
			refused++
			continue
		}
		copied++
		want, err := decodeBooking(data)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("booking %d:\ncopied  %#v\ndecoded %#v\nfrom %s", i, got, want, data)
		}
		if len(got.Skills) > 0 && &got.Skills[0] == &b.Skills[0] || got.Window != nil && got.Window == b.Window ||
			got.Price != nil && (got.Price == b.Price || len(got.Price.Lines) > 0 && &got.Price.Lines[0] == &b.Price.Lines[0]) {
			t.Fatalf("booking %d: the copy shares the booking's lists or records", i)
		}
	}
	// Most random bookings carry a rare field or a bad string; enough are
	// copied to hold the copy, and a booking as dispatch makes it is.
	if copied < 1000 || refused == 0 {
		t.Fatalf("copied %d, refused %d of 40,000", copied, refused)
	}
	plain := dispatchedBooking()
	data, err := encodeBooking(plain)
	if err != nil {
		t.Fatal(err)
	}
	want, err := decodeBooking(data)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := storedCopy(plain); !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("a new booking as dispatch makes it: copied %v (%v), decoded %v", got, ok, want)
	}
}

// dispatchedBooking is a booking as dispatch makes it, in the zone a request's
// times come in.
func dispatchedBooking() *doorstep.Booking {
	zone := time.FixedZone("", 2*3600)
	now := time.Now().In(zone)
	return &doorstep.Booking{ID: "b_6f1c2a9e4d7b", WorkerID: "w-01234", Service: "plumbing", Urgency: doorstep.Urgent,
		RequestedAt: now, Deadline: now.Add(time.Hour), Start: now.Add(40 * time.Minute), End: now.Add(130 * time.Minute),
		Arrival: now.Add(40 * time.Minute), Status: doorstep.StatusConfirmed, Location: doorstep.Location{Lat: 48.8566, Lng: 2.3522},
		CustomerID: "c-42", Skills: []string{"plumbing"}, Owner: "booking-app", Version: 1, UpdatedAt: now,
		Price: &doorstep.Price{Currency: "EUR", Lines: []doorstep.PriceLine{{Kind: "base", Amount: 4000}, {Kind: "urgent", Amount: 2000}}, Total: 6000}}
}

// BenchmarkStoredCopy: what Store.created spends on each booking it adds
// to the read model, decoding the stored JSON or copying.
func BenchmarkStoredCopy(b *testing.B) {
	bk := dispatchedBooking()
	data, err := encodeBooking(bk)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeBooking(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("copy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := storedCopy(bk); !ok {
				b.Fatal("not copied")
			}
		}
	})
}

// TestStoredTimeAsParsed holds storedTimeIn to time.ParseInLocation of
// the RFC 3339 that time.Time's JSON encoding writes, in a zone with
// summer time: the JSON decoder parses so in time.Local, which may be UTC
// where the tests run (TestStoredCopyAsDecoded then never finds a time
// in Local's other offsets).
func TestStoredTimeAsParsed(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skipf("no time zone database here: %v", err)
	}
	rng := rand.New(rand.NewPCG(3, 5))
	vals := bookingValues([]*time.Location{time.UTC, paris, time.FixedZone("", 3600), time.FixedZone("", 2*3600), time.FixedZone("X", -5*3600)})
	for _, local := range []*time.Location{paris, time.UTC, time.FixedZone("", 3600)} {
		inLocal, stored := 0, 0
		for i := range 5000 {
			tm := vals.Time(rng)
			text, err := tm.MarshalText()
			got, ok := storedTimeIn(tm, local, true)
			if err != nil {
				if ok {
					t.Fatalf("%d: %v stored, but the encoder refuses it: %v", i, tm, err)
				}
				continue
			}
			want, err := time.ParseInLocation(time.RFC3339Nano, string(text), local)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				continue // an offset in seconds (local mean time): the caller decodes
			}
			stored++
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%d: %v in %v: stored %#v, parsed %#v", i, tm, local, got, want)
			}
			if want.Location() == local && local != time.UTC {
				inLocal++
			}
		}
		if local != time.UTC && inLocal == 0 || stored < 4000 {
			t.Fatalf("in %v: %d of 5,000 stored, %d of them parsed into it: the test does not reach its cases", local, stored, inLocal)
		}
	}
}

// bookingValues draws a booking's leaves: strings of plain ASCII mostly,
// some with HTML characters, accents or invalid UTF-8; times in zones,
// some with a monotonic reading, some zero or at the ends of the years
// RFC 3339 writes.
func bookingValues(zones []*time.Location) randfill.Values {
	return randfill.Values{
		String: func(rng *rand.Rand) string {
			if rng.IntN(40) == 0 {
				return "\xff" // invalid UTF-8: the encoder writes U+FFFD
			}
			return []string{"", "b-7", "cleaning", "<a&b>", "Zoë", "line\nbreak"}[rng.IntN(6)]
		},
		Time: func(rng *rand.Rand) time.Time {
			var t time.Time
			switch rng.IntN(10) {
			case 0: // zero
			case 1:
				t = time.Now().Add(time.Duration(rng.Int64N(int64(48 * time.Hour)))) // monotonic reading
			case 2:
				t = time.Date(rng.IntN(10002)-1, time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
			default:
				t = time.Unix(1_700_000_000+rng.Int64N(1e8), rng.Int64N(1e9))
			}
			if rng.IntN(4) > 0 { // else UTC, or a monotonic reading in time.Local
				t = t.In(zones[rng.IntN(len(zones))])
			}
			return t
		},
		Int:   func(rng *rand.Rand) int64 { return rng.Int64N(2000) - 100 },
		Float: func(rng *rand.Rand) float64 { return (rng.Float64() - 0.5) * 360 },
	}
}
