#!/usr/bin/env bash
# Starts or stops a local Redis Cluster of 3 masters and 3 replicas from
# Debian's redis-server, on free loopback ports, each node with its own
# data directory under $CLUSTER_DIR (default: a directory in $TMPDIR,
# remembered in .cluster-dir at the repository's root).
#
#   scripts/cluster.sh start   # prints REDIS_CLUSTER_URL=redis://...
#   scripts/cluster.sh url     # prints it again
#   scripts/cluster.sh stop    # stops the nodes and removes the directory
#
# The nodes run as production should (docs/scaling.md): AOF with
# appendfsync always, cluster-node-timeout 1500 ms, and
# cluster-require-full-coverage no, so that the other masters go on serving
# while one is failed over. It never uses port 6379.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
state=.cluster-dir

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

url() {
	local dir="$1" first="" u=""
	for p in $(cat "$dir/ports"); do
		if [ -z "$first" ]; then
			first=1
			u="redis://127.0.0.1:$p"
			sep="?"
		else
			u="$u${sep}addr=127.0.0.1:$p"
			sep="&"
		fi
	done
	echo "REDIS_CLUSTER_URL=$u"
}

case "${1:-}" in
start)
	if [ -f "$state" ] && [ -d "$(cat "$state")" ]; then
		echo "cluster.sh: a cluster runs already in $(cat "$state") (scripts/cluster.sh stop first)" >&2
		exit 1
	fi
	command -v redis-server >/dev/null || { echo "cluster.sh: redis-server not found (apt-get install redis-server)" >&2; exit 1; }
	dir="${CLUSTER_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/doorstep-cluster.XXXXXX")}"
	mkdir -p "$dir"
	echo "$dir" >"$state"
	: >"$dir/ports"
	nodes=()
	for i in 1 2 3 4 5 6; do
		port=$(free_port)
		bus=$(free_port)
		[ "$port" != 6379 ] || port=$(free_port)
		mkdir -p "$dir/$port"
		redis-server --port "$port" --cluster-port "$bus" --bind 127.0.0.1 --dir "$dir/$port" \
			--daemonize yes --pidfile "$dir/$port/redis.pid" --logfile "$dir/$port/redis.log" \
			--cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 1500 \
			--cluster-require-full-coverage no --appendonly yes --appendfsync always --save ""
		echo "$port" >>"$dir/ports"
		nodes+=("127.0.0.1:$port")
	done
	for n in "${nodes[@]}"; do
		for _ in $(seq 100); do
			redis-cli -h 127.0.0.1 -p "${n#*:}" ping >/dev/null 2>&1 && break
			sleep 0.1
		done
	done
	redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log"
	for _ in $(seq 200); do
		ok=1
		for n in "${nodes[@]}"; do
			redis-cli -h 127.0.0.1 -p "${n#*:}" cluster info | grep -q 'cluster_state:ok' || ok=""
		done
		[ -n "$ok" ] && break
		sleep 0.1
	done
	[ -n "$ok" ] || { echo "cluster.sh: the cluster is not ok; see $dir/*/redis.log" >&2; exit 1; }
	url "$dir"
	;;
url)
	url "$(cat "$state")"
	;;
stop)
	[ -f "$state" ] || { echo "cluster.sh: no cluster is running" >&2; exit 0; }
	dir="$(cat "$state")"
	for p in $(cat "$dir/ports" 2>/dev/null); do
		redis-cli -h 127.0.0.1 -p "$p" shutdown nosave >/dev/null 2>&1 || true
	done
	rm -rf "$dir" "$state"
	;;
*)
	echo "usage: scripts/cluster.sh start|url|stop" >&2
	exit 2
	;;
esac
