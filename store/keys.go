package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"unicode/utf8"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
)

// keyPrefix starts every key of this package, so that Doorstep can share a
// Redis with others.
const keyPrefix = "dst:"

// maxIDLen bounds worker ids: they are parts of keys.
const maxIDLen = 256

// regionTag is the hash tag of a region: every key inside one region lands
// in one Redis Cluster slot.
func regionTag(region string) string { return keyPrefix + "{r:" + region + "}:" }

func workerKey(region, id string) string   { return regionTag(region) + "w:" + id }
func timelineKey(region, id string) string { return regionTag(region) + "w:" + id + ":tl" }
func versionKey(region, id string) string  { return regionTag(region) + "w:" + id + ":ver" }
func stateKey(region, id string) string    { return regionTag(region) + "wg:" + id }
func bookingKey(region, id string) string  { return regionTag(region) + "b:" + id }
func opKey(region, op string) string       { return regionTag(region) + "op:" + op }
func atRiskKey(region string) string       { return regionTag(region) + "atrisk" }
func workerRegionKey(id string) string     { return keyPrefix + "wreg:" + id }
func rosterKey(region string) string       { return regionTag(region) + "workers" }

// regionsKey is the set of the regions that have held a worker's profile:
// ListWorkers reads their rosters.
const regionsKey = keyPrefix + "regions"

// cellKey is the position index set of cell: it lives in the region of the
// cell, which need not be the home region of the workers in it.
func cellKey(c geo.Cell) string {
	return regionTag(cellRegion(c)) + "cell:" + c.String()
}

// cellRegion is the region whose slot holds cellKey(c) (geo.RegionName,
// kept once spelt: a search asks it of every cell it reads).
func cellRegion(c geo.Cell) string { return geo.RegionName(c) }

// idemKey is the key of an idempotency record. Scope and key come from
// outside, so they are hashed: the Redis key stays short and printable.
func idemKey(scope, key string) string {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(scope)))
	h.Write(n[:])
	h.Write([]byte(scope))
	h.Write([]byte(key))
	return keyPrefix + "idem:" + hex.EncodeToString(h.Sum(nil))
}

// member is the position index entry of a worker: its home region (where its
// keys are) and its id.
func member(region, id string) string { return region + "/" + id }

// parseMember splits a position index entry; ok is false for a malformed one.
func parseMember(m string) (ref WorkerRef, ok bool) {
	region, id, found := strings.Cut(m, "/")
	if !found || !validRegion(region) || checkWorkerID(id) != nil {
		return WorkerRef{}, false
	}
	return WorkerRef{ID: id, Region: region}, true
}

// regionOf is the region of a worker: the RegionResolution parent of its home.
func regionOf(w *doorstep.Worker) string { return geo.RegionOf(w.Home).String() }

// validRegion reports whether s is an H3 cell in canonical form, the only
// thing that may go inside a hash tag.
func validRegion(s string) bool {
	if len(s) != 15 {
		return false
	}
	c, err := geo.ParseCell(s)
	return err == nil && c.String() == s
}

// checkWorkerID rejects ids that cannot be part of a key.
func checkWorkerID(id string) error {
	switch {
	case id == "":
		return invalid("id", "worker id is empty")
	case len(id) > maxIDLen:
		return invalid("id", "worker id is longer than %d bytes", maxIDLen)
	case !utf8.ValidString(id) || strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return invalid("id", "worker id must be printable UTF-8")
	}
	return nil
}

// bookingIDEncoding spells the random part of booking ids: lower-case
// base32 without padding, 26 characters for 16 bytes.
var bookingIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

const bookingRandLen = 26 // base32 characters of 16 random bytes

// NewBookingID returns a fresh booking id in region: "b", the region's 15
// hexadecimal digits, "_", and 16 random bytes (crypto/rand) in lower-case
// base32, e.g. "b832a10fffffffff_3x7...". The region is part of the id so
// that the booking's key (which lives in its worker's region) is found from
// the id alone. The 128 random bits make ids unguessable and, in practice,
// unique, which Apply relies on to recognise its own earlier success.
func NewBookingID(region string) string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return "b" + region + "_" + bookingIDEncoding.EncodeToString(b[:])
}

// RegionOfBooking returns the region embedded in a booking id made by
// NewBookingID. A malformed id is reported as an ENOTFOUND *doorstep.Error:
// no such booking can exist.
func RegionOfBooking(id string) (string, error) {
	if len(id) != 1+15+1+bookingRandLen || id[0] != 'b' || id[16] != '_' {
		return "", notFound("booking %q not found", id)
	}
	region, random := id[1:16], id[17:]
	if !validRegion(region) {
		return "", notFound("booking %q not found", id)
	}
	if b, err := bookingIDEncoding.DecodeString(random); err != nil || len(b) != 16 {
		return "", notFound("booking %q not found", id)
	}
	return region, nil
}

// newOpID returns a random id for the marker of an update-only Change.
func newOpID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
