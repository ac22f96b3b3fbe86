//go:build unix

package image

import (
	"os"
	"syscall"
)

// openEntryFlags open a cache entry without following a symlink and
// without blocking on a FIFO swapped in after the Lstat.
const openEntryFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK

// entryPrivate reports whether a record may be believed: owned by the
// current user and writable by no one else, so that another account on a
// shared machine cannot have planted it.
func entryPrivate(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	return int(st.Uid) == os.Geteuid() && fi.Mode().Perm()&0o022 == 0
}
