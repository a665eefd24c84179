package store

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestConfigValidate(t *testing.T) {
	defaults := Config{
		URL:             "redis://localhost:7000/0",
		DialTimeout:     DefaultDialTimeout,
		ReadTimeout:     DefaultReadTimeout,
		WriteTimeout:    DefaultWriteTimeout,
		PoolTimeout:     DefaultPoolTimeout,
		MaxRetries:      DefaultMaxRetries,
		MinRetryBackoff: DefaultMinRetryBackoff,
		MaxRetryBackoff: DefaultMaxRetryBackoff,
		WaitTimeout:     DefaultWaitTimeout,
	}
	with := func(f func(*Config)) Config {
		c := defaults
		f(&c)
		return c
	}
	tests := []struct {
		name    string
		in      Config
		want    Config
		wantErr bool
	}{
		{"defaults", Config{URL: "redis://localhost:7000/0"}, defaults, false},
		{"explicit values kept", with(func(c *Config) { c.ReadTimeout, c.MaxRetries, c.PoolSize = time.Second, 5, 4 }),
			with(func(c *Config) { c.ReadTimeout, c.MaxRetries, c.PoolSize = time.Second, 5, 4 }), false},
		{"no retries", with(func(c *Config) { c.MaxRetries = -3 }), with(func(c *Config) { c.MaxRetries = -1 }), false},
		{"unix socket", with(func(c *Config) { c.URL = "unix:///run/redis.sock" }), with(func(c *Config) { c.URL = "unix:///run/redis.sock" }), false},
		{"tls", with(func(c *Config) { c.URL = "rediss://h:6380" }), with(func(c *Config) { c.URL = "rediss://h:6380" }), false},
		{"empty URL", Config{}, Config{}, true},
		{"bad scheme", Config{URL: "http://localhost"}, Config{}, true},
		{"unparsable URL", Config{URL: "redis://[::1"}, Config{}, true},
		{"negative timeout", Config{URL: "redis://h", DialTimeout: -time.Second}, Config{}, true},
		{"backoffs reversed", Config{URL: "redis://h", MinRetryBackoff: time.Second, MaxRetryBackoff: time.Millisecond}, Config{}, true},
		{"negative pool", Config{URL: "redis://h", PoolSize: -1}, Config{}, true},
		{"too many retries", Config{URL: "redis://h", MaxRetries: 11}, Config{}, true},
		{"cluster over unix", Config{URL: "unix:///s", Cluster: true}, Config{}, true},
		{"cluster", with(func(c *Config) { c.Cluster = true }), with(func(c *Config) { c.Cluster = true }), false},
		{"wait for a replica", with(func(c *Config) { c.WaitReplicas = 1 }), with(func(c *Config) { c.WaitReplicas = 1 }), false},
		{"negative wait replicas", Config{URL: "redis://h", WaitReplicas: -1}, Config{}, true},
		{"negative wait timeout", Config{URL: "redis://h", WaitTimeout: -time.Second}, Config{}, true},
		{"wait beyond the read timeout", Config{URL: "redis://h", WaitReplicas: 1, WaitTimeout: time.Second}, Config{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in
			err := got.validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("validate() = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(got, tt.want, cmp.AllowUnexported(Config{})); diff != "" {
				t.Errorf("validate() (-got +want):\n%s", diff)
			}
			client, err := got.client()
			if err != nil {
				t.Fatalf("client(): %v", err)
			}
			client.Close()
		})
	}
}

func TestOpenFailsFast(t *testing.T) {
	// Nothing listens on port 1: Open must say so promptly, as unavailable.
	start := time.Now()
	_, err := Open(t.Context(), Config{URL: "redis://127.0.0.1:1"})
	if err == nil {
		t.Fatalf("Open succeeded with no Redis")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Open took %v", took)
	}
	wantCode(t, "Open", err, "unavailable")
	if _, err := Open(t.Context(), Config{}); err == nil {
		t.Errorf("Open with an empty URL succeeded")
	}
}
