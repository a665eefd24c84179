package doorstep_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestDefaultCatalogue(t *testing.T) {
	c := doorstep.DefaultCatalogue()

	got := c.Names()
	want := []string{
		"appliance_repair", "childcare", "cleaning", "cooking", "deep_cleaning", "elder_care",
		"electrical", "gardening", "laundry", "moving", "pet_care", "plumbing",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Names() mismatch (-want +got):\n%s", diff)
	}

	tests := []struct {
		service string
		want    doorstep.Service
	}{
		{"cleaning", doorstep.Service{Name: "cleaning", Skill: "cleaning", DefaultDuration: 2 * time.Hour}},
		{"deep_cleaning", doorstep.Service{Name: "deep_cleaning", Skill: "deep_cleaning", DefaultDuration: 4 * time.Hour}},
		{"pet_care", doorstep.Service{Name: "pet_care", Skill: "pet_care", DefaultDuration: time.Hour}},
		{"childcare", doorstep.Service{Name: "childcare", Skill: "childcare", Certificates: []string{"childcare"}, DefaultDuration: 4 * time.Hour}},
		{"elder_care", doorstep.Service{Name: "elder_care", Skill: "elder_care", Certificates: []string{"elder_care"}, DefaultDuration: 4 * time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			got, ok := c[tt.service]
			if !ok {
				t.Fatalf("service %q missing", tt.service)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(doorstep.Service{}, "Tariff")); diff != "" {
				t.Errorf("service mismatch (-want +got):\n%s", diff)
			}
		})
	}

	// Only the two care services need a certificate; every service has a
	// skill and a sane default duration.
	for name, s := range c {
		if s.Name != name || s.Skill == "" || s.DefaultDuration <= 0 || s.DefaultDuration > doorstep.MaxDuration {
			t.Errorf("service %q malformed: %+v", name, s)
		}
		needsCert := name == "childcare" || name == "elder_care"
		if got := len(s.Certificates) > 0; got != needsCert {
			t.Errorf("service %q needs a certificate = %v, want %v", name, got, needsCert)
		}
	}
}

func TestCatalogueResolve(t *testing.T) {
	c := doorstep.DefaultCatalogue()
	tests := []struct {
		name string
		in   doorstep.Request
		want doorstep.Request
	}{
		{
			name: "skill and default duration",
			in:   doorstep.Request{Service: "plumbing"},
			want: doorstep.Request{Service: "plumbing", Skills: []string{"plumbing"}, Duration: 90 * time.Minute},
		},
		{
			name: "certificate added",
			in:   doorstep.Request{Service: "childcare"},
			want: doorstep.Request{Service: "childcare", Skills: []string{"childcare"}, Certificates: []string{"childcare"}, Duration: 4 * time.Hour},
		},
		{
			name: "extra skills and certificates kept, given duration kept",
			in: doorstep.Request{Service: "elder_care", Skills: []string{"first_aid"}, Certificates: []string{"cpr"},
				Duration: 3 * time.Hour},
			want: doorstep.Request{Service: "elder_care", Skills: []string{"first_aid", "elder_care"},
				Certificates: []string{"cpr", "elder_care"}, Duration: 3 * time.Hour},
		},
		{
			name: "no duplicates",
			in:   doorstep.Request{Service: "childcare", Skills: []string{"childcare"}, Certificates: []string{"childcare"}},
			want: doorstep.Request{Service: "childcare", Skills: []string{"childcare"}, Certificates: []string{"childcare"}, Duration: 4 * time.Hour},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in
			if err := c.Resolve(&got); err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Resolve mismatch (-want +got):\n%s", diff)
			}
			// Resolving twice changes nothing.
			again := got
			if err := c.Resolve(&again); err != nil {
				t.Fatalf("second Resolve: %v", err)
			}
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("second Resolve changed the request (-first +second):\n%s", diff)
			}
		})
	}
}

func TestCatalogueResolveUnknown(t *testing.T) {
	for _, service := range []string{"", "window_cleaning", "Cleaning"} {
		t.Run(service, func(t *testing.T) {
			r := doorstep.Request{Service: service}
			err := doorstep.DefaultCatalogue().Resolve(&r)
			var e *doorstep.Error
			if !errors.As(err, &e) {
				t.Fatalf("Resolve(%q) = %v, want a *doorstep.Error", service, err)
			}
			if e.Code != doorstep.EINVALID || e.Field != "service" {
				t.Errorf("Resolve(%q) code=%q field=%q, want %q %q", service, e.Code, e.Field, doorstep.EINVALID, "service")
			}
			if r.Skills != nil || r.Duration != 0 {
				t.Errorf("Resolve(%q) changed the request: %+v", service, r)
			}
		})
	}
}

func TestParseCatalogue(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    doorstep.Catalogue
		wantErr string // substring; "" means success
	}{
		{
			name: "ok",
			in:   `{"services":[{"name":"a","skill":"x","default_duration_minutes":30,"certificates":["c"]},{"name":"b","skill":"y","default_duration_minutes":720}]}`,
			want: doorstep.Catalogue{
				"a": {Name: "a", Skill: "x", Certificates: []string{"c"}, DefaultDuration: 30 * time.Minute},
				"b": {Name: "b", Skill: "y", DefaultDuration: 12 * time.Hour},
			},
		},
		{name: "empty file", in: ``, wantErr: "parse catalogue"},
		{name: "not json", in: `services: []`, wantErr: "parse catalogue"},
		{name: "no services", in: `{"services":[]}`, wantErr: "no services"},
		{name: "empty object", in: `{}`, wantErr: "no services"},
		{name: "duplicate", in: `{"services":[{"name":"a","skill":"x","default_duration_minutes":30},{"name":"a","skill":"y","default_duration_minutes":30}]}`, wantErr: "listed twice"},
		{name: "zero duration", in: `{"services":[{"name":"a","skill":"x"}]}`, wantErr: "default_duration_minutes"},
		{name: "negative duration", in: `{"services":[{"name":"a","skill":"x","default_duration_minutes":-5}]}`, wantErr: "default_duration_minutes"},
		{name: "too long", in: `{"services":[{"name":"a","skill":"x","default_duration_minutes":721}]}`, wantErr: "default_duration_minutes"},
		{name: "no name", in: `{"services":[{"skill":"x","default_duration_minutes":30}]}`, wantErr: "name is empty"},
		{name: "no skill", in: `{"services":[{"name":"a","default_duration_minutes":30}]}`, wantErr: "skill is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := doorstep.ParseCatalogue([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseCatalogue error = %v, want one containing %q", err, tt.wantErr)
				}
				if got != nil {
					t.Errorf("ParseCatalogue returned %v with an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCatalogue: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseCatalogue mismatch (-want +got):\n%s", diff)
			}
			// ReadCatalogue reads the same thing.
			read, err := doorstep.ReadCatalogue(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("ReadCatalogue: %v", err)
			}
			if diff := cmp.Diff(got, read); diff != "" {
				t.Errorf("ReadCatalogue differs from ParseCatalogue (-parse +read):\n%s", diff)
			}
		})
	}
}

type failingReader struct{}

var errRead = errors.New("disk on fire")

func (failingReader) Read([]byte) (int, error) { return 0, errRead }

func TestReadCatalogueError(t *testing.T) {
	_, err := doorstep.ReadCatalogue(failingReader{})
	if !errors.Is(err, errRead) {
		t.Fatalf("ReadCatalogue error = %v, want it to wrap %v", err, errRead)
	}
}
