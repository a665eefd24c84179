// Package randfill fills a value of any type, and everything it holds,
// with random contents, by reflection: for property tests that hold two
// ways of doing one thing equal (an encoder written by hand and
// encoding/json, a copy and a decode) over every field a type has, so
// that a field added to the type and not to the code under test fails
// them.
package randfill

import (
	"math/rand/v2"
	"reflect"
	"time"
)

// Values draws the leaves: a string, a time, an integer, a float.
type Values struct {
	String func(*rand.Rand) string
	Time   func(*rand.Rand) time.Time
	Int    func(*rand.Rand) int64
	Float  func(*rand.Rand) float64
}

// Fill sets v, which must be settable, to random contents: leaves from
// vals, booleans at random, pointers nil half the time, slices nil or of
// 0 to 2 elements, every exported field of a struct. It panics on a kind
// it does not know (a map, an interface, a channel), naming it, so that a
// test learns to fill it before the code under test meets it.
func Fill(r *rand.Rand, v reflect.Value, vals Values) {
	if v.Type() == reflect.TypeFor[time.Time]() {
		v.Set(reflect.ValueOf(vals.Time(r)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(vals.String(r))
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(vals.Int(r))
	case reflect.Float64:
		v.SetFloat(vals.Float(r))
	case reflect.Pointer:
		if r.IntN(2) == 0 {
			p := reflect.New(v.Type().Elem())
			Fill(r, p.Elem(), vals)
			v.Set(p)
		}
	case reflect.Slice:
		if n := r.IntN(4); n > 0 {
			s := reflect.MakeSlice(v.Type(), n-1, n-1)
			for i := range n - 1 {
				Fill(r, s.Index(i), vals)
			}
			v.Set(s)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				Fill(r, v.Field(i), vals)
			}
		}
	default:
		panic("randfill: a " + v.Type().String() + " (" + v.Kind().String() + "): teach the test to fill it")
	}
}
