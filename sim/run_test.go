package sim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/sim"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// opener opens traces relative to dir, as the CLI does relative to the
// scenario file.
func opener(dir string) func(string) (io.ReadCloser, error) {
	return func(name string) (io.ReadCloser, error) { return os.Open(filepath.Join(dir, name)) }
}

// mustScenario reads and parses a scenario file.
func mustScenario(tb testing.TB, path string) *sim.Scenario {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := sim.ParseScenario(data)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return s
}

// mustRun runs s with traces relative to dir and returns its report JSON.
func mustRun(tb testing.TB, s *sim.Scenario, opts sim.Options) (*sim.Report, []byte) {
	tb.Helper()
	r, err := sim.Run(context.Background(), s, opts)
	if err != nil {
		tb.Fatalf("Run: %v", err)
	}
	js, err := r.JSON()
	if err != nil {
		tb.Fatal(err)
	}
	return r, js
}

// TestGolden pins the report of the tiny scenario byte for byte.
func TestGolden(t *testing.T) {
	s := mustScenario(t, "testdata/tiny.json")
	_, got := mustRun(t, s, sim.Options{Open: opener("testdata")})
	const golden = "testdata/tiny.golden.json"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("report differs from %s (run with -update if the change is intended):\n%s", golden, got)
	}
}

// TestDeterminism runs the city example twice, sequentially and in
// parallel, and wants the same bytes each time.
func TestDeterminism(t *testing.T) {
	s := mustScenario(t, "../examples/scenarios/city.json")
	s.Scale = 0.15
	_, a := mustRun(t, s, sim.Options{})
	_, b := mustRun(t, s, sim.Options{Parallelism: 2})
	if !bytes.Equal(a, b) {
		t.Fatal("two runs of the same scenario and seed differ")
	}
	s.Seed++
	_, c := mustRun(t, s, sim.Options{})
	if bytes.Equal(a, c) {
		t.Fatal("another seed gave the same report")
	}
}

// TestExamples runs the example scenarios at a reduced scale.
func TestExamples(t *testing.T) {
	tests := []struct {
		file  string
		scale float64
	}{
		{"city.json", 0.2},
		{"nyc311.json", 0.3}, // its trace ships in examples/data
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s := mustScenario(t, filepath.Join("../examples/scenarios", tt.file))
			s.Scale = tt.scale
			r, _ := mustRun(t, s, sim.Options{Open: opener("../examples/scenarios")})
			if len(r.Variants) < 3 {
				t.Errorf("%d variants, want at least 3", len(r.Variants))
			}
			for _, v := range r.Variants {
				m := v.Totals
				if m.Requests == 0 || m.Jobs == 0 || m.UrgentOnTimeShare == nil || m.Utilisation == nil {
					t.Errorf("variant %s: empty figures %+v", v.Name, m)
				}
				if m.Jobs+m.Unserved != m.Requests {
					t.Errorf("variant %s: %d jobs + %d unserved != %d requests", v.Name, m.Jobs, m.Unserved, m.Requests)
				}
				if v.UrgentArrivals.Over != 0 {
					t.Errorf("variant %s: %d urgent requests reached after 60 minutes", v.Name, v.UrgentArrivals.Over)
				}
				if len(v.Hours) != 24 || len(v.Regions) == 0 {
					t.Errorf("variant %s: %d hours, %d regions", v.Name, len(v.Hours), len(v.Regions))
				}
			}
		})
	}
}

