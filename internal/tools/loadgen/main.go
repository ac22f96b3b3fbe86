// Command loadgen drives `dwf-policy serve` from a separate process for
// `make bench-webhook`, `make bench-gate` and `make soak-webhook` (issues 11
// and 12): it pushes the test images to a registry, writes the TLS
// certificate and the AdmissionReviews of a run, sends reviews at a
// constant rate (open loop: each latency counts from the time the request
// was due, so a slow server cannot hide its queue by slowing the sender),
// alternates manifest pulls through the registry gate and directly, reads
// the server's cache counters from /metrics and its memory from /proc, and
// prints the results as one table.
//
// It is a development tool, not part of the shipped binary:
//
//	loadgen setup  -registry 127.0.0.1:5000 -dir DIR [-cold 100]
//	loadgen review -url https://127.0.0.1:8443 -ca DIR/tls.crt -body DIR/warm.json -rate 1000 -duration 30s -results R
//	loadgen pull   -gate http://127.0.0.1:5001 -direct http://127.0.0.1:5000 -ref REPO@DIGEST -rate 200 -duration 20s -results R
//	loadgen table  R
//
// scripts/bench-webhook.sh wires them together.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: loadgen setup|review|pull|table [flags]  (loadgen CMD -h for flags)`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "setup":
		err = setupCommand(ctx, args[1:], stdout, stderr)
	case "review":
		err = reviewCommand(ctx, args[1:], stdout, stderr)
	case "pull":
		err = pullCommand(ctx, args[1:], stdout, stderr)
	case "table":
		err = tableCommand(args[1:], stdout, stderr)
	default:
		fmt.Fprintln(stderr, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadgen %s: %v\n", args[0], err)
		return 1
	}
	return 0
}
