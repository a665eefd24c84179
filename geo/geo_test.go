package geo_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/google/go-cmp/cmp"
	"github.com/uber/h3-go/v4"
)

var (
	paris  = doorstep.Location{Lat: 48.8566, Lng: 2.3522}
	london = doorstep.Location{Lat: 51.5074, Lng: -0.1278}
	// sf is the point of H3's documentation: its resolution-9 cell is
	// 8928308280fffff.
	sf = doorstep.Location{Lat: 37.775938728915946, Lng: -122.41795063018799}
)

// degreeKm is the length of a degree of arc on the sphere of EarthRadiusKm.
const degreeKm = geo.EarthRadiusKm * math.Pi / 180 // 111.195 km

// randomLocation is uniform on the sphere.
func randomLocation(r *rand.Rand) doorstep.Location {
	return doorstep.Location{
		Lat: math.Asin(2*r.Float64()-1) * 180 / math.Pi,
		Lng: r.Float64()*360 - 180,
	}
}

// offset is the point km from p in direction bearing (radians, clockwise
// from north) along a great circle.
func offset(p doorstep.Location, km, bearing float64) doorstep.Location {
	const rad = math.Pi / 180
	d := km / geo.EarthRadiusKm
	lat1, lng1 := p.Lat*rad, p.Lng*rad
	lat2 := math.Asin(math.Sin(lat1)*math.Cos(d) + math.Cos(lat1)*math.Sin(d)*math.Cos(bearing))
	lng2 := lng1 + math.Atan2(math.Sin(bearing)*math.Sin(d)*math.Cos(lat1), math.Cos(d)-math.Sin(lat1)*math.Sin(lat2))
	return doorstep.Location{Lat: lat2 / rad, Lng: math.Remainder(lng2, 2*math.Pi) / rad}
}

func TestDistanceKm(t *testing.T) {
	tests := []struct {
		name string
		a, b doorstep.Location
		want float64
		tol  float64
	}{
		{"zero", paris, paris, 0, 0},
		{"Paris-London", paris, london, 343.5, 0.5},
		{"London-Paris is the same", london, paris, 343.5, 0.5},
		{"a degree of latitude", doorstep.Location{Lat: 10, Lng: 20}, doorstep.Location{Lat: 11, Lng: 20}, degreeKm, 1e-9},
		{"a degree of longitude on the equator", doorstep.Location{Lng: 20}, doorstep.Location{Lng: 21}, degreeKm, 1e-9},
		{"a degree across the antimeridian", doorstep.Location{Lng: 179.5}, doorstep.Location{Lng: -179.5}, degreeKm, 1e-9},
		{"a degree of longitude at 60° is about half", doorstep.Location{Lat: 60, Lng: 0}, doorstep.Location{Lat: 60, Lng: 1}, 55.6, 0.1},
		{"antipodes on the equator", doorstep.Location{}, doorstep.Location{Lng: 180}, 20015.1, 0.1},
		{"antipodes off the equator", doorstep.Location{Lat: 37, Lng: -122}, doorstep.Location{Lat: -37, Lng: 58}, 20015.1, 0.1},
		{"pole to pole", doorstep.Location{Lat: 90}, doorstep.Location{Lat: -90, Lng: 45}, 20015.1, 0.1},
		{"ten metres", doorstep.Location{Lat: 45}, doorstep.Location{Lat: 45 + 0.01/degreeKm}, 0.01, 1e-9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := geo.DistanceKm(tt.a, tt.b)
			if math.Abs(got-tt.want) > tt.tol {
				t.Errorf("DistanceKm(%v, %v) = %v, want %v ± %v", tt.a, tt.b, got, tt.want, tt.tol)
			}
		})
	}
}

// TestDistanceKmAgainstH3 checks the pure-Go haversine against H3's C
// implementation (whose Earth radius differs by 2.5e-7 relative).
func TestDistanceKmAgainstH3(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 10000 {
		a, b := randomLocation(r), randomLocation(r)
		if i%2 == 1 { // nearby points too: the case that matters
			b = offset(a, r.Float64()*50, r.Float64()*2*math.Pi)
		}
		got := geo.DistanceKm(a, b)
		want := h3.GreatCircleDistanceKm(h3.NewLatLng(a.Lat, a.Lng), h3.NewLatLng(b.Lat, b.Lng))
		if math.Abs(got-want) > 1e-6*want {
			t.Fatalf("DistanceKm(%v, %v) = %v, h3 says %v", a, b, got, want)
		}
		if back := geo.DistanceKm(b, a); back != got {
			t.Fatalf("DistanceKm is not symmetric: %v one way, %v the other", got, back)
		}
	}
}

