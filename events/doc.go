// Package events carries booking events to integrators: it relays the
// regions' outboxes, where every booking change writes its events in the
// same atomic step (store.Apply), to the tenants' streams that
// GET /v1/events reads, wakes the readers waiting on them, and delivers
// the events to the tenants' webhooks, signed, at least once, retried with
// backoff. Every loop is safe to run on any number of servers sharing one
// Redis: a region's relay and a webhook's delivery are each held by one
// server at a time through a lease (store.Lease), and the relay's copy is
// idempotent whoever runs it (see store/events.go).
package events
