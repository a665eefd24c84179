package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/redis/go-redis/v9"
)

// redisError is a server error reply, as go-redis reports one.
type redisError string

func (e redisError) Error() string { return string(e) }
func (redisError) RedisError()     {}

func TestWrapErr(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string // application error code
	}{
		{"nil", nil, ""},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, doorstep.EUNAVAILABLE},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), doorstep.EUNAVAILABLE},
		{"eof", io.EOF, doorstep.EUNAVAILABLE},
		{"deadline", context.DeadlineExceeded, doorstep.EUNAVAILABLE},
		{"pool timeout", redis.ErrPoolTimeout, doorstep.EUNAVAILABLE},
		{"closed client", redis.ErrClosed, doorstep.EUNAVAILABLE},
		{"loading", redisError("LOADING Redis is loading the dataset in memory"), doorstep.EUNAVAILABLE},
		{"readonly replica", redisError("READONLY You can't write against a read only replica."), doorstep.EUNAVAILABLE},
		{"cluster down", redisError("CLUSTERDOWN The cluster is down"), doorstep.EUNAVAILABLE},
		// TestServeClusterFailover met one: a 500 while a master was
		// failed over.
		{"slot moved past the redirects", redisError("MOVED 2037 127.0.0.1:35833"), doorstep.EUNAVAILABLE},
		{"slot asked past the redirects", redisError("ASK 2037 127.0.0.1:35833"), doorstep.EUNAVAILABLE},
		{"out of memory", redisError("OOM command not allowed when used memory > 'maxmemory'."), doorstep.EUNAVAILABLE},
		{"cancelled by the caller", context.Canceled, doorstep.EINTERNAL},
		{"script bug", redisError("ERR user_script:1: Script attempted to access nonexistent global variable"), doorstep.EINTERNAL},
		{"wrong type", redisError("WRONGTYPE Operation against a key holding the wrong kind of value"), doorstep.EINTERNAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := wrapErr("do it", tt.err)
			if got := doorstep.ErrorCode(err); got != tt.want {
				t.Errorf("code of wrapErr(%v) = %q, want %q", tt.err, got, tt.want)
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Errorf("wrapErr(%v) lost its cause: %v", tt.err, err)
			}
			if tt.want == doorstep.EUNAVAILABLE && doorstep.ErrorMessage(err) == "internal error" {
				t.Errorf("wrapErr(%v) has no client-safe message", tt.err)
			}
		})
	}
}

func TestConflictError(t *testing.T) {
	err := fmt.Errorf("apply: %w", &ConflictError{WorkerID: "w1", Expected: 3, Actual: 4})
	if !errors.Is(err, ErrConflict) {
		t.Errorf("errors.Is(%v, ErrConflict) = false", err)
	}
	if got := doorstep.ErrorCode(err); got != doorstep.ECONFLICT {
		t.Errorf("code = %q, want %q", got, doorstep.ECONFLICT)
	}
}
