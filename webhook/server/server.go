// Package server is the HTTP(S) listener every front door of `dwf-policy
// serve` runs behind: TLS (1.2 at least) with the certificate and key
// reloaded when their files change, plain HTTP only on loopback, timeouts
// on every phase of a request, capped request bodies, Prometheus metrics
// per handler, health and readiness, and graceful shutdown. It knows
// nothing of policies or registries: the registry gate and the admission
// webhook hand it their handlers.
package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Defaults for the zero Options.
const (
	DefaultMaxBodyBytes      = 4 << 20
	DefaultMaxHeaderBytes    = 256 << 10
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultShutdownTimeout   = 20 * time.Second
)

// ErrPlainHTTP: a listener without TLS was asked to listen beyond loopback.
var ErrPlainHTTP = errors.New("plain HTTP is only served on a loopback address; give a TLS certificate and key")

// Options configure one listener. The zero value of every field but Addr
// is the default.
type Options struct {
	// Name labels the listener's metrics and logs ("main", "gate").
	Name string
	// Addr is the address to listen on, host:port.
	Addr string
	// CertFile and KeyFile are a PEM certificate (chain) and its key; both
	// or neither. They are read again when either file changes, so a
	// rotated certificate is served without a restart. Without them the
	// listener serves plain HTTP, which Addr must then keep on loopback.
	CertFile, KeyFile string
	// ClientCAFile, with TLS, holds the PEM CA certificates that client
	// certificates are verified against. A handshake without a client
	// certificate still succeeds (probes and scrapers have none); handlers
	// wrapped with RequireClientCert refuse such requests.
	ClientCAFile string
	// MaxBodyBytes caps request bodies of handlers added with Handle
	// (413 beyond); 0 means DefaultMaxBodyBytes. HandleStream handlers cap
	// their own.
	MaxBodyBytes int64
	// MaxHeaderBytes caps the request line and headers; 0 means
	// DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout are
	// those of http.Server; 0 means the Default values. A negative
	// ReadTimeout or WriteTimeout means none for the server as a whole:
	// a listener that streams large uploads (the registry gate) sets its
	// deadlines per request instead.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// ShutdownTimeout bounds the wait for requests in flight when the
	// context ends; 0 means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Registerer receives the listener's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Logger gets errors and reloads; nil discards.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		switch {
		case *d == 0:
			*d = v
		case *d < 0:
			*d = 0
		}
	}
	def(&o.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&o.ReadTimeout, DefaultReadTimeout)
	def(&o.WriteTimeout, DefaultWriteTimeout)
	def(&o.IdleTimeout, DefaultIdleTimeout)
	def(&o.ShutdownTimeout, DefaultShutdownTimeout)
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Name == "" {
		o.Name = "main"
	}
	return o
}

// Server is one listener and its routes.
type Server struct {
	opts     Options
	mux      *http.ServeMux
	certs    *CertReloader
	clientCA *x509.CertPool
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	ln       net.Listener
}

// New checks the options (TLS files readable, plain HTTP only on
// loopback) and returns a server with no routes.
func New(opts Options) (*Server, error) {
	o := opts.withDefaults()
	s := &Server{opts: o, mux: http.NewServeMux()}
	switch {
	case (o.CertFile == "") != (o.KeyFile == ""):
		return nil, errors.New("a TLS certificate needs its key and a key its certificate")
	case o.CertFile != "":
		c, err := NewCertReloader(o.CertFile, o.KeyFile, o.Logger)
		if err != nil {
			return nil, err
		}
		s.certs = c
	default:
		if !IsLoopback(o.Addr) {
			return nil, fmt.Errorf("%s: %w", o.Addr, ErrPlainHTTP)
		}
	}
	if o.ClientCAFile != "" {
		if s.certs == nil {
			return nil, errors.New("a client CA needs a TLS certificate and key")
		}
		pem, err := os.ReadFile(o.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("reading the client CA: %w", err)
		}
		s.clientCA = x509.NewCertPool()
		if !s.clientCA.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("the client CA %s holds no PEM certificate", o.ClientCAFile)
		}
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name:        "dwf_http_requests_total",
		Help:        "HTTP requests served, by handler and status code.",
		ConstLabels: prometheus.Labels{"listener": o.Name},
	}, []string{"handler", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:        "dwf_http_request_duration_seconds",
		Help:        "Time to answer an HTTP request, by handler.",
		ConstLabels: prometheus.Labels{"listener": o.Name},
		Buckets:     []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"handler"})
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{s.requests, s.latency} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("registering metrics: %w", err)
			}
		}
	}
	return s, nil
}

