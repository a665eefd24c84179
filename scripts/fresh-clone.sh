#!/usr/bin/env bash
# A newcomer's first hour, checked: clones the repository into an empty
# temporary directory with nothing beside it (no ../shared), then runs what
# the README and the examples tell a newcomer to run, at a short scale, and
# fails on any error:
#   - `go run ./cmd/doorstep serve` on its embedded default, probed on
#     /readyz, the README's walk-through requests sent to it, then stopped
#     with SIGINT (it must exit 0). It listens on a free port rather than
#     8080 (`-addr 127.0.0.1:0`, the address read from its "doorstep
#     serving" log line), since the machine may be serving something else;
#   - the tests that need the data shipped with the examples, which must
#     run, not skip (the full `bash scripts/test.sh`, the README's second
#     command, runs with FRESH_CLONE_FULL_TESTS=1; CI runs it in the checkout
#     anyway);
#   - `doorstep simulate` on both example scenarios at -scale 0.1, and once
#     without -out, which must write nothing into the clone;
#   - `doorstep assign` on the OR-Library instance, whose optimum is 305.
# The clone is of the committed HEAD: commit before running it.
# Usage: scripts/fresh-clone.sh [REPOSITORY]   (default: this checkout)
set -euo pipefail

src="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
work="$(mktemp -d)"
server_pid=""
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		pkill -KILL -P "$server_pid" 2>/dev/null || true
		kill -KILL "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

step() { echo "fresh-clone: $*" >&2; }
fail() { echo "fresh-clone: FAIL: $*" >&2; exit 1; }

git clone -q "$src" "$work/doorstep"
cd "$work/doorstep"
[ ! -e ../shared ] || fail "$work/shared exists"
step "cloned $(git rev-parse --short HEAD) into $work/doorstep"

# The README's first command, on a free port.
step "go run ./cmd/doorstep serve"
log="$work/serve.log"
go run ./cmd/doorstep serve -addr 127.0.0.1:0 2>"$log" &
server_pid=$!
url=""
for _ in $(seq 1 1800); do # up to 15 minutes: the first build on an empty cache is long
	url="$(sed -n 's/.*"msg":"doorstep serving".*"url":"\([^"]*\)".*/\1/p' "$log" | head -1)"
	[ -n "$url" ] && break
	kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; fail "doorstep serve exited before serving"; }
	sleep 0.5
done
[ -n "$url" ] || { cat "$log" >&2; fail "doorstep serve did not log its address"; }
curl -fsS "$url/readyz" >/dev/null || fail "/readyz at $url is not 200"
step "serving at $url, ready"

# The README's walk-through, against that server.
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
END=$(date -u -d '+10 hours' +%Y-%m-%dT%H:%M:%SZ)
curl -fsS -X PUT "$url/v1/workers/ana" -H 'Content-Type: application/json' -d '{
  "skills": ["cleaning", "plumbing"],
  "home": {"lat": 40.7306, "lng": -73.9866},
  "shifts": [{"start": "'$NOW'", "end": "'$END'"}],
  "rating": 4.8,
  "max_jobs_per_day": 6
}' >/dev/null || fail "PUT /v1/workers/ana"
curl -fsS -X POST "$url/v1/match" -H 'Content-Type: application/json' -d '{
  "service": "plumbing", "urgency": "urgent",
  "location": {"lat": 40.7411, "lng": -73.9897}
}' >/dev/null || fail "POST /v1/match"
booking="$(curl -fsS -X POST "$url/v1/bookings" -H 'Content-Type: application/json' \
  -H 'Idempotency-Key: order-1001' -d '{
  "service": "plumbing", "urgency": "urgent",
  "location": {"lat": 40.7411, "lng": -73.9897}, "customer_id": "c-42"
}')" || fail "POST /v1/bookings"
id="$(printf '%s' "$booking" | sed -n 's/^{"id":"\([^"]*\)".*/\1/p')"
[ -n "$id" ] || id="$(printf '%s' "$booking" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
curl -fsS "$url/v1/workers/ana/bookings" >/dev/null || fail "GET /v1/workers/ana/bookings"
curl -fsS -X POST "$url/v1/bookings/$id/cancel" >/dev/null || fail "POST /v1/bookings/$id/cancel"
curl -fsS -X POST "$url/v1/assign" -H 'Content-Type: application/json' -d '{
  "commit": false,
  "requests": [
    {"id": "r1", "service": "plumbing", "urgency": "urgent", "location": {"lat": 40.7411, "lng": -73.9897}},
    {"id": "r2", "service": "cleaning", "urgency": "normal", "location": {"lat": 40.7300, "lng": -73.9950}}
  ]
}' >/dev/null || fail "POST /v1/assign"
step "walk-through answered"

# Stop it as a user would (Ctrl-C): go run passes nothing on, so the
# signal goes to the server, its child.
pkill -INT -P "$server_pid" || fail "no server process under go run"
wait "$server_pid" || { cat "$log" >&2; fail "doorstep serve exited with status $? after SIGINT"; }
server_pid=""
grep -q '"msg":"shutting down"' "$log" || fail "doorstep serve did not log its shutdown"
step "stopped"

# The tests that read the shipped data must run, not skip.
if [ "${FRESH_CLONE_FULL_TESTS:-}" = 1 ]; then
	step "bash scripts/test.sh"
	bash scripts/test.sh
else
	step "the tests of the shipped data"
	out="$(go test -count=1 -v -run '^(TestExamples|TestRunAssignORLibInstance)$' ./sim/ ./cmd/doorstep/ 2>&1)" || { echo "$out" >&2; fail "tests"; }
	if printf '%s\n' "$out" | grep -q -- '--- SKIP'; then
		printf '%s\n' "$out" | grep -B2 -A2 -- '--- SKIP' >&2
		fail "a test of the shipped data skipped"
	fi
	for t in TestExamples/city.json TestExamples/nyc311.json TestRunAssignORLibInstance; do
		printf '%s\n' "$out" | grep -q -- "--- PASS: $t " || fail "$t did not pass"
	done
fi

# The examples, at a short scale.
for sc in city nyc311; do
	step "doorstep simulate -scenario examples/scenarios/$sc.json -scale 0.1"
	go run ./cmd/doorstep simulate -scenario "examples/scenarios/$sc.json" -scale 0.1 -out "$work/$sc" >"$work/$sc.txt"
	for f in report.json report.html arrivals.svg; do
		[ -s "$work/$sc/$f" ] || fail "simulate $sc wrote no $f"
	done
done
step "doorstep simulate without -out"
out="$(TMPDIR="$work" go run ./cmd/doorstep simulate -scenario examples/scenarios/city.json -scale 0.1)"
dir="$(printf '%s\n' "$out" | sed -n 's/^wrote \([^ ]*\) .*/\1/p')"
[ -n "$dir" ] && [ -s "$dir/report.json" ] || fail "simulate without -out did not say where it wrote"

step "doorstep assign -format orlib examples/data/orlib/assign100.txt"
out="$(go run ./cmd/doorstep assign -format orlib examples/data/orlib/assign100.txt)"
printf '%s\n' "$out" | grep -q '"cost":305' || fail "assign100: $out, want cost 305"

# Nothing above may have written into the clone.
if [ -n "$(git status --porcelain --ignored)" ]; then
	git status --porcelain --ignored >&2
	fail "the commands wrote into the clone"
fi
step "OK"
