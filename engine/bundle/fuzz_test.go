package bundle

import (
	"bytes"
	"testing"
	"testing/fstest"
)

// FuzzRead: any bytes read as a bundle give a bundle or an error, never a
// panic.
func FuzzRead(f *testing.F) {
	var b bytes.Buffer
	if err := Build(&b, fstest.MapFS{"a.rego": {Data: []byte(rule)}}, BuildOptions{}); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add([]byte{0x1f, 0x8b, 0x08, 0x00})
	f.Add([]byte("not a bundle"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if bnd, err := Read(data, ReadOptions{}); err == nil && bnd.FS == nil {
			t.Fatal("nil FS without an error")
		}
	})
}
