package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// auditKey is the audit stream. It has no hash tag: it is one stream for
// the whole deployment, read by administrators.
const auditKey = keyPrefix + "audit"

// DefaultAuditRetention bounds the audit stream's length (approximately:
// Redis trims whole macro nodes).
const DefaultAuditRetention = 1_000_000

// AuditEvent is one entry of the audit log: who did what to which booking,
// and how it ended. It holds no personal data: no customer id, no place.
type AuditEvent struct {
	// ID is the stream entry id, set when read.
	ID        string    `json:"id,omitempty"`
	At        time.Time `json:"at"`
	KeyID     string    `json:"key_id"`
	Role      string    `json:"role"`
	Action    string    `json:"action"`
	BookingID string    `json:"booking_id,omitempty"`
	Result    string    `json:"result"`
	RequestID string    `json:"request_id,omitempty"`
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

// ReadAudit returns up to limit events, newest first, older than the entry
// id before ("" for the newest).
func (s *Store) ReadAudit(ctx context.Context, before string, limit int) ([]AuditEvent, error) {
	if limit <= 0 || limit > 1000 {
		return nil, invalid("limit", "limit must be in [1, 1000]")
	}
	max := "+"
	if before != "" {
		if !validStreamID(before) {
			return nil, invalid("before", "not an audit entry id")
		}
		max = "(" + before
	}
	msgs, err := s.rdb.XRevRangeN(ctx, auditKey, max, "-", int64(limit)).Result()
	if err != nil {
		return nil, wrapErr("read audit", err)
	}
	out := make([]AuditEvent, 0, len(msgs))
	for _, m := range msgs {
		str := func(k string) string { v, _ := m.Values[k].(string); return v }
		at, _ := time.Parse(time.RFC3339Nano, str("at"))
		out = append(out, AuditEvent{ID: m.ID, At: at, KeyID: str("key_id"), Role: str("role"), Action: str("action"),
			BookingID: str("booking_id"), Result: str("result"), RequestID: str("request_id")})
	}
	return out, nil
}

// validStreamID reports whether s looks like "ms-seq".
func validStreamID(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '-' {
			_, e1 := strconv.ParseUint(s[:i], 10, 64)
			_, e2 := strconv.ParseUint(s[i+1:], 10, 64)
			return e1 == nil && e2 == nil
		}
	}
	return false
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
