// Command dwf-policy-server is dwf-policy with its servers linked in: the
// Kubernetes admission webhook and the registry gate of `dwf-policy serve`,
// which hands serve to this program. Every other command works here too.
// It is a program of its own so that the checks a pre-commit hook runs do
// not pay the servers' start-up.
package main

import (
	"context"
	"os"

	"github.com/devflow/dwf-policy/internal/cli"
	"github.com/devflow/dwf-policy/internal/serving"
)

func main() {
	ctx, stop := cli.SignalContext(context.Background())
	code := cli.Command{TuneGC: true, Serve: serving.Serve}.Main(ctx, os.Args)
	stop()
	os.Exit(code)
}
