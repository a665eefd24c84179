#!/usr/bin/env bash
# first-run.sh DIR TAG: the time of the first `go run ./cmd/doorstep serve`
# in the checkout DIR on an empty module and build cache (the module proxy
# reachable), until the server answers /readyz; then the size of the module
# cache and of the binary (plain and stripped). Caches and binaries go to
# /tmp/first-run/ (removed first). bench/RESULTS.md "First run" has results.
set -u
dir=$1; tag=$2
out=/tmp/first-run
mkdir -p $out
export GOMODCACHE=$out/mod-$tag GOCACHE=$out/cache-$tag
rm -rf "$GOMODCACHE" "$GOCACHE"
cd "$dir"
port=$((20000 + RANDOM % 20000))
start=$(date +%s.%N)
go run ./cmd/doorstep serve -addr 127.0.0.1:$port >$out/serve-$tag.log 2>&1 &
pid=$!
while :; do
  if curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
  kill -0 $pid 2>/dev/null || { echo "server died"; cat $out/serve-$tag.log; exit 1; }
  sleep 0.5
done
end=$(date +%s.%N)
pkill -INT -P $pid; wait $pid
echo "$tag: ready after $(echo "$end - $start" | bc) s; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$tag: module cache $(du -sm $GOMODCACHE | cut -f1) MB, $(ls $GOMODCACHE/cache/download -R | grep -c '\.zip$') zips"
go build -o $out/doorstep-$tag ./cmd/doorstep && echo "$tag: binary $(stat -c %s $out/doorstep-$tag) bytes"
go build -ldflags='-s -w' -o $out/doorstep-$tag-stripped ./cmd/doorstep && echo "$tag: stripped binary $(stat -c %s $out/doorstep-$tag-stripped) bytes"
chmod -R u+w "$GOMODCACHE"
