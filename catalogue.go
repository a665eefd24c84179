package doorstep

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"
)

//go:embed catalogue.json
var defaultCatalogueJSON []byte

// MaxDuration bounds any service's duration: longer is taken as a mistake.
const MaxDuration = 12 * time.Hour

// Service is one entry of the catalogue: what a worker needs to provide it
// and how long it takes by default.
type Service struct {
	Name            string        `json:"name"`
	Skill           string        `json:"skill"`
	Certificates    []string      `json:"certificates,omitempty"`
	DefaultDuration time.Duration `json:"-"`
	// Tariff is the service's price list; nil means the service is not
	// priced (its quotes and bookings carry no price).
	Tariff *Tariff `json:"-"`
}

// Catalogue is the set of services Doorstep can dispatch, by name. It is
// data: DefaultCatalogue is built in, and ReadCatalogue reads a replacement.
type Catalogue map[string]Service

type catalogueFile struct {
	Pricing  *pricingFile `json:"pricing"`
	Services []struct {
		Name                   string      `json:"name"`
		Skill                  string      `json:"skill"`
		Certificates           []string    `json:"certificates"`
		DefaultDurationMinutes int         `json:"default_duration_minutes"`
		Price                  *tariffFile `json:"price"`
	} `json:"services"`
}

// DefaultCatalogue returns the built-in catalogue (catalogue.json).
func DefaultCatalogue() Catalogue {
	c, err := ParseCatalogue(defaultCatalogueJSON)
	if err != nil {
		panic("doorstep: built-in catalogue: " + err.Error())
	}
	return c
}

// ReadCatalogue reads a catalogue in the format of catalogue.json.
func ReadCatalogue(r io.Reader) (Catalogue, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read catalogue: %w", err)
	}
	return ParseCatalogue(data)
}

// ParseCatalogue parses a catalogue in the format of catalogue.json.
func ParseCatalogue(data []byte) (Catalogue, error) {
	var f catalogueFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse catalogue: %w", err)
	}
	if len(f.Services) == 0 {
		return nil, fmt.Errorf("parse catalogue: no services")
	}
	cal, err := parsePricing(f.Pricing)
	if err != nil {
		return nil, fmt.Errorf("parse catalogue: %w", err)
	}
	c := make(Catalogue, len(f.Services))
	for i, s := range f.Services {
		d := time.Duration(s.DefaultDurationMinutes) * time.Minute
		switch {
		case s.Name == "":
			return nil, fmt.Errorf("parse catalogue: services[%d].name is empty", i)
		case s.Skill == "":
			return nil, fmt.Errorf("parse catalogue: services[%d].skill is empty", i)
		case d <= 0 || d > MaxDuration:
			return nil, fmt.Errorf("parse catalogue: services[%d].default_duration_minutes must be in (0, %d]", i, int(MaxDuration.Minutes()))
		}
		if _, dup := c[s.Name]; dup {
			return nil, fmt.Errorf("parse catalogue: service %q listed twice", s.Name)
		}
		svc := Service{Name: s.Name, Skill: s.Skill, Certificates: s.Certificates, DefaultDuration: d}
		if s.Price != nil {
			if svc.Tariff, err = cal.tariff(fmt.Sprintf("services[%d].price", i), s.Price); err != nil {
				return nil, fmt.Errorf("parse catalogue: %w", err)
			}
		}
		c[s.Name] = svc
	}
	return c, nil
}

// Price is the price of service for a job of urgency u that starts at
// start and lasts d, its night hours and weekend days read in the
// catalogue's pricing time zone (Tariff.Price); nil when the service is
// unknown or not priced.
func (c Catalogue) Price(service string, u Urgency, start time.Time, d time.Duration) *Price {
	s, ok := c[service]
	if !ok || s.Tariff == nil {
		return nil
	}
	return s.Tariff.Price(u, start, d, nil)
}

// Names returns the service names, sorted.
func (c Catalogue) Names() []string {
	names := make([]string, 0, len(c))
	for n := range c {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Resolve fills in a request's derived fields from the catalogue: the skills
// and certificates the service needs (added to any extra ones the request
// names) and the default duration when none is given. It returns an *Error
// naming "service" when the service is unknown.
func (c Catalogue) Resolve(r *Request) error {
	s, ok := c[r.Service]
	if !ok {
		return Errorf(EINVALID, "service", "unknown service %q (known: %v)", r.Service, c.Names())
	}
	r.Skills = appendUnique(r.Skills, s.Skill)
	r.Certificates = appendUnique(r.Certificates, s.Certificates...)
	if r.Duration == 0 {
		r.Duration = s.DefaultDuration
	}
	return nil
}

func appendUnique(dst []string, add ...string) []string {
	for _, a := range add {
		if !HasAll(dst, []string{a}) {
			dst = append(dst, a)
		}
	}
	return dst
}
