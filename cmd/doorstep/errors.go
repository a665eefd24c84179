package main

// exitError is an error that tells main which status to exit with: 2 for
// bad usage or bad input, as the shell convention has it.
type exitError struct {
	code int
	err  error
}

// Error implements the error interface.
func (e *exitError) Error() string { return e.err.Error() }

// Unwrap returns the underlying error.
func (e *exitError) Unwrap() error { return e.err }
