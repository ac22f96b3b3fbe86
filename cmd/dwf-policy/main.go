// Command dwf-policy checks container builds, CI workflows and images against
// the Devflow hardening standard. See `dwf-policy --help`.
package main

import (
	"context"
	"os"

	"github.com/devflow/dwf-policy/internal/cli"
)

func main() {
	ctx, stop := cli.SignalContext(context.Background())
	code := cli.Command{TuneGC: true}.Main(ctx, os.Args)
	stop()
	os.Exit(code)
}
