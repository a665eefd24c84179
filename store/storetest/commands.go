package storetest

import (
	"context"
	"regexp"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"
)

// CommandCalls reads how often Redis ran command cmd (lower case, as INFO
// commandstats names it) since its statistics were last reset, the runs
// of scripts included (a GET inside EVALSHA counts).
func CommandCalls(tb testing.TB, c redis.Cmdable, cmd string) int {
	tb.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		tb.Fatalf("INFO commandstats: %v", err)
	}
	m := regexp.MustCompile(`(?m)^cmdstat_` + regexp.QuoteMeta(cmd) + `:calls=(\d+)`).FindStringSubmatch(info)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
