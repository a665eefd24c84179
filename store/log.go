package store

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// SetLogger sends go-redis' own log lines (dial failures while Redis is
// down, pool notices) to l at warning level instead of the standard
// logger's plain text. go-redis keeps one process-wide logger, so this
// affects every Store in the process.
func SetLogger(l *slog.Logger) {
	redis.SetLogger(slogAdapter{l})
}

type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Printf(ctx context.Context, format string, v ...any) {
	a.l.WarnContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}
