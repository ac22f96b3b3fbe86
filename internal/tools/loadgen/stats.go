package main

import (
	"math"
	"slices"
	"time"
)

// latencies summarises the successful samples.
type latencies struct {
	N                  int
	P50, P90, P99, Max time.Duration
}

func summarize(samples []sample) latencies {
	var ok []time.Duration
	for _, s := range samples {
		if s.err == nil {
			ok = append(ok, s.lat)
		}
	}
	slices.Sort(ok)
	return latencies{N: len(ok), P50: percentile(ok, 50), P90: percentile(ok, 90), P99: percentile(ok, 99), Max: percentile(ok, 100)}
}

// percentile is the nearest-rank p-th percentile of sorted: the smallest
// value that at least p% of the values do not exceed.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(float64(len(sorted))*p/100)) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// errorCounts counts the failed samples by message, and returns one
// message to show.
func errorCounts(samples []sample) (int, string) {
	n, first := 0, ""
	for _, s := range samples {
		if s.err != nil {
			if n == 0 {
				first = s.err.Error()
			}
			n++
		}
	}
	return n, first
}
