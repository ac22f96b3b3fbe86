package document

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

//go:embed schemas/*.json
var schemaFS embed.FS

// Schemas returns the JSON schema of every input kind, keyed by the name
// policies use in `# METADATA schemas: - input: schema.<name>` (the file's
// base name, e.g. "dockerfile").
func Schemas() (map[string]any, error) {
	entries, err := schemaFS.ReadDir("schemas")
	if err != nil {
		return nil, fmt.Errorf("reading embedded schemas: %w", err)
	}
	out := make(map[string]any, len(entries))
	for _, e := range entries {
		raw, err := schemaFS.ReadFile("schemas/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("reading schema %s: %w", e.Name(), err)
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("decoding schema %s: %w", e.Name(), err)
		}
		out[strings.TrimSuffix(e.Name(), path.Ext(e.Name()))] = v
	}
	return out, nil
}
