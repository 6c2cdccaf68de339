package models

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an Error so the HTTP layer can pick a status without
// knowing anything about the domain.
type Code string

const (
	Invalid         Code = "invalid"           // 422: a form the person can correct
	BadRequest      Code = "bad_request"       // 400: a request no form produces
	NotFound        Code = "not_found"         // 404: missing, or not theirs to see
	Forbidden       Code = "forbidden"         // 403: visible, but not theirs to do
	Conflict        Code = "conflict"          // 409: clashes with the current state
	Gone            Code = "gone"              // 410: a link that was used or expired
	TooManyRequests Code = "too_many"          // 429: throttled
	Unauthorized    Code = "unauthorized"      // 401: not logged in
	Internal        Code = "internal"          // 500: our fault; details go to the log only
	TooLarge        Code = "request_too_large" // 413
)

// Error is the one application error type. Message is safe to show to the
// person; Err carries internals for the log and is never rendered.
type Error struct {
	Code    Code
	Title   string
	Message string
	// Fields holds per-field messages for forms (field name → message).
	Fields map[string]string
	// RetryAt is when a refused attempt (TooManyRequests) may be made
	// again; zero when unknown.
	RetryAt time.Time
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error whose message is shown to the person.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrors is an Invalid error carrying messages next to form fields.
func FieldErrors(fields map[string]string) *Error {
	return &Error{Code: Invalid, Message: "Please correct the fields marked below.", Fields: fields}
}

// ErrorCode returns the Code of err, or Internal for anything that is not
// an *Error (an unexpected failure is never shown as the person's fault).
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// ErrorMessage returns the human message of err, or a generic one.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != Internal {
		return e.Message
	}
	return "Something went wrong on our side. Please try again in a moment."
}

// ErrorFields returns the per-field messages of err, if any.
func ErrorFields(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

var errNotFound = &Error{Code: NotFound, Message: "We could not find that. It may have been removed, or it is not yours to see."}

// ErrNotFound is returned for objects that do not exist or belong to another
// tenant; both cases look the same on purpose.
func ErrNotFound() *Error { e := *errNotFound; return &e }
