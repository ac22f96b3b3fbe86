package main

import (
	"context"
	"errors"
	"sync"
	"time"
)

// sample is one request's outcome.
type sample struct {
	// lat runs from the time the request was due, not from when it was
	// sent: a sender that fell behind does not hide the server's queue
	// (coordinated omission).
	lat time.Duration
	err error
}

// errOverload: the request was due while maxInFlight others were still
// waiting for their answers, so it was not sent at all.
var errOverload = errors.New("not sent: too many requests in flight")

// openLoop sends n requests at rate per second: request i is due at
// start + i/rate and is sent then (or at once, if the loop is late) in a
// goroutine of its own, whatever the earlier ones are doing. It returns
// the samples in order and the time from start to the last answer.
func openLoop(ctx context.Context, rate float64, n, maxInFlight int, send func(ctx context.Context, i int) error) ([]sample, time.Duration) {
	samples := make([]sample, n)
	interval := time.Duration(float64(time.Second) / rate)
	slots := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			for j := i; j < n; j++ {
				samples[j].err = ctx.Err()
			}
			break
		}
		select {
		case slots <- struct{}{}:
		default:
			samples[i] = sample{err: errOverload}
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			err := send(ctx, i)
			samples[i] = sample{lat: time.Since(due), err: err}
		})
	}
	wg.Wait()
	return samples, time.Since(start)
}
