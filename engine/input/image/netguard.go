package image

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrAddressRefused is wrapped by the error for a connection to an internal
// address (loopback, link-local such as a cloud metadata service, private)
// that the user did not name: a bearer token realm, a redirect or a foreign
// layer URL chosen by the registry.
var ErrAddressRefused = errors.New("refused to connect to an internal address the reference does not name")

// maxRedirects bounds a redirect chain, as net/http's default policy does;
// go-containerregistry's own redirect checks do not count hops.
const maxRedirects = 10

// responseHeaderTimeout bounds how long a registry may take to start
// answering one request (the default transport only).
const responseHeaderTimeout = 30 * time.Second

// addrGuard decides which addresses one Load may connect to. The hosts the
// user named (the reference's registry unless Options.UntrustedReferences,
// the --insecure-registry hosts, Options.TrustedRegistries) and
// the proxy may be anywhere; any other host is resolved, and the address
// the dialer is about to connect to is checked (net.Dialer.Control), so a
// name that resolves to an internal address, or a redirect through such a
// name, cannot get around it. Private (RFC 1918, ULA, CGNAT) addresses are
// allowed for other hosts only once a named registry was itself reached at
// a private address, as a self-hosted registry's token server usually is;
// loopback, link-local, unspecified and multicast addresses never are.
type addrGuard struct {
	named []string // host or host:port, lower case
	// privateRegistry is set once a named host was dialed at a private
	// address.
	privateRegistry atomic.Bool
	// proxies holds the proxy addresses in use, which are dialed as named.
	proxies atomic.Pointer[[]string]
	// resolver looks up the hosts that are checked.
	resolver *net.Resolver
}

func newAddrGuard(o *Options, registry string) *addrGuard {
	g := &addrGuard{resolver: o.Resolver}
	if g.resolver == nil {
		g.resolver = net.DefaultResolver
	}
	if !o.UntrustedReferences {
		g.named = append(g.named, strings.ToLower(registry))
	}
	for _, h := range append(append([]string{}, o.InsecureRegistries...), o.TrustedRegistries...) {
		h = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(h, "http://"), "https://"), "/")
		g.named = append(g.named, strings.ToLower(h))
	}
	return g
}

// isNamed reports whether addr ("host:port") is a host the user named: a
// named host:port exactly, or a named host without a port on any port.
func (g *addrGuard) isNamed(addr string) bool {
	addr = strings.ToLower(addr)
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	for _, n := range g.named {
		if n == addr || n == host || strings.Trim(n, "[]") == host {
			return true
		}
	}
	if p := g.proxies.Load(); p != nil {
		for _, n := range *p {
			if n == addr {
				return true
			}
		}
	}
	return false
}

// addressClass names why ip may not be reached by a host the user did not
// name, or returns "".
func (g *addrGuard) addressClass(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		return "loopback"
	case ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast():
		return "link-local"
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsMulticast():
		return "multicast"
	case isPrivate(ip) && !g.privateRegistry.Load():
		return "private"
	}
	return ""
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

func isPrivate(ip netip.Addr) bool { return ip.IsPrivate() || cgnat.Contains(ip) }

// dialContext wraps dial: named hosts are dialed as they are; any other
// host is dialed with a Control function that refuses internal addresses
// after resolution, for every address tried.
func (g *addrGuard) dialContext(base *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := *base
		d.Resolver = g.resolver
		if g.isNamed(addr) {
			d.Control = func(_, address string, _ syscall.RawConn) error {
				if ap, err := netip.ParseAddrPort(address); err == nil && isPrivate(ap.Addr().Unmap()) {
					g.privateRegistry.Store(true)
				}
				return nil
			}
			return d.DialContext(ctx, network, addr)
		}
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%s: %w", addr, ErrAddressRefused)
			}
			if class := g.addressClass(ap.Addr()); class != "" {
				return fmt.Errorf("%s resolves to %s, a %s address: %w", addr, ap.Addr(), class, ErrAddressRefused)
			}
			return nil
		}
		return d.DialContext(ctx, network, addr)
	}
}

