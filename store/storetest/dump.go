package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/redis/go-redis/v9"
)

// idemPrefix starts the keys of the store's Idempotency-Key records, whose
// stored answers are base64 inside JSON.
const idemPrefix = "dst:idem:"

// Dump reads every key of rdb, whatever its type, as text: a string's
// value (and, for an idempotency record, its stored answer decoded from
// base64), a hash's fields, a set's or sorted set's members, a list's
// items, a stream's entries. Keys in skip are left out. Privacy tests
// search it for what must not be stored; "nothing was written" tests
// compare two dumps.
func Dump(tb testing.TB, rdb redis.Cmdable, skip ...string) map[string]string {
	tb.Helper()
	ctx := context.Background()
	out := map[string]string{}
	iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		if slices.Contains(skip, key) {
			continue
		}
		typ, err := rdb.Type(ctx, key).Result()
		if err != nil {
			tb.Fatalf("TYPE %s: %v", key, err)
		}
		var text string
		switch typ {
		case "string":
			text, err = rdb.Get(ctx, key).Result()
			var rec struct {
				Body []byte `json:"body"`
			}
			if err == nil && strings.HasPrefix(key, idemPrefix) && json.Unmarshal([]byte(text), &rec) == nil {
				text += "\n" + string(rec.Body)
			}
		case "hash":
			var m map[string]string
			m, err = rdb.HGetAll(ctx, key).Result()
			text = fmt.Sprint(m) // fmt sorts map keys
		case "set":
			var ms []string
			ms, err = rdb.SMembers(ctx, key).Result()
			slices.Sort(ms)
			text = strings.Join(ms, "\n")
		case "zset":
			var zs []redis.Z
			zs, err = rdb.ZRangeWithScores(ctx, key, 0, -1).Result()
			text = fmt.Sprint(zs)
		case "list":
			var ls []string
			ls, err = rdb.LRange(ctx, key, 0, -1).Result()
			text = strings.Join(ls, "\n")
		case "stream":
			var xs []redis.XMessage
			xs, err = rdb.XRange(ctx, key, "-", "+").Result()
			text = fmt.Sprint(xs)
		case "none":
			continue // expired meanwhile
		default:
			tb.Fatalf("key %s has unexpected type %s", key, typ)
		}
		if err != nil {
			tb.Fatalf("read %s %s: %v", typ, key, err)
		}
		out[key] = text
	}
	if err := iter.Err(); err != nil {
		tb.Fatalf("SCAN: %v", err)
	}
	return out
}

// CoordNeedles are the strings that would betray l in a stored value: each
// coordinate as encoding/json writes it, and cut to five decimals (about a
// metre), whatever the value holds around it.
func CoordNeedles(l doorstep.Location) []string {
	var out []string
	for _, v := range []float64{l.Lat, l.Lng} {
		full := strconv.FormatFloat(v, 'f', -1, 64)
		out = append(out, full)
		if i := strings.IndexByte(full, '.'); i >= 0 && len(full) > i+6 {
			out = append(out, full[:i+6])
		}
	}
	return out
}

// FindIn returns the keys of a Dump whose name or text contains needle,
// sorted.
func FindIn(dump map[string]string, needle string) []string {
	var keys []string
	for k, v := range dump {
		if strings.Contains(k, needle) || strings.Contains(v, needle) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
