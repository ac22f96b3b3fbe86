//go:build !unix

package image

import "os"

// openEntryFlags: no O_NOFOLLOW here; readEntry's Lstat and SameFile checks
// still refuse a symlink.
const openEntryFlags = 0

// entryPrivate: ownership is not checked where there are no Unix owners.
func entryPrivate(os.FileInfo) bool { return true }
