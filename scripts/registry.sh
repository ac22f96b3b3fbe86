#!/usr/bin/env bash
# Starts and stops Debian's docker-registry (distribution 2.x) on 127.0.0.1
# for the image integration tests, with filesystem storage in a temporary
# directory. Nothing outside that directory and the state directory is
# touched, and only the process started here is ever stopped.
#
#   scripts/registry.sh start [PORT]   start it; prints 127.0.0.1:PORT
#   scripts/registry.sh stop           stop it and delete its storage
#   scripts/registry.sh run -- CMD...  start, run CMD with DWF_REGISTRY set, stop
#
# PORT defaults to a free port. The state (pid, address, storage path) lives
# in $DWF_REGISTRY_STATE (default: <repo>/.tools/registry). The package is
# installed by scripts/install-test-tools.sh (`make tools`).
set -euo pipefail

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
state=${DWF_REGISTRY_STATE:-$root/.tools/registry}

log() { printf 'registry.sh: %s\n' "$*" >&2; }

# listening PORT: true when something accepts connections on 127.0.0.1:PORT.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ready ADDR: true when GET /v2/ answers 200.
ready() (
	host=${1%:*} port=${1##*:} status=
	exec 3<>"/dev/tcp/$host/$port" || exit 1
	printf 'GET /v2/ HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" >&3
	IFS= read -r -t 2 status <&3 || true
	[[ $status == *" 200 "* ]]
)

free_port() {
	local p i
	# Below Linux's ephemeral range (32768 and up), where outgoing
	# connections would take ports from under us.
	for ((i = 0; i < 50; i++)); do
		p=$((20000 + RANDOM % 12000))
		listening "$p" || { echo "$p"; return 0; }
	done
	log "no free port found"
	return 1
}

running_pid() {
	# The pid recorded at start, if that process is still a docker-registry.
	local pid
	[[ -f $state/pid ]] || return 1
	pid=$(<"$state/pid")
	[[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'docker-registry' && echo "$pid"
}

start() {
	local i rc
	if [[ -n ${1:-} ]]; then
		start_on "$1"
		return
	fi
	# A free port can be taken between the check and the bind (other test
	# servers on this machine): try another one then.
	for ((i = 0; i < 5; i++)); do
		rc=0
		start_on "$(free_port)" || rc=$?
		((rc == 3)) || return "$rc"
		log "the port was taken before docker-registry bound it; trying another"
	done
	return 1
}

# start_on PORT: start on PORT; exit status 3 when the port was taken.
start_on() {
	local port=$1 bin data pid i
	if pid=$(running_pid); then
		log "already running (pid $pid) at $(<"$state/addr")"
		cat "$state/addr"
		return 0
	fi
	bin=$(command -v docker-registry || true)
	if [[ -z $bin ]]; then
		log "docker-registry is not installed: run scripts/install-test-tools.sh (make tools) or apt-get install docker-registry"
		return 1
	fi
	[[ -n $port ]] || return 1
	if listening "$port"; then
		log "port $port is in use"
		return 1
	fi
	mkdir -p "$state"
	data=$(mktemp -d "${TMPDIR:-/tmp}/dwf-registry.XXXXXX")
	cat >"$data/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $data/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  headers:
    X-Content-Type-Options: [nosniff]
YAML
	echo "$data" >"$state/data"
	echo "127.0.0.1:$port" >"$state/addr"
	setsid "$bin" serve "$data/config.yml" >"$data/registry.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$state/pid"
	for ((i = 0; i < 100; i++)); do
		if ready "127.0.0.1:$port" 2>/dev/null; then
			log "docker-registry (pid $pid) serving 127.0.0.1:$port from $data/storage"
			echo "127.0.0.1:$port"
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			if grep -q 'address already in use' "$data/registry.log"; then
				cleanup_state
				return 3
			fi
			log "docker-registry exited:"
			cat "$data/registry.log" >&2
			cleanup_state
			return 1
		fi
		sleep 0.1
	done
	log "docker-registry did not answer on 127.0.0.1:$port within 10s:"
	cat "$data/registry.log" >&2
	stop
	return 1
}

cleanup_state() {
	local data
	if [[ -f $state/data ]]; then
		data=$(<"$state/data")
		# Only ever delete what start created.
		[[ $data == */dwf-registry.* && -d $data ]] && rm -rf -- "$data"
	fi
	rm -f "$state/pid" "$state/addr" "$state/data"
}

stop() {
	local pid i
	if pid=$(running_pid); then
		kill "$pid"
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
		log "stopped docker-registry (pid $pid)"
	fi
	cleanup_state
}

run() {
	[[ ${1:-} == -- ]] && shift
	(($# > 0)) || { log "usage: $0 run -- CMD..."; return 2; }
	local addr code=0
	addr=$(start)
	trap stop EXIT
	DWF_REGISTRY=$addr "$@" || code=$?
	return "$code"
}

case ${1:-} in
start) shift; start "$@" ;;
stop) stop ;;
run) shift; run "$@" ;;
*)
	echo "usage: $0 start [PORT] | stop | run -- CMD..." >&2
	exit 2
	;;
esac
