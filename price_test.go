package doorstep_test

import (
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/google/go-cmp/cmp"
)

// priced is a catalogue of one service, "job", priced by the given
// "price" object, on a New York calendar: night 20:00-07:00, weekend
// Saturday and Sunday.
func priced(t *testing.T, price string) doorstep.Catalogue {
	t.Helper()
	c, err := doorstep.ParseCatalogue([]byte(`{
	  "pricing": {"currency": "USD", "time_zone": "America/New_York",
	              "night": {"start": "20:00", "end": "07:00"}, "weekend": ["saturday", "sunday"]},
	  "services": [{"name": "job", "skill": "cleaning", "default_duration_minutes": 60, "price": ` + price + `}]}`))
	if err != nil {
		t.Fatalf("ParseCatalogue: %v", err)
	}
	return c
}

// TestPrice checks prices computed by hand: base 10.00, 30.00 an hour,
// urgent 25.00, night 12.00 an hour, weekend 6.00 an hour (USD cents), in
// New York (EST, UTC-5, in December 2026; Wednesday 2 December).
func TestPrice(t *testing.T) {
	c := priced(t, `{"base": 1000, "per_hour": 3000, "urgent": 2500, "night_per_hour": 1200, "weekend_per_hour": 600}`)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	local := func(m time.Month, d, hh, mm int) time.Time { return time.Date(2026, m, d, hh, mm, 0, 0, ny) }
	base := doorstep.PriceLine{Kind: doorstep.LineBase, Amount: 1000}
	hours := func(min int, amount doorstep.Money) doorstep.PriceLine {
		return doorstep.PriceLine{Kind: doorstep.LineHours, Minutes: min, Amount: amount}
	}
	urgent := doorstep.PriceLine{Kind: doorstep.LineUrgent, Amount: 2500}
	night := func(min int, amount doorstep.Money) doorstep.PriceLine {
		return doorstep.PriceLine{Kind: doorstep.LineNight, Minutes: min, Amount: amount}
	}
	weekend := func(min int, amount doorstep.Money) doorstep.PriceLine {
		return doorstep.PriceLine{Kind: doorstep.LineWeekend, Minutes: min, Amount: amount}
	}
	tests := []struct {
		name    string
		urgency doorstep.Urgency
		start   time.Time
		d       time.Duration
		lines   []doorstep.PriceLine
		total   doorstep.Money
	}{
		{"weekday daytime", doorstep.Normal, local(12, 2, 10, 0), 2 * time.Hour, []doorstep.PriceLine{base, hours(120, 6000)}, 7000},
		{"urgent surcharge", doorstep.Urgent, local(12, 2, 10, 0), 2 * time.Hour, []doorstep.PriceLine{base, hours(120, 6000), urgent}, 9500},
		{"ends as the night starts", doorstep.Normal, local(12, 2, 18, 0), 2 * time.Hour, []doorstep.PriceLine{base, hours(120, 6000)}, 7000},
		{"starts as the night starts", doorstep.Normal, local(12, 2, 20, 0), time.Hour, []doorstep.PriceLine{base, hours(60, 3000), night(60, 1200)}, 5200},
		{"across the night's start", doorstep.Normal, local(12, 2, 19, 0), 2 * time.Hour, []doorstep.PriceLine{base, hours(120, 6000), night(60, 1200)}, 8200},
		{"starts as the night ends", doorstep.Normal, local(12, 2, 7, 0), 2 * time.Hour, []doorstep.PriceLine{base, hours(120, 6000)}, 7000},
		{"across the night's end", doorstep.Normal, local(12, 2, 6, 30), 90 * time.Minute, []doorstep.PriceLine{base, hours(90, 4500), night(30, 600)}, 6100},
		{"across midnight", doorstep.Normal, local(12, 2, 23, 0), 2 * time.Hour, []doorstep.PriceLine{base, hours(120, 6000), night(120, 2400)}, 9400},
		{"into the weekend at midnight", doorstep.Normal, local(12, 4, 23, 0), 2 * time.Hour,
			[]doorstep.PriceLine{base, hours(120, 6000), night(120, 2400), weekend(60, 600)}, 10000},
		{"out of the weekend at midnight", doorstep.Normal, local(12, 6, 23, 0), 2 * time.Hour,
			[]doorstep.PriceLine{base, hours(120, 6000), night(120, 2400), weekend(60, 600)}, 10000},
		{"urgent on a Saturday", doorstep.Urgent, local(12, 5, 10, 0), 2 * time.Hour,
			[]doorstep.PriceLine{base, hours(120, 6000), urgent, weekend(120, 1200)}, 10700},
		{"prorated by the minute", doorstep.Normal, local(12, 2, 10, 0), 7 * time.Minute, []doorstep.PriceLine{base, hours(7, 350)}, 1350},
		// Sunday 1 November 2026: the clocks go back from 02:00 EDT to
		// 01:00 EST, so 00:30 EDT plus 3 hours is 02:30 EST, all night.
		{"across the end of daylight saving", doorstep.Normal, local(11, 1, 0, 30), 3 * time.Hour,
			[]doorstep.PriceLine{base, hours(180, 9000), night(180, 3600), weekend(180, 1800)}, 15400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Price("job", tt.urgency, tt.start.UTC(), tt.d)
			want := &doorstep.Price{Currency: "USD", Lines: tt.lines, Total: tt.total}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("price (-want +got):\n%s", diff)
			}
		})
	}

	// The time zone is an argument: the same instant read in UTC is 04:30
	// to 07:30, 150 minutes of night.
	got := c["job"].Tariff.Price(doorstep.Normal, local(11, 1, 0, 30), 3*time.Hour, time.UTC)
	want := &doorstep.Price{Currency: "USD", Lines: []doorstep.PriceLine{base, hours(180, 9000), night(150, 3000), weekend(180, 1800)}, Total: 14800}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("price read in UTC (-want +got):\n%s", diff)
	}
}

