//go:build !unix

package cli

import (
	"errors"
	"os"
	"os/exec"
)

// execProgram runs the program in a child process with this one's streams
// and exits with its status: there is no exec(2) to replace the process.
func execProgram(path string, argv []string) error {
	cmd := exec.Command(path, argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		os.Exit(exit.ExitCode())
	}
	if err != nil {
		return err
	}
	os.Exit(0)
	return nil
}
