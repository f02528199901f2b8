#!/usr/bin/env bash
# Runs the `kestrel bench` matrix of issue #4: the llama-3.2-1b and
# tinyllama-1.1b shapes, types Q4_0 / Q4_K_M / Q8_0 / F16, pp512 and tg128
# at depth 0 and tg128 at depth 4096 (past tinyllama's trained 2048, as
# llama-bench allows: `kestrel bench` warns), with 1 and 2 threads, and
# collects the markdown tables (with roofline fractions) in one file.
#
# usage: scripts/bench-matrix.sh [-k KESTREL] [-m MODEL_DIR] [-r REPS] [-t THREADS]
#                                [-s SHAPES] [-y TYPES] [--no-depth] [-o OUT.md]
# Models are synthesized into MODEL_DIR (default /tmp/kestrel-bench-models)
# when missing (they are large: keep them out of the repository). Timings
# depend on what else runs on the machine: compare rows of one run.
set -euo pipefail

kestrel=./build/kestrel
model_dir=/tmp/kestrel-bench-models
reps=3
threads=1,2
shapes="llama-3.2-1b tinyllama-1.1b"
types="Q4_0 Q4_K_M Q8_0 F16"
depth=4096
out=bench-matrix.md
while [ $# -gt 0 ]; do
  case "$1" in
    -k) kestrel=$2; shift 2 ;;
    -m) model_dir=$2; shift 2 ;;
    -r) reps=$2; shift 2 ;;
    -t) threads=$2; shift 2 ;;
    -s) shapes=$2; shift 2 ;;
    -y) types=$2; shift 2 ;;
    -o) out=$2; shift 2 ;;
    --no-depth) depth=0; shift ;;
    -h|--help) sed -n 2,13p "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 1 ;;
  esac
done

mkdir -p "$model_dir"
{
  echo "# kestrel bench matrix"
  echo
  echo "binary: \`$kestrel\`, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
} > "$out"

for shape in $shapes; do
  for type in $types; do
    model="$model_dir/$shape-$type.gguf"
    if [ ! -f "$model" ]; then
      echo "synthesizing $model" >&2
      "$kestrel" synth --shape "$shape" --type "$type" -o "$model" >&2
    fi
    echo "## $shape $type" >> "$out"
    echo >> "$out"
    "$kestrel" bench -m "$model" -p 512 -n 128 -t "$threads" -r "$reps" --split >> "$out" || echo "(bench failed)" >> "$out"
    echo >> "$out"
    if [ "$depth" -gt 0 ]; then
      "$kestrel" bench -m "$model" -p 0 -n 128 -d "$depth" -t "$threads" -r "$reps" --split >> "$out" || echo "(bench failed)" >> "$out"
      echo >> "$out"
    fi
  done
done
echo "wrote $out" >&2
