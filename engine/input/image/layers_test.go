package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// memLayers turns tar images (bottom first) into openers that record which
// layers were opened.
func memLayers(opened *[]int, tars ...[]byte) []layerOpener {
	out := make([]layerOpener, len(tars))
	for i, b := range tars {
		out[i] = func(context.Context) (io.ReadCloser, error) {
			*opened = append(*opened, i)
			return io.NopCloser(bytes.NewReader(b)), nil
		}
	}
	return out
}

func TestFindFiles(t *testing.T) {
	const pw = "etc/passwd"
	tests := []struct {
		name   string
		layers [][]file // bottom first
		want   fileLookup
		opened []int // layer indexes, in the order opened
	}{{
		name:   "in the only layer",
		layers: [][]file{{dir("etc"), {Name: "etc/passwd", Body: "a"}}},
		want:   fileLookup{Found: true, Data: []byte("a")},
		opened: []int{0},
	}, {
		name:   "top layer wins and lower layers stay closed",
		layers: [][]file{{{Name: "etc/passwd", Body: "low"}}, {{Name: "bin/sh", Body: "x"}}, {{Name: "/etc/passwd", Body: "high"}}},
		want:   fileLookup{Found: true, Data: []byte("high")},
		opened: []int{2},
	}, {
		name:   "middle layer after an unrelated top layer",
		layers: [][]file{{{Name: "etc/passwd", Body: "low"}}, {{Name: "./etc/passwd", Body: "mid"}}, {{Name: "app", Body: "x"}}},
		want:   fileLookup{Found: true, Data: []byte("mid")},
		opened: []int{2, 1},
	}, {
		name:   "whiteout",
		layers: [][]file{{{Name: "etc/passwd", Body: "low"}}, {whiteout("etc/passwd")}},
		opened: []int{1},
	}, {
		name:   "whiteout of the parent directory",
		layers: [][]file{{{Name: "etc/passwd", Body: "low"}}, {whiteout("etc")}},
		opened: []int{1},
	}, {
		name:   "whiteout of another file",
		layers: [][]file{{{Name: "etc/passwd", Body: "low"}}, {whiteout("etc/passwd-")}},
		want:   fileLookup{Found: true, Data: []byte("low")},
		opened: []int{1, 0},
	}, {
		name:   "opaque parent",
		layers: [][]file{{{Name: "etc/passwd", Body: "low"}}, {dir("etc"), opaque("etc"), {Name: "etc/hosts", Body: "x"}}},
		opened: []int{1},
	}, {
		name:   "opaque root",
		layers: [][]file{{{Name: "etc/passwd", Body: "low"}}, {{Name: ".wh..wh..opq"}}},
		opened: []int{1},
	}, {
		name:   "opaque sibling directory",
		layers: [][]file{{{Name: "etc/passwd", Body: "low"}}, {opaque("etc/ssl")}},
		want:   fileLookup{Found: true, Data: []byte("low")},
		opened: []int{1, 0},
	}, {
		name:   "opaque directory that also holds the file",
		layers: [][]file{{{Name: "etc/passwd", Body: "low"}}, {{Name: "etc/passwd", Body: "new"}, opaque("etc")}},
		want:   fileLookup{Found: true, Data: []byte("new")},
		opened: []int{1},
	}, {
		name:   "parent replaced by a file",
		layers: [][]file{{{Name: "etc/passwd", Body: "low"}}, {{Name: "etc", Body: "not a dir"}}},
		opened: []int{1},
	}, {
		name:   "a directory where the file was",
		layers: [][]file{{{Name: "etc/passwd", Body: "low"}}, {dir("etc/passwd")}},
		opened: []int{1},
	}, {
		name:   "relative symlink",
		layers: [][]file{{{Name: "usr/lib/passwd", Body: "target"}}, {symlink("etc/passwd", "../usr/lib/passwd")}},
		want:   fileLookup{Found: true, Data: []byte("target")},
		opened: []int{1, 1, 0},
	}, {
		name:   "absolute symlink climbing above the root",
		layers: [][]file{{{Name: "usr/lib/passwd", Body: "target"}, symlink("etc/passwd", "../../../../usr/lib/passwd")}},
		want:   fileLookup{Found: true, Data: []byte("target")},
		opened: []int{0, 0},
	}, {
		name:   "symlinked parent directory",
		layers: [][]file{{{Name: "private/etc/passwd", Body: "private"}}, {symlink("etc", "/private/etc")}},
		want:   fileLookup{Found: true, Data: []byte("private")},
		opened: []int{1, 1, 0},
	}, {
		name:   "hard link",
		layers: [][]file{{{Name: "usr/lib/passwd", Body: "linked"}, {Name: "etc/passwd", Typeflag: tar.TypeLink, Link: "usr/lib/passwd"}}},
		want:   fileLookup{Found: true, Data: []byte("linked")},
		opened: []int{0, 0},
	}, {
		name:   "symlink loop",
		layers: [][]file{{symlink("etc/passwd", "passwd2"), symlink("etc/passwd2", "passwd")}},
		want:   fileLookup{Err: "too many levels of symbolic links"},
		opened: []int{0, 0, 0, 0, 0, 0, 0, 0, 0},
	}, {
		name:   "absent everywhere",
		layers: [][]file{{{Name: "bin/sh", Body: "x"}}, {{Name: "app", Body: "x"}}},
		opened: []int{1, 0},
	}, {
		name:   "too large",
		layers: [][]file{{{Name: "etc/passwd", Body: strings.Repeat("x", 101)}}},
		want:   fileLookup{Found: true, TooLarge: true},
		opened: []int{0},
	}, {
		name:   "exactly at the cap",
		layers: [][]file{{{Name: "etc/passwd", Body: strings.Repeat("x", 100)}}},
		want:   fileLookup{Found: true, Data: []byte(strings.Repeat("x", 100))},
		opened: []int{0},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tars [][]byte
			for _, files := range tc.layers {
				tars = append(tars, tarBytes(t, files...))
			}
			var opened []int
			got, n, err := findFiles(context.Background(), memLayers(&opened, tars...), []string{pw}, 100)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got[pw]); diff != "" {
				t.Errorf("lookup (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.opened, opened); diff != "" {
				t.Errorf("layers opened (-want +got):\n%s", diff)
			}
			if n != len(opened) {
				t.Errorf("reported %d layers opened, opened %d", n, len(opened))
			}
		})
	}
}