// TestVariantsShareDemand checks that variants changing the roster or the
// policy run on the same requests, and that an urgent surge adds only
// urgent requests.
func TestVariantsShareDemand(t *testing.T) {
	s := mustScenario(t, "../examples/scenarios/city.json")
	s.Scale = 0.1
	r, _ := mustRun(t, s, sim.Options{})
	base := r.Variants[0].Totals
	for _, v := range r.Variants[1:] {
		m := v.Totals
		if strings.HasPrefix(v.Change, "urgent demand") {
			if m.NormalRequests != base.NormalRequests || m.UrgentRequests <= base.UrgentRequests {
				t.Errorf("%s: normal %d urgent %d, baseline normal %d urgent %d", v.Name, m.NormalRequests, m.UrgentRequests, base.NormalRequests, base.UrgentRequests)
			}
			continue
		}
		if m.Requests != base.Requests || m.UrgentRequests != base.UrgentRequests {
			t.Errorf("%s: %d requests (%d urgent), baseline %d (%d)", v.Name, m.Requests, m.UrgentRequests, base.Requests, base.UrgentRequests)
		}
	}
}

func TestChartsAndHTML(t *testing.T) {
	s := mustScenario(t, "testdata/tiny.json")
	r, _ := mustRun(t, s, sim.Options{Open: opener("testdata")})
	charts, err := sim.Charts(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(charts) != 3 {
		t.Fatalf("%d charts, want 3", len(charts))
	}
	for _, c := range charts {
		var doc struct {
			Width  int `xml:"width,attr"`
			Height int `xml:"height,attr"`
			Lines  []struct {
				Points string `xml:"points,attr"`
				Title  string `xml:"title"`
			} `xml:"g>polyline"`
		}
		if err := xml.Unmarshal(c.SVG, &doc); err != nil {
			t.Fatalf("%s is not well-formed SVG: %v", c.Name, err)
		}
		if doc.Width < 600 || doc.Height < 300 {
			t.Errorf("%s: %dx%d is too small to read", c.Name, doc.Width, doc.Height)
		}
		// One line per variant, and the promise on the arrivals chart.
		want := len(r.Variants)
		if c.Name == "arrivals.svg" {
			want++
		}
		if len(doc.Lines) != want {
			t.Errorf("%s: %d lines, want %d", c.Name, len(doc.Lines), want)
		}
		for _, l := range doc.Lines {
			if strings.Count(l.Points, ",") < 1 {
				t.Errorf("%s: line %q has points %q", c.Name, l.Title, l.Points)
			}
		}
	}
	var page bytes.Buffer
	if err := sim.WriteHTML(&page, r, charts); err != nil {
		t.Fatal(err)
	}
	html := page.String()
	for _, want := range []string{"<table>", `<figure class="chart"><svg`, "urgent on time", "greedy", "batch every 60s",
		"<svg", "<polygon", "Urgent on-time share by H3 cell", "fairness (Gini)</dt>", "By service", "Mon 08:00", r.Summary[0]} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if strings.Contains(html, "ZgotmplZ") || strings.Contains(html, `src="http`) {
		t.Error("report.html is not self-contained")
	}
	var table bytes.Buffer
	if err := sim.WriteTable(&table, r); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(table.String(), "\n"); n != 2+len(r.Variants) {
		t.Errorf("table has %d lines:\n%s", n, table.String())
	}
}

func TestLimits(t *testing.T) {
	s := mustScenario(t, "../examples/scenarios/city.json")
	tests := []struct {
		name  string
		l     sim.Limits
		field string
	}{
		{"variants", sim.Limits{MaxVariants: 2}, "variants"},
		{"workers", sim.Limits{MaxWorkers: 100}, "roster"},
		{"requests", sim.Limits{MaxRequests: 500}, "demand"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sim.Run(context.Background(), s, sim.Options{Limits: tt.l})
			var e *doorstep.Error
			if !errors.As(err, &e) || e.Code != doorstep.ETOOLARGE || e.Field != tt.field {
				t.Errorf("got %v, want %s naming %s", err, doorstep.ETOOLARGE, tt.field)
			}
		})
	}
	// The server's default limits (api.SimulationLimits) hold the example.
	if err := (sim.Limits{MaxWorkers: 5000, MaxRequests: 50000, MaxVariants: 12}).Check(s); err != nil {
		t.Errorf("within the limits: %v", err)
	}
}

