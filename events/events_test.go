package events

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
)

// TestSign: the signature is the hex HMAC-SHA256 of "timestamp.body"
// (computed here independently), and Verify accepts it only fresh and
// unaltered.
func TestSign(t *testing.T) {
	body, ts, secret := []byte(`{"id":"1-0"}`), int64(1_800_000_000), "whsec_abc"
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("1800000000." + string(body)))
	want := "v1=" + hex.EncodeToString(m.Sum(nil))
	if got := Sign(secret, ts, body); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	now := time.Unix(ts, 0).Add(time.Minute)
	tests := []struct {
		name     string
		ts, sig  string
		body     string
		now      time.Time
		wantErr  error
		tolerate time.Duration
	}{
		{"good", "1800000000", want, string(body), now, nil, 5 * time.Minute},
		{"two signatures, one good", "1800000000", "v1=00," + want, string(body), now, nil, 5 * time.Minute},
		{"altered body", "1800000000", want, `{"id":"2-0"}`, now, ErrBadSignature, 5 * time.Minute},
		{"other timestamp", "1800000001", want, string(body), now, ErrBadSignature, 5 * time.Minute},
		{"stale", "1800000000", want, string(body), now.Add(time.Hour), ErrStale, 5 * time.Minute},
		{"no timestamp", "", want, string(body), now, ErrBadSignature, 5 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Verify(secret, tt.ts, tt.sig, []byte(tt.body), tt.now, tt.tolerate); !errors.Is(err, tt.wantErr) {
				t.Errorf("Verify = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestURLPolicy: what a webhook may name.
func TestURLPolicy(t *testing.T) {
	listed := URLPolicy{AllowHosts: []string{"hooks.example.com", "*.partner.example"}}
	tests := []struct {
		p   URLPolicy
		url string
		ok  bool
	}{
		{URLPolicy{}, "https://hooks.example.com/x", true},
		{URLPolicy{}, "http://hooks.example.com:8080/x?a=1", true},
		{URLPolicy{}, "ftp://hooks.example.com/", false},
		{URLPolicy{}, "https://u:p@hooks.example.com/", false},
		{URLPolicy{}, "https://hooks.example.com/#frag", false},
		{URLPolicy{}, "https:///path", false},
		{URLPolicy{}, "http://127.0.0.1/", false},
		{URLPolicy{}, "http://192.168.1.10/", false},
		{URLPolicy{}, "http://100.64.0.1/", false},
		{URLPolicy{}, "http://[fe80::1]/", false},
		{URLPolicy{}, "http://8.8.8.8/", true},
		{URLPolicy{AllowPrivate: true}, "http://127.0.0.1:9000/", true},
		{listed, "https://hooks.example.com/", true},
		{listed, "https://a.partner.example/", true},
		{listed, "https://partner.example/", false},
		{listed, "https://evil.example.com/", false},
	}
	for _, tt := range tests {
		err := tt.p.Check(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("%+v.Check(%q) = %v, want ok %v", tt.p, tt.url, err, tt.ok)
		}
		if err != nil && (doorstep.ErrorCode(err) != doorstep.EINVALID) {
			t.Errorf("Check(%q): %v, want an invalid url", tt.url, err)
		}
	}
}

// TestDialRefusesPrivate: the delivery client refuses to connect to a
// non-public address whatever name led there, unless allowed.
func TestDialRefusesPrivate(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	if _, err := (URLPolicy{}).dialer()(context.Background(), "tcp", "localhost:"+port); !errors.Is(err, errPrivate) {
		t.Errorf("dial localhost: %v, want refused as private", err)
	}
	c, err := (URLPolicy{AllowPrivate: true}).dialer()(context.Background(), "tcp", "localhost:"+port)
	if err != nil {
		t.Fatalf("dial allowed: %v", err)
	}
	c.Close()
}

// TestBackoff: the n-th failure waits in [d/2, d], d doubling from the
// base up to the bound.
func TestBackoff(t *testing.T) {
	s := &Service{cfg: Config{Webhooks: WebhookConfig{BackoffBase: time.Second, BackoffMax: time.Minute}}}
	for n, d := range map[int64]time.Duration{1: time.Second, 2: 2 * time.Second, 6: 32 * time.Second, 7: time.Minute, 100: time.Minute} {
		for range 50 {
			if got := s.backoff(n); got < d/2 || got > d {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", n, got, d/2, d)
			}
		}
	}
}
