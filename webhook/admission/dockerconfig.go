package admission

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/devflow/dwf-policy/engine/repofile"
	"github.com/google/go-containerregistry/pkg/authn"
)

// maxDockerConfigBytes caps a static Docker config; a real one is a few
// KiB.
const maxDockerConfigBytes = 1 << 20

// StaticKeychain holds the credentials of one Docker config.json file (its
// `auths`; credential helpers are never run, a server must not execute
// binaries named in a file). It is what serve pulls with after a pod's own
// pull secrets. The file is read when the keychain is made and again when
// its size or modification time changes (a mounted Secret is replaced when
// it is updated). A change that cannot be read (broken JSON, a removed
// file) keeps the credentials in use and is logged once; a valid config
// without credentials is applied, because emptying the Secret is how an
// operator revokes them.
type StaticKeychain struct {
	file string
	log  *slog.Logger

	mu      sync.Mutex
	auths   []registryAuth
	size    int64
	modTime time.Time
	failed  bool // the last re-read failed: logged once until it succeeds
}

// NewStaticKeychain reads file. A file that is missing, too large, not a
// Docker config or without any `auths` entry is an error.
func NewStaticKeychain(file string, log *slog.Logger) (*StaticKeychain, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	k := &StaticKeychain{file: file, log: log}
	fi, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("reading Docker config: %w", err)
	}
	auths, err := readDockerConfig(file)
	if err != nil {
		return nil, err
	}
	if len(auths) == 0 {
		return nil, fmt.Errorf("reading Docker config %s: no credentials under \"auths\" (credential helpers are not run)", file)
	}
	k.auths, k.size, k.modTime = auths, fi.Size(), fi.ModTime()
	return k, nil
}

func readDockerConfig(file string) ([]registryAuth, error) {
	// A regular file only: a FIFO given by mistake would block serve's
	// start, a device would never end.
	raw, err := repofile.ReadFile(file, maxDockerConfigBytes)
	if err != nil {
		return nil, fmt.Errorf("reading Docker config %s: %w", file, err)
	}
	auths, err := parseDockerConfig(raw, true)
	if err != nil {
		return nil, fmt.Errorf("reading Docker config %s: not a config.json: %w", file, err)
	}
	return auths, nil
}

// Resolve returns the credentials the file has for the resource's
// registry, anonymous when it has none.
func (k *StaticKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	k.refresh()
	reg := r.RegistryStr()
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, a := range k.auths {
		if a.host == reg {
			return authn.FromConfig(a.cfg), nil
		}
	}
	return authn.Anonymous, nil
}

// refresh reads the file again when it changed. A stat per registry
// request costs microseconds, well below the request.
func (k *StaticKeychain) refresh() {
	fi, err := os.Stat(k.file)
	k.mu.Lock()
	defer k.mu.Unlock()
	if err == nil && fi.Size() == k.size && fi.ModTime().Equal(k.modTime) {
		return
	}
	var auths []registryAuth
	if err == nil {
		auths, err = readDockerConfig(k.file)
	}
	if err != nil {
		if !k.failed {
			k.log.Warn("the Docker config changed and cannot be read; the credentials read before stay in use", "file", k.file, "err", err)
			k.failed = true
		}
		return
	}
	k.auths, k.size, k.modTime, k.failed = auths, fi.Size(), fi.ModTime(), false
	if len(auths) == 0 {
		k.log.Warn("the Docker config no longer has credentials under \"auths\": the credentials read before are dropped, pulls without a pull secret are anonymous", "file", k.file)
		return
	}
	k.log.Info("Docker config read again", "file", k.file, "registries", len(auths))
}
