// Command dwf-policy checks container builds, CI workflows and images against
// the Devflow hardening standard. See `dwf-policy --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/devflow/dwf-policy/internal/cli"
)

func main() {
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Command{}.Main(ctx, os.Args)
	stop()
	os.Exit(code)
}

// tuneGC trades memory for speed in this short-lived process: most of a
// check's CPU time is otherwise garbage collection of parsed documents. A
// soft memory limit keeps a huge check bounded. GOGC and GOMEMLIMIT in the
// environment still win.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}
}
