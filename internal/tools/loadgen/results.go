package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"
)

// result is one run's figures, one JSON line in a results file.
type result struct {
	Label      string  `json:"label"`
	Target     string  `json:"target,omitempty"`
	Pass       *bool   `json:"pass,omitempty"`
	Rate       float64 `json:"rate"`
	Achieved   float64 `json:"achieved"`
	Sent       int     `json:"sent"`
	Errors     int     `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	P50        float64 `json:"p50_ms"`
	P90        float64 `json:"p90_ms"`
	P99        float64 `json:"p99_ms"`
	Max        float64 `json:"max_ms"`
	// HitRatio is the server's cache hits over lookups during the run
	// (after warm-up), from dwf_admission_cache_total; nil when not read.
	HitRatio *float64 `json:"hit_ratio,omitempty"`
	Hits     float64  `json:"hits,omitempty"`
	Misses   float64  `json:"misses,omitempty"`
	RSS      *rssRun  `json:"rss,omitempty"`
	// ServerCPU and LoadgenCPU are the CPU time the server (with -pid)
	// and the load generator used per request sent, in ms: what a request
	// costs, whatever else the machine runs.
	ServerCPU  float64 `json:"server_cpu_ms,omitempty"`
	LoadgenCPU float64 `json:"loadgen_cpu_ms,omitempty"`
	// Load is /proc/loadavg (1, 5, 15 minutes) at the end of the run.
	Load string `json:"load"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (r *result) setLatencies(l latencies) {
	r.P50, r.P90, r.P99, r.Max = ms(l.P50), ms(l.P90), ms(l.P99), ms(l.Max)
}

func (r *result) judge(ok bool) { r.Pass = &ok }

// appendResult adds r to the results file path ("" writes nowhere).
func appendResult(path string, r result) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	b, err := json.Marshal(r)
	if err != nil {
		f.Close()
		return err
	}
	_, err = f.Write(append(b, '\n'))
	return errors.Join(err, f.Close())
}

func tableCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("table", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("want one results file")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	var rs []result
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for line := 1; sc.Scan(); line++ {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return fmt.Errorf("%s:%d: %w", fs.Arg(0), line, err)
		}
		rs = append(rs, r)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return writeTable(stdout, rs)
}

// writeTable prints results as one compact table, then the errors and
// memory of the runs that have them.
func writeTable(w io.Writer, rs []result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\trate/s\tgot/s\tsent\terrors\tp50 ms\tp90 ms\tp99 ms\tmax ms\thits\tRSS MiB\tCPU ms/req\tload avg\ttarget\t")
	for _, r := range rs {
		hits := "-"
		if r.HitRatio != nil {
			hits = fmt.Sprintf("%.2f%%", 100**r.HitRatio)
		}
		rss := "-"
		if r.RSS != nil {
			rss = fmt.Sprintf("%.0f→%.0f", float64(r.RSS.Start)/1024, float64(r.RSS.End)/1024)
		}
		verdict := ""
		if r.Pass != nil {
			verdict = map[bool]string{true: "  ok", false: "  MISSED"}[*r.Pass]
		}
		cpu := "-"
		if r.ServerCPU > 0 {
			cpu = fmt.Sprintf("%.2f+%.2f", r.ServerCPU, r.LoadgenCPU)
		}
		rate := "-"
		if r.Rate > 0 {
			rate = fmt.Sprintf("%.0f", r.Rate)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%d\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%s\t%s\t%s\t%s\t%s\n",
			r.Label, rate, r.Achieved, r.Sent, r.Errors, r.P50, r.P90, r.P99, r.Max, hits, rss, cpu, r.Load, r.Target, verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rs {
		if r.FirstError != "" {
			fmt.Fprintf(w, "%s: %d errors, the first: %s\n", r.Label, r.Errors, r.FirstError)
		}
		if m := r.RSS; m != nil {
			fmt.Fprintf(w, "%s: RSS %s\n", r.Label, m)
		}
	}
	return nil
}
