package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// runFlags are the flags review and pull share.
type runFlags struct {
	rate        float64
	duration    time.Duration
	count       int
	warmup      time.Duration
	maxInFlight int
	label       string
	results     string
	ca          string
	maxP99      time.Duration
	maxErrors   int
}

func (f *runFlags) register(fs *flag.FlagSet) {
	fs.Float64Var(&f.rate, "rate", 100, "send this many requests per second, whatever the answers do")
	fs.DurationVar(&f.duration, "duration", 10*time.Second, "send for this long")
	fs.IntVar(&f.count, "count", 0, "send exactly this many requests instead of -duration's worth")
	fs.DurationVar(&f.warmup, "warmup", 0, "first send at -rate for this long without recording (connections, caches)")
	fs.IntVar(&f.maxInFlight, "max-in-flight", 4096, "count a request due while this many wait for answers as an error instead of sending it")
	fs.StringVar(&f.label, "label", "", "name the run in the results")
	fs.StringVar(&f.results, "results", "", "append the result as a JSON line to `FILE` (loadgen table FILE prints them)")
	fs.StringVar(&f.ca, "ca", "", "trust the PEM certificates in `FILE` for HTTPS")
	fs.DurationVar(&f.maxP99, "max-p99", 0, "target: p99 under this (0: none)")
	fs.IntVar(&f.maxErrors, "max-errors", 0, "target: at most this many errors")
}

func (f *runFlags) check() error {
	if f.rate <= 0 {
		return errors.New("-rate must be positive")
	}
	if f.count == 0 {
		f.count = int(f.rate * f.duration.Seconds())
	}
	if f.count <= 0 {
		return errors.New("nothing to send: give -duration or -count")
	}
	if f.maxInFlight <= 0 {
		return errors.New("-max-in-flight must be positive")
	}
	return nil
}

// client is a keep-alive client trusting ca ("": the system's), with
// enough idle connections for an open loop at a high rate; with h2 it
// speaks HTTP/2 over TLS, as the apiserver does to webhooks.
func client(ca string, h2 bool) (*http.Client, error) {
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second, DisableCompression: true, ForceAttemptHTTP2: h2}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", ca)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}

func reviewCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("review", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var rf runFlags
	rf.register(fs)
	base := fs.String("url", "", "the server's base `URL`, https://127.0.0.1:8443 (required)")
	var bodies stringList
	fs.Var(&bodies, "body", "send the AdmissionReviews in `FILE`, or in every *.json of a directory, in turn (repeatable; required)")
	h2 := fs.Bool("http2", true, "speak HTTP/2, as the apiserver does (false: HTTP/1.1 over a pool of connections)")
	timeout := fs.String("timeout", "3s", "the apiserver's ?timeout= of each review (the webhook's timeoutSeconds)")
	expect := fs.String("expect", `"allowed":true`, "count an answer without this text as an error")
	minHit := fs.Float64("min-hit", -1, "target: the server's cache hit ratio during the run at least this (0..1; -1: not a target)")
	pid := fs.Int("pid", 0, "measure the server process `PID`: its CPU time per request, and its memory (VmRSS, VmHWM) every -rss-every")
	rssEvery := fs.Duration("rss-every", 5*time.Second, "with -pid, sample memory this often (0: not at all), and make it bounded a target")
	unique := fs.Bool("unique-objects", false, "give every review's object a name of its own (as the pods of a ReplicaSet get), so no review repeats one the server has seen")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := rf.check(); err != nil {
		return err
	}
	if *base == "" || len(bodies) == 0 || fs.NArg() > 0 {
		return errors.New("want -url and -body, and no arguments")
	}
	reviews, err := readBodies(bodies)
	if err != nil {
		return err
	}
	c, err := client(rf.ca, *h2)
	if err != nil {
		return err
	}
	url := strings.TrimSuffix(*base, "/") + "/validate?timeout=" + *timeout
	metricsURL := strings.TrimSuffix(*base, "/") + "/metrics"
	want := []byte(*expect)
	var seq atomic.Uint64
	send := func(ctx context.Context, i int) error {
		n := seq.Add(1)
		body := withUID(reviews[i%len(reviews)], n)
		if *unique {
			body = withName(body, n)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %.200s", resp.Status, out)
		}
		if *h2 && resp.ProtoMajor != 2 {
			return fmt.Errorf("answered over %s, not HTTP/2", resp.Proto)
		}
		at := uidAt(body)
		if !bytes.Contains(out, want) || !bytes.Contains(out, body[at:at+len(uidPlaceholder)]) {
			return fmt.Errorf("unexpected answer: %.300s", out)
		}
		return nil
	}
	if rf.warmup > 0 {
		openLoop(ctx, rf.rate, int(rf.rate*rf.warmup.Seconds()), rf.maxInFlight, send)
	}
	before, err := counters(ctx, c, metricsURL, "dwf_admission_cache_total")
	if err != nil {
		return err
	}
	var memDone chan struct{}
	var mem *rssRun
	var memErr error
	stopMem := func() {}
	if *pid > 0 && *rssEvery > 0 {
		mctx, cancel := context.WithCancel(ctx)
		memDone = make(chan struct{})
		go func() {
			defer close(memDone)
			mem, memErr = sampleRSS(mctx, *pid, *rssEvery)
		}()
		stopMem = func() { cancel(); <-memDone }
	}
	cpu := startCPU(*pid)
	samples, elapsed := openLoop(ctx, rf.rate, rf.count, rf.maxInFlight, send)
	stopMem()
	if memErr != nil {
		return memErr
	}
	after, err := counters(ctx, c, metricsURL, "dwf_admission_cache_total")
	if err != nil {
		return err
	}
	r := result{Label: rf.label, Rate: rf.rate, Sent: len(samples), Load: loadAverage(), RSS: mem}
	lat := summarize(samples)
	r.setLatencies(lat)
	r.Achieved = float64(lat.N) / elapsed.Seconds()
	r.Errors, r.FirstError = errorCounts(samples)
	r.ServerCPU, r.LoadgenCPU = cpu.perRequest(len(samples))
	if hits, misses, ok := hitRatio(before, after); ok {
		ratio := hits / (hits + misses)
		r.HitRatio, r.Hits, r.Misses = &ratio, hits, misses
	}
	var targets []string
	pass := r.Errors <= rf.maxErrors
	targets = append(targets, fmt.Sprintf("errors<=%d", rf.maxErrors))
	if rf.maxP99 > 0 {
		targets = append(targets, "p99<"+rf.maxP99.String())
		pass = pass && lat.P99 < rf.maxP99
	}
	if *minHit >= 0 {
		targets = append(targets, fmt.Sprintf("hits>=%g%%", 100**minHit))
		pass = pass && r.HitRatio != nil && *r.HitRatio >= *minHit
	}
	if mem != nil {
		targets = append(targets, "RSS bounded")
		pass = pass && mem.Bounded
	}
	r.Target = strings.Join(targets, " ")
	r.judge(pass)
	if err := appendResult(rf.results, r); err != nil {
		return err
	}
	return writeTable(stdout, []result{r})
}

// readBodies reads the review files named, a directory standing for its
// *.json files in name order.
func readBodies(paths []string) ([][]byte, error) {
	var out [][]byte
	for _, p := range paths {
		files := []string{p}
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			files, _ = filepath.Glob(filepath.Join(p, "*.json"))
			slices.Sort(files)
			if len(files) == 0 {
				return nil, fmt.Errorf("%s: no *.json files", p)
			}
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			if uidAt(b) < 0 {
				return nil, fmt.Errorf("%s: no uid %s to number the requests by (write it with loadgen setup)", f, uidPlaceholder)
			}
			out = append(out, b)
		}
	}
	return out, nil
}

// uidAt is where the uid's value starts in a review written by setup, or -1.
func uidAt(b []byte) int {
	i := bytes.Index(b, []byte(`"uid":"`+uidPlaceholder[:24]))
	if i < 0 {
		return -1
	}
	return i + len(`"uid":"`)
}

// withName is body with the object's name (and the request's) made unique
// by n: "web-warm" becomes "web-1f-warm".
func withName(body []byte, n uint64) []byte {
	return bytes.ReplaceAll(body, []byte(`"name":"web-`), fmt.Appendf(nil, `"name":"web-%x-`, n))
}

// withUID copies body with its uid numbered n.
func withUID(body []byte, n uint64) []byte {
	out := slices.Clone(body)
	at := uidAt(out) + len(uidPlaceholder) - 12
	copy(out[at:], fmt.Sprintf("%012x", n%(1<<48)))
	return out
}
