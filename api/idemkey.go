package api

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"

	"github.com/doorstep-dev/doorstep"
)

// idempotencyKey returns the request's Idempotency-Key, "" when it has
// none. A key is 1 to maxIdempotencyKey printable ASCII characters, sent
// once. (Control characters other than tab never reach a handler:
// net/http refuses them, and Listener makes that refusal problem+json.)
func idempotencyKey(h http.Header) (string, error) {
	const field = "Idempotency-Key"
	vs := h.Values(field)
	switch {
	case len(vs) == 0:
		return "", nil
	case len(vs) > 1:
		return "", doorstep.Errorf(doorstep.EINVALID, field, "send one Idempotency-Key, not %d", len(vs))
	case vs[0] == "":
		return "", doorstep.Errorf(doorstep.EINVALID, field, "an Idempotency-Key must not be empty; leave the header out to send none")
	case len(vs[0]) > maxIdempotencyKey:
		return "", doorstep.Errorf(doorstep.EINVALID, field, "at most %d characters", maxIdempotencyKey)
	}
	for _, b := range []byte(vs[0]) {
		if b < ' ' || b > '~' {
			return "", doorstep.Errorf(doorstep.EINVALID, field, "only printable ASCII characters")
		}
	}
	return vs[0], nil
}

// bodyFingerprint identifies what a request body means rather than how it
// is spelled, for the Idempotency-Key record: body is the value the JSON
// was decoded into, and its fingerprint is the SHA-256 of it encoded
// again. A retry whose JSON has other spacing, another key order, escapes
// ("\u0063leaning") or numbers written otherwise (52.520, 5252e-2) is the
// same request and must replay the first answer, not be refused as
// idempotency_key_reused. What the decoded value keeps, the fingerprint
// keeps: a different time offset, list order or value is a different
// request.
func bodyFingerprint(body any) string {
	data, err := json.Marshal(body)
	if err != nil {
		// A value decoded from JSON encodes again. Should it not, the
		// fingerprint matches nothing, so a retry is refused as reused
		// rather than answered with another request's booking.
		data = []byte(rand.Text())
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
