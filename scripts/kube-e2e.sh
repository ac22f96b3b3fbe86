#!/usr/bin/env bash
# Starts a real kube-apiserver and Debian's etcd on 127.0.0.1 for the
# admission webhook's end-to-end test, runs a command, and stops them. No
# scheduler, controller manager or kubelet: pods stay Pending, which is all
# admission needs. Only the processes started here are ever stopped, and
# nothing outside the state directory is written (the kube-apiserver binary
# is cached by scripts/kube-apiserver.sh under ~/.cache/dwf-policy).
#
#   scripts/kube-e2e.sh run -- CMD...   start, run CMD, stop (exit status of CMD)
#   scripts/kube-e2e.sh start           start; prints the apiserver URL
#   scripts/kube-e2e.sh stop            stop and delete the state
#
# CMD gets DWF_KUBE_APISERVER (https://127.0.0.1:PORT), DWF_KUBE_TOKEN (a
# system:masters bearer token) and DWF_KUBE_CA (the apiserver's serving
# certificate). The state lives in $DWF_KUBE_STATE (default:
# <repo>/.tools/kube-e2e). etcd comes from `apt-get install etcd-server`.
set -euo pipefail

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
state=${DWF_KUBE_STATE:-$root/.tools/kube-e2e}

log() { printf 'kube-e2e.sh: %s\n' "$*" >&2; }

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
	local p i
	for ((i = 0; i < 50; i++)); do
		p=$((20000 + RANDOM % 20000))
		listening "$p" || { echo "$p"; return 0; }
	done
	log "no free port found"
	return 1
}

# alive NAME: the recorded pid of NAME if that process still runs NAME.
alive() {
	local pid
	[[ -f $state/$1.pid ]] || return 1
	pid=$(<"$state/$1.pid")
	[[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$1" && echo "$pid"
}

start() {
	local etcd kas etcd_port peer_port port token i
	if alive kube-apiserver >/dev/null; then
		cat "$state/url"
		return 0
	fi
	etcd=$(command -v etcd || true)
	[[ -n $etcd ]] || { log "etcd is not installed: apt-get install etcd-server"; return 1; }
	kas=$(bash "$root/scripts/kube-apiserver.sh" path)
	rm -rf "$state"
	mkdir -p "$state/etcd" "$state/certs"
	chmod 700 "$state"

	etcd_port=$(free_port)
	peer_port=$(free_port)
	"$etcd" --name dwf-e2e --data-dir "$state/etcd" \
		--listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
		--listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
		--initial-cluster "dwf-e2e=http://127.0.0.1:$peer_port" \
		--unsafe-no-fsync >"$state/etcd.log" 2>&1 &
	echo $! >"$state/etcd.pid"

	openssl genrsa -out "$state/sa.key" 2048 2>/dev/null
	openssl rsa -in "$state/sa.key" -pubout -out "$state/sa.pub" 2>/dev/null
	token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
	echo "$token,dwf-e2e-admin,dwf-e2e-admin,system:masters" >"$state/tokens.csv"
	echo "$token" >"$state/token"

	for ((i = 0; i < 100; i++)); do
		listening "$etcd_port" && break
		sleep 0.1
	done
	port=$(free_port)
	"$kas" \
		--etcd-servers "http://127.0.0.1:$etcd_port" \
		--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$port" \
		--cert-dir "$state/certs" \
		--token-auth-file "$state/tokens.csv" \
		--authorization-mode RBAC \
		--service-account-issuer https://kubernetes.default.svc \
		--service-account-key-file "$state/sa.pub" \
		--service-account-signing-key-file "$state/sa.key" \
		--api-audiences https://kubernetes.default.svc \
		--service-cluster-ip-range 10.0.0.0/24 \
		--enable-priority-and-fairness=false \
		>"$state/kube-apiserver.log" 2>&1 &
	echo $! >"$state/kube-apiserver.pid"
	echo "https://127.0.0.1:$port" >"$state/url"

	for ((i = 0; i < 600; i++)); do
		if curl -fsk -H "Authorization: Bearer $token" "https://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
			cp "$state/certs/apiserver.crt" "$state/ca.crt" 2>/dev/null || true
			log "kube-apiserver ready at https://127.0.0.1:$port after $((i / 5))s"
			cat "$state/url"
			return 0
		fi
		if ! alive kube-apiserver >/dev/null; then
			log "kube-apiserver exited; its log:"
			tail -30 "$state/kube-apiserver.log" >&2
			return 1
		fi
		sleep 0.2
	done
	log "kube-apiserver not ready after 120s; its log:"
	tail -30 "$state/kube-apiserver.log" >&2
	return 1
}

stop() {
	local name pid i
	for name in kube-apiserver etcd; do
		if pid=$(alive "$name"); then
			kill "$pid" 2>/dev/null || true
			for ((i = 0; i < 100; i++)); do
				[[ -d /proc/$pid ]] || break
				sleep 0.1
			done
			[[ -d /proc/$pid ]] && kill -9 "$pid" 2>/dev/null || true
		fi
	done
	rm -rf "$state"
}

case ${1:-} in
start) start ;;
stop) stop ;;
run)
	shift
	[[ ${1:-} == -- ]] && shift
	trap stop EXIT
	url=$(start)
	code=0
	DWF_KUBE_APISERVER=$url DWF_KUBE_TOKEN=$(<"$state/token") DWF_KUBE_CA=$state/ca.crt "$@" || code=$?
	exit $code
	;;
*)
	echo "usage: $0 start|stop|run -- CMD..." >&2
	exit 2
	;;
esac