// TestPriceRoundsHalfUp: 10 cents an hour for 3 minutes is half a cent,
// charged as one; for 2 minutes a third of one, charged as none.
func TestPriceRoundsHalfUp(t *testing.T) {
	c := priced(t, `{"per_hour": 10}`)
	start := time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		d    time.Duration
		want doorstep.Money
	}{{3 * time.Minute, 1}, {2 * time.Minute, 0}, {6 * time.Minute, 1}, {9 * time.Minute, 2}} {
		if got := c.Price("job", doorstep.Normal, start, tt.d).Total; got != tt.want {
			t.Errorf("%v at 10 an hour = %d, want %d", tt.d, got, tt.want)
		}
	}
}

func TestPriceUnpriced(t *testing.T) {
	c := doorstep.DefaultCatalogue()
	if p := c.Price("no_such_service", doorstep.Normal, time.Now(), time.Hour); p != nil {
		t.Errorf("unknown service priced: %+v", p)
	}
	c2, err := doorstep.ParseCatalogue([]byte(`{"services": [{"name": "x", "skill": "x", "default_duration_minutes": 30}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if p := c2.Price("x", doorstep.Normal, time.Now(), time.Hour); p != nil {
		t.Errorf("service without a price priced: %+v", p)
	}
	// Every service of the built-in catalogue is priced, in USD.
	for _, name := range c.Names() {
		p := c.Price(name, doorstep.Urgent, time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC), time.Hour)
		if p == nil || p.Currency != "USD" || p.Total <= 0 {
			t.Errorf("built-in service %s priced %+v", name, p)
		}
	}
}

func TestParseCataloguePricingErrors(t *testing.T) {
	const svc = `"services": [{"name": "job", "skill": "cleaning", "default_duration_minutes": 60, "price": %s}]`
	tests := []struct {
		name, pricing, price, want string
	}{
		{"no currency", `{}`, `{"base": 100}`, "services[0].price.currency is required"},
		{"bad currency", `{"currency": "usd"}`, `{"base": 100}`, `pricing.currency "usd" is not an ISO 4217 code`},
		{"bad service currency", `{}`, `{"currency": "EURO", "base": 100}`, `services[0].price.currency "EURO" is not an ISO 4217 code`},
		{"negative", `{"currency": "EUR"}`, `{"per_hour": -1}`, "services[0].price.per_hour must be in [0, 100000000]"},
		{"too large", `{"currency": "EUR"}`, `{"urgent": 100000001}`, "services[0].price.urgent must be in [0, 100000000]"},
		{"a float", `{"currency": "EUR"}`, `{"base": 12.5}`, "cannot unmarshal number 12.5"},
		{"bad zone", `{"currency": "EUR", "time_zone": "Mars/Olympus"}`, `{"base": 1}`, `pricing.time_zone "Mars/Olympus" is not an IANA time zone`},
		{"bad night", `{"currency": "EUR", "night": {"start": "8pm", "end": "07:00"}}`, `{"base": 1}`, `pricing.night.start: "8pm" is not a time of day HH:MM`},
		{"empty night", `{"currency": "EUR", "night": {"start": "07:00", "end": "07:00"}}`, `{"base": 1}`, "pricing.night: start and end are both 07:00"},
		{"night surcharge without night", `{"currency": "EUR"}`, `{"night_per_hour": 100}`, "services[0].price.night_per_hour needs the night hours"},
		{"weekend surcharge without weekend", `{"currency": "EUR", "weekend": []}`, `{"weekend_per_hour": 100}`, "services[0].price.weekend_per_hour needs weekend days"},
		{"bad day", `{"currency": "EUR", "weekend": ["caturday"]}`, `{"base": 1}`, `pricing.weekend[0] "caturday" is not a day of the week`},
		{"day twice", `{"currency": "EUR", "weekend": ["sunday", "Sunday"]}`, `{"base": 1}`, `pricing.weekend[1] "Sunday" is listed twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := `{"pricing": ` + tt.pricing + `, ` + strings.Replace(svc, "%s", tt.price, 1) + `}`
			_, err := doorstep.ParseCatalogue([]byte(data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseCatalogue error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// BenchmarkPrice times the price of one option: a 2-hour day job and a
// 12-hour job across a night into the weekend (the most boundaries).
func BenchmarkPrice(b *testing.B) {
	c := doorstep.DefaultCatalogue()
	for _, tt := range []struct {
		name  string
		start time.Time
		d     time.Duration
	}{
		{"job=2h", time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC), 2 * time.Hour},
		{"job=12h_night_weekend", time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), 12 * time.Hour},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.Price("plumbing", doorstep.Urgent, tt.start, tt.d)
			}
		})
	}
}
