#!/usr/bin/env bash
# Full and read-only disks, for real: small tmpfs mounts in a private mount namespace (unshare;
# as root or, where the kernel allows it, as a user in a user namespace), so nothing outside
# this script sees them and nothing is left mounted. What is checked (docs/reliability.md):
#   - vae-gen --each png onto a disk that fills midway stops, says how many files of the set
#     are whole and which failed first, and leaves exactly those whole files and no temporary;
#   - a grid onto a full disk, and any write onto a read-only mount, fail naming the file, the
#     reason and what to do, leaving nothing (and a good file already there untouched);
#   - vae-train refuses an --out that is read-only or too small before the first epoch; a disk
#     that fills during training stops the run naming the epoch latest.vaeckpt holds, whole,
#     and the resume command; after making room, that resume finishes the run.
# Needs release builds of vae-train and vae-gen (BIN=.build/release unless told).
set -uo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VAE_DISK_TESTS_NS:-}" ]; then
  export VAE_DISK_TESTS_NS=1
  if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then exec unshare -m bash "$0" "$@"; fi
  if unshare -rm true 2>/dev/null; then exec unshare -rm bash "$0" "$@"; fi
  echo "disk-tests: cannot make a private mount namespace (unshare -m as root, or unshare -rm: user namespaces are off here)"
  echo "disk-tests: 0 passed, 1 failed"; exit 1
