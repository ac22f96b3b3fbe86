package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// manifestAccept is what a container runtime accepts when it pulls.
var manifestAccept = strings.Join([]string{
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.docker.distribution.manifest.v2+json",
}, ", ")

func pullCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pull", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var rf runFlags
	rf.register(fs)
	gate := fs.String("gate", "", "the registry gate's base `URL`, http://127.0.0.1:5001 (required)")
	direct := fs.String("direct", "", "the registry's own base `URL`, http://127.0.0.1:5000 (required)")
	ref := fs.String("ref", "", "pull the manifest of `REPO@DIGEST` (required)")
	pid := fs.Int("pid", 0, "measure the gate's process `PID`: its CPU time per pull through it")
	metricsURL := fs.String("metrics", "", "read the gate's verdict cache hits during the run from the server's /metrics at `URL`")
	maxOverhead := fs.Duration("max-overhead", 0, "target: the gate's p99 exceeds the direct p99 by less than this (0: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := rf.check(); err != nil {
		return err
	}
	repo, digest, ok := strings.Cut(*ref, "@")
	if *gate == "" || *direct == "" || !ok || fs.NArg() > 0 {
		return errors.New("want -gate, -direct and -ref REPO@DIGEST, and no arguments")
	}
	c, err := client(rf.ca, false)
	if err != nil {
		return err
	}
	path := "/v2/" + repo + "/manifests/" + digest
	urls := [2]string{strings.TrimSuffix(*direct, "/") + path, strings.TrimSuffix(*gate, "/") + path}
	// Requests alternate: even ones go to the registry, odd ones through
	// the gate, so both see the same moments of a noisy machine.
	send := func(ctx context.Context, i int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, urls[i%2], nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", manifestAccept)
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", urls[i%2], resp.Status)
		}
		if got := resp.Header.Get("Docker-Content-Digest"); got != "" && got != digest {
			return fmt.Errorf("GET %s: digest %s, want %s", urls[i%2], got, digest)
		}
		return nil
	}
	if rf.warmup > 0 {
		openLoop(ctx, rf.rate, int(rf.rate*rf.warmup.Seconds()), rf.maxInFlight, send)
	}
	const cacheMetric = "dwf_gate_verdict_cache_total"
	var before map[string]float64
	if *metricsURL != "" {
		if before, err = counters(ctx, c, *metricsURL, cacheMetric); err != nil {
			return err
		}
	}
	cpu := startCPU(*pid)
	samples, elapsed := openLoop(ctx, rf.rate, rf.count, rf.maxInFlight, send)
	gateCPU, _ := cpu.perRequest((len(samples) + 1) / 2)
	_, loadgenCPU := cpu.perRequest(len(samples))
	var after map[string]float64
	if *metricsURL != "" {
		if after, err = counters(ctx, c, *metricsURL, cacheMetric); err != nil {
			return err
		}
	}
	var parts [2][]sample
	for i, s := range samples {
		parts[i%2] = append(parts[i%2], s)
	}
	load := loadAverage()
	var rs []result
	var lats [2]latencies
	for k, name := range []string{"direct", "gate"} {
		r := result{Label: rf.label + " " + name, Rate: rf.rate / 2, Sent: len(parts[k]), Load: load}
		lats[k] = summarize(parts[k])
		r.setLatencies(lats[k])
		r.Achieved = float64(lats[k].N) / elapsed.Seconds()
		r.Errors, r.FirstError = errorCounts(parts[k])
		if name == "gate" {
			r.ServerCPU, r.LoadgenCPU = gateCPU, loadgenCPU
		}
		if hits, misses, ok := hitRatio(before, after); ok && name == "gate" {
			// Every pull through the gate looks its verdict up: all
			// hits means every one was a pull of a judged digest.
			ratio := hits / (hits + misses)
			r.HitRatio, r.Hits, r.Misses = &ratio, hits, misses
		}
		rs = append(rs, r)
	}
	diff := result{Label: rf.label + " gate-direct", Sent: len(samples), Errors: rs[0].Errors + rs[1].Errors, Load: load}
	diff.setLatencies(lats[1].diff(lats[0]))
	diff.Target = fmt.Sprintf("errors<=%d", rf.maxErrors)
	pass := diff.Errors <= rf.maxErrors
	if *maxOverhead > 0 {
		diff.Target += " p99 overhead<" + maxOverhead.String()
		pass = pass && lats[1].P99-lats[0].P99 < *maxOverhead
	}
	diff.judge(pass)
	rs = append(rs, diff)
	for _, r := range rs {
		if err := appendResult(rf.results, r); err != nil {
			return err
		}
	}
	return writeTable(stdout, rs)
}

// diff is l's latencies less o's, percentile by percentile.
func (l latencies) diff(o latencies) latencies {
	return latencies{N: l.N, P50: l.P50 - o.P50, P90: l.P90 - o.P90, P99: l.P99 - o.P99, Max: l.Max - o.Max}
}