// TLS reports whether the server serves HTTPS.
func (s *Server) TLS() bool { return s.certs != nil }

// Handle routes pattern (http.ServeMux syntax) to h with the body capped at
// MaxBodyBytes: a request that declares a larger body is answered 413
// before h runs, and reading past the cap fails. name labels the metrics.
func (s *Server) Handle(pattern, name string, h http.Handler) {
	limit := s.opts.MaxBodyBytes
	s.HandleStream(pattern, name, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			http.Error(w, fmt.Sprintf("request body larger than %d bytes", limit), http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		h.ServeHTTP(w, r)
	}))
}

// HandleStream routes pattern to h without a body cap: h bounds what it
// reads itself (the registry gate streams blob uploads).
func (s *Server) HandleStream(pattern, name string, h http.Handler) {
	s.mux.Handle(pattern, s.instrument(name, h))
}

// statusWriter records the status code written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (deadlines,
// flushing).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ReadFrom keeps io.Copy into the response on the connection's fast path.
func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return io.Copy(w.ResponseWriter, r)
}

func (s *Server) instrument(name string, h http.Handler) http.Handler {
	latency := s.latency.WithLabelValues(name)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			code := sw.code
			if code == 0 {
				code = http.StatusOK
			}
			s.requests.WithLabelValues(name, strconv.Itoa(code)).Inc()
			latency.Observe(time.Since(start).Seconds())
		}()
		h.ServeHTTP(sw, r)
	})
}

// Listen binds the address; Addr then says where (a port 0 is chosen).
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", s.opts.Addr, err)
	}
	s.ln = ln
	return nil
}

// Addr is the address listened on, once Listen has succeeded.
func (s *Server) Addr() string {
	if s.ln == nil {
		return s.opts.Addr
	}
	return s.ln.Addr().String()
}

// Serve answers requests until ctx ends, then stops accepting, waits up to
// ShutdownTimeout for the requests in flight and closes what remains. It
// listens first when Listen was not called. It returns nil after a
// shutdown that ctx asked for.
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	o := s.opts
	srv := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		WriteTimeout:      o.WriteTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    o.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	done := make(chan error, 1)
	if s.certs != nil {
		// ServeTLS adds HTTP/2 to the configuration.
		srv.TLSConfig = s.certs.TLSConfig()
		if s.clientCA != nil {
			srv.TLSConfig.ClientCAs = s.clientCA
			srv.TLSConfig.ClientAuth = tls.VerifyClientCertIfGiven
		}
		go func() { done <- srv.ServeTLS(s.ln, "", "") }()
	} else {
		go func() { done <- srv.Serve(s.ln) }()
	}
	select {
	case err := <-done:
		return fmt.Errorf("serving %s: %w", s.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		o.Logger.Warn("requests still in flight at shutdown were cut off", "listener", o.Name, "err", err)
		srv.Close()
	}
	<-done
	return nil
}

// RequireClientCert refuses (401) a request that did not present a client
// certificate verified against ClientCAFile; without a client CA it
// passes every request.
func (s *Server) RequireClientCert(h http.Handler) http.Handler {
	if s.clientCA == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
			http.Error(w, "a client certificate signed by the configured client CA is required", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// IsLoopback reports whether a listen address stays on this machine:
// 127.0.0.0/8, ::1 or "localhost". An empty host (all interfaces) is not.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Health answers /healthz (the process runs) and /readyz (it can judge:
// the policy set is loaded). It is safe for concurrent use.
type Health struct{ ready atomic.Bool }

// SetReady says whether /readyz answers 200.
func (h *Health) SetReady(ready bool) { h.ready.Store(ready) }

// Ready reports what SetReady last said.
func (h *Health) Ready() bool { return h.ready.Load() }

// Register adds /healthz and /readyz to s.
func (h *Health) Register(s *Server) {
	s.Handle("GET /healthz", "healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	}))
	s.Handle("GET /readyz", "readyz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !h.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "not ready: the policy set is not loaded\n")
			return
		}
		io.WriteString(w, "ok\n")
	}))
}

// RegisterMetrics adds /metrics, serving g in the Prometheus text format.
func RegisterMetrics(s *Server, g prometheus.Gatherer) {
	s.Handle("GET /metrics", "metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
}