fi
BIN=${BIN:-.build/release}
FIX=Tests/TrainerTests/Fixtures
T=$(mktemp -d); trap 'umount -q "$T"/* 2>/dev/null; rm -rf "$T"' EXIT
pass=0; fail=0
ok()  { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*"; }
# disk NAME SIZE [ro]: a fresh tmpfs at $T/NAME.
disk() { mkdir -p "$T/$1"; mount -t tmpfs -o "size=$2${3:+,$3}" "disk-tests-$1" "$T/$1" || { bad "mount $1"; return 1; }; }
crashed() { grep -q "Fatal error\|Stack dump\|Illegal instruction\|Segmentation" <<<"$1"; }
temporaries() { find "$1" -name '.*.tmp-*' | wc -l; }
# A whole PNG: signature, then chunks up to IEND with nothing after it.
whole_png() {
  python3 - "$1" <<'EOF'
import struct, sys, zlib
b = open(sys.argv[1], 'rb').read()
assert b[:8] == b'\x89PNG\r\n\x1a\n'
i = 8
while True:
    n, t = struct.unpack('>I4s', b[i:i + 8])
    assert zlib.crc32(b[i + 4:i + 8 + n]) & 0xFFFFFFFF == struct.unpack('>I', b[i + 8 + n:i + 12 + n])[0]
    i += 12 + n
    if t == b'IEND':
        assert i == len(b)
        break
EOF
}

# --- vae-gen: per-digit files onto a disk that fills midway -------------------------------------
disk each 2m   # the grid (712 KiB) fits, then a few hundred 4 KiB pages of per-digit files
out=$($BIN/vae-gen --seed 3 -n 2000 --each png --out "$T/each/d" 2>&1); rc=$?
files=$(find "$T/each/d" -name 'digit-*.png' | wc -l)
said=$(sed -n 's/^vae-gen: \([0-9]*\) of 2000 per-digit PNG files were written completely.*/\1/p' <<<"$out")
if [ $rc -ne 0 ] && ! crashed "$out" && grep -q "No space left on device (the disk is full: free some space, or write somewhere else)" <<<"$out" \
   && grep -q "the first that failed is digit-3-$(printf %06d "$said").png, and the $((2000 - said - 1)) after it were not written; no partial file is left" <<<"$out" \
   && [ -n "$said" ] && [ "$said" -gt 0 ] && [ "$files" = "$said" ] && [ "$(temporaries "$T/each")" = 0 ]; then ok
else bad "--each png on a filling disk (exit $rc, $files files, message says ${said:-nothing}): $out"; fi
broken=0; shopt -s nullglob
for f in "$T"/each/d/digit-*.png; do whole_png "$f" 2>/dev/null || broken=$((broken + 1)); done
[ "$broken" = 0 ] && ok || bad "$broken of the $files per-digit files left are not whole PNGs"
echo "disk-tests: --each png onto a 2 MiB disk: $said of 2000 files written whole, then: $(grep -m1 'No space' <<<"$out" | cut -c1-120)"

# --- vae-gen: a grid onto a full disk, over a good one ------------------------------------------
disk grid 64k
$BIN/vae-gen --seed 1 -n 4 --out "$T/grid" > /dev/null 2>&1 && cp "$T/grid/grid.png" "$T/keep.png"
head -c 1M /dev/zero > "$T/grid/filler" 2>/dev/null
out=$($BIN/vae-gen --seed 2 -n 400 --out "$T/grid" 2>&1); rc=$?
[ $rc -ne 0 ] && ! crashed "$out" && grep -q "grid.png: .*No space left on device (the disk is full" <<<"$out" \
  && grep -q "no partial file is left, and the previous file, if any, is untouched" <<<"$out" \
  && cmp -s "$T/grid/grid.png" "$T/keep.png" && [ "$(temporaries "$T/grid")" = 0 ] && ok || bad "grid onto a full disk (exit $rc): $out"

# --- read-only mounts ---------------------------------------------------------------------------
disk ro 1m ro
expect_ro() {   # expect_ro WHAT TEXT COMMAND...
  local what=$1 text=$2; shift 2
  local out rc; out=$("$@" 2>&1); rc=$?
  [ $rc -ne 0 ] && ! crashed "$out" && grep -qF -- "$text" <<<"$out" && ok || bad "$what onto a read-only mount (exit $rc): $out"
}
expect_ro "vae-gen grid" "Read-only file system" $BIN/vae-gen -n 4 --out "$T/ro"
expect_ro "vae-gen export-decoder" "Read-only file system (the file system is mounted read-only: write somewhere else)" \
  $BIN/vae-gen export-decoder --out "$T/ro/d.vaed"
mkdir -p "$T/data"; cp $FIX/mnist-train-first512.idx3.gz "$T/data/train-images-idx3-ubyte.gz"; cp $FIX/mnist-test-first256.idx3.gz "$T/data/t10k-images-idx3-ubyte.gz"
expect_ro "vae-train" "is not writable: Read-only file system (a read-only mount); choose another --out" \
  $BIN/vae-train --data "$T/data" --epochs 1 --out "$T/ro" --quiet

# --- vae-train: too small from the start, and full midway ---------------------------------------
disk small 2m
out=$($BIN/vae-train --data "$T/data" --epochs 1 --out "$T/small/run" --quiet 2>&1); rc=$?
[ $rc -ne 0 ] && grep -q "bytes free; every epoch writes about 6 MB" <<<"$out" && [ ! -e "$T/small/run/latest.vaeckpt" ] \
  && ok || bad "vae-train onto a 2 MiB disk (exit $rc): $out"

disk train 40m
common=(--data "$T/data" --epochs 12 --quiet --threads 2 --train-limit 128 --val-limit 32 --out "$T/train/run")
$BIN/vae-train "${common[@]}" > "$T/train.log" 2>&1 &
pid=$!
# Fill the disk once an epoch is saved (history.csv has its header and a row), while later
# epochs still run: the next epoch's checkpoint write meets a full disk.
t_end=$((SECONDS + 120))
until [ "$(cat "$T/train/run/history.csv" 2>/dev/null | wc -l)" -ge 3 ] || ! kill -0 $pid 2>/dev/null || [ $SECONDS -gt $t_end ]; do sleep 0.05; done
head -c 64M /dev/zero > "$T/train/filler" 2>/dev/null
wait $pid; rc=$?
out=$(cat "$T/train.log")
held=$(sed -n 's/^vae-train: .*latest.vaeckpt holds epoch \([0-9]*\), whole; make room and continue with --resume .*latest.vaeckpt --epochs 12$/\1/p' <<<"$out")
in_file=$(python3 -c "import sys; sys.path.insert(0, 'python'); import vaebridge as v; print(v.read(sys.argv[1]).training['epoch'])" "$T/train/run/latest.vaeckpt" 2>&1)
if [ $rc -ne 0 ] && ! crashed "$out" && grep -q "No space left on device (the disk is full" <<<"$out" && [ -n "$held" ] \
   && [ "$held" = "$in_file" ] && [ "$held" -lt 12 ] && [ "$(temporaries "$T/train")" = 0 ]; then ok
else bad "vae-train on a disk that fills (exit $rc, message says epoch ${held:-none}, latest.vaeckpt holds ${in_file}): $out"; fi
echo "disk-tests: training stopped by a full disk: latest.vaeckpt holds epoch ${held:-?}, whole; $(grep -m1 'No space' <<<"$out" | cut -c1-110)"
rm -f "$T/train/filler"
out=$($BIN/vae-train "${common[@]}" --resume "$T/train/run/latest.vaeckpt" 2>&1); rc=$?
[ $rc -eq 0 ] && [ "$(wc -l < "$T/train/run/history.csv")" = 13 ] && ok || bad "resume after making room (exit $rc): $out"

echo "disk-tests: $pass passed, $fail failed"
[ $fail -eq 0 ]
