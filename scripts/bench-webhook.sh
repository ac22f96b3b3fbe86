#!/usr/bin/env bash
# Load from a separate process against the real `dwf-policy serve` on
# loopback (issue 11's and issue 12's performance sections):
#
#   scripts/bench-webhook.sh bench   cold reviews, warm reviews at 1,000/s,
#                                    cache hits, then objects never seen
#                                    before (make bench-webhook)
#   scripts/bench-webhook.sh gate    manifest pulls through the registry
#                                    gate and directly, side by side
#                                    (make bench-gate)
#   scripts/bench-webhook.sh soak    10 minutes of reviews while sampling
#                                    the server's RSS (make soak-webhook)
#
# Each run starts Debian's docker-registry (scripts/registry.sh, state in a
# private directory), pushes the test images with internal/tools/loadgen,
# writes a self-signed certificate, starts bin/dwf-policy serve (one
# replica, TLS, an empty image cache), drives it with loadgen (reviews over
# HTTP/2, as the apiserver sends them; HTTP2=0 for HTTP/1.1) and prints a
# table with each run's target and whether it was met (reported, not
# enforced: on a shared machine a missed target may be the neighbours'; the
# load average and the CPU time per request beside each figure tell). The
# latency of a request counts from the time it was due, not from when the
# generator got round to sending it. Everything it starts it stops;
# everything it writes is under one temporary directory, removed at the end
# (KEEP=1 keeps it).
#
# Knobs (environment): WARM_RATE (1000), WARM_DURATION (30s), NEW_RATE
# (500/s of objects under new names), COLD (100
# pods of 3 new images), COLD_RATE (10/s), GATE_RATE (200/s, half each
# way), GATE_DURATION (20s), SOAK_RATE (300/s), SOAK_DURATION (10m),
# SOAK_RSS_EVERY (5s), BIN (bin/dwf-policy), GO (go).
set -euo pipefail

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
mode=${1:-bench}
GO=${GO:-go}
BIN=${BIN:-$root/bin/dwf-policy}
case $mode in bench | gate | soak) ;; *)
	echo "usage: $0 bench|gate|soak" >&2
	exit 2
	;;
