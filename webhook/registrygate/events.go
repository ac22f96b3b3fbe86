package registrygate

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/engine/report"
)

// EventsMediaType is the content type of Distribution's notifications.
const EventsMediaType = "application/vnd.docker.distribution.events.v1+json"

// envelope is a Distribution notification: events in order of occurrence.
type envelope struct {
	Events []event `json:"events"`
}

type event struct {
	ID     string `json:"id"`
	Action string `json:"action"`
	Target struct {
		MediaType  string `json:"mediaType"`
		Digest     string `json:"digest"`
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
	} `json:"target"`
}

// job is one image an event asks to judge.
type job struct{ repo, digest string }

// eventQueue holds the images waiting to be judged, each once.
type eventQueue struct {
	jobs chan job
	ids  *recentSet // event ids seen lately
	mu   sync.Mutex
	// pending are the digests queued or being judged.
	pending map[string]bool
}

func newEventQueue(size int) *eventQueue {
	return &eventQueue{jobs: make(chan job, size), ids: newRecentSet(4 * size), pending: map[string]bool{}}
}

// Handlers are the gate's endpoints on the main listener of `dwf-policy
// serve`: POST /registry/events and GET /registry/verdicts/<name>@<digest>.
// Both need the EventsToken as a bearer token; without one they are not
// served. The caller caps request bodies.
func (g *Gate) Handlers() []Route {
	if g.o.EventsToken == "" {
		return nil
	}
	return []Route{
		{"POST /registry/events", "registry-events", g.authorized(http.HandlerFunc(g.receive))},
		{"GET /registry/verdicts/{ref...}", "registry-verdicts", g.authorized(http.HandlerFunc(g.verdictOf))},
	}
}

// Route is an endpoint for the main listener: an http.ServeMux pattern,
// the name its metrics carry, the handler.
type Route struct {
	Pattern, Name string
	Handler       http.Handler
}

