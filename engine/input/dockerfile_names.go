package input

import (
	"bytes"
	"path"
	"strings"
)

// Which file names are Dockerfiles. A name decides alone when it is one of
// the forms BuildKit and Podman use: Dockerfile or Containerfile (the bare
// name in any case), with a suffix after `.` or `-` (Dockerfile.prod,
// Dockerfile-prod), or as an extension (api.Dockerfile, api.Containerfile). A suffix that is
// documentation, data, a script or BuildKit's per-Dockerfile ignore file
// (Dockerfile.dockerignore, Dockerfile.md, Dockerfile.json) makes it not a
// Dockerfile. A template suffix (Dockerfile.j2, Dockerfile.tpl) is
// ambiguous: the content decides (looksLikeDockerfile).

// notDockerfileExts are extensions that make a Dockerfile-like name some
// other file.
var notDockerfileExts = map[string]bool{
	".dockerignore": true, ".md": true, ".markdown": true, ".rst": true, ".adoc": true, ".txt": true,
	".html": true, ".pdf": true, ".json": true, ".yaml": true, ".yml": true, ".toml": true, ".xml": true,
	".csv": true, ".lock": true, ".sum": true, ".log": true, ".orig": true, ".rej": true, ".bak": true,
	".swp": true, ".patch": true, ".diff": true, ".sh": true, ".bash": true, ".ps1": true, ".py": true,
	".go": true, ".js": true, ".ts": true, ".sig": true, ".sha256": true,
}

// ambiguousDockerfileExts are template extensions: a Dockerfile-like name
// with one is a Dockerfile only when its content is. Walked files with
// these extensions are read and kept when they look like a Dockerfile.
var ambiguousDockerfileExts = []string{
	".j2", ".jinja", ".jinja2", ".tpl", ".tmpl", ".gotmpl", ".template", ".in", ".example", ".sample", ".dist",
}

// isDockerfilePath reports whether a slash-separated path's name alone
// says the file is a Dockerfile. The bare name matches in any case
// (dockerfile); a suffix after `.` or `-` only after the capitalised name
// (Dockerfile.prod, Containerfile-debug), since dockerfile.go or
// dockerfile.rego are source files about Dockerfiles; an extension in any
// case (api.Dockerfile, api.dockerfile).
func isDockerfilePath(slash string) bool {
	base := path.Base(slash)
	lower := strings.ToLower(base)
	for _, name := range []string{"Dockerfile", "Containerfile"} {
		switch {
		case strings.EqualFold(base, name):
			return true
		case strings.HasSuffix(lower, "."+strings.ToLower(name)):
			return true
		case strings.HasPrefix(base, name+".") || strings.HasPrefix(base, name+"-"):
			ext := path.Ext(lower)
			return !notDockerfileExts[ext] && !isAmbiguousDockerfileExt(ext)
		}
	}
	return false
}

func isAmbiguousDockerfileExt(ext string) bool {
	for _, e := range ambiguousDockerfileExts {
		if e == ext {
			return true
		}
	}
	return false
}

// looksLikeDockerfile recognises a Dockerfile by its first instruction:
// after blank lines, comments and parser directives, it is FROM or ARG (in
// any case), as BuildKit requires.
func looksLikeDockerfile(data []byte) bool {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	for line := range bytes.Lines(data) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		word := line
		if i := bytes.IndexAny(line, " \t"); i >= 0 {
			word = line[:i]
		}
		return bytes.EqualFold(word, []byte("FROM")) || bytes.EqualFold(word, []byte("ARG"))
	}
	return false
}
