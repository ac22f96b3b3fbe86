package admission

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestBytesInFlightBounded: while reviews in flight hold the most request
// bytes allowed, another review waits until its deadline and is answered
// 503 unread (the apiserver applies the failurePolicy); once they are
// answered, reviews are judged again.
func TestBytesInFlightBounded(t *testing.T) {
	f := newFixture(t, Options{MaxBytesInFlight: MaxBodyBytes})
	body := reviewJSON(t, deployment("web", podOpts{image: f.good}), reviewOpts{})

	// A client that announces the largest body and sends it slowly holds
	// the whole allowance.
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/validate?timeout=10s", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = MaxBodyBytes
	req.Header.Set("Content-Type", "application/json")
	slow := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			slow <- nil
			return
		}
		slow <- resp
	}()
	pw.Write([]byte(`{"apiVersion":`))
	for deadline := time.Now().Add(10 * time.Second); f.wh.inFlight.TryAcquire(1); {
		f.wh.inFlight.Release(1)
		if time.Now().After(deadline) {
			t.Fatal("the slow review never took its room")
		}
		time.Sleep(time.Millisecond)
	}

	start := time.Now()
	resp, err := http.Post(f.srv.URL+"/validate?timeout=1s", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a review while the allowance is held: status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if waited := time.Since(start); waited < 500*time.Millisecond {
		t.Errorf("answered after %s: it did not wait for room until its deadline", waited)
	}
	if n := testutil.ToFloat64(f.wh.metrics.overloaded); n != 1 {
		t.Errorf("dwf_admission_overloaded_total = %v, want 1", n)
	}

	// The slow client gives up: its room comes back.
	pw.CloseWithError(io.ErrUnexpectedEOF)
	if r := <-slow; r != nil {
		r.Body.Close()
	}
	if r := f.post(t, body, "?timeout=5s"); !r.Allowed {
		t.Errorf("after the slow review ended: %s", message(r))
	}
}
