package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Webhooks: a tenant's endpoints that receive its events (package events
// delivers them). A webhook's record is a hash in the tenant's slot,
// beside its stream and its lease; the global index webhooksKey (no hash
// tag) maps every webhook id to its tenant.

// webhooksKey maps webhook ids to their tenants.
const webhooksKey = keyPrefix + "webhooks"

func webhookKey(tenant, id string) string      { return tenantTag(tenant) + "wh:" + id }
func webhookLeaseKey(tenant, id string) string { return tenantTag(tenant) + "wh:" + id + ":lease" }

// WebhookLease is the lease of the delivery to webhook id of tenant.
func WebhookLease(tenant, id string) Lease { return Lease(webhookLeaseKey(tenant, id)) }

// Webhook is an endpoint of a tenant and the state of its delivery.
type Webhook struct {
	ID        string
	Tenant    string
	URL       string
	Secret    string
	CreatedAt time.Time
	// Cursor is the id of the last event delivered (or skipped), Seq its
	// seq: delivery goes on after it.
	Cursor string
	Seq    int64
	// Delivered counts the events delivered; Failures the failed attempts
	// since the last success; FailedTotal all failed attempts; Skipped the
	// events retention dropped before they could be delivered.
	Delivered, Failures, FailedTotal, Skipped int64
	LastSuccess, LastFailure                  time.Time
	// NextAttempt is when delivery is tried again after a failure (zero:
	// now).
	NextAttempt time.Time
	LastError   string
	LastStatus  int
	// Pending is how many of the tenant's events are not delivered yet,
	// when read.
	Pending int64
}

// NewWebhookID returns a random webhook id, "wh_" and 24 hex digits.
func NewWebhookID() string {
	var b [12]byte
	rand.Read(b[:])
	return "wh_" + hex.EncodeToString(b[:])
}

// validWebhookID reports whether id is one of NewWebhookID's.
func validWebhookID(id string) bool {
	if len(id) != 27 || id[:3] != "wh_" {
		return false
	}
	_, err := hex.DecodeString(id[3:])
	return err == nil
}

// CreateWebhook stores w (ID, Tenant, URL, Secret and CreatedAt set by the
// caller), to receive the tenant's events from its newest on: its cursor
// is set to the tenant's last event. The record is written before the
// index, so a crash between leaves an unlisted record, never a listed
// webhook without one.
func (s *Store) CreateWebhook(ctx context.Context, w *Webhook) error {
	if err := CheckTenant(w.Tenant); err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	if !validWebhookID(w.ID) {
		return fmt.Errorf("create webhook: invalid id %q", w.ID)
	}
	id, seq, err := s.LastEvent(ctx, w.Tenant)
	if err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	w.Cursor, w.Seq = id, seq
	err = s.rdb.HSet(ctx, webhookKey(w.Tenant, w.ID), "url", w.URL, "secret", w.Secret,
		"created_at", w.CreatedAt.UTC().Format(time.RFC3339Nano), "cursor", w.Cursor, "seq", w.Seq).Err()
	if err != nil {
		return wrapErr("create webhook", err)
	}
	return wrapErr("create webhook", s.rdb.HSet(ctx, webhooksKey, w.ID, w.Tenant).Err())
}

// GetWebhook returns webhook id with its delivery state; ENOTFOUND when
// there is none.
func (s *Store) GetWebhook(ctx context.Context, id string) (*Webhook, error) {
	if !validWebhookID(id) {
		return nil, notFound("webhook %q not found", id)
	}
	tenant, err := s.rdb.HGet(ctx, webhooksKey, id).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, notFound("webhook %s not found", id)
	case err != nil:
		return nil, wrapErr("get webhook", err)
	}
	ws, err := s.readWebhooks(ctx, map[string]string{id: tenant})
	if err != nil {
		return nil, err
	}
	if len(ws) == 0 {
		return nil, notFound("webhook %s not found", id)
	}
	return ws[0], nil
}

// ListWebhooks returns tenant's webhooks, or every tenant's for "", by id.
func (s *Store) ListWebhooks(ctx context.Context, tenant string) ([]*Webhook, error) {
	all, err := s.rdb.HGetAll(ctx, webhooksKey).Result()
	if err != nil {
		return nil, wrapErr("list webhooks", err)
	}
	if tenant != "" {
		for id, t := range all {
			if t != tenant {
				delete(all, id)
			}
		}
	}
	return s.readWebhooks(ctx, all)
}

