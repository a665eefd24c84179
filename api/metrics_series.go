package api

import (
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/prometheus/client_golang/prometheus"
)

var _ dispatch.SeriesObserver = (*Metrics)(nil)

// registerSeries registers the roll-forward's counter,
// doorstep_series_rolled_occurrences_total{outcome="placed"|"missed"}:
// the occurrences of recurring series the roll-forward placed, and those
// it could not (each also recorded on its series, GET /v1/series/{id}).
func (m *Metrics) registerSeries() {
	m.rolled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "doorstep_series_rolled_occurrences_total",
		Help: "Occurrences of recurring series the roll-forward placed or missed (missed ones are recorded on the series), by outcome.",
	}, []string{"outcome"})
	m.rolled.WithLabelValues("placed")
	m.rolled.WithLabelValues("missed")
	m.reg.MustRegister(m.rolled)
}

// Rolled records occurrences the roll-forward placed and missed
// (dispatch.SeriesObserver).
func (m *Metrics) Rolled(placed, missed int) {
	m.rolled.WithLabelValues("placed").Add(float64(placed))
	m.rolled.WithLabelValues("missed").Add(float64(missed))
}