func TestFindFilesSeveralPaths(t *testing.T) {
	tars := [][]byte{
		tarBytes(t, file{Name: "etc/group", Body: "g"}, file{Name: "etc/passwd", Body: "old"}),
		tarBytes(t, file{Name: "etc/passwd", Body: "p"}),
	}
	var opened []int
	got, _, err := findFiles(context.Background(), memLayers(&opened, tars...), []string{"etc/passwd", "etc/group"}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if string(got["etc/passwd"].Data) != "p" || string(got["etc/group"].Data) != "g" {
		t.Errorf("got %q and %q", got["etc/passwd"].Data, got["etc/group"].Data)
	}
	if !cmp.Equal(opened, []int{1, 0}) {
		t.Errorf("opened %v, want [1 0]", opened)
	}
}

func TestFindFilesErrors(t *testing.T) {
	good := tarBytes(t, file{Name: "etc/passwd", Body: "a"})
	boom := errors.New("boom")
	for _, tc := range []struct {
		name   string
		ctx    func() context.Context
		layers []layerOpener
		want   string
	}{
		{"open fails", context.Background, []layerOpener{func(context.Context) (io.ReadCloser, error) { return nil, boom }}, "opening layer 0: boom"},
		{"not a tar", context.Background, []layerOpener{func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader(strings.Repeat("garbage!", 100))), nil
		}}, "reading layer 0:"},
		{"truncated", context.Background, []layerOpener{func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(tarBytes(t, file{Name: "x", Body: strings.Repeat("y", 2000)})[:1000])), nil
		}}, "reading layer 0: unexpected EOF"},
		{"cancelled", func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, []layerOpener{func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(good)), nil }}, "context canceled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := findFiles(tc.ctx(), tc.layers, []string{"etc/passwd"}, 100)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// FuzzScanLayer feeds arbitrary bytes as a layer: the scan must not panic,
// must report data only for files it found, and must respect the cap.
func FuzzScanLayer(f *testing.F) {
	f.Add(tarBytes(f, file{Name: "etc/passwd", Body: "root:x:0:0::/:/bin/sh\n"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		open := func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		got, _, err := findFiles(context.Background(), []layerOpener{open, open}, []string{"etc/passwd", "etc/group"}, 64)
		if err != nil {
			return
		}
		for p, l := range got {
			if !l.Found && l.Data != nil || len(l.Data) > 64 || l.TooLarge && l.Data != nil {
				t.Fatalf("%s: inconsistent lookup %+v", p, l)
			}
		}
	})
}