esac
[[ -x $BIN && -x $BIN-server ]] || { echo "bench-webhook.sh: $BIN or $BIN-server (which serve runs) is missing: make build" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/dwf-bench.XXXXXX")
export DWF_REGISTRY_STATE=$work/registry-state
loadgen=$work/loadgen
results=$work/results.jsonl
server_pids=()

log() { printf 'bench-webhook.sh: %s\n' "$*" >&2; }

cleanup() {
	local pid
	for pid in "${server_pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	"$root/scripts/registry.sh" stop 2>/dev/null || true
	if [[ ${KEEP:-} == 1 ]]; then
		log "kept $work"
	else
		rm -rf -- "$work"
	fi
}
trap cleanup EXIT

# serve NAME ARGS...: starts bin/dwf-policy serve on free loopback ports and
# sets $server_pid, $main_addr and $gate_addr once it serves.
serve() {
	local name=$1 i
	shift
	"$BIN" serve --listen 127.0.0.1:0 --policy-reload 0 --cache-dir "$work/cache-$name" --log-level info "$@" \
		2>"$work/serve-$name.log" </dev/null &
	server_pid=$!
	server_pids+=("$server_pid")
	for ((i = 0; i < 300; i++)); do
		if grep -q 'msg=serving ' "$work/serve-$name.log"; then
			main_addr=$(sed -n 's/.*msg=serving listen=\([^ ]*\).*/\1/p' "$work/serve-$name.log" | head -n1)
			gate_addr=$(sed -n 's/.*msg="registry gate serving" listen=\([^ ]*\).*/\1/p' "$work/serve-$name.log" | head -n1)
			log "dwf-policy serve (pid $server_pid) on $main_addr${gate_addr:+, gate on $gate_addr}"
			return 0
		fi
		if ! kill -0 "$server_pid" 2>/dev/null; then
			log "dwf-policy serve exited:"
			cat "$work/serve-$name.log" >&2
			return 1
		fi
		sleep 0.1
	done
	log "dwf-policy serve did not start within 30s:"
	cat "$work/serve-$name.log" >&2
	return 1
}

log "building the load generator"
"$GO" build -o "$loadgen" ./internal/tools/loadgen
registry=$("$root/scripts/registry.sh" start)
"$loadgen" setup -registry "$registry" -dir "$work" -cold "${COLD:-100}" >&2
lg() { "$loadgen" "$1" -results "$results" "${@:2}" >/dev/null; }
h2=true
[[ ${HTTP2:-1} == 0 ]] && h2=false

case $mode in
bench)
	serve admission --tls-cert "$work/tls.crt" --tls-key "$work/tls.key" --insecure-registry "$registry"
	url=https://$main_addr
	log "cold: ${COLD:-100} reviews, each of a pod of 3 images the server has not seen, at ${COLD_RATE:-10}/s"
	lg review -http2=$h2 -label cold -url "$url" -ca "$work/tls.crt" -body "$work/cold" -rate "${COLD_RATE:-10}" -count "${COLD:-100}" -max-p99 300ms -pid "$server_pid" -rss-every 0
	log "warm, unhurried: 200/s for 10s of one pod of 3 images (latency without queueing, for a noisy machine)"
	lg review -http2=$h2 -label warm-200 -url "$url" -ca "$work/tls.crt" -body "$work/warm.json" -rate 200 -duration 10s -warmup 2s \
		-pid "$server_pid" -rss-every 0
	log "warm: ${WARM_RATE:-1000}/s for ${WARM_DURATION:-30s} (after 3s of warm-up) of one pod of 3 images"
	lg review -http2=$h2 -label "warm-${WARM_RATE:-1000}" -url "$url" -ca "$work/tls.crt" -body "$work/warm.json" -rate "${WARM_RATE:-1000}" \
		-duration "${WARM_DURATION:-30s}" -warmup 3s -max-p99 5ms -min-hit 0.99 -pid "$server_pid"
	# The warm runs repeat one object, which the pod spec cache answers
	# after the first review; objects of their own (a ReplicaSet's pods)
	# run DWF601-DWF603 every time. A figure, not a target.
	log "new objects: ${NEW_RATE:-500}/s for 10s of the same pod under a new name each time (images cached, rules run every review)"
	lg review -http2=$h2 -label "new-objects-${NEW_RATE:-500}" -url "$url" -ca "$work/tls.crt" -body "$work/warm.json" -unique-objects \
		-rate "${NEW_RATE:-500}" -duration 10s -warmup 2s -pid "$server_pid" -rss-every 0
	;;
gate)
	# Both ways in plain HTTP on loopback, so that the difference is the
	# gate's and not TLS's.
	serve gate --admission=false --registry-gate "http://$registry" --gate-listen 127.0.0.1:0
	ref=$(<"$work/pull-ref")
	log "pulls of $ref alternately through the gate and directly, ${GATE_RATE:-200}/s for ${GATE_DURATION:-20s} (after 3s of warm-up)"
	lg pull -label pull -gate "http://$gate_addr" -direct "http://$registry" -ref "$ref" -metrics "http://$main_addr/metrics" -pid "$server_pid" \
		-rate "${GATE_RATE:-200}" -duration "${GATE_DURATION:-20s}" -warmup 3s -max-overhead 1ms
	;;
soak)
	serve admission --tls-cert "$work/tls.crt" --tls-key "$work/tls.key" --insecure-registry "$registry"
	url=https://$main_addr
	log "soak: ${SOAK_RATE:-300}/s for ${SOAK_DURATION:-10m} over all $((${COLD:-100} + 1)) pods, sampling RSS every ${SOAK_RSS_EVERY:-5s}"
	lg review -http2=$h2 -label soak -url "$url" -ca "$work/tls.crt" -body "$work/cold" -body "$work/warm.json" \
		-rate "${SOAK_RATE:-300}" -duration "${SOAK_DURATION:-10m}" -warmup 5s -pid "$server_pid" -rss-every "${SOAK_RSS_EVERY:-5s}"
	;;
esac

echo "dwf-policy serve $mode, $(nproc) cores, $(date -u +%FT%TZ); figures are noisy on a shared machine: compare load averages"
"$loadgen" table "$results"