func TestCancel(t *testing.T) {
	s := mustScenario(t, "../examples/scenarios/city.json")
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err := sim.Run(ctx, s, sim.Options{Progress: func(done, total int) {
		calls++
		if done > total/10 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if calls == 0 {
		t.Error("no progress reported")
	}
}

func TestProgress(t *testing.T) {
	s := mustScenario(t, "testdata/tiny.json")
	var last, total int
	mustRun(t, s, sim.Options{Open: opener("testdata"), Progress: func(d, tot int) { last, total = d, tot }})
	if last != total || total != 6 { // 2 requests x 3 variants
		t.Errorf("progress ended at %d of %d, want 6 of 6", last, total)
	}
}

func TestReplayNeedsOpener(t *testing.T) {
	s := mustScenario(t, "testdata/tiny.json")
	if _, err := sim.Run(context.Background(), s, sim.Options{}); !errors.Is(err, sim.ErrNoTraces) {
		t.Errorf("got %v, want ErrNoTraces", err)
	}
}

// TestTravelTable: a scenario's travel table replaces the linear model
// where it has rows. Tiny's single worker lives among the requests; a
// table making every trip around its home take ten hours leaves every
// urgent request unserved, where the linear model serves some.
func TestTravelTable(t *testing.T) {
	var table strings.Builder
	table.WriteString("from_cell,to_cell,minutes\n")
	disk := slices.Concat(geo.Rings(geo.IndexCell(doorstep.Location{Lat: 40.70, Lng: -74.0}), 4)...)
	for _, a := range disk {
		for _, b := range disk {
			fmt.Fprintf(&table, "%v,%v,600\n", a, b)
		}
	}
	base := mustScenario(t, "testdata/tiny.json")
	slow := mustScenario(t, "testdata/tiny.json")
	slow.Travel.Table = table.String()
	data, err := json.Marshal(slow)
	if err != nil {
		t.Fatal(err)
	}
	if slow, err = sim.ParseScenario(data); err != nil {
		t.Fatal(err)
	}
	rb, _ := mustRun(t, base, sim.Options{Open: opener("testdata")})
	rs, _ := mustRun(t, slow, sim.Options{Open: opener("testdata")})
	for i := range rb.Variants {
		b, s := rb.Variants[i].Totals, rs.Variants[i].Totals
		t.Logf("%s: requests %d urgent %d unserved linear %d table %d", rb.Variants[i].Name, b.Requests, b.UrgentRequests, b.Unserved, s.Unserved)
		if b.UrgentRequests == 0 || b.Unserved >= s.Unserved || s.Unserved < b.UrgentRequests {
			t.Errorf("%s: unserved %d of %d urgent with the linear model, %d with the slow table; want all urgent ones unserved with the table",
				rb.Variants[i].Name, b.Unserved, b.UrgentRequests, s.Unserved)
		}
	}
}

// TestScaledVariantChange: a variant's change says what was done at the
// scenario's scale, not what the scenario asked for at full scale: "+10
// plumbers" at scale 0.2 adds 2 workers and says so.
func TestScaledVariantChange(t *testing.T) {
	tests := []struct {
		scale   float64
		change  string
		workers int // the variant's roster: the solo worker scaled, plus those added
	}{
		{1, "+10 workers like solo", 11},
		{0.2, "+2 workers like solo (10 at scale 0.2)", 3},
		{0.04, "+1 workers like solo (10 at scale 0.04)", 2},
	}
	for _, tt := range tests {
		s := mustScenario(t, "testdata/tiny.json")
		s.Scale = tt.scale
		s.Variants = []sim.Variant{{Name: "base"}, {Name: "+10 solo", AddWorkers: &sim.AddWorkers{Like: "solo", Count: 10}}}
		r, _ := mustRun(t, s, sim.Options{Open: opener("testdata")})
		v := r.Variants[1]
		if v.Change != tt.change || v.Workers != tt.workers {
			t.Errorf("scale %g: change %q with %d workers, want %q with %d", tt.scale, v.Change, v.Workers, tt.change, tt.workers)
		}
	}
}
