package joule

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// APIToken is an API token as a store keeps and lists it: whose it is, what its holder
// calls it and when it stops working. The secret itself is shown once when issued and
// stored only as its hash (HashToken), which no listing carries.
type APIToken struct {
	// ID is public ("tok_" and 16 hex digits): safe to show, log and revoke by.
	ID      string `json:"id"`
	Account string `json:"account"`
	Name    string `json:"name"`
	// CreatedAt is the server's time of issue; CreatedBy the account that issued it
	// (empty for a token from before tokens had records).
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by,omitempty"`
	// ExpiresAt is when the token stops working; zero: never.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// RevokedAt is when it was revoked; zero while it is not.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// NewToken is an API token to store: its record and the hash of its secret.
type NewToken struct {
	APIToken
	Hash string
}

// MaxTokenNameLen bounds a token's name, in characters.
const MaxTokenNameLen = 64

// Usable returns nil if the token authenticates at now, or EUNAUTHORIZED saying why
// not. Saying that a token expired or was revoked tells nothing to anyone but its
// holder: only the holder can present it.
func (t *APIToken) Usable(now time.Time) error {
	switch {
	case !t.RevokedAt.IsZero():
		return Errorf(EUNAUTHORIZED, "API token %s was revoked at %s", t.ID, t.RevokedAt.UTC().Format(time.RFC3339))
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		return Errorf(EUNAUTHORIZED, "API token %s expired at %s", t.ID, t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// Validate checks a token before it is stored: a well-formed ID, an account, a name,
// a hash of 64 hex digits and an expiry, if any, after its creation.
func (t *NewToken) Validate() error {
	switch {
	case !ValidTokenID(t.ID):
		return Errorf(EINVALID, "API token id %q: want tok_ and 16 hex digits", t.ID)
	case !ValidSlug(t.Account):
		return Errorf(EINVALID, "API token %s: account %q is not an account id", t.ID, t.Account)
	case len(t.Hash) != 64 || strings.Trim(t.Hash, "0123456789abcdef") != "":
		return Errorf(EINVALID, "API token %s: a token hash is 64 lower-case hex digits", t.ID)
	case t.CreatedAt.IsZero():
		return Errorf(EINVALID, "API token %s: created_at is required", t.ID)
	case !t.ExpiresAt.IsZero() && !t.ExpiresAt.After(t.CreatedAt):
		return Errorf(EINVALID, "API token %s: expires_at must be after created_at", t.ID)
	case !t.RevokedAt.IsZero():
		return Errorf(EINVALID, "API token %s: a new token is not revoked", t.ID)
	}
	return ValidTokenName(t.Name)
}

// ValidTokenID reports whether id has the form of a token's ID: "tok_" and 16
// lower-case hex digits.
func ValidTokenID(id string) bool {
	hex, ok := strings.CutPrefix(id, "tok_")
	return ok && len(hex) == 16 && strings.Trim(hex, "0123456789abcdef") == ""
}

// ValidTokenName checks a token's name: 1 to MaxTokenNameLen printable characters,
// which the holder chooses to tell its tokens apart ("ci", "laptop").
func ValidTokenName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > MaxTokenNameLen || !utf8.ValidString(name) {
		return Errorf(EINVALID, "API token name %q: 1 to %d characters", name, MaxTokenNameLen)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return Errorf(EINVALID, "API token name %q: printable characters only", name)
		}
	}
	return nil
}
