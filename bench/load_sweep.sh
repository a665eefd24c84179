#!/usr/bin/env bash
# The load sweeps of bench/RESULTS.md ("Load: an open-model bench"), in one
# script, so that they can be re-run on a quieter machine. For each city
# size, store and read-model setting it starts a fresh server (doorstep
# load starts a private redis-server, or the embedded store), imports the
# city once, then runs a phase per rate, stopping after the first phase in
# which over 1% of the requests failed (the knee). It prints the markdown
# rows of every phase, with the machine's load average, and keeps each
# phase's JSON report and the server's CPU profile in OUTDIR.
#
#   bench/load_sweep.sh [OUTDIR]
#
# Knobs (environment): WORKERS ("1000 10000 100000"), STORES ("redis
# embedded"), READMODEL ("on off"), MIXES ("match book mixed"), DURATION
# (10s), MATCH_RATES,
# BOOK_RATES, MIX_RATES (lists of rates), SERVE_ARGS (flags of the started
# server: "-rate-limit -1" by default; its in-flight limit stays the
# default, four per CPU, so overload shows as 429).
set -euo pipefail
out=${1:-/tmp/doorstep-load-sweep}
mkdir -p "$out"
cd "$(dirname "$0")/.."
go build -o "$out/doorstep" ./cmd/doorstep

WORKERS=${WORKERS:-"1000 10000 100000"}
STORES=${STORES:-"redis embedded"}
READMODEL=${READMODEL:-"on off"}
MIXES=${MIXES:-"match book mixed"}
DURATION=${DURATION:-10s}
MATCH_RATES=${MATCH_RATES:-"100,250,500,1000,2000"}
BOOK_RATES=${BOOK_RATES:-"50,100,250,500,1000"}
MIX_RATES=${MIX_RATES:-"100,250,500,1000"}
SERVE_ARGS=${SERVE_ARGS:-"-rate-limit -1"}

rows="$out/rows.md"
: >"$rows"
echo "uptime at start: $(uptime)" | tee -a "$rows"
for n in $WORKERS; do
  for store in $STORES; do
    for rm in $READMODEL; do
      args="$SERVE_ARGS"
      [ "$rm" = off ] && args="$args -no-read-model"
      for mix in $MIXES; do
        case $mix in
          match) m="match=1" rates=$MATCH_RATES ;;
          book) m="book=1" rates=$BOOK_RATES ;;
          mixed) m="" rates=$MIX_RATES ;;
        esac
        name="$store-rm$rm-$n-$mix"
        echo "== $name ($(uptime))" >&2
        "$out/doorstep" load -store "$store" -serve-args "$args" -workers "$n" -rate "$rates" \
          -duration "$DURATION" ${m:+-mix "$m"} -stop-at-knee -label "$store, read model $rm" \
          -json "$out/$name.json" -cpuprofile "$out/$name.cpu" -server-log "$out/$name.log" |
          tee "$out/$name.txt" | grep '^| ' >>"$rows" || true
      done
    done
  done
done
echo "uptime at end: $(uptime)" | tee -a "$rows"
cat "$rows"
