package doorstep

import "time"

// Absent returns w's shifts with the span of an absence taken out: a
// shift inside it goes, one overlapping an edge of it is cut short, one
// around it is split in two; a break keeps only its part inside what is
// left of its shift. Urgent overtime stays with the piece that still ends
// as its shift did, cut where the absence begins inside it; a piece cut
// short by the absence has none. Times keep the zone of their shift's
// start (the zone of its working day). w is not modified.
func (w *Worker) Absent(away Window) []Shift {
	var out []Shift
	for _, sh := range w.Shifts {
		if !sh.Start.Before(away.End) || !away.Start.Before(sh.End) {
			if over := sh.EndFor(true); sh.UrgentOvertimeMinutes > 0 && away.Start.Before(over) && away.End.After(sh.End) {
				// The absence begins in the overtime: the overtime ends there.
				sh.UrgentOvertimeMinutes = int(max(away.Start.Sub(sh.End), 0) / time.Minute)
			}
			out = append(out, sh) // untouched
			continue
		}
		zone := sh.Start.Location()
		if sh.Start.Before(away.Start) {
			out = append(out, piece(sh, sh.Start, away.Start.In(zone)))
		}
		if away.End.Before(sh.End) {
			p := piece(sh, away.End.In(zone), sh.End)
			p.UrgentOvertimeMinutes = sh.UrgentOvertimeMinutes
			out = append(out, p)
		}
	}
	return out
}

// piece is the part [start, end) of shift sh, with the parts of its breaks
// that fall inside it: a fixed break keeps the part of its window inside
// the piece; a flexible one keeps its minutes, at most the part of its
// range left inside the piece.
func piece(sh Shift, start, end time.Time) Shift {
	p := Shift{Start: start, End: end}
	for _, b := range sh.Breaks {
		fixed := b.Fixed()
		if b.Earliest.Before(start) {
			b.Earliest = start
		}
		if b.Latest.After(end) {
			b.Latest = end
		}
		if !b.Latest.After(b.Earliest) {
			continue
		}
		if span := b.Latest.Sub(b.Earliest); fixed || b.Duration > span {
			b.Duration = span
		}
		p.Breaks = append(p.Breaks, b)
	}
	return p
}
