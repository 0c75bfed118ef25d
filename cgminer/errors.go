package cgminer

import (
	"errors"
	"fmt"

	"github.com/joule-site/joule"
)

// ErrReplyTooLarge is returned when a peer sends more than the client's maximum reply
// size without ending its reply: a misbehaving device, or not a miner at all.
var ErrReplyTooLarge = errors.New("reply exceeds the maximum size")

// Status codes with a meaning of their own, from the cgminer API (API-README) and the
// firmware that extends it.
const (
	CodeInvalidCommand = 14  // cgminer: "Invalid command" (luxminer/error-invalid-command.json)
	CodeAccessDenied   = 45  // cgminer: "Access denied to '%s' command"
	CodeSessionActive  = 402 // LuxOS: "Another session is active" (logon)
)

// APIError is a reply whose STATUS says the miner refused or failed a command
// ("STATUS":"E" or "F"). Its Unwrap gives a *joule.Error, so joule.ErrorCode maps it:
// an unknown command is EINVALID, access denied EFORBIDDEN, a LuxOS session held by
// someone else ECONFLICT, anything else EINVALID.
type APIError struct {
	Addr    string // the miner, host:port
	Command string
	Status  string // "E" or "F"
	Code    int
	Msg     string
}

// Error implements the error interface.
func (e *APIError) Error() string {
	return fmt.Sprintf("miner %s refused %q: %s (code %d)", e.Addr, e.Command, e.Msg, e.Code)
}

// Unwrap returns the user-facing error with its code.
func (e *APIError) Unwrap() error {
	code := joule.EINVALID
	switch e.Code {
	case CodeAccessDenied:
		code = joule.EFORBIDDEN
	case CodeSessionActive:
		code = joule.ECONFLICT
	}
	return &joule.Error{Code: code, Message: e.Error()}
}

// errUnsupported says a miner's firmware has no API for a control.
func errUnsupported(addr, firmware, what string) error {
	if firmware == "" {
		firmware = "unknown firmware"
	}
	return joule.Errorf(joule.EINVALID, "miner %s (%s) cannot %s over its API", addr, firmware, what)
}
