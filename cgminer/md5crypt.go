package cgminer

import (
	"crypto/md5"
	"strings"
)

// md5Crypt returns the hash part of the MD5-based crypt(3) of a password with a salt:
// what `openssl passwd -1 -salt SALT PASSWORD` prints after "$1$SALT$". It is
// Poul-Henning Kamp's FreeBSD algorithm ("$1$"), which Whatsminer's API 2.x uses to
// derive its keys. It is not a sound password hash and is used here only because the
// miner demands it. The salt is cut at '$' and at 8 bytes, as crypt does.
func md5Crypt(password, salt string) string {
	const magic = "$1$"
	salt, _, _ = strings.Cut(strings.TrimPrefix(salt, magic), "$")
	if len(salt) > 8 {
		salt = salt[:8]
	}
	pw := []byte(password)

	alt := md5.Sum([]byte(password + salt + password))
	h := md5.New()
	h.Write([]byte(password + magic + salt))
	for n := len(pw); n > 0; n -= 16 {
		h.Write(alt[:min(n, 16)])
	}
	for i := len(pw); i != 0; i >>= 1 {
		if i&1 != 0 {
			h.Write([]byte{0})
		} else {
			h.Write(pw[:1])
		}
	}
	final := h.Sum(nil)

	// A thousand rounds to slow down brute force (in 1994).
	for i := range 1000 {
		h := md5.New()
		if i&1 != 0 {
			h.Write(pw)
		} else {
			h.Write(final)
		}
		if i%3 != 0 {
			h.Write([]byte(salt))
		}
		if i%7 != 0 {
			h.Write(pw)
		}
		if i&1 != 0 {
			h.Write(final)
		} else {
			h.Write(pw)
		}
		final = h.Sum(final[:0])
	}

	// The digest's bytes are written in a fixed permutation, 6 bits per character.
	const itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	out := make([]byte, 0, 22)
	put := func(v uint32, n int) {
		for ; n > 0; n-- {
			out = append(out, itoa64[v&0x3f])
			v >>= 6
		}
	}
	f := final
	for _, t := range [5][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}} {
		put(uint32(f[t[0]])<<16|uint32(f[t[1]])<<8|uint32(f[t[2]]), 4)
	}
	put(uint32(f[11]), 2)
	return string(out)
}
