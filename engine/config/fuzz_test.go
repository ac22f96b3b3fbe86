package config

import (
	"strings"
	"testing"
)

// FuzzDecode: any file content decodes or fails with an error naming the
// file; never a panic, and a decoded file always yields usable data.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("uid: 1001\nuser: dwfuser\ninit: [tini]\ntrivy: {severities: [HIGH]}\nrules: {DWF104: off}\n"))
	f.Add([]byte("exceptions:\n  - rule: DWF104\n    paths: [\"legacy/**\"]\n    reason: r\n    expires: 2025-01-01\n"))
	f.Add([]byte("exclude: [\"a/[b\", /abs, a**/b]\npolicies: [p]\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("- 1\n---\n- 2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Decode("c.yaml", "/repo", data)
		if err != nil {
			if !strings.Contains(err.Error(), "c.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		_ = cfg.Data()
		if ex := cfg.Excluder("/repo"); ex != nil {
			ex("a/b/Dockerfile")
		}
		for _, e := range cfg.Exceptions {
			if e.Reason == "" || len(e.Paths) == 0 || e.Location.Line < 1 {
				t.Fatalf("decoded an invalid exception: %+v", e)
			}
		}
	})
}
