package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Interrupted is the cause of a context cancelled by a signal.
type Interrupted struct{ Signal syscall.Signal }

func (i Interrupted) Error() string { return "interrupted by " + signalName(i.Signal) }

// ExitCode is the shell's convention for a process ended by the signal.
func (i Interrupted) ExitCode() int { return 128 + int(i.Signal) }

// SignalContext returns a context cancelled, with an Interrupted cause, by
// the first SIGINT or SIGTERM. The command then stops its work promptly,
// writes what it has (saying the report is partial) and exits 130 or 143.
// A second signal ends the process at once, as it would without the
// handler. stop releases the signals.
func SignalContext(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			signal.Stop(ch) // the next one kills
			sig, _ := s.(syscall.Signal)
			cancel(Interrupted{Signal: sig})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// interruption reports the signal that cancelled ctx, if one did.
func interruption(ctx context.Context) (Interrupted, bool) {
	var in Interrupted
	ok := errors.As(context.Cause(ctx), &in)
	return in, ok
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return fmt.Sprintf("signal %d", int(s))
}
