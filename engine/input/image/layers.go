package image

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"path"
	"strings"
)

// layerOpener opens the uncompressed tar stream of one layer.
type layerOpener func(ctx context.Context) (io.ReadCloser, error)

// fileLookup is what findFiles learned about one path of an image's final
// filesystem.
type fileLookup struct {
	// Found is true when a regular file exists at the path.
	Found bool
	// Data is its content; nil when TooLarge.
	Data []byte
	// TooLarge is true when the file is larger than the cap.
	TooLarge bool
	// Err says why the path could not be followed (a symlink loop), or is
	// empty.
	Err string
}

// maxLinkHops bounds how many symlinks or hard links findFiles follows for
// one path, like the kernel's ELOOP limit.
const maxLinkHops = 8

// fileQuery tracks one path while findFiles walks the layers.
type fileQuery struct {
	target   string // path being looked up, without a leading slash
	hops     int
	done     bool
	result   fileLookup
	redirect string // the target is a link to this path: look it up again from the top
	opaque   bool   // an opaque whiteout hides lower layers from target
}

func (q *fileQuery) settled() bool { return q.done || q.redirect != "" }

// findFiles looks up paths (such as "etc/passwd") in an image's final
// filesystem. layers are bottom first, as in a manifest; they are read top
// layer first, each one to its end (so that a verifying opener can check
// it), and no layer is opened below the first one that decides every path:
// one that contains the file, deletes it with a whiteout (".wh.passwd"), or
// hides the layers below with an opaque directory (".wh..wh..opq") or by
// replacing a parent directory. Files larger than maxBytes are reported as
// TooLarge without being read. Symlinks and hard links are followed from the
// top layer again. It returns the number of layers opened.
func findFiles(ctx context.Context, layers []layerOpener, paths []string, maxBytes int64) (map[string]fileLookup, int, error) {
	queries := make(map[string]*fileQuery, len(paths))
	for _, p := range paths {
		queries[p] = &fileQuery{target: cleanPath(p)}
	}
	opened := 0
	for {
		var active []*fileQuery
		for _, q := range queries {
			if !q.done {
				active = append(active, q)
			}
		}
		if len(active) == 0 {
			break
		}
		n, err := scanLayers(ctx, layers, active, maxBytes)
		opened += n
		if err != nil {
			return nil, opened, err
		}
		for _, q := range active {
			if q.redirect == "" {
				continue
			}
			q.hops++
			if q.hops > maxLinkHops {
				q.done = true
				q.result = fileLookup{Err: "too many levels of symbolic links"}
				continue
			}
			q.target, q.redirect = q.redirect, ""
		}
	}
	out := make(map[string]fileLookup, len(queries))
	for p, q := range queries {
		out[p] = q.result
	}
	return out, opened, nil
}

// scanLayers runs one pass over the layers, top first, until every query is
// settled: found, absent, or redirected to a link target.
func scanLayers(ctx context.Context, layers []layerOpener, queries []*fileQuery, maxBytes int64) (int, error) {
	opened := 0
	for i := len(layers) - 1; i >= 0; i-- {
		var pending []*fileQuery
		for _, q := range queries {
			if !q.settled() {
				pending = append(pending, q)
			}
		}
		if len(pending) == 0 {
			return opened, nil
		}
		rc, err := layers[i](ctx)
		if err != nil {
			return opened, fmt.Errorf("opening layer %d: %w", i, err)
		}
		opened++
		err = scanLayer(ctx, rc, pending, maxBytes)
		if err == nil {
			// Read to the end: a layer's integrity is known only once
			// all of it has been read (see verifiedLayer).
			_, err = io.Copy(io.Discard, rc)
		}
		_ = rc.Close()
		if err != nil {
			return opened, fmt.Errorf("reading layer %d: %w", i, err)
		}
		for _, q := range pending {
			if !q.settled() && q.opaque {
				q.done = true // hidden by an opaque directory
			}
			q.opaque = false
		}
	}
	for _, q := range queries {
		if !q.settled() {
			q.done = true // in no layer
		}
	}
	return opened, nil
}

// scanLayer reads one layer's tar stream and settles the queries it decides.
// It returns early once all of them are settled.
func scanLayer(ctx context.Context, r io.Reader, pending []*fileQuery, maxBytes int64) error {
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := cleanPath(hdr.Name)
		if name == "" {
			continue
		}
		dir, base := parentDir(name), path.Base(name)
		open := 0
		for _, q := range pending {
			if q.settled() {
				continue
			}
			t := q.target
			switch {
			case name == t:
				switch hdr.Typeflag {
				case tar.TypeReg:
					q.done = true
					q.result.Found = true
					if hdr.Size > maxBytes {
						q.result.TooLarge = true
						break
					}
					data, err := io.ReadAll(io.LimitReader(tr, maxBytes+1))
					if err != nil {
						return err
					}
					if int64(len(data)) > maxBytes {
						q.result.TooLarge = true
						break
					}
					q.result.Data = data
				case tar.TypeSymlink:
					q.redirect = resolveLink(dir, hdr.Linkname)
				case tar.TypeLink:
					q.redirect = cleanPath(hdr.Linkname)
				default:
					q.done = true // a directory or device: not a readable file
				}
			case strings.HasPrefix(base, ".wh."):
				if base == ".wh..wh..opq" {
					if isUnder(dir, t) {
						q.opaque = true
					}
					break
				}
				deleted := path.Join(dir, strings.TrimPrefix(base, ".wh."))
				if deleted == t || isUnder(deleted, t) {
					q.done = true
				}
			case isUnder(name, t):
				switch hdr.Typeflag {
				case tar.TypeDir:
				case tar.TypeSymlink:
					q.redirect = path.Join(resolveLink(dir, hdr.Linkname), strings.TrimPrefix(t, name+"/"))
				default:
					q.done = true // a file replaces the parent directory
				}
			}
			if !q.settled() {
				open++
			}
		}
		if open == 0 {
			return nil
		}
	}
}

// cleanPath turns a tar entry name ("./etc/passwd", "/etc/passwd") into a
// clean path relative to the root ("etc/passwd"); the root itself is "".
func cleanPath(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

// parentDir is the directory holding a clean path; "" for the root.
func parentDir(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

// isUnder reports whether clean path p lies strictly inside directory dir
// ("" is the root).
func isUnder(dir, p string) bool {
	if dir == "" {
		return p != ""
	}
	return strings.HasPrefix(p, dir+"/")
}

// resolveLink returns where a symlink in dir pointing at link leads, as a
// clean path. ".." never climbs above the root.
func resolveLink(dir, link string) string {
	if path.IsAbs(link) {
		return cleanPath(link)
	}
	return cleanPath(path.Join(dir, link))
}
