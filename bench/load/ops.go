package load

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/doorstep-dev/doorstep"
)

// Op is one operation of the mix: a kind of request the generator sends,
// in proportion to its weight. The mix is a table (DefaultOps) so that an
// endpoint added later is one more row: a name, a weight and a function
// that builds its request.
type Op struct {
	// Name names the operation in the mix flag, the report and the JSON.
	Name string
	// Weight is the operation's share of the arrivals, relative to the
	// other operations' weights; 0 leaves it out.
	Weight int
	// Build fills a request from the run's state. It returns false when
	// the operation cannot be sent now (a cancel before any booking was
	// made): another operation of the mix is drawn instead and the skip is
	// counted.
	Build func(c *City, rng *rand.Rand, r *Request) bool
	// Done, when set, reads an answer (a booking's id, for the cancels).
	Done func(c *City, status int, body []byte)
}

// Request is what an Op builds: method, path (from /v1), JSON body.
type Request struct {
	Method string
	Path   string
	Body   []byte
	Header http.Header
	// Class names the kind of request within its operation, when the
	// operation sends several (a match's urgent, window or normal
	// requests): the report gives each class's latencies apart.
	Class string
}

// DefaultOps is the mix of a booking system and its workers' phones:
// quotes, bookings (some of them later cancelled) and location reports.
// Weights are arrivals per hundred.
func DefaultOps() []Op {
	return []Op{
		{Name: "match", Weight: 55, Build: buildMatch},
		{Name: "book", Weight: 20, Build: buildBook, Done: doneBook},
		{Name: "cancel", Weight: 5, Build: buildCancel},
		{Name: "location", Weight: 20, Build: buildLocation},
		{Name: "slots", Weight: 5, Build: buildSlots},
		{Name: "progress", Weight: 5, Build: buildProgress},
	}
}

// ParseMix sets the weights of ops from "name=weight,...": an operation
// the mix names gets its weight, one it does not name gets 0. An unknown
// name is an error listing the known ones. "" keeps the weights.
func ParseMix(ops []Op, mix string) ([]Op, error) {
	if strings.TrimSpace(mix) == "" {
		return ops, nil
	}
	out := make([]Op, len(ops))
	copy(out, ops)
	byName := map[string]int{}
	var names []string
	for i := range out {
		byName[out[i].Name] = i
		names = append(names, out[i].Name)
		out[i].Weight = 0
	}
	for part := range strings.SplitSeq(mix, ",") {
		name, w, ok := strings.Cut(strings.TrimSpace(part), "=")
		i, known := byName[name]
		if !known {
			return nil, fmt.Errorf("mix: unknown operation %q (known: %s)", name, strings.Join(names, ", "))
		}
		n, err := strconv.Atoi(w)
		if !ok || err != nil || n < 0 {
			return nil, fmt.Errorf("mix: %q: want name=weight with a weight >= 0", part)
		}
		out[i].Weight = n
	}
	total := 0
	for _, o := range out {
		total += o.Weight
	}
	if total == 0 {
		return nil, fmt.Errorf("mix %q: every weight is 0", mix)
	}
	return out, nil
}

// City is the synthetic city under load: where the workers live and the
// state the operations share (the bookings made, to cancel some).
type City struct {
	Center   doorstep.Location
	SideKm   float64
	Workers  int
	Services []string
	Now      func() time.Time

	// shiftsOnce fixes shiftsFrom, where every worker's shift of today
	// starts, at the first worker made (shiftAnchor).
	shiftsOnce sync.Once
	shiftsFrom time.Time

	mu       sync.Mutex
	bookings []string // ids of bookings made and not yet cancelled by the run
	seq      int
	// run tells this run's Idempotency-Keys from every other's: the
	// requests of a seed are the same in every run (and phase), and a key
	// sent again is answered from the server's record of the first
	// booking, at a fraction of a booking's cost.
	run string
}

// Point is a random place in the city.
func (c *City) Point(rng *rand.Rand) doorstep.Location {
	const kmPerDegLat = 111.2
	kmPerDegLng := kmPerDegLat * cosDeg(c.Center.Lat)
	return doorstep.Location{
		Lat: c.Center.Lat + (rng.Float64()-0.5)*c.SideKm/kmPerDegLat,
		Lng: c.Center.Lng + (rng.Float64()-0.5)*c.SideKm/kmPerDegLng,
	}
}

// WorkerID is the id of worker i of the city.
func WorkerID(i int) string { return fmt.Sprintf("w%07d", i) }

// Worker is worker i of the city: one to three skills (the certificate of
// a care skill with it), a 12-hour shift today from about an hour before
// the city was made and the same shift tomorrow.
func (c *City) Worker(rng *rand.Rand, i int) *doorstep.Worker {
	at := c.shiftAnchor()
	w := &doorstep.Worker{
		ID:     WorkerID(i),
		Home:   c.Point(rng),
		Rating: 3.5 + float64(rng.IntN(16))/10,
		Shifts: []doorstep.Shift{
			{Start: at.Add(-time.Hour), End: at.Add(11 * time.Hour)},
			{Start: at.Add(23 * time.Hour), End: at.Add(35 * time.Hour)},
		},
	}
	for range 1 + rng.IntN(3) {
		s := c.Services[rng.IntN(len(c.Services))]
		if doorstep.HasAll(w.Skills, []string{s}) {
			continue
		}
		w.Skills = append(w.Skills, s)
		if s == "childcare" || s == "elder_care" {
			w.Certificates = append(w.Certificates, s)
		}
	}
	return w
}

