#!/usr/bin/env bash
# Runs Doorstep's tests, installing what they need first:
#   - redis-server: the store tests start their own private servers
#     (storetest.RunRedis), each on a free loopback port with its own data
#     directory; nothing here ever uses the default port 6379;
#   - python3 with SciPy: the benchmark tests compare the assignment solver
#     with scipy.optimize.linear_sum_assignment.
# Extra arguments are passed to go test, e.g. scripts/test.sh -run Contract ./store/...
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# as_root runs a command as root: directly when we are root, else with sudo.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	else
		sudo "$@"
	fi
}

apt_updated=""
apt_install() {
	if [ -z "$apt_updated" ]; then
		as_root apt-get update
		apt_updated=1
	fi
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
}

if [ -z "${DOORSTEP_REDIS_SERVER:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
	echo "test.sh: redis-server not found; installing it" >&2
	apt_install redis-server
	# The Debian package may start a system service on 6379; the tests do
	# not use it, and leave it alone.
	command -v redis-server >/dev/null 2>&1 || { echo "test.sh: redis-server still missing after install" >&2; exit 1; }
fi

if ! /usr/bin/python3 -c 'import scipy' >/dev/null 2>&1; then
	echo "test.sh: SciPy not importable by /usr/bin/python3; installing python3-scipy" >&2
	apt_install python3-scipy
	/usr/bin/python3 -c 'import scipy' || { echo "test.sh: SciPy still not importable after install" >&2; exit 1; }
fi

full=""
if [ "$#" -eq 0 ]; then
	full=1
	set -- ./...
else
	# Arguments without a package pattern test the whole module.
	has_pkg=""
	for a in "$@"; do
		case "$a" in .|./*|../*|github.com/*) has_pkg=1 ;; esac
	done
	[ -n "$has_pkg" ] || set -- "$@" ./...
fi
# A Redis Cluster of 3 masters and 3 replicas (scripts/cluster.sh) for
# TestServeOnScriptCluster; the other cluster tests start their own
# (storetest.RunCluster, RunReplicated).
if [ -z "${DOORSTEP_TEST_CLUSTER_URL:-}" ]; then
	url="$(bash scripts/cluster.sh start)"
	trap 'bash scripts/cluster.sh stop' EXIT
	export DOORSTEP_TEST_CLUSTER_URL="${url#REDIS_CLUSTER_URL=}"
fi
go test -race -count=1 "$@"

# The soak (bench/soak_test.go) measures latency and shedding, which the
# race detector distorts, so it skips itself under -race; the full suite
# runs its reduced form once more without it (about 20 s).
if [ -n "$full" ]; then
	go test -count=1 -run '^TestSoak$' ./bench/
fi
