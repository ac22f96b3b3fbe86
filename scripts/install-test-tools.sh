#!/usr/bin/env bash
# Installs the tools the test suite runs for real:
#   - Microsoft's SARIF multitool (validates our SARIF, including GitHub's
#     ingestion rules), from npm into <repo>/.tools/npm;
#   - Debian's docker-registry, pre-commit, etcd-server, libxml2-utils (xmllint)
#     and hyperfine (make bench-trivy) packages, with apt-get, when they are
#     missing and we are root;
#   - helm, pinned, built with `go install` into <repo>/.tools/bin (the chart
#     tests render deploy/helm/dwf-policy with the real `helm template`).
#   - crane (go-containerregistry's registry client, the registry gate's
#     integration tests drive it), built with `go install` into
#     ${DWF_TOOLS_BIN:-<repo>/.tools/bin}.
# Idempotent and quick when everything is already there. Prints the path of
# the Sarif.Multitool binary on stdout; progress goes to stderr.
set -euo pipefail

sarif_pkg=@microsoft/sarif-multitool-linux
sarif_version=5.7.0
apt_packages=(docker-registry pre-commit etcd-server libxml2-utils hyperfine)
helm_module=helm.sh/helm/v3
helm_version=v3.22.0
crane_module=github.com/google/go-containerregistry/cmd/crane
crane_version=v0.22.1 # keep in step with internal/imagetest.CraneVersion

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
prefix=$root/.tools/npm
pkg_dir=$prefix/node_modules/$sarif_pkg
bin=$pkg_dir/Sarif.Multitool
tools_bin=${DWF_TOOLS_BIN:-$root/.tools/bin}

log() { printf 'install-test-tools: %s\n' "$*" >&2; }

installed_version() {
	# The version recorded in the installed package.json, empty if none.
	[[ -f $pkg_dir/package.json ]] || return 0
	sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$pkg_dir/package.json" | head -n1
}

install_sarif_multitool() {
	if [[ -f $bin && $(installed_version) == "$sarif_version" ]]; then
		log "$sarif_pkg@$sarif_version already installed"
	else
		command -v npm >/dev/null || { log "npm is required to install $sarif_pkg"; exit 1; }
		log "installing $sarif_pkg@$sarif_version into $prefix"
		mkdir -p "$prefix"
		# --ignore-scripts: the package's only script is the chmod done below
		# (npm 11 does not run it anyway).
		npm install --prefix "$prefix" --no-audit --no-fund --no-save \
			--ignore-scripts --loglevel=error "$sarif_pkg@$sarif_version" >&2
		[[ -f $bin ]] || { log "npm did not install $bin"; exit 1; }
	fi
	[[ -x $bin ]] || chmod u+x "$bin"
}

install_helm() {
	local bin=$tools_bin/helm go=${GO:-go}
	# The version is read from the binary's build information, so a helm
	# of another version is replaced.
	if [[ -x $bin ]] && "$go" version -m "$bin" 2>/dev/null | grep -qP "^\tmod\t$helm_module\t$helm_version\t"; then
		log "helm $helm_version already installed"
		return 0
	fi
	command -v "$go" >/dev/null || { log "go is required to build helm"; exit 1; }
	log "building helm $helm_version into $tools_bin (once; minutes on a cold build cache)"
	mkdir -p "$tools_bin"
	GOBIN=$tools_bin "$go" install "$helm_module/cmd/helm@$helm_version" >&2
	[[ -x $bin ]] || { log "go install did not write $bin"; exit 1; }
}

install_apt_packages() {
	local missing=() p
	for p in "${apt_packages[@]}"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
			missing+=("$p")
		fi
	done
	((${#missing[@]} > 0)) || return 0
	if ! command -v apt-get >/dev/null; then
		log "skipping ${missing[*]}: apt-get not found; install them yourself"
		return 0
	fi
	if [[ $(id -u) -ne 0 ]]; then
		log "skipping ${missing[*]}: not root; run: sudo apt-get install ${missing[*]}"
		return 0
	fi
	log "installing ${missing[*]} with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

install_crane() {
	local crane=$tools_bin/crane
	if [[ -x $crane && $("$crane" version 2>/dev/null) == "$crane_version" ]]; then
		log "crane $crane_version already installed"
		return 0
	fi
	command -v go >/dev/null || { log "go is required to install crane"; exit 1; }
	log "installing crane $crane_version into $tools_bin"
	mkdir -p "$tools_bin"
	# Outside the repository, so its go.mod does not choose the versions.
	(cd / && GOBIN=$tools_bin GOFLAGS=-mod=mod go install "$crane_module@$crane_version") >&2
	[[ $("$crane" version) == "$crane_version" ]] || { log "go install did not install crane $crane_version"; exit 1; }
}

install_sarif_multitool
install_apt_packages
install_helm
install_crane
printf '%s\n' "$bin"
