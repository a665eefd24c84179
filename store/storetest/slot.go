package storetest

import "strings"

// Slot is the Redis Cluster hash slot of key, as the cluster specification
// defines it: CRC16 (XMODEM: polynomial 0x1021, initial value 0) of the
// key's hash tag, the part between the first "{" and the next "}" when that
// is not empty, otherwise of the whole key, modulo 16384. Tests use it to
// check where keys land without a cluster at hand; TestSlot checks it
// against CLUSTER KEYSLOT.
func Slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return int(crc16(key)) % 16384
}

// crc16 is CRC-16/XMODEM, bit by bit: keys are short.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
