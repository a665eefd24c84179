package api

import (
	"reflect"

	"github.com/doorstep-dev/doorstep"
	"testing"
)

// decodeBodies are request bodies as booking systems send them: a match
// or booking as the load generator writes it (urgent; windowed, with a
// customer), and a worker's profile.
var decodeBodies = []struct {
	name string
	body string
	into func() any
}{
	{"match/urgent", `{"location":{"lat":40.7411,"lng":-73.9897},"service":"plumbing_repair","urgency":"urgent"}`,
		func() any { return new(requestBody) }},
	{"book/window", `{"customer_id":"c041233","location":{"lat":40.7411,"lng":-73.9897},"service":"cleaning","urgency":"normal","window":{"start":"2026-12-03T14:00:00Z","end":"2026-12-03T16:00:00Z"}}`,
		func() any { return new(bookBody) }},
	{"worker", `{"id":"w000123","skills":["plumbing","appliance_repair"],"certificates":["gas_safe"],"home":{"lat":40.7411,"lng":-73.9897},"rating":4.7,"shifts":[{"start":"2026-12-03T08:00:00Z","end":"2026-12-03T16:00:00Z","breaks":[{"start":"2026-12-03T12:00:00Z","end":"2026-12-03T12:30:00Z"}]}]}`,
		func() any { return new(doorstep.Worker) }},
}

// BenchmarkDecode is the strict decode of a request body (scan, then
// encoding/json): on a match it was a seventh of the server's CPU.
//
//	go test -run '^$' -bench Decode -benchmem ./api/
func BenchmarkDecode(b *testing.B) {
	for _, c := range decodeBodies {
		body := []byte(c.body)
		if err := decodeBytes(body, c.into()); err != nil {
			b.Fatalf("%s: %v", c.name, err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := decodeBytes(body, c.into()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/scan", func(b *testing.B) {
			b.ReportAllocs()
			v := c.into()
			for b.Loop() {
				if err := scan(body, reflect.TypeOf(v)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
