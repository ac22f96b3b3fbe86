package image

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
)

// ErrDigestMismatch is wrapped by the error for content that does not match
// the digest it was asked for: a manifest, a config, a layer's compressed
// bytes (the manifest's layer digest) or its uncompressed tar (the config's
// rootfs.diff_ids). Such an image is never checked: it is an error, not a
// finding, so that no severity override, exception or --fail-on threshold
// can turn a tampered image into a pass.
var ErrDigestMismatch = errors.New("content does not match its digest")

// digestReader hashes and counts what is read through it. At the end of
// the stream it returns an error wrapping ErrDigestMismatch instead of
// io.EOF when the bytes do not have the expected digest (and size, when
// one is known), and it fails as soon as more than limit bytes arrive or
// ctx ends.
type digestReader struct {
	ctx   context.Context
	r     io.Reader
	h     hash.Hash
	want  v1.Hash
	size  int64 // expected size, or -1
	limit int64
	n     int64
	what  string // "layer sha256:...", for errors
	done  bool   // io.EOF seen and verified
	err   error  // sticky
}

func newDigestReader(ctx context.Context, r io.Reader, want v1.Hash, size, limit int64, what string) (*digestReader, error) {
	var h hash.Hash
	switch want.Algorithm {
	case "sha256":
		h = sha256.New()
	case "sha512":
		h = sha512.New()
	default:
		return nil, fmt.Errorf("%s: %w: unsupported digest algorithm %q", what, ErrDigestMismatch, want.Algorithm)
	}
	return &digestReader{ctx: ctx, r: r, h: h, want: want, size: size, limit: limit, what: what}, nil
}

func (d *digestReader) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if d.done {
		return 0, io.EOF
	}
	if err := d.ctx.Err(); err != nil {
		d.err = err
		return 0, err
	}
	n, err := d.r.Read(p)
	d.h.Write(p[:n])
	d.n += int64(n)
	if d.n > d.limit {
		d.err = fmt.Errorf("%s is larger than %d bytes, the cap on a layer read for /etc/passwd", d.what, d.limit)
		return 0, d.err
	}
	switch {
	case err == io.EOF:
		if verr := d.verify(); verr != nil {
			d.err = verr
			return n, verr
		}
		d.done = true
	case err != nil:
		d.err = err
	}
	return n, err
}

func (d *digestReader) verify() error {
	if d.size >= 0 && d.n != d.size {
		return fmt.Errorf("%s: %w: %d bytes, the descriptor says %d", d.what, ErrDigestMismatch, d.n, d.size)
	}
	if got := hex.EncodeToString(d.h.Sum(nil)); got != d.want.Hex {
		return fmt.Errorf("%s: %w: got %s:%s", d.what, ErrDigestMismatch, d.want.Algorithm, got)
	}
	return nil
}

// verifiedLayer is the uncompressed tar stream of one layer. It returns
// io.EOF only once the whole layer has been read and both its compressed
// bytes (against the manifest's layer digest and size) and its tar (against
// the config's diff ID) matched; otherwise the last Read fails with an error
// wrapping ErrDigestMismatch. Whoever stops reading early learns nothing
// about the layer's integrity, so readers must drain it.
type verifiedLayer struct {
	raw   io.ReadCloser // the blob as stored
	comp  *digestReader // over raw
	dec   io.ReadCloser // decompressed comp
	tar   *digestReader // over dec
	end   error         // the verdict once the tar ended: nil, or why not
	ended bool
}

// openVerifiedLayer opens the layer d (compressed bytes from open) whose
// uncompressed digest is diffID; limit caps both the compressed and the
// uncompressed bytes read.
func openVerifiedLayer(ctx context.Context, open func() (io.ReadCloser, error), d v1.Descriptor, diffID v1.Hash, limit int64) (io.ReadCloser, error) {
	what := "layer " + d.Digest.String()
	raw, err := open()
	if err != nil {
		return nil, err
	}
	size := d.Size
	if size <= 0 {
		size = -1
	}
	comp, err := newDigestReader(ctx, raw, d.Digest, size, limit, what)
	if err != nil {
		_ = raw.Close()
		return nil, err
	}
	// The decompressor gets comp without its Close, so that comp can still
	// be drained after the decompressor is done with it.
	l, err := partial.CompressedToLayer(openerLayer{open: func() (io.ReadCloser, error) { return io.NopCloser(comp), nil }, d: d})
	if err != nil {
		_ = raw.Close()
		return nil, err
	}
	dec, err := l.Uncompressed()
	if err != nil {
		_ = raw.Close()
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	tr, err := newDigestReader(ctx, dec, diffID, -1, limit, what+" (uncompressed, diff ID "+diffID.String()+")")
	if err != nil {
		_ = dec.Close()
		_ = raw.Close()
		return nil, err
	}
	return &verifiedLayer{raw: raw, comp: comp, dec: dec, tar: tr}, nil
}

func (v *verifiedLayer) Read(p []byte) (int, error) {
	if v.ended {
		return 0, v.end
	}
	n, err := v.tar.Read(p)
	if err != io.EOF {
		return n, err
	}
	// The tar matched its diff ID. Stop the decompressor, then read what
	// it left of the compressed stream (trailing bytes are part of the
	// blob's digest too) and verify it.
	v.ended, v.end = true, io.EOF
	if cerr := v.dec.Close(); cerr != nil {
		v.end = fmt.Errorf("%s: %w", v.comp.what, cerr)
	} else if _, cerr := io.Copy(io.Discard, v.comp); cerr != nil {
		v.end = cerr
	}
	return n, v.end
}

func (v *verifiedLayer) Close() error {
	_ = v.dec.Close()
	return v.raw.Close()
}
