//go:build unix

package cli

import (
	"os"
	"syscall"
)

// execProgram replaces the process with the program; it returns only on
// failure.
func execProgram(path string, argv []string) error {
	return syscall.Exec(path, argv, os.Environ())
}
