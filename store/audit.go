package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// auditKey is the global audit stream, for the events that change no
// booking (refused requests, erasures). It has no hash tag. The events of
// booking changes go to their region's stream (regionAuditKey), written by
// Apply's own script.
const auditKey = keyPrefix + "audit"

// regionAuditKey is the audit stream of region: its booking changes.
func regionAuditKey(region string) string { return regionTag(region) + "audit" }

// DefaultAuditRetention bounds the audit stream's length (approximately:
// Redis trims whole macro nodes).
const DefaultAuditRetention = 1_000_000

// AuditEvent is one entry of the audit log: who did what to which booking,
// and how it ended. It holds no personal data: no customer id, no place.
// (Its encoding in the API is the api package's business.)
type AuditEvent struct {
	// ID is the stream entry id, set when read.
	ID        string
	At        time.Time
	KeyID     string
	Role      string
	Action    string
	BookingID string
	Result    string
	RequestID string
	// Reason says why a booking was moved by someone else's request
	// (doorstep.ChangeRescue), on "move" events.
	Reason string
}

// auditCtxKey is the context key of WithAudit.
type auditCtxKey struct{}

// auditScope is what WithAudit puts in a context.
type auditScope struct {
	who       AuditEvent
	retention int64
}

// WithAudit returns ctx carrying who acts (KeyID, Role, RequestID, and At,
// zero meaning the time of the change) for the audit events that Apply
// writes with each booking change made under ctx, to streams trimmed to
// about retention entries (0 means DefaultAuditRetention). Changes made
// without it are recorded with an empty key id and role.
func WithAudit(ctx context.Context, who AuditEvent, retention int64) context.Context {
	return context.WithValue(ctx, auditCtxKey{}, auditScope{who: who, retention: retention})
}

// auditArgs appends to apply.lua's keys and args the audit stream of ch's
// region and the event fields its script needs, then its outbox and
// integrator events.
func (s *Store) auditArgs(ctx context.Context, ch *Change, keys []string, args []any) ([]string, []any) {
	sc, _ := ctx.Value(auditCtxKey{}).(auditScope)
	if sc.retention <= 0 {
		sc.retention = DefaultAuditRetention
	}
	at := sc.who.At
	if at.IsZero() {
		at = s.now()
	}
	// Then the region's event outbox and the change's integrator events
	// (events.go).
	return append(keys, regionAuditKey(ch.Region), outboxKey(ch.Region)),
		s.eventArgs(ch, append(args, sc.retention, at.UTC().Format(time.RFC3339Nano), sc.who.KeyID, sc.who.Role, sc.who.RequestID, ch.Reason))
}

// AppendAudit adds an event to the audit stream, trimming it to about
// retention entries (0 means DefaultAuditRetention).
func (s *Store) AppendAudit(ctx context.Context, e AuditEvent, retention int64) error {
	if retention <= 0 {
		retention = DefaultAuditRetention
	}
	err := s.rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: auditKey,
		MaxLen: retention,
		Approx: true,
		Values: []string{
			"at", e.At.UTC().Format(time.RFC3339Nano), "key_id", e.KeyID, "role", e.Role,
			"action", e.Action, "booking_id", e.BookingID, "result", e.Result, "request_id", e.RequestID,
		},
	}).Err()
	return wrapErr("append audit event", err)
}

