package cli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ServerProgram is the binary that serves: dwf-policy with the servers
// linked in. dwf-policy hands `serve` to it.
const ServerProgram = "dwf-policy-server"

// execServer replaces this process with ServerProgram, given the same
// command line, once serve's flags have been checked here. The program is
// looked for beside this binary (the release image and `make build` put
// them together), then on PATH. The process keeps its ID, so a server
// running as PID 1's child under tini still gets its signals.
func (c Command) execServer() error {
	path, err := serverPath()
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	argv := append([]string{ServerProgram}, c.args[min(1, len(c.args)):]...)
	if err := execProgram(path, argv); err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("running %s: %w", path, err)}
	}
	return nil
}

// serverPath finds ServerProgram beside this executable, then on PATH.
func serverPath() (string, error) {
	if self, err := os.Executable(); err == nil {
		if resolved, err := filepath.EvalSymlinks(self); err == nil {
			self = resolved
		}
		p := filepath.Join(filepath.Dir(self), ServerProgram)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath(ServerProgram); err == nil {
		return p, nil
	} else if !errors.Is(err, exec.ErrNotFound) {
		return "", fmt.Errorf("serve: looking for %s: %w", ServerProgram, err)
	}
	return "", fmt.Errorf("serve runs %s, which is neither beside this binary nor on PATH: build it with `make build`, or `go install github.com/devflow/dwf-policy/cmd/%s`", ServerProgram, ServerProgram)
}
