//go:build unix

package repofile

import "syscall"

// oNonblock makes opening a FIFO return at once instead of waiting for a
// writer, so that the type check after opening can refuse it.
const oNonblock = syscall.O_NONBLOCK
