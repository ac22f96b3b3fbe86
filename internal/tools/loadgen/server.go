package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// counters reads the Prometheus text exposition at url and returns the
// samples of the metric named name, keyed by their label set as written
// ({cache="tag",result="hit"}).
func counters(ctx context.Context, client *http.Client, url, name string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading metrics: %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("reading metrics: %w", err)
	}
	return parseCounters(body, name), nil
}

func parseCounters(body []byte, name string) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		labels, value := "", rest
		if strings.HasPrefix(rest, "{") {
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				continue
			}
			labels, value = rest[:end+1], rest[end+1:]
		}
		f := strings.Fields(value)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		out[labels] += v
	}
	return out
}

// hitRatio is the share of hits among the cache lookups between two
// readings of dwf_admission_cache_total; ok is false when there were none.
// The lookups are the registry caches' (tag, decision, report): the pod
// spec findings cache is not one, and the target is about digests that
// repeat.
func hitRatio(before, after map[string]float64) (hits, misses float64, ok bool) {
	for labels, v := range after {
		d := v - before[labels]
		switch {
		case strings.Contains(labels, `cache="podspec"`):
		case strings.Contains(labels, `result="hit"`):
			hits += d
		case strings.Contains(labels, `result="miss"`):
			misses += d
		}
	}
	return hits, misses, hits+misses > 0
}

// memory is a process's resident set and its peak, in KiB, from
// /proc/PID/status.
type memory struct{ RSS, HWM int64 }

func readMemory(pid int) (memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	return parseStatus(b)
}

func parseStatus(b []byte) (memory, error) {
	var m memory
	for line := range strings.Lines(string(b)) {
		key, val, ok := strings.Cut(line, ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return memory{}, fmt.Errorf("/proc status: unexpected %s line %q", key, line)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return memory{}, fmt.Errorf("/proc status: %s: %w", key, err)
		}
		if key == "VmRSS" {
			m.RSS = n
		} else {
			m.HWM = n
		}
	}
	if m.RSS == 0 {
		return memory{}, fmt.Errorf("/proc status has no VmRSS")
	}
	return m, nil
}

// loadAverage is /proc/loadavg's 1, 5 and 15 minute figures as written.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// cpuTime is the CPU time (user and system) a process has used so far,
// from /proc/PID/stat ("self" for this one), in clock ticks of 10ms (Linux's
// USER_HZ is 100 on every architecture Go supports).
func cpuTime(pid string) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	return parseStat(b)
}

func parseStat(b []byte) (time.Duration, error) {
	// The command name (field 2) may hold spaces: count from its ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc stat: no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat: %d fields", len(f)+2)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// cpuMeter reads the CPU time of the server and of this process at the
// start of a run.
type cpuMeter struct {
	pid            string
	server, itself time.Duration
	ok             bool
}

func startCPU(pid int) cpuMeter {
	if pid <= 0 {
		return cpuMeter{}
	}
	m := cpuMeter{pid: strconv.Itoa(pid)}
	var err1, err2 error
	m.server, err1 = cpuTime(m.pid)
	m.itself, err2 = cpuTime("self")
	m.ok = err1 == nil && err2 == nil
	return m
}

// perRequest is the CPU time each process used since the start, per
// request, in ms; zero when unknown.
func (m cpuMeter) perRequest(n int) (server, loadgen float64) {
	if !m.ok || n == 0 {
		return 0, 0
	}
	s, err1 := cpuTime(m.pid)
	l, err2 := cpuTime("self")
	if err1 != nil || err2 != nil {
		return 0, 0
	}
	return ms(s-m.server) / float64(n), ms(l-m.itself) / float64(n)
}
