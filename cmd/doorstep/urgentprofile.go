package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/doorstep-dev/doorstep/matcher"
)

// urgentProfileFile is the JSON form of a matcher.UrgentProfile, the file
// of doorstep serve -urgent-profile:
//
//	{"zone": "Europe/Paris", "lead_minutes": 140,
//	 "rates": {"plumbing": [24 numbers, hour 0 first], ...},
//	 "regions": {"<H3 resolution-3 cell>": {"plumbing": [24 numbers]}, ...}}
//
// A rate is the urgent calls expected in that hour of day (in zone) per
// worker with the skill on duty then. zone (an IANA name) defaults to UTC;
// utc_offset_minutes gives a fixed zone instead (not with zone);
// lead_minutes defaults to matcher.DefaultUrgentLead; regions is optional.
type urgentProfileFile struct {
	Zone        string                          `json:"zone,omitempty"`
	UTCOffset   int                             `json:"utc_offset_minutes,omitempty"`
	LeadMinutes float64                         `json:"lead_minutes"`
	Rates       map[string][]float64            `json:"rates"`
	Regions     map[string]map[string][]float64 `json:"regions,omitempty"`
}

// loadUrgentProfile reads the urgent profile at path; "" means none (nil:
// the protection term is zero).
func loadUrgentProfile(path string) (*matcher.UrgentProfile, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("urgent profile: %w", err)
	}
	p, err := parseUrgentProfile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: urgent profile: %w", path, err)
	}
	return p, nil
}

// parseUrgentProfile decodes an urgent profile strictly (unknown fields,
// trailing data and rows of other than 24 hours are errors naming the
// field) and validates it (matcher.UrgentProfile.Validate).
func parseUrgentProfile(data []byte) (*matcher.UrgentProfile, error) {
	var f urgentProfileFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the profile")
	}
	p := &matcher.UrgentProfile{Zone: time.UTC}
	switch {
	case f.Zone != "" && f.UTCOffset != 0:
		return nil, fmt.Errorf("zone and utc_offset_minutes: give one")
	case f.Zone != "":
		z, err := time.LoadLocation(f.Zone)
		if err != nil {
			return nil, fmt.Errorf("zone: %w", err)
		}
		p.Zone = z
	case f.UTCOffset < -14*60 || f.UTCOffset > 14*60:
		return nil, fmt.Errorf("utc_offset_minutes: %d is outside [-840, 840]", f.UTCOffset)
	case f.UTCOffset != 0:
		p.Zone = time.FixedZone("", f.UTCOffset*60)
	}
	if f.LeadMinutes < 0 || f.LeadMinutes > 24*60 {
		return nil, fmt.Errorf("lead_minutes: %v is outside [0, 1440]", f.LeadMinutes)
	}
	p.Lead = time.Duration(f.LeadMinutes * float64(time.Minute))
	rates := func(field string, in map[string][]float64) (map[string][24]float64, error) {
		out := make(map[string][24]float64, len(in))
		for sk, r := range in {
			if len(r) != 24 {
				return nil, fmt.Errorf("%s.%s: %d hourly rates, want 24", field, sk, len(r))
			}
			out[sk] = [24]float64(r)
		}
		return out, nil
	}
	var err error
	if p.Rate, err = rates("rates", f.Rates); err != nil {
		return nil, err
	}
	for region, rs := range f.Regions {
		if p.Regions == nil {
			p.Regions = map[string]map[string][24]float64{}
		}
		if p.Regions[region], err = rates("regions."+region, rs); err != nil {
			return nil, err
		}
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// marshalUrgentProfile encodes p as the file parseUrgentProfile reads.
func marshalUrgentProfile(p *matcher.UrgentProfile) ([]byte, error) {
	f := urgentProfileFile{LeadMinutes: p.Lead.Minutes(), Rates: map[string][]float64{}}
	if z := p.Zone; z != nil && z != time.UTC {
		if _, err := time.LoadLocation(z.String()); z.String() != "" && z.String() != "Local" && err == nil {
			f.Zone = z.String()
		} else {
			// A fixed zone (a scenario's start given with an offset).
			_, off := time.Date(2000, 1, 1, 0, 0, 0, 0, z).Zone()
			f.UTCOffset = off / 60
		}
	}
	for sk, r := range p.Rate {
		f.Rates[sk] = r[:]
	}
	for region, rs := range p.Regions {
		if f.Regions == nil {
			f.Regions = map[string]map[string][]float64{}
		}
		f.Regions[region] = map[string][]float64{}
		for sk, r := range rs {
			f.Regions[region][sk] = r[:]
		}
	}
	return json.MarshalIndent(f, "", "  ")
}
