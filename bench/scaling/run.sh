#!/usr/bin/env bash
# Runs the scaling curve (bench/scaling.mjs) from the bundle pack.sh made, on
# a machine with the repository checked out and build/scaling-bundle/ copied
# beside it. Results go to OUTDIR (default: $OUT, else the current directory):
# scaling.txt (the printed report) and scaling.json (every sample).
#
#   bench/scaling/run.sh [OUTDIR] [scaling.mjs options...]
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-${OUT:-.}}"
[ $# -gt 0 ] && shift
mkdir -p "$out"

tar -xJf build/scaling-bundle/bundle.tar.xz
node=build/node/node
{
  echo "machine: $(nproc) CPUs, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
  echo "io_uring_disabled: $(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo n/a)"
  echo "memory: $(grep MemTotal /proc/meminfo)"
} | tee "$out/scaling.txt"
"$node" bench/scaling.mjs --json "$out/scaling.json" "$@" 2>&1 | tee -a "$out/scaling.txt"
