#!/usr/bin/env bash
# bench/all.sh — every figure of docs/performance.md measured in one run on this machine, one
# part after the other (never two at once: they would share the 2 cores), into one report:
#   node     bench/node.sh: stripped binary, cold start, memory at rest and per 1,000 connections
#   overlay  Google Benchmark (Release): one stream through 3-hop and 0-hop tunnels (MB/s, CPU
#            per MB, round trip p50/p99, stream setup), 3-hop tunnel build latency, a hop's cell
#            forwarding against raw ChaCha20, GeoIP lookup and backend selection
#   proxy    bench/proxy.sh: the geo-proxy beside HAProxy and nginx (../shared/bench/suite.sh)
#
#   bench/all.sh                          # all three parts, about 15 minutes
#   PARTS="node overlay" bench/all.sh     # some of them
#   ROUNDS=3 bench/all.sh                 # passed on to the proxy suite (default here: 2)
#
# Writes bench/results/report-RUNID.md (RUNID: UTC date and time) with the machine it ran on,
# and prints it. Traffic only on 127.0.0.0/8.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PARTS=${PARTS:-"node overlay proxy"}
RUNID=$(date -u +%Y%m%d-%H%M)
OUT=$ROOT/bench/results
mkdir -p "$OUT"
REPORT=$OUT/report-$RUNID.md
work=$(mktemp -d /tmp/hopline-bench-all.XXXXXX)
trap 'rm -rf "$work"' EXIT

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
has() { [[ " $PARTS " == *" $1 "* ]]; }

./run build >&2  # build/router/hopline (Release), packages installed if missing

{
  echo "# Hopline benchmarks, run $RUNID"
  echo
  echo "Command: \`PARTS=\"$PARTS\" bench/all.sh\` at $(git rev-parse --short HEAD 2>/dev/null || echo '?')."
  echo "Machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)),"
  echo "$(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, kernel $(uname -r),"
  echo "$(. /etc/os-release && echo "$PRETTY_NAME"), load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
} > "$REPORT"

if has node; then
  log "node: binary, cold start, memory (bench/node.sh)"
  { echo "## A node"; echo; bash bench/node.sh build/router/hopline; echo; } >> "$REPORT"
fi

if has overlay; then
  log "overlay: streams, tunnel builds, hop forwarding, proxy decisions (Google Benchmark)"
  ./run bench --benchmark_list_tests=true > /dev/null  # builds build-bench/ (Release, HOP_BENCH)
  bin=build-bench/tests/bench
  "$bin/bench_streams" --benchmark_out="$work/streams.json" --benchmark_out_format=json > /dev/null 2>&1
  "$bin/bench_overlay" --benchmark_out="$work/overlay.json" --benchmark_out_format=json > /dev/null 2>&1
  "$bin/bench_tunnel" --benchmark_filter='BM_HopForward|BM_RawChaCha20_1008' \
    --benchmark_out="$work/tunnel.json" --benchmark_out_format=json > /dev/null 2>&1
  "$bin/bench_proxy" --benchmark_filter='GeoIp|Select|Affinity' \
    --benchmark_out="$work/proxy.json" --benchmark_out_format=json > /dev/null 2>&1
  python3 - "$work" >> "$REPORT" <<'EOF'
import json, sys
work = sys.argv[1]
def load(name):
    return {b["name"]: b for b in json.load(open(f"{work}/{name}.json"))["benchmarks"]}
streams, overlay, tunnel, proxy = (load(n) for n in ("streams", "overlay", "tunnel", "proxy"))
print("## Tunnels and streams (10 nodes in one process, one thread)\n")
print("| | 3-hop out + 3-hop in | 0-hop |")
print("|---|---|---|")
s3 = next(v for k, v in streams.items() if k.startswith("BM_Stream/3"))
s0 = next(v for k, v in streams.items() if k.startswith("BM_Stream/0"))
for key, label, fmt in [("MBps", "one stream, upload (MB/s)", "{:.1f}"),
                        ("cpu_ms_per_MB", "CPU of the process per MB (ms)", "{:.1f}"),
                        ("rtt_p50_ms", "64-byte round trip p50 (ms)", "{:.2f}"),
                        ("rtt_p99_ms", "64-byte round trip p99 (ms)", "{:.2f}"),
                        ("setup_first_ms", "first stream setup (ms)", "{:.1f}"),
                        ("setup_ms", "next stream setup (ms)", "{:.2f}")]:
    print(f"| {label} | {fmt.format(s3[key])} | {fmt.format(s0[key])} |")
b = next(iter(overlay.values()))
print(f"\n3-hop tunnel builds on loopback: {b['builds']:.0f} builds, p50 {b['p50_ms']:.1f} ms, "
      f"p99 {b['p99_ms']:.1f} ms, max {b['max_ms']:.1f} ms.\n")
hop, raw = tunnel["BM_HopForward"], tunnel["BM_RawChaCha20_1008"]
def per_s(b):
    return b["items_per_second"] if "items_per_second" in b else 1e9 / b["cpu_time"]
print(f"A transit hop forwards {per_s(hop) / 1e6:.2f} M cells/s, {per_s(hop) / per_s(raw):.2f}x raw "
      f"ChaCha20 over a cell body ({per_s(raw) / 1e6:.2f} M/s).\n")
print("## Per-connection decisions of the geo-proxy\n")
print("| benchmark | CPU time |")
print("|---|---|")
for name, b in proxy.items():
    print(f"| `{name}` | {b['cpu_time']:.0f} {b['time_unit']} |")
print()
EOF
fi

if has proxy; then
  log "proxy: beside HAProxy and nginx (bench/proxy.sh, ROUNDS=${ROUNDS:-2})"
  nice_default=0; [ "$(id -u)" -eq 0 ] && nice_default=-10  # the suite's advice on a shared machine
  OUTDIR="$work/proxy" ROUNDS=${ROUNDS:-2} BENCH_NICE=${BENCH_NICE:-$nice_default} bash bench/proxy.sh > "$work/proxy.log" 2>&1 ||
    { tail -20 "$work/proxy.log" >&2; exit 1; }
  summary=$(ls -t "$work"/proxy/summary-*.md | grep -v -- '-quiet' | head -1)
  {
    echo "## The geo-proxy beside HAProxy and nginx (direct backends, interleaved, medians)"
    echo
    awk 'NR > 1 && /^## / {exit} NR > 1' "$summary"  # the suite's summary table; the rest is in the files below
    echo "Raw lines and the full summary: bench/results/raw-proxy-$RUNID.txt, summary-proxy-$RUNID.md."
    echo
  } >> "$REPORT"
  cp "$(ls "$work"/proxy/raw-*.txt | head -1)" "$OUT/raw-proxy-$RUNID.txt"
  cp "$summary" "$OUT/summary-proxy-$RUNID.md"
fi

cat "$REPORT"
log "report: $REPORT"
