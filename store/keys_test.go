package store

import (
	"strings"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
)

func TestBookingID(t *testing.T) {
	region := geo.RegionOf(doorstep.Location{Lat: 40.7128, Lng: -74.0060}).String()
	seen := make(map[string]bool)
	for range 100 {
		id := NewBookingID(region)
		if seen[id] {
			t.Fatalf("NewBookingID repeated %s", id)
		}
		seen[id] = true
		got, err := RegionOfBooking(id)
		if err != nil || got != region {
			t.Fatalf("RegionOfBooking(%s) = %q, %v; want %q", id, got, err, region)
		}
	}
}

func TestRegionOfBookingRejects(t *testing.T) {
	good := NewBookingID("832a10fffffffff")
	tests := []struct {
		name string
		id   string
	}{
		{"empty", ""},
		{"no prefix", "x" + good[1:]},
		{"no separator", good[:16] + "-" + good[17:]},
		{"short", good[:len(good)-1]},
		{"long", good + "a"},
		{"not a cell", "b832a10fffffffg_" + good[17:]},
		{"not canonical", "b832A10FFFFFFFF_" + good[17:]},
		{"upper-case random part", good[:17] + strings.ToUpper(good[17:])},
		{"hash tag breaker", "b832a10fffffff}_" + good[17:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := RegionOfBooking(tt.id)
			if got := doorstep.ErrorCode(err); got != doorstep.ENOTFOUND {
				t.Errorf("RegionOfBooking(%q) error %v has code %q, want %q", tt.id, err, got, doorstep.ENOTFOUND)
			}
		})
	}
}

func FuzzRegionOfBooking(f *testing.F) {
	f.Add(NewBookingID("832a10fffffffff"))
	f.Add("b832a10fffffffff_")
	f.Add("")
	f.Add("b{r:x}:w:1_aaaaaaaaaaaaaaaaaaaaaaaaaa")
	f.Fuzz(func(t *testing.T, id string) {
		region, err := RegionOfBooking(id)
		if err != nil {
			if doorstep.ErrorCode(err) != doorstep.ENOTFOUND {
				t.Fatalf("RegionOfBooking(%q): %v is not ENOTFOUND", id, err)
			}
			return
		}
		// An accepted id names a canonical cell and no key can be forged.
		if !validRegion(region) || strings.ContainsAny(id, "{}:/") {
			t.Fatalf("RegionOfBooking(%q) accepted region %q", id, region)
		}
	})
}

func TestKeysShareRegionSlot(t *testing.T) {
	loc := doorstep.Location{Lat: 40.7128, Lng: -74.0060}
	region := geo.RegionOf(loc).String()
	tag := "{r:" + region + "}"
	for _, k := range []string{
		workerKey(region, "w1"), timelineKey(region, "w1"), versionKey(region, "w1"), stateKey(region, "w1"),
		bookingKey(region, NewBookingID(region)), opKey(region, "x"), cellKey(geo.IndexCell(loc)),
	} {
		if !strings.HasPrefix(k, "dst:"+tag+":") {
			t.Errorf("key %q does not start with dst:%s:", k, tag)
		}
	}
}

func TestParseMember(t *testing.T) {
	tests := []struct {
		m    string
		want WorkerRef
		ok   bool
	}{
		{"832a10fffffffff/w1", WorkerRef{ID: "w1", Region: "832a10fffffffff"}, true},
		{"832a10fffffffff/a/b", WorkerRef{ID: "a/b", Region: "832a10fffffffff"}, true},
		{"832a10fffffffff/", WorkerRef{}, false},
		{"w1", WorkerRef{}, false},
		{"nonsense/w1", WorkerRef{}, false},
	}
	for _, tt := range tests {
		got, ok := parseMember(tt.m)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseMember(%q) = %v, %v; want %v, %v", tt.m, got, ok, tt.want, tt.ok)
		}
	}
}

func TestIdemKeySeparatesScopes(t *testing.T) {
	if idemKey("ab", "c") == idemKey("a", "bc") {
		t.Errorf("idemKey does not separate scope from key")
	}
	scope, key := "a", "b"
	if first, again := idemKey(scope, key), idemKey(scope, key); first != again {
		t.Errorf("idemKey is not deterministic: %q then %q", first, again)
	}
}
