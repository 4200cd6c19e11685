#!/usr/bin/env bash
# bench/proxy.sh — the geo-proxy beside HAProxy and nginx (and the direct path), interleaved in
# one run of ../shared/bench/suite.sh on this machine: new connections/s, added latency (free
# and pinned), one-stream and 8-stream MB/s, memory per 1,000 idle connections.
#
#   bench/proxy.sh                    # 3 rounds, about 7 minutes
#   ROUNDS=1 SUITE_TESTS="conn_rate latency" bench/proxy.sh
#
# Hopline runs as a POP: `hopline node` with proxy.listen on the suite's custom port and a
# routing.db holding one backend, the suite's tcpbench backend. Everything stays on 127.0.0.1.
# Results: bench/results/raw-RUNID.txt and summary-RUNID*.md (the suite's aggregation).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${HOP_SHARED_DIR:-$ROOT/../shared}
SUITE=$SHARED/bench/suite.sh
[ -x "$SUITE" ] || [ -f "$SUITE" ] || { echo "bench/proxy.sh: $SUITE not found (set HOP_SHARED_DIR)" >&2; exit 1; }

need=()
for p in haproxy nginx libnginx-mod-stream socat sqlite3 cmake g++ ninja-build; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

(cd "$ROOT" && ./run build >/dev/null)
HOPLINE=$ROOT/build/router/hopline

BACKEND_PORT=${BACKEND_PORT:-19000}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hopline-proxy-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
"$HOPLINE" proxy init-db "$WORK/routing.db" >/dev/null
sqlite3 "$WORK/routing.db" \
  "INSERT INTO backends(id, target, soft_limit, hard_limit) VALUES ('bench', '127.0.0.1:$BACKEND_PORT', 50000, 100000);"
cat >"$WORK/pop.conf" <<CONF
# A POP for the benchmark: no seeds, no console, the proxy on the suite's port.
data_dir = $WORK/data
listen = 127.0.0.1:0
log.level = warn
console.listen = off
[proxy]
routing_db = $WORK/routing.db
workers = ${HOP_PROXY_WORKERS:-2}
max_connections = 100000
idle_timeout = 10m
CONF

mkdir -p "$ROOT/bench/results"
export OUTDIR=${OUTDIR:-$ROOT/bench/results}
export CUSTOM_NAME=hopline
export CUSTOM_CMD="$HOPLINE node --config $WORK/pop.conf --proxy.listen=127.0.0.1:@PORT@"
export PEERS=${PEERS:-"direct haproxy nginx hopline"}
export BACKEND_PORT
bash "$SUITE" "$@"
