package joule

import (
	"errors"
	"fmt"
)

// Error codes. The HTTP layer maps each to a status; the CLI maps them to exit codes.
// Callers branch on the code, never on an error's text.
const (
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	ECONFLICT     = "conflict"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	ECAPACITY     = "capacity"
	// ECREDIT is a tenant's refusal for want of prepaid credit: a kind of EFORBIDDEN
	// (the HTTP layer answers 403 for both) that callers can tell apart, to add credit
	// and try again.
	ECREDIT = "insufficient_credit"
	// EMEDIATYPE refuses a body sent as a type the endpoint does not take: a kind of
	// EINVALID (the HTTP layer answers 415) that keeps forms posted from other sites out.
	EMEDIATYPE = "unsupported_media_type"
	// ETOOLARGE refuses a request whose body is over the most its endpoint takes: a
	// kind of EINVALID (the HTTP layer answers 413) that says to send less, not other.
	ETOOLARGE    = "too_large"
	ERATELIMIT   = "rate_limited" // too many requests: retry after a while
	EUNAVAILABLE = "unavailable"  // the server is busy with work of this kind, or its disk is full: retry after a while
	EINTERNAL    = "internal"
)

// Error is an error meant for the user: a code and a message that is safe to show.
// Internal detail stays in wrapped errors and in logs.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any
// other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the user-facing message of err: the message of the first *Error
// in its chain, or a generic text that hides internal detail.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	default:
		return "internal error"
	}
}
