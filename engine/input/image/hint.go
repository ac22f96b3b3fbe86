package image

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// Hint is one line of advice for an image that could not be loaded with
// the given timeout, or "" when there is none to give.
func Hint(err error, timeout time.Duration) string {
	switch {
	case errors.Is(err, ErrUnauthorized):
		login := "docker login"
		if h := registryOf(err); h != name.DefaultRegistry {
			login += " " + h
		}
		return "hint: log in with `" + login + "` or configure a credential helper: dwf-policy reads the Docker config (~/.docker/config.json or $DOCKER_CONFIG/config.json) as docker pull does"
	case errors.Is(err, ErrNotFound):
		return "hint: check the repository and tag; some registries also answer 404 when the credentials may not read the repository"
	case errors.Is(err, ErrAddressRefused):
		return "hint: the registry sent dwf-policy (a token realm or a redirect) to a loopback, link-local or private address; only the registry of the reference and --insecure-registry hosts may be at such addresses"
	case errors.Is(err, ErrResolve):
		return "hint: DNS does not know this host: check the registry host of the reference, and the DNS or proxy settings"
	case errors.Is(err, ErrTimeout):
		if _, ok := errors.AsType[*deadlineError](err); ok {
			return fmt.Sprintf("hint: the registry did not answer within --timeout %s; check the network or proxy, or raise --timeout", timeout)
		}
		return "hint: one request to the registry timed out (see the error); check the network or proxy and try again"
	case errors.Is(err, ErrDigestMismatch):
		return "hint: the bytes received are not the ones the image's digests name: the registry, a mirror or the file was tampered with or corrupted; do not use this image until it loads"
	case errors.Is(err, ErrPlatformNotFound):
		return "hint: --platform names a platform the image does not have"
	case errors.Is(err, ErrRegistry):
		return "hint: the registry failed (5xx or 429) after retries; try again later"
	}
	if oe, ok := errors.AsType[*net.OpError](err); ok && oe.Op == "dial" {
		return "hint: nothing answers at " + registryOf(err) + ": check the registry host and port of the reference, and the network or proxy"
	}
	return ""
}

// registryOf finds the registry host in a load error's reference, for
// hints (index.docker.io for Docker Hub).
func registryOf(err error) string {
	ref, _, _ := strings.Cut(strings.TrimPrefix(err.Error(), "loading image "), ": ")
	if r, perr := name.ParseReference(ref); perr == nil {
		return r.Context().RegistryStr()
	}
	return "the registry"
}
