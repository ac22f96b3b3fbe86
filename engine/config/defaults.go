// Package config holds the values policies read as data.dwf.config.
package config

// Default returns the configuration used when the user gives none: the
// Devflow standard.
func Default() map[string]any {
	return map[string]any{
		"uid":              1001,
		"user":             "dwfuser",
		"init":             []any{"tini"},
		"trivy_severities": []any{"CRITICAL", "HIGH"},
		"vulnerabilities":  (*Config)(nil).vulnerabilitiesData(nil),
		"bake_platforms":   []any{"linux/amd64", "linux/arm64"},
		"bake_compression": "zstd",
		"bake_cache_mode":  "max",
		"scan_lockfiles":   anySlice(DefaultLockfiles),
		"default_branches": []any{"main", "master"},
	}
}

// DefaultLockfiles are the lockfiles of the package managers the Devflow
// standard names, as globs over a file's base name: a change to one at the
// repository root or next to a Dockerfile changes the image built there.
var DefaultLockfiles = []string{
	"Cargo.lock", "package-lock.json", "pnpm-lock.yaml", "yarn.lock", "poetry.lock",
	"uv.lock", "requirements*.txt", "go.sum", "Gemfile.lock", "composer.lock",
}

// defaultLockfilesText is DefaultLockfiles as the schema documents it.
const defaultLockfilesText = "[Cargo.lock, package-lock.json, pnpm-lock.yaml, yarn.lock, poetry.lock, uv.lock, requirements*.txt, go.sum, Gemfile.lock, composer.lock]"
