package document

import "fmt"

// ParseError reports an input that could not be turned into a Document. It
// is a problem in the user's file, so the engine reports it as a DWF000
// finding instead of stopping; other files are still checked.
type ParseError struct {
	Path     string
	Location Location // zero when no position is known
	Message  string
	// Err is the cause when a caller may branch on it (a Dockerfile's
	// missing --target stage); nil otherwise.
	Err error
}

// Unwrap returns the cause, for errors.As.
func (e *ParseError) Unwrap() error { return e.Err }

func (e *ParseError) Error() string {
	if e.Location.IsZero() {
		return fmt.Sprintf("%s: %s", e.Path, e.Message)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.Path, e.Location.Line, e.Location.Column, e.Message)
}
