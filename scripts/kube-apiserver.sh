#!/usr/bin/env bash
# Builds kube-apiserver from the k8s.io/kubernetes module for the admission
# webhook's end-to-end test, and caches the binary by version outside the
# clone. k8s.io/kubernetes replaces its staging modules (k8s.io/api,
# k8s.io/apiserver, ...) with ./staging paths, which only work inside its own
# repository, so a throwaway wrapper module requires k8s.io/kubernetes and
# replaces every staging module with its published v0.X.Y twin. The list of
# staging modules is read from kubernetes' own go.mod, never hard-coded.
#
#   scripts/kube-apiserver.sh path    print the cached binary's path (building it if needed)
#   scripts/kube-apiserver.sh build   build it even if cached
#
# KUBE_VERSION defaults to v1.36.3; the cache lives in
# ${XDG_CACHE_HOME:-$HOME/.cache}/dwf-policy/kube-apiserver-$KUBE_VERSION.
# A cold build takes about 4 minutes on 2 cores.
set -euo pipefail

version=${KUBE_VERSION:-v1.36.3}
staging=v0.${version#v1.}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/dwf-policy
bin=$cache/kube-apiserver-$version
go=${GO:-go}

log() { printf 'kube-apiserver.sh: %s\n' "$*" >&2; }

build() {
	local work gomod mods m
	work=$(mktemp -d)
	trap 'rm -rf "$work"' RETURN
	mkdir -p "$cache"
	log "building kube-apiserver $version (staging modules $staging) in $work"
	(
		cd "$work"
		export GOFLAGS=-mod=mod GOWORK=off
		"$go" mod init dwf-policy.invalid/kube-apiserver-wrapper >/dev/null 2>&1
		gomod=$("$go" mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
		[[ -n $gomod ]] || { log "could not download k8s.io/kubernetes@$version"; exit 1; }
		mods=$(sed -n 's#^[[:space:]]*\(k8s\.io/[^ ]*\) => \./staging/src/.*#\1#p' "$gomod")
		[[ -n $mods ]] || { log "no staging replacements found in $gomod"; exit 1; }
		args=(-require="k8s.io/kubernetes@$version")
		for m in $mods; do args+=(-replace="$m=$m@$staging"); done
		"$go" mod edit "${args[@]}"
		cat >tools.go <<'GO'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
		"$go" mod tidy -e >/dev/null 2>&1 || true
		"$go" build -trimpath -ldflags '-s -w' -o "$bin.tmp" k8s.io/kubernetes/cmd/kube-apiserver
	)
	mv -f "$bin.tmp" "$bin"
	log "built $bin"
}

case ${1:-path} in
path)
	[[ -x $bin ]] || build
	echo "$bin"
	;;
build)
	build
	echo "$bin"
	;;
*)
	echo "usage: $0 path|build" >&2
	exit 2
	;;
esac
