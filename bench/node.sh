#!/usr/bin/env bash
# A node's own figures, measured on this machine in one run (docs/performance.md, "A node"):
#   - the stripped size of the hopline binary;
#   - cold start: exec of `hopline node` to its console answering, with a new data directory
#     (identity created) and again with the same one;
#   - memory at rest: RSS of each node of a 5-node testnet (`hopline testnet up`) once ready;
#   - memory per 1,000 proxied connections: the POP's RSS before and with 1,000 idle client
#     connections open through its geo-proxy to a direct backend, and with 200 to a backend
#     through the overlay (the demo's routing), scaled to 1,000.
# Usage: bench/node.sh [BINARY]   (default build/router/hopline; ./run build makes it)
# Traffic only on 127.0.0.0/8. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-build/router/hopline}")
[ -x "$bin" ] || { echo "no $bin: ./run build first" >&2; exit 2; }
work=$(mktemp -d /tmp/hopline-bench-node.XXXXXX)
base=25400 pop=25480
cleanup() { "$bin" testnet down --dir "$work/testnet" > /dev/null 2>&1 || true; pkill -f "$work/" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
now_ms() { date +%s%3N; }

# --- binary size ---
strip -o "$work/hopline.stripped" "$bin"
size_mib=$(awk -v b="$(stat -c %s "$work/hopline.stripped")" 'BEGIN {printf "%.1f", b / 1048576}')

# --- cold start ---
mkdir -p "$work/cold"
cat > "$work/cold/node.conf" <<EOF
data_dir = $work/cold/data
listen = 127.250.0.1:$((base + 90))
[console]
listen = 127.0.0.1:$((base + 91))
[log]
level = warn
EOF
cold_start() {  # prints ms from exec to the console's first answer
  local t0 pid ms
  t0=$(now_ms)
  "$bin" node --config "$work/cold/node.conf" > "$work/cold/log" 2>&1 &
  pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$((base + 91))/api/v1/status"; do sleep 0.005; done
  ms=$(( $(now_ms) - t0 ))
  kill "$pid"; wait "$pid" || true
  echo "$ms"
}
first_start=$(cold_start)   # creates identity.key and netdb.sqlite
second_start=$(cold_start)  # loads them

# --- memory at rest, and per 1,000 proxied connections ---
"$bin" testnet up --dir "$work/testnet" --nodes 5 --base-port "$base" --pop-port "$pop" --timeout 90s > "$work/up.log"
sleep 5  # settle: tunnels tested, first RouterInfo republish done
rss_list=()
while read -r index pid _; do
  case "$index" in ''|\#*) continue ;; esac
  rss_list+=("$(rss_kib "$pid")")
done < "$work/testnet/testnet.pids"
pop_pid=$(awk '$1 == 1 {print $2}' "$work/testnet/testnet.pids")
rest=$(printf '%s\n' "${rss_list[@]}" | sort -n | awk '{a[NR] = $1} END {printf "%.1f-%.1f (median %.1f)", a[1] / 1024, a[NR] / 1024, a[int((NR + 1) / 2)] / 1024}')

# The POP's RSS growth while `n` idle clients (placed in DE) are connected through its geo-proxy,
# each with one byte echoed so that every connection is spliced end to end; in MiB per 1,000.
held_mib_per_1000() {  # n
  local n=$1 before with holder
  before=$(rss_kib "$pop_pid")
  rm -f "$work/held"
  python3 - "$pop" "$work/held" "$n" <<'EOF' &
import socket, sys, time
port, flag, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
conns = []
for i in range(n):  # one after the other: the memory they hold is measured, not a burst
    s = socket.socket()
    s.settimeout(30)
    s.bind(("127.101.0.1", 0))  # placed in DE by the demo's routing.db
    s.connect(("127.1.0.1", port))
    s.sendall(b"x")             # past any first-byte wait; the backend echoes it
    if s.recv(1) != b"x":
        sys.exit(f"connection {i} was closed by the POP")
    conns.append(s)
open(flag, "w").close()
time.sleep(60)
EOF
  holder=$!
  until [ -e "$work/held" ]; do
    kill -0 "$holder" 2>/dev/null || { echo "the $n client connections failed" >&2; exit 1; }
    sleep 0.1
  done
  sleep 1
  with=$(rss_kib "$pop_pid")
  kill "$holder" 2>/dev/null || true
  wait "$holder" 2>/dev/null || true
  sleep 2  # the POP closes them
  awk -v a="$before" -v b="$with" -v n="$n" 'BEGIN {printf "%.1f", (b - a) / 1024 * 1000 / n}'
}
# routing.db: the demo's backends through the overlay (as `up` wrote it), or their responders
# directly; room for 1,000 clients each. The POP reloads it within 1 s.
route() {  # overlay|direct
  python3 - "$work/testnet/node1/routing.db" "$1" "$base" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
if not db.execute("SELECT name FROM sqlite_master WHERE name = 'demo_targets'").fetchone():
    db.execute("CREATE TABLE demo_targets AS SELECT id, target FROM backends")
direct = {"backend-de": "127.200.0.1:" + sys.argv[3], "backend-us": "127.201.0.1:" + sys.argv[3]}
for backend_id, target in db.execute("SELECT id, target FROM demo_targets").fetchall():
    db.execute("UPDATE backends SET target = ?, soft_limit = 5000, hard_limit = 10000 WHERE id = ?",
               (direct[backend_id] if sys.argv[2] == "direct" else target, backend_id))
db.commit()
EOF
  sleep 2
}
route direct
per_1000=$(held_mib_per_1000 1000)
# One overlay session carries at most 256 streams (kDefaultMaxStreams): 200 clients.
route overlay
per_1000_overlay=$(held_mib_per_1000 200)

cat <<EOF
| figure (this machine: $(nproc) cores) | Hopline | the seed's edge proxy (its claims, 4 cores) |
|---|---|---|
| stripped binary | $size_mib MiB | about 5 MB |
| cold start to console answering: new data dir / existing | $first_start ms / $second_start ms | about 50 ms |
| memory of a node at rest (5-node testnet, RSS, MiB) | $rest | |
| POP memory per 1,000 idle proxied connections: direct backends / through the overlay (200 held, scaled) | $per_1000 MiB / $per_1000_overlay MiB | about 10 MB |
EOF