func (g *Gate) authorized(h http.Handler) http.Handler {
	want := []byte("Bearer " + g.o.EventsToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="dwf-policy"`)
			http.Error(w, "a valid bearer token is required", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// receive acknowledges a notification at once and queues the images it
// reports pushed. A full queue answers 503, so the registry sends the
// notification again later; events already queued are not queued twice.
func (g *Gate) receive(w http.ResponseWriter, r *http.Request) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != EventsMediaType && mt != "application/json" {
		http.Error(w, "want Content-Type "+EventsMediaType, http.StatusUnsupportedMediaType)
		return
	}
	var env envelope
	if err := json.NewDecoder(r.Body).Decode(&env); err != nil {
		http.Error(w, "not a registry notification: "+err.Error(), http.StatusBadRequest)
		return
	}
	q := g.events
	for _, e := range env.Events {
		t := e.Target
		if e.Action != "push" || !manifestMediaTypes[t.MediaType] || !digestRef().MatchString(t.Digest) || !repoName().MatchString(t.Repository) {
			g.metrics.events.WithLabelValues("ignored").Inc()
			continue
		}
		if (e.ID != "" && !q.ids.add(e.ID)) || !g.judged(t.Repository) {
			g.metrics.events.WithLabelValues("duplicate").Inc()
			continue
		}
		if _, ok := g.cache.get(t.Digest, g.policyHash()); ok {
			g.metrics.events.WithLabelValues("duplicate").Inc()
			continue
		}
		q.mu.Lock()
		if q.pending[t.Digest] {
			q.mu.Unlock()
			g.metrics.events.WithLabelValues("duplicate").Inc()
			continue
		}
		select {
		case q.jobs <- job{repo: t.Repository, digest: t.Digest}:
			q.pending[t.Digest] = true
			q.mu.Unlock()
			g.metrics.events.WithLabelValues("queued").Inc()
			g.metrics.queueDepth.Set(float64(len(q.jobs)))
		default:
			q.mu.Unlock()
			g.metrics.events.WithLabelValues("dropped").Inc()
			http.Error(w, "the judging queue is full; send the notification again later", http.StatusServiceUnavailable)
			return
		}
	}
	w.WriteHeader(http.StatusAccepted)
}

// Run judges the images events report, and reconciles the listed
// repositories when configured, until ctx ends.
func (g *Gate) Run(ctx context.Context) {
	var wg sync.WaitGroup
	if g.o.Reconcile.enabled() {
		wg.Go(func() { g.reconcileLoop(ctx) })
	}
	for range g.o.Workers {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-g.events.jobs:
					g.metrics.queueDepth.Set(float64(len(g.events.jobs)))
					g.judgeEvent(ctx, j)
					g.events.mu.Lock()
					delete(g.events.pending, j.digest)
					g.events.mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
}

// judgeEvent fetches a pushed manifest with the gate's own credentials and
// judges it.
func (g *Gate) judgeEvent(ctx context.Context, j job) {
	ctx, cancel := context.WithTimeout(ctx, g.o.JudgeTimeout)
	defer cancel()
	ref := g.host + "/" + j.repo + "@" + j.digest
	opts := g.pol.Load().checker.ImageOptions()
	opts.Keychain = g.o.Keychain
	_, raw, err := image.FetchManifest(ctx, ref, opts)
	if err == nil {
		_, err = g.verdictWith(ctx, "event", j.repo, j.digest, j.digest, raw, g.o.Keychain)
	}
	if err != nil {
		g.log.Warn("pushed image not judged", "image", j.repo+"@"+j.digest, "err", err)
	}
}

// verdictOf answers GET /registry/verdicts/<name>@<digest> with the
// verdict as JSON, or as SARIF 2.1.0 when asked (?format=sarif, or an
// Accept header naming application/sarif+json), or 404 when the digest has
// not been judged under the policy set in use.
func (g *Gate) verdictOf(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("ref")
	repo, digest, ok := strings.Cut(ref, "@")
	if !ok || !repoName().MatchString(repo) || !digestRef().MatchString(digest) {
		http.Error(w, "want /registry/verdicts/<name>@sha256:<hex>", http.StatusBadRequest)
		return
	}
	sarif := false
	switch f := r.URL.Query().Get("format"); f {
	case "sarif":
		sarif = true
	case "json":
	case "":
		sarif = acceptsSARIF(r.Header.Values("Accept"))
	default:
		http.Error(w, "format "+strconv.Quote(f)+": want json or sarif", http.StatusBadRequest)
		return
	}
	pol := g.pol.Load()
	v, ok := g.cache.get(digest, pol.hash)
	if !ok {
		http.Error(w, "no verdict for "+ref, http.StatusNotFound)
		return
	}
	if sarif {
		var buf bytes.Buffer
		if err := g.sarif(&buf, pol, repo, v); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", SARIFMediaType)
		w.Write(buf.Bytes())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// SARIFMediaType is the media type of a verdict as SARIF.
const SARIFMediaType = "application/sarif+json"

// acceptsSARIF reports whether an Accept header asks for SARIF.
func acceptsSARIF(accept []string) bool {
	for _, a := range accept {
		for part := range strings.SplitSeq(a, ",") {
			if mt, params, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == SARIFMediaType && params["q"] != "0" {
				return true
			}
		}
	}
	return false
}

// sarif writes v with the project's SARIF reporter: the policy set's rule
// catalogue, the verdict's findings, and the image (name@digest) as the
// artifact every result is located in.
func (g *Gate) sarif(w io.Writer, pol *policies, repo string, v *Verdict) error {
	f, err := report.New("sarif")
	if err != nil {
		return err
	}
	image := repo + "@" + v.Digest
	return f.Format(w, &report.Report{
		Tool:         g.o.Tool,
		Rules:        pol.checker.Rules(),
		Findings:     v.Findings,
		FilesChecked: 1,
		Inputs:       "image",
		URIBase:      func(string) string { return image },
		Time:         v.JudgedAt,
	})
}
