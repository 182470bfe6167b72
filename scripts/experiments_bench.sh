#!/usr/bin/env bash
# Float32 decode time of every variant a `vae-train experiments` run trained: `vae-gen bench`
# (batch 1, one thread) on each VARIANT/seed-S/best.vaeckpt, the variants alternated ROUNDS times
# so that a change in the machine's load falls on all of them; prints a markdown table of the
# medians (microseconds per image). Usage: scripts/experiments_bench.sh DIR [ROUNDS] [SEED]
set -euo pipefail
dir=$1; rounds=${2:-3}; seed=${3:-1}
BIN=${BIN:-.build/release}
variants=$(cut -d, -f1 "$dir/results.csv" | tail -n +2 | uniq)
tmp=$(mktemp); trap 'rm -f "$tmp"' EXIT
for r in $(seq "$rounds"); do
  for v in $variants; do
    us=$("$BIN/vae-gen" bench --checkpoint "$dir/$v/seed-$seed/best.vaeckpt" --repeats 5 | awk '/^batch 1:/ {print $3}')
    echo "$v $us" >> "$tmp"
  done
done
echo "| variant | float32 µs/image (batch 1, 1 thread; median of $rounds rounds) |"
echo "|---|---:|"
for v in $variants; do
  med=$(awk -v v="$v" '$1 == v {print $2}' "$tmp" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
  echo "| $v | $med |"
done
