package sim

import (
	"math"
	"testing"
)

// TestInterval checks the confidence interval against figures worked by
// hand: 1..5 has mean 3, sd sqrt(2.5) and t(0.975, 4) = 2.776445, so the
// half-width is 2.776445 * 1.581139 / sqrt(5) = 1.963243.
func TestInterval(t *testing.T) {
	iv := interval([]float64{1, 2, 3, 4, 5})
	if iv.N != 5 || iv.Mean != 3 || math.Abs(iv.SD-1.5811) > 1e-4 {
		t.Fatalf("interval = %+v", iv)
	}
	if math.Abs(*iv.CI95Low-1.0368) > 1e-4 || math.Abs(*iv.CI95High-4.9632) > 1e-4 {
		t.Errorf("ci = [%v, %v], want [1.0368, 4.9632]", *iv.CI95Low, *iv.CI95High)
	}
	if one := interval([]float64{7}); one.Mean != 7 || one.CI95Low != nil {
		t.Errorf("one value: %+v, want mean 7 and no interval", one)
	}
	if none := interval(nil); none.N != 0 || none.CI95Low != nil {
		t.Errorf("no value: %+v", none)
	}
}
