package lsap

// heapItem is a column (or the pool) offered at a tentative distance.
type heapItem struct {
	d float64
	j int32
}

// minHeap is a 4-ary min-heap of heapItems by distance (shallower than a
// binary heap, and its four children share a cache line or two). Stale
// items (whose column has since been offered nearer or settled) are left in
// and skipped when popped, which is cheaper than a decrease-key.
type minHeap []heapItem

// push adds an item.
func (h *minHeap) push(d float64, j int32) {
	a := append(*h, heapItem{})
	k := len(a) - 1
	for k > 0 {
		parent := (k - 1) / 4
		if a[parent].d <= d {
			break
		}
		a[k] = a[parent]
		k = parent
	}
	a[k] = heapItem{d, j}
	*h = a
}

// pop removes and returns the item of least distance. The heap must not be
// empty.
func (h *minHeap) pop() heapItem {
	a := *h
	top := a[0]
	n := len(a) - 1
	x := a[n]
	a = a[:n]
	k := 0
	for {
		c := 4*k + 1
		if c >= n {
			break
		}
		// The least of up to four children.
		m := c
		for q, e := c+1, min(c+4, n); q < e; q++ {
			if a[q].d < a[m].d {
				m = q
			}
		}
		if a[m].d >= x.d {
			break
		}
		a[k] = a[m]
		k = m
	}
	if n > 0 {
		a[k] = x
	}
	*h = a
	return top
}