// proxy wraps a transport's Proxy function: the proxy itself is dialed as
// named, and since the proxy, not the dialer, resolves the target, a
// target the user did not name is resolved here and refused when it is
// internal (best effort: the proxy may resolve it differently).
func (g *addrGuard) proxy(inner func(*http.Request) (*url.URL, error)) func(*http.Request) (*url.URL, error) {
	return func(req *http.Request) (*url.URL, error) {
		u, err := inner(req)
		if err != nil || u == nil {
			return u, err
		}
		addr := canonicalAddr(u)
		for {
			old := g.proxies.Load()
			next := []string{addr}
			if old != nil {
				next = append(next, *old...)
			}
			if g.proxies.CompareAndSwap(old, &next) {
				break
			}
		}
		if g.isNamed(canonicalAddr(req.URL)) {
			return u, nil
		}
		host := req.URL.Hostname()
		ips, err := g.resolver.LookupNetIP(req.Context(), "ip", host)
		if err != nil {
			return nil, err
		}
		for _, ip := range ips {
			if class := g.addressClass(ip); class != "" {
				return nil, fmt.Errorf("%s resolves to %s, a %s address: %w", host, ip, class, ErrAddressRefused)
			}
		}
		return u, nil
	}
}

// canonicalAddr is u's host:port, with the scheme's default port.
func canonicalAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	return strings.ToLower(net.JoinHostPort(u.Hostname(), port))
}

// redirectHops counts the redirects that led to req: net/http links each
// redirected request to the response that caused it.
func redirectHops(req *http.Request) int {
	n := 0
	for r := req.Response; r != nil && r.Request != nil && n <= maxRedirects; r = r.Request.Response {
		n++
	}
	return n
}

// dialVia guards a caller's own dial function: a host the user did not
// name is resolved here, each address checked, and inner dials the address
// itself, so what was checked is what is connected to.
func (g *addrGuard) dialVia(inner func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if g.isNamed(addr) {
			return inner(ctx, network, addr)
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		ips, err := g.resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, err
		}
		err = fmt.Errorf("%s: no address: %w", addr, ErrAddressRefused)
		for _, ip := range ips {
			if class := g.addressClass(ip); class != "" {
				err = fmt.Errorf("%s resolves to %s, a %s address: %w", addr, ip, class, ErrAddressRefused)
				continue
			}
			conn, derr := inner(ctx, network, net.JoinHostPort(ip.String(), port))
			if derr == nil {
				return conn, nil
			}
			err = derr
		}
		return nil, err
	}
}

// guardedTransport returns the transport one Load uses and a function that
// releases its connections: inner, or a transport like
// remote.DefaultTransport when inner is nil, with its dialer and proxy
// guarded by g. A RoundTripper that is not an *http.Transport, or one that
// dials TLS itself, is used as it is: it is the caller's to guard.
func guardedTransport(inner http.RoundTripper, g *addrGuard) (http.RoundTripper, func()) {
	var t *http.Transport
	switch tt := inner.(type) {
	case nil:
		t = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   50,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
			ResponseHeaderTimeout: responseHeaderTimeout,
		}
	case *http.Transport:
		//lint:ignore SA1019 a caller's transport may still set the deprecated field; it must not bypass the guard
		if tt.DialTLSContext != nil || tt.DialTLS != nil {
			return inner, func() {}
		}
		t = tt.Clone()
	default:
		return inner, func() {}
	}
	switch {
	case t.DialContext != nil:
		t.DialContext = g.dialVia(t.DialContext)
	case t.Dial != nil: //lint:ignore SA1019 wrapped so that a caller's deprecated dialer is guarded too
		dial := t.Dial //lint:ignore SA1019 see above
		t.Dial = nil   //lint:ignore SA1019 see above
		t.DialContext = g.dialVia(func(_ context.Context, network, addr string) (net.Conn, error) { return dial(network, addr) })
	default:
		t.DialContext = g.dialContext(&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second})
	}
	if t.Proxy != nil {
		t.Proxy = g.proxy(t.Proxy)
	}
	return t, t.CloseIdleConnections
}