// readWebhooks reads the records of ids (id -> tenant) and their tenants'
// event counters in one round trip, sorted by id; a listed id without a
// record is left out.
func (s *Store) readWebhooks(ctx context.Context, ids map[string]string) ([]*Webhook, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	type read struct {
		id, tenant string
		rec        *redis.MapStringStringCmd
		seq        *redis.StringCmd
	}
	pipe := s.rdb.Pipeline()
	var reads []read
	for id, t := range ids {
		reads = append(reads, read{id: id, tenant: t, rec: pipe.HGetAll(ctx, webhookKey(t, id)),
			seq: pipe.HGet(ctx, tenantMarksKey(t), "#seq")})
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, wrapErr("read webhooks", err)
	}
	var out []*Webhook
	for _, r := range reads {
		m := r.rec.Val()
		if len(m) == 0 {
			continue
		}
		num := func(k string) int64 { n, _ := strconv.ParseInt(m[k], 10, 64); return n }
		at := func(k string) time.Time { t, _ := time.Parse(time.RFC3339Nano, m[k]); return t }
		w := &Webhook{ID: r.id, Tenant: r.tenant, URL: m["url"], Secret: m["secret"], CreatedAt: at("created_at"),
			Cursor: m["cursor"], Seq: num("seq"), Delivered: num("delivered"), Failures: num("failures"),
			FailedTotal: num("failed_total"), Skipped: num("skipped"), LastSuccess: at("last_success"),
			LastFailure: at("last_failure"), NextAttempt: at("next_attempt"), LastError: m["last_error"],
			LastStatus: int(num("last_status"))}
		total, _ := strconv.ParseInt(r.seq.Val(), 10, 64)
		w.Pending = max(total-w.Seq, 0)
		out = append(out, w)
	}
	slices.SortFunc(out, func(a, b *Webhook) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// DeleteWebhook removes webhook id: from the index first, so that no
// deliverer starts on it, then its record (a delivery under way records
// nothing once the record is gone: webhook_ack.lua).
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	w, err := s.GetWebhook(ctx, id)
	if err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	if err := s.rdb.HDel(ctx, webhooksKey, id).Err(); err != nil {
		return wrapErr("delete webhook", err)
	}
	return wrapErr("delete webhook", s.rdb.Del(ctx, webhookKey(w.Tenant, id)).Err())
}

// WebhookDelivered records, under the webhook's lease held by holder, that
// ev was delivered to w at now (skipped: events dropped by retention
// before it). It returns false when the lease or the webhook is gone.
func (s *Store) WebhookDelivered(ctx context.Context, w *Webhook, holder string, ev Event, skipped int64, now time.Time) (bool, error) {
	n, err := s.scripts.whAck.Run(ctx, s.rdb, []string{webhookLeaseKey(w.Tenant, w.ID), webhookKey(w.Tenant, w.ID)},
		holder, "ok", skipped, "cursor", ev.ID, "seq", ev.Seq, "failures", 0, "next_attempt", "",
		"last_success", now.UTC().Format(time.RFC3339Nano)).Int()
	if err != nil {
		return false, wrapErr("record webhook delivery", err)
	}
	return n == 1, nil
}

// WebhookFailed records, under the webhook's lease held by holder, a
// failed attempt at now (the HTTP status, 0 for none, and what went
// wrong), to be tried again at next. It returns false when the lease or
// the webhook is gone.
func (s *Store) WebhookFailed(ctx context.Context, w *Webhook, holder string, status int, why string, now, next time.Time) (bool, error) {
	n, err := s.scripts.whAck.Run(ctx, s.rdb, []string{webhookLeaseKey(w.Tenant, w.ID), webhookKey(w.Tenant, w.ID)},
		holder, "fail", 0, "last_failure", now.UTC().Format(time.RFC3339Nano), "last_status", status,
		"last_error", why, "next_attempt", next.UTC().Format(time.RFC3339Nano)).Int()
	if err != nil {
		return false, wrapErr("record webhook failure", err)
	}
	return n == 1, nil
}
