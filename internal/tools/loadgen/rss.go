package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// rssRun is the memory of the server over a run, in KiB.
type rssRun struct {
	Start, End int64
	// FirstPeak and LastPeak are the largest RSS sampled in the first and
	// the last half of the run; HWM is the kernel's peak at the end.
	FirstPeak, LastPeak, HWM int64
	Samples                  int
	Every                    string
	// Bounded: the last half's peak is within 10% (and at least 8 MiB) of
	// the first half's, so memory levelled off instead of growing with the
	// requests served.
	Bounded bool
	// Series is the sampled RSS in MiB, for the record.
	Series []int64 `json:",omitempty"`
}

func (m *rssRun) String() string {
	b := map[bool]string{true: "bounded", false: "GROWING"}[m.Bounded]
	var s []string
	// At most about 24 figures: the shape, not every sample.
	step := max(1, (len(m.Series)+23)/24)
	for i := 0; i < len(m.Series); i += step {
		s = append(s, fmt.Sprint(m.Series[i]))
	}
	return fmt.Sprintf("%s: start %d MiB, end %d MiB, peak first half %d MiB, last half %d MiB, VmHWM %d MiB (%d samples every %s: %s MiB)",
		b, m.Start>>10, m.End>>10, m.FirstPeak>>10, m.LastPeak>>10, m.HWM>>10, m.Samples, m.Every, strings.Join(s, " "))
}

// sampleRSS reads pid's memory every interval until ctx ends and returns
// what it saw.
func sampleRSS(ctx context.Context, pid int, every time.Duration) (*rssRun, error) {
	var series []memory
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		m, err := readMemory(pid)
		if err != nil {
			return nil, fmt.Errorf("sampling the server's memory: %w", err)
		}
		series = append(series, m)
		select {
		case <-ctx.Done():
			return summarizeRSS(series, every), nil
		case <-tick.C:
		}
	}
}

func summarizeRSS(series []memory, every time.Duration) *rssRun {
	r := &rssRun{Samples: len(series), Every: every.String()}
	if len(series) == 0 {
		return r
	}
	r.Start, r.End, r.HWM = series[0].RSS, series[len(series)-1].RSS, series[len(series)-1].HWM
	half := len(series) / 2
	for i, m := range series {
		if i < half || len(series) == 1 {
			r.FirstPeak = max(r.FirstPeak, m.RSS)
		}
		if i >= half {
			r.LastPeak = max(r.LastPeak, m.RSS)
		}
		r.Series = append(r.Series, m.RSS>>10)
	}
	slack := max(r.FirstPeak/10, 8<<10)
	r.Bounded = r.LastPeak <= r.FirstPeak+slack
	return r
}
