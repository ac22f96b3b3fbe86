package engine

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
)

// TestIDClashBlamesTheLaterSource: when a custom rule reuses an ID, the
// error points at the custom file, whatever the file names sort to.
func TestIDClashBlamesTheLaterSource(t *testing.T) {
	builtin := fstest.MapFS{"z.rego": {Data: []byte(rule("dwf.dockerfile.z", "DWF101", `deny contains {"msg": "z"} if false`))}}
	tests := []struct {
		name    string
		sources []PolicySource
		want    string
	}{
		{"custom after built-in", []PolicySource{
			{Name: "policies", FS: builtin, Builtin: true},
			{Name: "a-custom", FS: fstest.MapFS{"a.rego": {Data: []byte(rule("dwf.dockerfile.a", "DWF101", `deny contains {"msg": "a"} if false`))}}},
		}, "a-custom/a.rego:11: rule ID DWF101 is already used by policies/z.rego:11"},
		{"second custom source, named with ./ and a trailing slash", []PolicySource{
			{Name: "policies", FS: builtin, Builtin: true},
			{Name: "./zz/", FS: fstest.MapFS{"a.rego": {Data: []byte(rule("dwf.dockerfile.b", "ACME1", `deny contains {"msg": "b"} if false`))}}},
			{Name: "aa", FS: fstest.MapFS{"a.rego": {Data: []byte(rule("dwf.dockerfile.c", "ACME1", `deny contains {"msg": "c"} if false`))}}},
		}, "aa/a.rego:11: rule ID ACME1 is already used by zz/a.rego:11"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(context.Background(), Options{Policies: tc.sources})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
