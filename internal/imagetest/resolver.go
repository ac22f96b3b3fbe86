package imagetest

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"

	"golang.org/x/net/dns/dnsmessage"
)

// Resolver is a *net.Resolver whose DNS server is in the test: Go's own
// resolver sends its queries over an in-memory pipe to a responder that
// answers A and AAAA questions from a table and NXDOMAIN for every other
// name, so a test can make any name lead to any address (a link-local
// metadata service, a private network) without a packet leaving the
// process. Names in the machine's /etc/hosts are answered from there
// first, as always: use names under .test.
type Resolver struct {
	*net.Resolver
	mu      sync.Mutex
	names   map[string][]netip.Addr
	queries map[string]int
}

// NewResolver answers each name ("metadata.test") with its addresses.
func NewResolver(names map[string][]string) *Resolver {
	r := &Resolver{names: map[string][]netip.Addr{}, queries: map[string]int{}}
	for n, addrs := range names {
		for _, a := range addrs {
			r.names[strings.ToLower(n)] = append(r.names[strings.ToLower(n)], netip.MustParseAddr(a))
		}
	}
	r.Resolver = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		client, server := net.Pipe()
		go r.serve(server)
		return client, nil
	}}
	return r
}

// Queries is how many questions were asked about name.
func (r *Resolver) Queries(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.queries[strings.ToLower(name)]
}

// serve answers one query in DNS-over-TCP framing (a pipe is not a
// PacketConn, so Go's resolver frames it as TCP).
func (r *Resolver) serve(c net.Conn) {
	defer c.Close()
	var n [2]byte
	if _, err := io.ReadFull(c, n[:]); err != nil {
		return
	}
	msg := make([]byte, binary.BigEndian.Uint16(n[:]))
	if _, err := io.ReadFull(c, msg); err != nil {
		return
	}
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return
	}
	q, err := p.Question()
	if err != nil {
		return
	}
	name := strings.ToLower(strings.TrimSuffix(q.Name.String(), "."))
	r.mu.Lock()
	r.queries[name]++
	addrs, known := r.names[name]
	r.mu.Unlock()
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
	if !known {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	if b.StartQuestions() != nil || b.Question(q) != nil || b.StartAnswers() != nil {
		return
	}
	for _, a := range addrs {
		rrh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
		switch {
		case q.Type == dnsmessage.TypeA && a.Is4():
			err = b.AResource(rrh, dnsmessage.AResource{A: a.As4()})
		case q.Type == dnsmessage.TypeAAAA && a.Is6():
			err = b.AAAAResource(rrh, dnsmessage.AAAAResource{AAAA: a.As16()})
		}
		if err != nil {
			return
		}
	}
	out, err := b.Finish()
	if err != nil {
		return
	}
	binary.BigEndian.PutUint16(n[:], uint16(len(out)))
	c.Write(append(n[:], out...))
}

// DialLog records the addresses a transport dialed.
type DialLog struct {
	mu    sync.Mutex
	addrs []string
}

// Addrs are the addresses dialed, in order.
func (d *DialLog) Addrs() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.addrs...)
}

// RecordingTransport is a clone of Transport whose dialer records every
// address it is asked to connect to, and connects only to 127.0.0.1: a
// test whose guard lets an internal address through fails without a
// packet leaving the machine.
func RecordingTransport() (*http.Transport, *DialLog) {
	log := &DialLog{}
	t := Transport().(*http.Transport).Clone()
	var d net.Dialer
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		log.mu.Lock()
		log.addrs = append(log.addrs, addr)
		log.mu.Unlock()
		if host, _, err := net.SplitHostPort(addr); err != nil || host != "127.0.0.1" {
			return nil, fmt.Errorf("the test dials 127.0.0.1 only, not %s", addr)
		}
		return d.DialContext(ctx, network, addr)
	}
	return t, log
}
