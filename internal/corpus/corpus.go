// Package corpus generates realistic, deterministic Dockerfile corpora for
// benchmarks: multi-stage builds in the languages Devflow teams use, with a
// mix of compliant and non-compliant final stages.
package corpus

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

type language struct {
	builder, runtime string
	deps, build      []string
	cache            string
}

var languages = []language{
	{"golang:1.22-bookworm", "debian:bookworm-slim", []string{"go mod download"}, []string{"CGO_ENABLED=0 go build -trimpath -o /out/app ./cmd/app"}, "/root/.cache/go-build"},
	{"node:20-bookworm", "node:20-bookworm-slim", []string{"npm ci --omit=dev"}, []string{"npm run build", "npm prune --production"}, "/root/.npm"},
	{"python:3.12-slim", "python:3.12-slim", []string{"pip install --no-cache-dir -r requirements.txt"}, []string{"python -m compileall -q /app"}, "/root/.cache/pip"},
	{"rust:1.79", "debian:bookworm-slim", []string{"cargo fetch"}, []string{"cargo build --release --locked"}, "/usr/local/cargo/registry"},
	{"maven:3.9-eclipse-temurin-21", "eclipse-temurin:21-jre", []string{"mvn -B dependency:go-offline"}, []string{"mvn -B package -DskipTests"}, "/root/.m2"},
}

// Dockerfile returns the i-th Dockerfile of the corpus.
func Dockerfile(i int) string {
	r := rand.New(rand.NewPCG(uint64(i), 42))
	l := languages[r.IntN(len(languages))]
	var b strings.Builder
	b.WriteString("# syntax=docker/dockerfile:1.7\n")
	fmt.Fprintf(&b, "ARG BUILDER_IMAGE=%s\nARG APP_UID=1001\n\n", l.builder)
	b.WriteString("FROM ${BUILDER_IMAGE} AS deps\nWORKDIR /src\nCOPY . .\n")
	cached := r.IntN(3) > 0
	for _, d := range l.deps {
		if cached {
			fmt.Fprintf(&b, "RUN --mount=type=cache,target=%s \\\n    %s\n", l.cache, d)
		} else {
			fmt.Fprintf(&b, "RUN %s\n", d)
		}
	}
	b.WriteString("\nFROM deps AS build\nARG VERSION=dev\nENV VERSION=${VERSION}\n")
	for _, c := range l.build {
		fmt.Fprintf(&b, "RUN --mount=type=cache,target=%s %s\n", l.cache, c)
	}
	b.WriteString("\nFROM build AS test\nRUN echo running tests && true\n")
	runtime := l.runtime
	if r.IntN(10) == 0 {
		runtime = strings.Split(runtime, ":")[0] // unpinned
	}
	fmt.Fprintf(&b, "\nFROM %s AS runtime\nARG APP_UID\n", runtime)
	b.WriteString("RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\\n    --mount=type=cache,target=/var/lib/apt,sharing=locked \\\n    apt-get update \\\n && apt-get install -y --no-install-recommends tini ca-certificates \\\n")
	switch r.IntN(4) {
	case 0:
		b.WriteString(" && useradd --uid ${APP_UID} --create-home dwfuser\nUSER dwfuser\n")
	case 1:
		b.WriteString(" && groupadd -g 1001 app && useradd -u 1001 -g app -m app\nUSER app:app\n")
	case 2:
		b.WriteString(" && useradd -u 1000 -m app\nUSER app\n")
	default:
		b.WriteString(" && rm -rf /tmp/*\n")
	}
	b.WriteString("WORKDIR /app\nCOPY --from=build /src /app\nLABEL org.opencontainers.image.source=\"https://example.com/app\"\nEXPOSE 8080\n")
	switch r.IntN(3) {
	case 0:
		b.WriteString("ENTRYPOINT [\"/usr/bin/tini\", \"--\"]\nCMD [\"/app/run\"]\n")
	case 1:
		b.WriteString("ENTRYPOINT [\"/app/run\"]\n")
	default:
		b.WriteString("ENTRYPOINT /usr/bin/tini -- /app/run\n")
	}
	return b.String()
}

// Write writes n Dockerfiles under dir, in subdirectories of 100 files, and
// returns dir.
func Write(dir string, n int) (string, error) {
	for i := range n {
		sub := filepath.Join(dir, fmt.Sprintf("svc%02d", i/100), fmt.Sprintf("app%04d", i))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return "", fmt.Errorf("writing corpus: %w", err)
		}
		if err := os.WriteFile(filepath.Join(sub, "Dockerfile"), []byte(Dockerfile(i)), 0o644); err != nil {
			return "", fmt.Errorf("writing corpus: %w", err)
		}
	}
	return dir, nil
}
