package sim_test

import (
	"math"
	"testing"

	"github.com/doorstep-dev/doorstep/sim"
)

func TestGini(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		want   float64
	}{
		{"none", nil, 0},
		{"all zero", []float64{0, 0, 0}, 0},
		{"equal", []float64{60, 60, 60, 60}, 0},
		// One of four holds everything: 6 ordered pairs differ by 1;
		// 6 / (2 * 4^2 * 0.25) = 0.75.
		{"one holds all", []float64{0, 0, 0, 1}, 0.75},
		// Ordered pairs sum to 2*(1+2+3+1+2+1) = 20; 20 / (2*16*2.5) = 0.25.
		{"1 2 3 4", []float64{4, 1, 3, 2}, 0.25},
		// Two values 0 and 2: mean 1, ordered pairs sum to 4; 4 / (2*4*1).
		{"0 and 2", []float64{2, 0}, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sim.Gini(tt.values); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("Gini(%v) = %v, want %v", tt.values, got, tt.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	sorted := []float64{1, 2, 3, 4}
	tests := []struct {
		p, want float64
	}{
		{0, 1}, {1, 4}, {0.5, 2.5}, // position 1.5
		{0.95, 3.85}, // position 2.85: 3 + 0.85
		{1.0 / 3, 2}, // position 1
	}
	for _, tt := range tests {
		if got := sim.Percentile(sorted, tt.p); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Percentile(%v, %v) = %v, want %v", sorted, tt.p, got, tt.want)
		}
	}
	if got := sim.Percentile([]float64{7}, 0.95); got != 7 {
		t.Errorf("Percentile of one value = %v, want 7", got)
	}
	if got := sim.Percentile(nil, 0.5); !math.IsNaN(got) {
		t.Errorf("Percentile of none = %v, want NaN", got)
	}
}