// shiftAnchor is the minute the workers' shifts are counted from: the
// same for every worker, however long the import takes, and one minute
// before the minute the city is made. A request's window starts on the
// minute it is sent (request), whole hours ahead, and the catalogue's
// jobs last whole half hours, so some jobs of a late window end exactly
// at the shift's end. Counted from the import's own minute, those fitted
// while the requests were sent in that minute and not after: how many of
// a run's requests were such whole-city 422s (the slowest answers) then
// depended on the second the import happened to start at, and doubled
// from one run of the same binary to the next (144 against 294 of 10,000
// bookings). A minute earlier, none of them fits from the first request
// on, in every run, until the city is half an hour old.
func (c *City) shiftAnchor() time.Time {
	c.shiftsOnce.Do(func() { c.shiftsFrom = c.Now().UTC().Truncate(time.Minute).Add(-time.Minute) })
	return c.shiftsFrom
}

// Classes of the city's household requests (Request.Class).
const (
	ClassUrgent = "urgent"
	ClassWindow = "window" // normal, with a two-hour window
	ClassNormal = "normal" // normal, within 24 hours
)

// request is a household request of the city: a third urgent, a third
// normal with a two-hour window, a third normal within 24 hours, half with
// a customer id; and its class.
func (c *City) request(rng *rand.Rand) (map[string]any, string) {
	body := map[string]any{
		"service":  c.Services[rng.IntN(len(c.Services))],
		"location": c.Point(rng),
		"urgency":  doorstep.Normal,
	}
	class := ClassNormal
	switch rng.IntN(3) {
	case 0:
		body["urgency"], class = doorstep.Urgent, ClassUrgent
	case 1:
		start := c.Now().UTC().Truncate(time.Minute).Add(time.Duration(1+rng.IntN(8)) * time.Hour)
		body["window"], class = doorstep.Window{Start: start, End: start.Add(2 * time.Hour)}, ClassWindow
	}
	if rng.IntN(2) == 0 {
		body["customer_id"] = fmt.Sprintf("c%06d", rng.IntN(100000))
	}
	return body, class
}

func jsonBody(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic("load: " + err.Error()) // only plain maps and domain types reach here
	}
	return data
}

func buildMatch(c *City, rng *rand.Rand, r *Request) bool {
	body, class := c.request(rng)
	r.Method, r.Path, r.Body, r.Class = http.MethodPost, "/v1/match", jsonBody(body), class
	return true
}

func buildBook(c *City, rng *rand.Rand, r *Request) bool {
	body, class := c.request(rng)
	r.Method, r.Path, r.Body, r.Class = http.MethodPost, "/v1/bookings", jsonBody(body), class
	c.mu.Lock()
	c.seq++
	r.Header = http.Header{"Idempotency-Key": {fmt.Sprintf("load-%s-%d-%d", c.run, rng.Uint64(), c.seq)}}
	c.mu.Unlock()
	return true
}

func doneBook(c *City, status int, body []byte) {
	if status != http.StatusCreated {
		return
	}
	var b struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &b) != nil || b.ID == "" {
		return
	}
	c.mu.Lock()
	c.bookings = append(c.bookings, b.ID)
	c.mu.Unlock()
}

// takeBooking removes and returns a random booking made by the run.
func (c *City) takeBooking(rng *rand.Rand) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.bookings)
	if n == 0 {
		return "", false
	}
	i := rng.IntN(n)
	id := c.bookings[i]
	c.bookings[i] = c.bookings[n-1]
	c.bookings = c.bookings[:n-1]
	return id, true
}

func buildCancel(c *City, rng *rand.Rand, r *Request) bool {
	id, ok := c.takeBooking(rng)
	if !ok {
		return false
	}
	r.Method, r.Path = http.MethodPost, "/v1/bookings/"+id+"/cancel"
	return true
}

// buildSlots asks for the two-hour windows of the next three days in
// which a windowless normal request could be booked (POST /v1/slots).
func buildSlots(c *City, rng *rand.Rand, r *Request) bool {
	req, _ := c.request(rng)
	req["urgency"] = doorstep.Normal
	delete(req, "window")
	from := c.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	r.Method, r.Path = http.MethodPost, "/v1/slots"
	r.Body = jsonBody(map[string]any{"request": req, "from": from, "to": from.Add(72 * time.Hour), "slot_minutes": 120, "limit": 10})
	return true
}

// buildProgress reports a booking made by the run as under way, with the
// worker's position (POST /v1/bookings/{id}/progress): the worker app's
// most frequent report. The booking leaves the pool the cancels draw from.
func buildProgress(c *City, rng *rand.Rand, r *Request) bool {
	id, ok := c.takeBooking(rng)
	if !ok {
		return false
	}
	r.Method, r.Path = http.MethodPost, "/v1/bookings/"+id+"/progress"
	r.Body = jsonBody(map[string]any{"status": doorstep.ProgressEnRoute, "position": c.Point(rng)})
	return true
}

func buildLocation(c *City, rng *rand.Rand, r *Request) bool {
	p := c.Point(rng)
	r.Method, r.Path = http.MethodPut, "/v1/workers/"+WorkerID(rng.IntN(c.Workers))+"/location"
	r.Body = jsonBody(map[string]float64{"lat": p.Lat, "lng": p.Lng})
	return true
}

// picker draws operations by weight.
type picker struct {
	ops []Op
	cum []int
}

func newPicker(ops []Op) *picker {
	p := &picker{}
	total := 0
	for _, o := range ops {
		if o.Weight > 0 {
			total += o.Weight
			p.ops = append(p.ops, o)
			p.cum = append(p.cum, total)
		}
	}
	return p
}

func (p *picker) pick(rng *rand.Rand) int {
	x := rng.IntN(p.cum[len(p.cum)-1])
	return sort.SearchInts(p.cum, x+1)
}
