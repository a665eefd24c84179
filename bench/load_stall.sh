#!/usr/bin/env bash
# load_stall.sh: a load phase while the server's redis-server pauses now
# and then, as a real one does for a fork (BGSAVE, AOF rewrite), a slow
# fsync or a failover. `doorstep load` starts the server and its private
# redis-server; after the first phase (import and a phase at 200/s) this
# script stops that redis-server with SIGSTOP for PAUSE_MS every second,
# STALLS times, and lets it go on with SIGCONT. It never touches any other
# redis-server (it picks the child of the load's own process).
#
#   bench/load_stall.sh /tmp/ds                  # bookings at 500/s, 40 ms pauses
#   MIX=match=1 RATE=1000 bench/load_stall.sh /tmp/ds
#
# Prints the load's report; compare the 429s (status column) of binaries
# run alternately (bench/RESULTS.md, "Bursts are not overload").
set -euo pipefail

bin=${1:?usage: load_stall.sh DOORSTEP_BINARY}
mix=${MIX:-book=1}
rate=${RATE:-500}
workers=${WORKERS:-10000}
pause_ms=${PAUSE_MS:-40}
stalls=${STALLS:-16}
first=${FIRST_PHASE_S:-24} # import and the 200/s phase, then some seconds of the stalled one

redis=""
"$bin" load -workers "$workers" -mix "$mix" -rate "200,$rate" -duration 20s -server-bin "$bin" &
load=$!
trap '[ -z "$redis" ] || kill -CONT "$redis" 2>/dev/null; kill $load 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
	redis=$(pgrep -P "$load" redis-server || true)
	[ -n "$redis" ] && break
	sleep 0.1
done
[ -n "$redis" ] || { echo "load_stall.sh: the load started no redis-server" >&2; exit 1; }

sleep "$first"
pause=$(awk "BEGIN { print $pause_ms / 1000 }")
rest=$(awk "BEGIN { print 1 - $pause_ms / 1000 }")
for _ in $(seq 1 "$stalls"); do
	kill -STOP "$redis"
	sleep "$pause"
	kill -CONT "$redis"
	sleep "$rest"
done
wait "$load"
trap - EXIT