func TestOffsetHelper(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		p, km := randomLocation(r), r.Float64()*100
		if got := geo.DistanceKm(p, offset(p, km, r.Float64()*2*math.Pi)); math.Abs(got-km) > 1e-6 {
			t.Fatalf("offset(%v, %v) is %v km away", p, km, got)
		}
	}
}

func TestCellOf(t *testing.T) {
	tests := []struct {
		name string
		loc  doorstep.Location
		res  int
		want string
	}{
		{"H3's documented example", sf, 9, "8928308280fffff"},
		{"its index cell", sf, geo.IndexResolution, "872830828ffffff"},
		{"its region", sf, geo.RegionResolution, "832830fffffffff"},
		{"resolution 0", sf, 0, "8029fffffffffff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := geo.CellOf(tt.loc, tt.res)
			if got.String() != tt.want {
				t.Errorf("CellOf(%v, %d) = %v, want %v", tt.loc, tt.res, got, tt.want)
			}
			if got.Resolution() != tt.res {
				t.Errorf("CellOf(%v, %d).Resolution() = %d", tt.loc, tt.res, got.Resolution())
			}
		})
	}
}

func TestCellOfEveryResolution(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 200 {
		loc := randomLocation(r)
		for res := 0; res <= 15; res++ {
			c := geo.CellOf(loc, res)
			if got := c.Resolution(); got != res {
				t.Fatalf("CellOf(%v, %d).Resolution() = %d", loc, res, got)
			}
			if !h3.Cell(c).IsValid() {
				t.Fatalf("CellOf(%v, %d) = %v is not a valid cell", loc, res, c)
			}
			// A cell's centre lies in the cell.
			if back := geo.CellOf(c.Center(), res); back != c {
				t.Fatalf("CellOf(%v.Center(), %d) = %v", c, res, back)
			}
			if res > 0 {
				if p := c.Parent(res - 1); p.Resolution() != res-1 {
					t.Fatalf("%v.Parent(%d) = %v of resolution %d", c, res-1, p, p.Resolution())
				}
			}
		}
		if got, want := geo.IndexCell(loc), geo.CellOf(loc, geo.IndexResolution); got != want {
			t.Fatalf("IndexCell(%v) = %v, want %v", loc, got, want)
		}
	}
}

func TestCellOfPanicsOnBadResolution(t *testing.T) {
	for _, res := range []int{-1, 16, 100} {
		t.Run("", func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "geo: ") {
					t.Errorf("CellOf(.., %d) panicked with %q, want a panic prefixed geo:", res, msg)
				}
			}()
			geo.CellOf(paris, res)
		})
	}
}

func TestRegionOf(t *testing.T) {
	tests := []struct {
		name string
		loc  doorstep.Location
		want string
	}{
		{"San Francisco", sf, "832830fffffffff"},
		// H3 children do not tile their parent: this point's resolution-3
		// cell is 83e40cfffffffff, but its index cell's parent, the
		// region, is 83e40dfffffffff.
		{"a point whose index cell sticks out of its res-3 cell", doorstep.Location{Lat: -62.09218487601467, Lng: 97.77664935409774}, "83e40dfffffffff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := geo.RegionOf(tt.loc); got.String() != tt.want {
				t.Errorf("RegionOf(%v) = %v, want %v", tt.loc, got, tt.want)
			}
		})
	}

	r := rand.New(rand.NewPCG(7, 8))
	for range 2000 {
		loc := randomLocation(r)
		got := geo.RegionOf(loc)
		if want := geo.IndexCell(loc).Parent(geo.RegionResolution); got != want {
			t.Fatalf("RegionOf(%v) = %v, want the res-3 parent of its index cell %v", loc, got, want)
		}
		if got.Resolution() != geo.RegionResolution {
			t.Fatalf("RegionOf(%v) has resolution %d", loc, got.Resolution())
		}
	}
}

