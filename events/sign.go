package events

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// The headers of a webhook delivery.
const (
	HeaderSignature = "Doorstep-Signature" // "v1=" and the hex HMAC-SHA256
	HeaderTimestamp = "Doorstep-Timestamp" // unix seconds of the attempt
	HeaderEventID   = "Doorstep-Event-Id"  // the event's id: de-duplicate by it
	HeaderEventType = "Doorstep-Event-Type"
	HeaderWebhookID = "Doorstep-Webhook-Id"
)

// Sign returns the signature header value of a delivery of body at unix
// second ts: "v1=" and the hex HMAC-SHA256, keyed by the webhook's
// secret, of the timestamp's decimal digits, ".", and the body.
func Sign(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verification errors.
var (
	ErrBadSignature = errors.New("webhook signature does not match")
	ErrStale        = errors.New("webhook timestamp is too far from now")
)

// Verify checks a delivery as a receiver written in Go would: the
// signature header sig over body with the timestamp header ts, and that
// ts is within tolerance of now (a replay defence; 5 minutes is usual).
// Compare in constant time, as it does, in any other language.
func Verify(secret, ts, sig string, body []byte, now time.Time, tolerance time.Duration) error {
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(t, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	want := Sign(secret, t, body)
	for _, s := range strings.Split(sig, ",") {
		if hmac.Equal([]byte(strings.TrimSpace(s)), []byte(want)) {
			return nil
		}
	}
	return ErrBadSignature
}

// NewSecret returns a fresh webhook secret: "whsec_" and 32 random bytes
// in unpadded base64url.
func NewSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b[:])
}
