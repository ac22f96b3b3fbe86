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
	}
}