func TestParseCell(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    geo.Cell
		wantErr bool
	}{
		{"canonical", "8928308280fffff", geo.CellOf(sf, 9), false},
		{"upper case", "8928308280FFFFF", geo.CellOf(sf, 9), false},
		{"region", "832830fffffffff", geo.RegionOf(sf), false},
		{"empty", "", 0, true},
		{"not hex", "zz", 0, true},
		{"zero", "0", 0, true},
		{"all ones", "ffffffffffffffff", 0, true},
		{"too long", "8928308280fffff0", 0, true},
		{"too big for 64 bits", "18928308280fffff", 0, true},
		{"0x prefix", "0x8928308280fffff", 0, true},
		{"trailing space", "8928308280fffff ", 0, true},
		{"leading space", " 8928308280fffff", 0, true},
		{"negative", "-8928308280fffff", 0, true},
		{"a directed edge, not a cell", "1128308280ffffff", 0, true},
		{"valid looking digits, bad mode bits", "0928308280fffff", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := geo.ParseCell(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseCell(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseCell(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseCellRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for range 2000 {
		c := geo.CellOf(randomLocation(r), r.IntN(16))
		got, err := geo.ParseCell(c.String())
		if err != nil || got != c {
			t.Fatalf("ParseCell(%q) = %v, %v; want %v", c.String(), got, err, c)
		}
		if s := c.String(); s != h3.Cell(c).String() {
			t.Fatalf("Cell(%d).String() = %q, h3 says %q", c, s, h3.Cell(c).String())
		}
	}
}

func FuzzParseCell(f *testing.F) {
	for _, s := range []string{"8928308280fffff", "832830fffffffff", "", "zz", "0x1", "ffffffffffffffff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := geo.ParseCell(s)
		if err != nil {
			if c != 0 {
				t.Fatalf("ParseCell(%q) = %v with error %v", s, c, err)
			}
			return
		}
		if !h3.Cell(c).IsValid() {
			t.Fatalf("ParseCell(%q) = %v, not a valid cell", s, c)
		}
		if back, err := geo.ParseCell(c.String()); err != nil || back != c {
			t.Fatalf("round trip of %q: %v, %v", s, back, err)
		}
	})
}

func TestRings(t *testing.T) {
	hex := geo.CellOf(paris, geo.IndexResolution)
	pent := geo.Cell(h3.Pentagons(geo.IndexResolution)[0])
	tests := []struct {
		name  string
		c     geo.Cell
		k     int
		sizes []int
	}{
		{"k=0 is the cell", hex, 0, []int{1}},
		{"k=1", hex, 1, []int{1, 6}},
		{"k=4", hex, 4, []int{1, 6, 12, 18, 24}},
		{"a pentagon has five neighbours", pent, 2, []int{1, 5, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rings := geo.Rings(tt.c, tt.k)
			var sizes []int
			seen := map[geo.Cell]bool{}
			for i, ring := range rings {
				sizes = append(sizes, len(ring))
				for _, x := range ring {
					if seen[x] {
						t.Errorf("cell %v appears twice", x)
					}
					seen[x] = true
					if x.Resolution() != tt.c.Resolution() {
						t.Errorf("ring %d holds %v of resolution %d", i, x, x.Resolution())
					}
					if d := h3.Cell(tt.c).GridDistance(h3.Cell(x)); d != i {
						t.Errorf("ring %d holds %v at grid distance %d", i, x, d)
					}
				}
			}
			if diff := cmp.Diff(tt.sizes, sizes); diff != "" {
				t.Errorf("ring sizes mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]geo.Cell{tt.c}, rings[0]); diff != "" {
				t.Errorf("ring 0 mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRingsFor(t *testing.T) {
	reach := geo.Linear{}.ReachKm(doorstep.UrgentArrival)
	tests := []struct {
		name   string
		radius float64
		want   int
	}{
		{"nothing still reads the neighbours", 0, 2},
		{"the urgent reach of the default model", reach, 14},
		{"30 km", 30, 23},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := geo.RingsFor(geo.IndexResolution, tt.radius); got != tt.want {
				t.Errorf("RingsFor(%d, %v) = %d, want %d", geo.IndexResolution, tt.radius, got, tt.want)
			}
		})
	}
	prev := 0
	for km := 0.0; km < 100; km += 0.25 {
		k := geo.RingsFor(geo.IndexResolution, km)
		if k < 1 || k < prev {
			t.Fatalf("RingsFor(%d, %v) = %d after %d: not at least 1 and non-decreasing", geo.IndexResolution, km, k, prev)
		}
		prev = k
	}
}

// TestRingsForCoversRadius is the property candidate search relies on: for
// any centre, every point within radiusKm of it has its index cell in the
// disk of RingsFor(IndexResolution, radiusKm) rings around the centre's
// cell. Points are drawn near the edge of the radius, the worst case.
func TestRingsForCoversRadius(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	radii := []float64{0.3, 2, 5, 10, geo.Linear{}.ReachKm(time.Hour), 30, 45}
	centres, points := 400, 40
	if testing.Short() {
		centres = 100
	}
	for _, radius := range radii {
		k := geo.RingsFor(geo.IndexResolution, radius)
		for range centres {
			centre := randomLocation(r)
			disk := map[geo.Cell]bool{}
			for _, ring := range geo.Rings(geo.IndexCell(centre), k) {
				for _, c := range ring {
					disk[c] = true
				}
			}
			for j := range points {
				km := radius * math.Sqrt(r.Float64()) // uniform in the disk
				if j%2 == 0 {
					km = radius * (1 - 1e-9) // on its edge
				}
				p := offset(centre, km, r.Float64()*2*math.Pi)
				if c := geo.IndexCell(p); !disk[c] {
					t.Fatalf("radius %v km: %v is %.3f km from %v but its cell %v is %d rings out, beyond RingsFor = %d",
						radius, p, geo.DistanceKm(centre, p), centre, c,
						h3.Cell(geo.IndexCell(centre)).GridDistance(h3.Cell(c)), k)
				}
			}
		}
	}
}

// TestCoveredKmInvertsRingsFor: the radius k rings are said to cover never
// needs more than k rings by RingsFor.
func TestCoveredKmInvertsRingsFor(t *testing.T) {
	for _, res := range []int{5, geo.IndexResolution, 9} {
		for k := 1; k <= 40; k++ {
			km := geo.CoveredKm(res, k)
			if km > 0 && geo.RingsFor(res, km) > k {
				t.Errorf("res %d: CoveredKm(%d) = %.3f km, which RingsFor says needs %d rings", res, k, km, geo.RingsFor(res, km))
			}
		}
	}
}

// A cell's corners lie around its centre, each about an edge's length
// away (resolution 7: edge about 1.4 km), and belong to no farther cell.
func TestCellBoundary(t *testing.T) {
	c := geo.CellOf(doorstep.Location{Lat: 48.8566, Lng: 2.3522}, 7)
	b := c.Boundary()
	if len(b) != 6 {
		t.Fatalf("%d corners, want 6", len(b))
	}
	for _, p := range b {
		if d := geo.DistanceKm(p, c.Center()); d < 1.0 || d > 1.8 {
			t.Errorf("corner %v is %.2f km from the centre", p, d)
		}
	}
}

// TestParentAndResolutionAsH3: the bit arithmetic of Cell.Parent and
// Cell.Resolution gives what h3's C library gives, for cells of every
// resolution around the globe (pentagons included) and every ancestor.
func TestParentAndResolutionAsH3(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	var cells []geo.Cell
	for res := 0; res <= 15; res++ {
		for range 40 {
			loc := doorstep.Location{Lat: rng.Float64()*180 - 90, Lng: rng.Float64()*360 - 180}
			cells = append(cells, geo.CellOf(loc, res))
		}
		cells = append(cells, geo.Cell(h3.Pentagons(res)[rng.IntN(12)]))
	}
	for _, c := range cells {
		if got, want := c.Resolution(), h3.Cell(c).Resolution(); got != want {
			t.Fatalf("%v.Resolution() = %d, h3 says %d", c, got, want)
		}
		for res := 0; res <= c.Resolution(); res++ {
			if got, want := c.Parent(res), geo.Cell(h3.Cell(c).Parent(res)); got != want {
				t.Fatalf("%v.Parent(%d) = %v, h3 says %v", c, res, got, want)
			}
		}
	}
}

// TestDiskCells: the cells of rings from to to, ring by ring as Rings
// lists them up to to, whether computed or kept from an earlier call.
func TestDiskCells(t *testing.T) {
	hex := geo.CellOf(paris, geo.IndexResolution)
	pent := geo.Cell(h3.Pentagons(geo.IndexResolution)[0])
	for _, c := range []geo.Cell{hex, pent} {
		for _, step := range [][2]int{{0, 0}, {0, 2}, {1, 1}, {2, 5}, {3, 5}} {
			rings := geo.Rings(c, step[1]) // a pentagon's order depends on k
			var want []geo.Cell
			for k := step[0]; k <= step[1]; k++ {
				want = append(want, rings[k]...)
			}
			for range 2 { // computed, then kept
				if got := geo.DiskCells(c, step[0], step[1]); !slices.Equal(got, want) {
					t.Errorf("DiskCells(%v, %d, %d) = %v, want %v", c, step[0], step[1], got, want)
				}
			}
		}
	}
}

// TestRegionName: a cell's region spelt as its RegionResolution ancestor's
// String, whether spelt now or kept from an earlier call.
func TestRegionName(t *testing.T) {
	for _, c := range []geo.Cell{geo.IndexCell(paris), geo.CellOf(paris, 12), geo.Cell(h3.Pentagons(geo.IndexResolution)[3])} {
		want := c.Parent(geo.RegionResolution).String()
		for range 2 {
			if got := geo.RegionName(c); got != want {
				t.Errorf("RegionName(%v) = %q, want %q", c, got, want)
			}
		}
	}
}
