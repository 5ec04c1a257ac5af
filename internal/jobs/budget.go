package jobs

import (
	"context"
	"time"
)

// DefaultCallTimeout bounds one call to a dependency (a DynamoDB request, a
// hand-off to the pipeline, a publish), retries included, when the
// configuration sets no other: well under the functions' 10 s timeout.
const DefaultCallTimeout = 3 * time.Second

// CallTimeout is d, or DefaultCallTimeout when d is not positive (unset).
func CallTimeout(d time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return DefaultCallTimeout
}

// invocationEnd is the context key of the moment detached work must end by.
type invocationEnd struct{}

// WithReserve returns ctx with its deadline (the invocation's, in a Lambda
// handler) moved reserve earlier: the work done under it ends with time
// left to answer, however slow a dependency is or however long its own
// timeout. Work that must outlive a cut-short call (Detached) may use the
// first half of the reserve; the second half is left to answer. Without a
// deadline, ctx is returned unchanged.
func WithReserve(ctx context.Context, reserve time.Duration) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	ctx = context.WithValue(ctx, invocationEnd{}, deadline.Add(-reserve/2))
	return context.WithDeadline(ctx, deadline.Add(-reserve))
}

// Detached returns a context for work that must go on when ctx is done (a
// write that records what a cut-short call did): not cancelled with ctx,
// ending after d, and never after the part of the reserve WithReserve left
// for it, so it cannot outlive the invocation.
func Detached(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	end := time.Now().Add(d)
	if limit, ok := ctx.Value(invocationEnd{}).(time.Time); ok && limit.Before(end) {
		end = limit
	}
	return context.WithDeadline(context.WithoutCancel(ctx), end)
}
