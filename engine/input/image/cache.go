package image

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// diskCache stores immutable data under a directory:
//
//	DIR/v1/manifests/sha256/<hex>   raw manifests and indexes, by their digest
//	DIR/v1/configs/sha256/<hex>     raw image configs, by their digest
//	DIR/v1/users/sha256/<hex>.json  resolved /etc/passwd and /etc/group facts,
//	                                by a digest of the config and layer digests
//
// Every entry is untrusted input: a shared CI cache may have been written by
// anyone. An entry that is not a regular file (a symlink, a FIFO, a device),
// that is larger than the cap for its kind, or that does not decode is a
// miss, never a wrong answer or a hang. Blobs are verified against their
// digest when read. Records (derived facts, which no digest can verify) are
// written only after the layers they come from were verified, carry the
// digests they were derived from, which are checked again on read, and are
// believed only when the file is owned by the current user and writable by
// no one else. Writes go to a temporary file that is renamed into place, so
// readers never see half an entry. Errors are never fatal: the cache only
// saves requests. A nil *diskCache caches nothing.
type diskCache struct {
	dir   string
	stats *Stats
}

func newDiskCache(dir string, stats *Stats) *diskCache {
	if dir == "" {
		return nil
	}
	return &diskCache{dir: dir, stats: stats}
}

// cacheFormat is bumped when the layout or the meaning of an entry changes.
const cacheFormat = "v1"

func (c *diskCache) path(kind string, h v1.Hash, ext string) (string, bool) {
	if !validHash(h) {
		return "", false
	}
	return filepath.Join(c.dir, cacheFormat, kind, h.Algorithm, h.Hex+ext), true
}

// maxRecordBytes caps a record: a resolved user is a few hundred bytes.
const maxRecordBytes = 64 << 10

// entryLimit is the largest entry of a kind that is read.
func entryLimit(kind string) int64 {
	switch kind {
	case "manifests":
		return maxManifestBytes
	case "configs":
		return maxConfigBytes
	case "reports":
		return MaxReportBytes
	}
	return maxRecordBytes
}

// blob returns the cached bytes whose digest is h.
func (c *diskCache) blob(kind string, h v1.Hash) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	p, ok := c.path(kind, h, "")
	if !ok {
		return nil, false
	}
	b, err := readEntry(p, entryLimit(kind), false)
	if err != nil || !matches(b, h) {
		c.stats.CacheMisses.Add(1)
		return nil, false
	}
	c.stats.CacheHits.Add(1)
	return b, true
}

// readEntry reads the cache entry at p, refusing anything but a regular
// file of at most limit bytes: symlinks are not followed (Lstat, then
// O_NOFOLLOW and a check that the file opened is the one examined), and a
// FIFO or device is never opened for a blocking read. When private is set,
// the file must also be owned by the current user and writable by no one
// else (see entryPrivate).
func readEntry(p string, limit int64, private bool) ([]byte, error) {
	before, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if !before.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", p)
	}
	f, err := os.OpenFile(p, os.O_RDONLY|openEntryFlags, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	switch {
	case !fi.Mode().IsRegular() || !os.SameFile(before, fi):
		return nil, fmt.Errorf("%s: not a regular file", p)
	case fi.Size() > limit:
		return nil, fmt.Errorf("%s: larger than %d bytes", p, limit)
	case private && !entryPrivate(fi):
		return nil, fmt.Errorf("%s: not owned by the current user or writable by others", p)
	}
	return readCapped(f, limit)
}

// putBlob stores b, whose digest is h.
func (c *diskCache) putBlob(kind string, h v1.Hash, b []byte) {
	if c == nil || !matches(b, h) {
		return
	}
	if p, ok := c.path(kind, h, ""); ok {
		c.write(p, b)
	}
}

// record decodes the JSON entry stored for key into v; valid, when not
// nil, must accept what was decoded for it to be a hit.
func (c *diskCache) record(kind string, key v1.Hash, v any, valid func() bool) bool {
	if c == nil {
		return false
	}
	p, ok := c.path(kind, key, ".json")
	if !ok {
		return false
	}
	b, err := readEntry(p, maxRecordBytes, true)
	if err != nil || json.Unmarshal(b, v) != nil || (valid != nil && !valid()) {
		c.stats.CacheMisses.Add(1)
		return false
	}
	c.stats.CacheHits.Add(1)
	return true
}

// putRecord stores v as JSON for key.
func (c *diskCache) putRecord(kind string, key v1.Hash, v any) {
	if c == nil {
		return
	}
	p, ok := c.path(kind, key, ".json")
	if !ok {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	c.write(p, b)
}

// write stores b at p atomically. The cache may hold image configs, whose
// environment can carry secrets, so it is private to the user.
func (c *diskCache) write(p string, b []byte) {
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return
	}
	tmp := f.Name()
	_, werr := f.Write(b)
	cerr := f.Close()
	if werr != nil || cerr != nil || os.Rename(tmp, p) != nil {
		_ = os.Remove(tmp)
	}
}

// validHash reports whether h is safe to use as a file name: a known
// algorithm and lowercase hex of the right length.
func validHash(h v1.Hash) bool {
	var n int
	switch h.Algorithm {
	case "sha256":
		n = sha256.Size * 2
	case "sha512":
		n = sha512.Size * 2
	default:
		return false
	}
	if len(h.Hex) != n {
		return false
	}
	for i := 0; i < len(h.Hex); i++ {
		c := h.Hex[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// matches reports whether b has digest h.
func matches(b []byte, h v1.Hash) bool {
	var d hash.Hash
	switch h.Algorithm {
	case "sha256":
		d = sha256.New()
	case "sha512":
		d = sha512.New()
	default:
		return false
	}
	d.Write(b)
	return hex.EncodeToString(d.Sum(nil)) == h.Hex
}
