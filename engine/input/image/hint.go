package image

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// Hint is one line of advice for an image that could not be loaded with
// the given timeout, or "" when there is none to give.
func Hint(err error, timeout time.Duration) string {
	if ref := refOf(err); strings.HasPrefix(ref, layoutPrefix) || strings.HasPrefix(ref, tarballPrefix) {
		return localHint(err, ref)
	}
	// Refused plain HTTP is the problem unless nothing answered over HTTPS
	// either (go-containerregistry then tries HTTP on a loopback host).
	if ie, ok := errors.AsType[*insecureError](err); ok && !dialFailed(err) {
		return "hint: --insecure-registry takes the registry exactly as the reference names it, host and port: pass `--insecure-registry " + ie.Host() + "`"
	}
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
	if dialFailed(err) {
		return "hint: nothing answers at " + registryOf(err) + ": check the registry host and port of the reference, and the network or proxy"
	}
	return ""
}

// localHint is the advice for an OCI layout or tar file that could not be
// loaded: about the path and its content, never about registries.
func localHint(err error, ref string) string {
	path, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(ref, layoutPrefix), tarballPrefix), "@")
	msg := err.Error()
	switch {
	case strings.Contains(msg, "opening OCI layout") && errors.Is(err, fs.ErrNotExist):
		return "hint: the directory " + path + " does not exist; write the layout there first (`docker buildx build --output type=oci,dest=" + path + ",tar=false .`) or correct the path"
	case strings.Contains(msg, "opening tarball") && errors.Is(err, fs.ErrNotExist):
		return "hint: the file " + path + " does not exist; write it first (`docker buildx build --output type=oci,dest=" + path + " .` or `docker save -o " + path + " IMAGE`) or correct the path"
	case strings.Contains(msg, "reading OCI layout") && errors.Is(err, fs.ErrNotExist):
		return "hint: " + path + " has no index.json, so it is not an OCI image layout; point oci-layout: at the directory `docker buildx build --output type=oci,tar=false` wrote"
	case strings.Contains(msg, "no manifest") && errors.Is(err, ErrNotFound):
		return "hint: the layout does not hold that digest; pin one of the digests its index.json lists (above), or leave the @digest out to check what it holds"
	}
	return ""
}

// refOf is the reference a load error names ("loading image REF: ...").
func refOf(err error) string {
	ref, _, _ := strings.Cut(strings.TrimPrefix(err.Error(), "loading image "), ": ")
	return ref
}

// registryOf finds the registry host in a load error's reference, for
// hints (index.docker.io for Docker Hub).
func registryOf(err error) string {
	ref := refOf(err)
	if r, perr := name.ParseReference(ref); perr == nil {
		return r.Context().RegistryStr()
	}
	return "the registry"
}

// dialFailed reports whether a connection could not be opened at all.
func dialFailed(err error) bool {
	oe, ok := errors.AsType[*net.OpError](err)
	return ok && oe.Op == "dial"
}

// WithoutRequestURLs drops from an error message the requests that Go's
// HTTP client (`Get "URL": `) and go-containerregistry (`GET URL: `) put
// before their errors: a message for someone other than the operator
// keeps the registry's own words, without internal addresses or the
// signed query of a blob URL.
func WithoutRequestURLs(msg string) string { return requestURL().ReplaceAllString(msg, "") }

var requestURL = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?:(?:GET|HEAD) https?://\S+|(?:Get|Head) "[^"]*"): `)
})
