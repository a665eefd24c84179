package randfill

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

type inner struct {
	At  time.Time
	Tag string
}

type outer struct {
	Name   string
	On     bool
	N      int
	F      float64
	In     inner
	Ptr    *inner
	List   []inner
	hidden string
}

var vals = Values{
	String: func(*rand.Rand) string { return "s" },
	Time:   func(*rand.Rand) time.Time { return time.Unix(7, 0) },
	Int:    func(*rand.Rand) int64 { return 3 },
	Float:  func(*rand.Rand) float64 { return 1.5 },
}

// TestFill reaches every exported field, nested ones too, with the
// leaves drawn, and leaves pointers and slices nil, empty or filled.
func TestFill(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	var nilPtr, ptr, nilList, empty, full bool
	for range 200 {
		var o outer
		Fill(r, reflect.ValueOf(&o).Elem(), vals)
		if o.Name != "s" || o.N != 3 || o.F != 1.5 || o.In != (inner{time.Unix(7, 0), "s"}) || o.hidden != "" {
			t.Fatalf("%+v", o)
		}
		if o.Ptr == nil {
			nilPtr = true
		} else if ptr = true; *o.Ptr != o.In {
			t.Fatalf("pointer to %+v", *o.Ptr)
		}
		switch {
		case o.List == nil:
			nilList = true
		case len(o.List) == 0:
			empty = true
		default:
			full = full || o.List[0] == o.In
		}
	}
	if !nilPtr || !ptr || !nilList || !empty || !full {
		t.Fatalf("nil pointer %v, pointer %v, nil list %v, empty %v, filled %v", nilPtr, ptr, nilList, empty, full)
	}
}

// TestFillRefusesWhatItDoesNotKnow: a map panics, naming its type.
func TestFillRefusesWhatItDoesNotKnow(t *testing.T) {
	defer func() {
		if p, _ := recover().(string); p == "" {
			t.Fatal("a map was filled or skipped, not refused")
		}
	}()
	var m struct{ M map[string]int }
	Fill(rand.New(rand.NewPCG(1, 1)), reflect.ValueOf(&m).Elem(), vals)
}
