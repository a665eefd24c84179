package events

import "sync"

// Hub wakes the readers waiting for a tenant's next event in this process
// (a long poll, a Server-Sent Events stream). Events relayed by another
// server reach them at their next poll.
type Hub struct {
	mu sync.Mutex
	ch map[string]chan struct{}
}

// Changed returns a channel closed when tenant gets new events (call it
// before reading, then wait on it if the read found nothing).
func (h *Hub) Changed(tenant string) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ch == nil {
		h.ch = make(map[string]chan struct{})
	}
	c, ok := h.ch[tenant]
	if !ok {
		c = make(chan struct{})
		h.ch[tenant] = c
	}
	return c
}

// Notify wakes the readers of tenant.
func (h *Hub) Notify(tenant string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c, ok := h.ch[tenant]; ok {
		close(c)
		delete(h.ch, tenant)
	}
}
