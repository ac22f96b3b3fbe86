package engine

import (
	"context"
	"time"
)

// nowKey carries the evaluation clock in a context.
type nowKey struct{}

// WithNow returns a context in which policies see now as the current time
// (time.now_ns()): the checker passes the clock that also decides whether
// exceptions have expired, so a report's age (DWF402) and an exception's
// expiry are judged at the same instant, and tests freeze both. Without
// it policies see the time the evaluation starts.
func WithNow(ctx context.Context, now time.Time) context.Context {
	return context.WithValue(ctx, nowKey{}, now)
}
