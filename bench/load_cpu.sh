#!/usr/bin/env bash
# load_cpu.sh: match-only load phases against one doorstep server on one
# private redis-server, printing each phase's bench/RESULTS.md row with the
# CPU the server and redis-server used per request sent, read from
# /proc/PID/stat around the phase (Linux). CPU per request is steadier than
# latency on a shared machine, and shows Redis' share, which the server's
# profile does not.
#
#   bench/load_cpu.sh /tmp/ds 10000 50,100,150,200
#
# Each row follows the line of the load's latencies by HTTP status, and
# ends with the Redis commands and the Redis read events (a client's
# batch read off its socket: about one a round trip) per request sent,
# from INFO stats around the phase: unlike time, they do not move with
# the machine's load.
# Two binaries compare by running the script once for each, alternately
# (ABBA). Run an A/A pair beside it too: two builds of one commit, made in
# different directories, differed by 0.7 ms of match p99 at 1,000/s
# (bench/RESULTS.md, "A control: two builds of one commit"), as much as
# most changes are worth. Build with `go build -trimpath`: two builds of one
# commit are then the same bytes wherever they are made.
# The row's last column is the server's own p50 and p99 over the phase's
# requests, from its access log: the client shares the two cores and
# measures late when it waits for one itself (bench/RESULTS.md, "Where
# the 100,000-worker tail waits").
# DURATION (default 10s) is the length of each phase, MIX (default match=1)
# the load's mix, and SERVE_FLAGS extra flags for serve (e.g. -no-mirror).
# WARMUP, a rate, runs one phase of the mix at it first, unreported: the
# first phase otherwise also fills the server's read model, and sheds
# more than a later one at the same rate.
# REDIS_PORT, when set, is a redis-server on 127.0.0.1 that already holds
# the load's city of WORKERS (imported once, e.g. by a first run with
# KEEP_REDIS=1, which leaves its redis-server running and prints its
# port): importing 100,000 workers takes minutes, and servers compared
# on one redis-server read the same data. A kept city ages: its shifts
# are fixed at the import, so as the hours pass more of the load's
# windowed requests fall outside every shift (in stop 39, 166 unservable
# of 6,000 matches for the first hour after an import, 314 from about 70
# minutes on). Compare binaries on it alternately, run after run, never
# against figures from hours before.
set -euo pipefail

bin=${1:?usage: load_cpu.sh DOORSTEP_BIN WORKERS RATES}
workers=${2:?workers}
rates=${3:?rates, comma separated}
duration=${DURATION:-10s}
mix=${MIX:-match=1}
serve_flags=${SERVE_FLAGS:-}

port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
hport=$(port)
if [ -n "${REDIS_PORT:-}" ]; then
	rport=$REDIS_PORT
	rpid=$(redis-cli -p "$rport" info server | awk -F: '/^process_id:/ {print $2+0}')
	dir=
else
	rport=$(port)
	dir=$(mktemp -d)
	redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" >/dev/null 2>&1 &
	rpid=$!
fi
slog=$(mktemp)
"$bin" serve -addr "127.0.0.1:$hport" -redis "redis://127.0.0.1:$rport" -rate-limit -1 $serve_flags >/dev/null 2>"$slog" &
spid=$!
cleanup() {
	kill $spid 2>/dev/null
	wait $spid 2>/dev/null
	rm -f "$slog"
	if [ -z "${REDIS_PORT:-}" ]; then
		if [ -n "${KEEP_REDIS:-}" ]; then
			echo "redis-server left running on port $rport (REDIS_PORT=$rport)"
		else
			kill $rpid 2>/dev/null
			wait $rpid 2>/dev/null
			rm -rf "$dir"
		fi
	fi
}
trap cleanup EXIT
# A server starting on a large city reads it whole before it is ready.
for _ in $(seq 600); do
	curl -sf "http://127.0.0.1:$hport/readyz" >/dev/null && break
	sleep 0.2
done
if [ -z "${REDIS_PORT:-}" ]; then
	# Import the city once (one request a second for a second).
	"$bin" load -target "http://127.0.0.1:$hport" -workers "$workers" -mix match=1 -rate 1 -duration 1s >/dev/null
fi

if [ -n "${WARMUP:-}" ]; then
	"$bin" load -target "http://127.0.0.1:$hport" -skip-import -workers "$workers" -mix "$mix" \
		-rate "$WARMUP" -duration "$duration" >/dev/null 2>&1
fi

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# rstat FIELD: a counter of redis-server's INFO stats.
rstat() { redis-cli -p "$rport" info stats | tr -d '\r' | awk -F: -v f="$1" '$1 == f {print $2}'; }
hz=$(getconf CLK_TCK)
for rate in ${rates//,/ }; do
	s0=$(ticks $spid)
	r0=$(ticks $rpid)
	c0=$(rstat total_commands_processed)
	e0=$(rstat total_reads_processed)
	l0=$(wc -l <"$slog")
	out=$("$bin" load -target "http://127.0.0.1:$hport" -skip-import -workers "$workers" -mix "$mix" \
		-rate "$rate" -duration "$duration" -server-pid $spid -label "$(basename "$bin") $workers" 2>&1)
	s1=$(ticks $spid)
	r1=$(ticks $rpid)
	c1=$(rstat total_commands_processed)
	e1=$(rstat total_reads_processed)
	sent=$(awk -v op="${mix%%=*}" '$1 == op {print $2}' <<<"$out")
	# The server's own time for the phase's requests (its access log):
	# without the client's, which shares the machine and measures late
	# when it waits for a core itself.
	srv=$(tail -n +$((l0 + 1)) "$slog" | python3 -c '
import json, sys
d = sorted(r["duration_ms"] for r in map(json.loads, (l for l in sys.stdin if l.startswith("{")))
           if r.get("msg") == "request" and not r.get("path", "").startswith(("/readyz", "/healthz", "/metrics")))
print("%.2f / %.2f ms" % (d[len(d) // 2], d[int(0.99 * len(d))]) if d else "-")')
	grep ':by-status ' <<<"$out" || true
	echo "$(grep '^| ' <<<"$out") server CPU/req $(awk -v a="$s0" -v b="$s1" -v hz="$hz" -v n="$sent" 'BEGIN{printf "%.2f ms", (b-a)*1000/hz/n}') | redis CPU/req $(awk -v a="$r0" -v b="$r1" -v hz="$hz" -v n="$sent" 'BEGIN{printf "%.2f ms", (b-a)*1000/hz/n}') | redis commands/req $(awk -v a="$c0" -v b="$c1" -v n="$sent" 'BEGIN{printf "%.1f", (b-a)/n}') | redis reads/req $(awk -v a="$e0" -v b="$e1" -v n="$sent" 'BEGIN{printf "%.2f", (b-a)/n}') | server p50 / p99 $srv |"
done
