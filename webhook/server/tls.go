package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// reloadCheckInterval bounds how often the files are looked at: at most
// once a second, on a handshake.
const reloadCheckInterval = time.Second

// CertReloader serves a certificate and key read from files and reads them
// again when either changes (cert-manager and kubelet rotate them in
// place). A pair that does not load (a key written before its certificate)
// keeps the previous one in service, so no handshake fails during a
// rotation; the next check tries again. It is safe for concurrent use.
type CertReloader struct {
	certFile, keyFile string
	log               *slog.Logger
	now               func() time.Time

	mu        sync.Mutex
	cert      *tls.Certificate
	stamp     string // the files' sizes and modification times when loaded
	lastCheck time.Time
}

// NewCertReloader loads the pair once; an error names the file at fault.
func NewCertReloader(certFile, keyFile string, log *slog.Logger) (*CertReloader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &CertReloader{certFile: certFile, keyFile: keyFile, log: log, now: time.Now}
	stamp, err := c.fileStamp()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	c.cert, c.stamp, c.lastCheck = &cert, stamp, c.now()
	return c, nil
}

func (c *CertReloader) fileStamp() (string, error) {
	var s string
	for _, f := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return "", fmt.Errorf("reading TLS file: %w", err)
		}
		s += fmt.Sprintf("%d %d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return s, nil
}

// Certificate returns the pair in service, reloading it first when the
// files changed since the last check.
func (c *CertReloader) Certificate() *tls.Certificate {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if now.Sub(c.lastCheck) < reloadCheckInterval {
		return c.cert
	}
	c.lastCheck = now
	stamp, err := c.fileStamp()
	if err != nil || stamp == c.stamp {
		if err != nil {
			c.log.Warn("TLS files unreadable; keeping the certificate in service", "err", err)
		}
		return c.cert
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		// Half-way through a rotation, perhaps: try again later.
		c.log.Warn("TLS certificate changed but does not load; keeping the previous one", "err", err)
		return c.cert
	}
	c.cert, c.stamp = &cert, stamp
	c.log.Info("TLS certificate reloaded", "cert", c.certFile)
	return c.cert
}

// TLSConfig serves the reloaded pair with TLS 1.2 at least (1.3 is
// preferred by negotiation).
func (c *CertReloader) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.Certificate(), nil
		},
	}
}