// ReadAudit returns up to limit events, newest first, older than the event
// id before ("" for the newest). It merges the global stream and the
// regions' streams (found by a SCAN of the keyspace, on every master of a
// cluster: reading the log is an administrator's occasional act). Entry ids
// of different streams may be equal, so an event's id names its stream: a
// global event's id is its entry id ("ms-seq"), a region's event's id is
// "ms-seq-region"; events are ordered by entry id, then by that name.
func (s *Store) ReadAudit(ctx context.Context, before string, limit int) ([]AuditEvent, error) {
	if limit <= 0 || limit > 1000 {
		return nil, invalid("limit", "limit must be in [1, 1000]")
	}
	var cur auditID
	if before != "" {
		var ok bool
		if cur, ok = parseAuditID(before); !ok {
			return nil, invalid("before", "not an audit entry id")
		}
	}
	regions := []string{""}
	err := s.scanKeys(ctx, keyPrefix+"{r:*}:audit", "stream", func(_ redis.Cmdable, key string) error {
		region := strings.TrimSuffix(strings.TrimPrefix(key, keyPrefix+"{r:"), "}:audit")
		if validRegion(region) && key == regionAuditKey(region) {
			regions = append(regions, region)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read audit: %w", err)
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.XMessageSliceCmd, len(regions))
	for i, region := range regions {
		key, max := auditKey, "+"
		if region != "" {
			key = regionAuditKey(region)
		}
		if before != "" {
			// Equal entry ids: this stream's event is older than the
			// cursor's when its name sorts first.
			max = "(" + cur.entry
			if region < cur.region {
				max = cur.entry
			}
		}
		cmds[i] = pipe.XRevRangeN(ctx, key, max, "-", int64(limit))
	}
	if err := execPipe(ctx, pipe); err != nil {
		return nil, wrapErr("read audit", err)
	}
	var out []AuditEvent
	for i, cmd := range cmds {
		for _, m := range cmd.Val() {
			out = append(out, auditEventOf(m, regions[i]))
		}
	}
	slices.SortFunc(out, func(a, b AuditEvent) int {
		x, _ := parseAuditID(a.ID)
		y, _ := parseAuditID(b.ID)
		return -x.compare(y)
	})
	return out[:min(len(out), limit)], nil
}

// auditEventOf decodes entry m of the stream of region ("" for global).
func auditEventOf(m redis.XMessage, region string) AuditEvent {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	at, _ := time.Parse(time.RFC3339Nano, str("at"))
	id := m.ID
	if region != "" {
		id += "-" + region
	}
	return AuditEvent{ID: id, At: at, KeyID: str("key_id"), Role: str("role"), Action: str("action"),
		BookingID: str("booking_id"), Result: str("result"), RequestID: str("request_id"), Reason: str("reason")}
}

// auditID is a parsed event id: the stream entry id and the region of the
// stream ("" for the global one).
type auditID struct {
	entry   string
	ms, seq uint64
	region  string
}

// parseAuditID parses "ms-seq" or "ms-seq-region".
func parseAuditID(s string) (auditID, bool) {
	parts := strings.Split(s, "-")
	if len(parts) < 2 || len(parts) > 3 {
		return auditID{}, false
	}
	ms, e1 := strconv.ParseUint(parts[0], 10, 64)
	seq, e2 := strconv.ParseUint(parts[1], 10, 64)
	if e1 != nil || e2 != nil {
		return auditID{}, false
	}
	id := auditID{entry: parts[0] + "-" + parts[1], ms: ms, seq: seq}
	if len(parts) == 3 {
		if !validRegion(parts[2]) {
			return auditID{}, false
		}
		id.region = parts[2]
	}
	return id, true
}

func (a auditID) compare(b auditID) int {
	return cmp.Or(cmp.Compare(a.ms, b.ms), cmp.Compare(a.seq, b.seq), cmp.Compare(a.region, b.region))
}

// Persistence is what the Redis server says of its durability settings.
type Persistence struct {
	AppendOnly  bool   // AOF on
	AppendFsync string // always, everysec or no
	Embedded    bool   // the in-process Redis: nothing survives the process
}

// Durable reports whether a confirmed booking survives a crash of Redis'
// host: AOF on with fsync always. everysec may lose up to about a second of
// writes; no leaves it to the OS.
func (p Persistence) Durable() bool { return !p.Embedded && p.AppendOnly && p.AppendFsync == "always" }

// String describes the settings for a log line.
func (p Persistence) String() string {
	if p.Embedded {
		return "embedded (not persisted)"
	}
	if !p.AppendOnly {
		return "appendonly no"
	}
	return "appendonly yes, appendfsync " + p.AppendFsync
}

// Persistence reads the server's AOF settings (CONFIG GET). A server that
// refuses CONFIG (a managed Redis may) is reported as an error.
func (s *Store) Persistence(ctx context.Context) (Persistence, error) {
	if s.mini != nil {
		return Persistence{Embedded: true}, nil
	}
	var p Persistence
	for _, item := range []struct {
		name string
		set  func(string)
	}{
		{"appendonly", func(v string) { p.AppendOnly = v == "yes" }},
		{"appendfsync", func(v string) { p.AppendFsync = v }},
	} {
		res, err := s.rdb.ConfigGet(ctx, item.name).Result()
		if err != nil {
			return p, wrapErr("read redis config "+item.name, err)
		}
		v, ok := res[item.name]
		if !ok {
			return p, fmt.Errorf("read redis config %s: not reported", item.name)
		}
		item.set(v)
	}
	return p, nil
}
