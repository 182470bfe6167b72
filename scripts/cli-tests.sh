#!/usr/bin/env bash
# The command-line tools as a user meets them: good runs, and bad input that must give one clear
# line and a non-zero exit without touching anything. Needs release builds of vae-train, vae-gen.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
FIX=Tests/TrainerTests/Fixtures
pass=0; fail=0
ok()   { pass=$((pass+1)); }
bad()  { fail=$((fail+1)); echo "FAIL: $*"; }

# expect_error "description" "text the error must contain" command...
expect_error() {
  local what="$1" text="$2"; shift 2
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ $rc -eq 0 ]; then bad "$what: exit 0"; return; fi
  if ! grep -qF -- "$text" <<<"$out"; then bad "$what: missing '$text' in: $out"; return; fi
  if grep -q "Fatal error\|Stack dump\|Illegal instruction" <<<"$out"; then bad "$what: crashed: $out"; return; fi
  ok
}

# A small real data folder (fixture digits) and a short training run.
mkdir -p "$T/data"; cp $FIX/mnist-train-first512.idx3.gz "$T/data/train-images-idx3-ubyte.gz"; cp $FIX/mnist-test-first256.idx3.gz "$T/data/t10k-images-idx3-ubyte.gz"
if $BIN/vae-train --data "$T/data" --epochs 2 --out "$T/run" --quiet > "$T/train.log" 2>&1 \
   && [ -s "$T/run/latest.vaeckpt" ] && [ -s "$T/run/best.vaeckpt" ] && [ -s "$T/run/loss.png" ] && [ -s "$T/run/samples.png" ] \
   && [ "$(wc -l < "$T/run/history.csv")" = 3 ]; then ok; else bad "vae-train short run: $(cat "$T/train.log")"; fi
if $BIN/vae-train --data "$T/data" --epochs 3 --out "$T/run" --resume "$T/run/latest.vaeckpt" --quiet > "$T/resume.log" 2>&1 \
   && [ "$(wc -l < "$T/run/history.csv")" = 4 ]; then ok; else bad "vae-train resume: $(cat "$T/resume.log")"; fi

# On a terminal the progress line keeps its figures (script(1) gives the run a pty).
if command -v script >/dev/null; then
  script -qc "stty cols 200; $BIN/vae-train --data $T/data --epochs 1 --out $T/tty" /dev/null > "$T/tty.log" 2>&1
  grep -q "epoch 1/1 \[#*\.*\] 1/4  [0-9]* img/s  loss [0-9.]* (rec [0-9.]* + KL [0-9.]*)  ETA [0-9:]* epoch, [0-9:]* run" "$T/tty.log" \
    && ok || bad "progress line on a terminal: $(tr '\r' '\n' < "$T/tty.log" | head -5)"
fi
# The report's 112.77 line is for long runs validated on MNIST's test set, not for fixture digits.
out=$($BIN/vae-train plot --checkpoint "$T/run/latest.vaeckpt" --data "$T/data" --out "$T/p.png" 2>&1)
[ $? -eq 0 ] && [ -s "$T/p.png" ] && ! grep -q 112.77 <<<"$out" && ok || bad "plot without the reference line: $out"

cp "$T/run/latest.vaeckpt" "$T/keep.vaeckpt"
expect_error "re-run into a used --out" "already holds a run" $BIN/vae-train --data "$T/data" --epochs 1 --out "$T/run"
cmp -s "$T/run/latest.vaeckpt" "$T/keep.vaeckpt" && ok || bad "used --out was modified"
expect_error "missing data folder" "no such folder" $BIN/vae-train --data "$T/nope" --epochs 1 --out "$T/o1"
mkdir -p "$T/empty"
expect_error "data folder without the files: says which" "t10k-labels-idx1-ubyte.gz" $BIN/vae-train --data "$T/empty" --epochs 1 --out "$T/o1"
expect_error "data folder without the files: says where from" "dataset-fashion-mnist" $BIN/vae-train --data "$T/empty" --epochs 1 --out "$T/o1"
expect_error "default --data is data/mnist, from where it runs" "data/mnist ($T/data/mnist)" env -C "$T" "$PWD/$BIN/vae-train" --epochs 1 --out "$T/o1"
mkdir -p "$T/labels"; cp $FIX/mnist-train-labels-first512.idx1.gz "$T/labels/train-images-idx3-ubyte.gz"; cp $FIX/mnist-test-first256.idx3.gz "$T/labels/t10k-images-idx3-ubyte.gz"
expect_error "labels instead of images" "labels file" $BIN/vae-train --data "$T/labels" --epochs 1 --out "$T/o2"
mkdir -p "$T/trunc"; head -c 30000 $FIX/mnist-train-first512.idx3.gz > "$T/trunc/train-images-idx3-ubyte.gz"; cp $FIX/mnist-test-first256.idx3.gz "$T/trunc/t10k-images-idx3-ubyte.gz"
expect_error "truncated data" "truncated" $BIN/vae-train --data "$T/trunc" --epochs 1 --out "$T/o3"
expect_error "unwritable --out" "--out" $BIN/vae-train --data "$T/data" --epochs 1 --out /proc/vae-out
expect_error "nonsense epochs" "--epochs must be" $BIN/vae-train --data "$T/data" --epochs 0 --out "$T/o4"
expect_error "non-numeric lr" "lr" $BIN/vae-train --data "$T/data" --lr fast --out "$T/o5"
expect_error "resume from garbage" "bad magic" $BIN/vae-train --data "$T/data" --epochs 5 --out "$T/o6" --resume "$FIX/mnist-train-labels-first512.idx1.gz"
expect_error "unknown flag" "Unknown option" $BIN/vae-train --data "$T/data" --epoch 3 --out "$T/o7"

# vae-gen
out=$($BIN/vae-gen --seed 42 -n 100 --out "$T/gen" --checkpoint checkpoints/vae-mnist.vaeckpt 2>&1)
if [ $? -eq 0 ] && grep -q '^sha256 [0-9a-f]\{64\}$' <<<"$out" && [ -s "$T/gen/grid.png" ]; then ok; else bad "vae-gen: $out"; fi
out2=$($BIN/vae-gen --seed 42 -n 100 --out "$T/gen2" --each pgm 2>&1)
[ "$(grep ^sha256 <<<"$out")" = "$(grep ^sha256 <<<"$out2")" ] && [ "$(ls "$T/gen2" | grep -c pgm)" = 100 ] && ok || bad "vae-gen repeat/each: $out2"
$BIN/vae-gen export-decoder --out "$T/d.vaed" > /dev/null && out3=$($BIN/vae-gen --decoder-image "$T/d.vaed" --seed 42 -n 100 --out "$T/gen3" 2>&1) \
  && [ "$(grep ^sha256 <<<"$out")" = "$(grep ^sha256 <<<"$out3")" ] && ok || bad "vae-gen from an exported decoder image: $out3"
expect_error "n = 0" "-n must be between" $BIN/vae-gen -n 0
expect_error "negative seed" "seed" $BIN/vae-gen --seed -3
expect_error "missing checkpoint" "no such file" $BIN/vae-gen --checkpoint "$T/none.vaeckpt"
head -c 5000 checkpoints/vae-mnist.vaeckpt > "$T/cut.vaeckpt"
expect_error "truncated checkpoint" "cut.vaeckpt" $BIN/vae-gen --checkpoint "$T/cut.vaeckpt"
expect_error "data file as checkpoint" "bad magic" $BIN/vae-gen --checkpoint $FIX/mnist-test-first256.idx3.gz
head -c 3000 "$T/d.vaed" > "$T/cut.vaed"
expect_error "truncated decoder image" "truncated" $BIN/vae-gen --decoder-image "$T/cut.vaed"
# Inputs that are not regular files are refused before a byte is read, with the true reason
# (a FIFO used to block vae-train forever); `timeout` turns a hang into a failure.
mkfifo "$T/fifo"; mkdir -p "$T/adir"
for f in "$T/adir:is a directory" "$T/fifo:is a FIFO" "/dev/zero:is a character device" "/dev/urandom:is a character device"; do
  expect_error "--decoder-image ${f%%:*}" "${f#*:}" timeout 20 $BIN/vae-gen --decoder-image "${f%%:*}" -n 1 --out "$T/x"
  expect_error "--checkpoint ${f%%:*}" "${f#*:}" timeout 20 $BIN/vae-gen --checkpoint "${f%%:*}" -n 1 --out "$T/x"
  expect_error "--resume ${f%%:*}" "${f#*:}" timeout 20 $BIN/vae-train --data "$T/data" --epochs 1 --out "$T/o8" --resume "${f%%:*}"
done
mkdir -p "$T/fifodata"; mkfifo "$T/fifodata/train-images-idx3-ubyte.gz"; cp $FIX/mnist-test-first256.idx3.gz "$T/fifodata/t10k-images-idx3-ubyte.gz"
expect_error "a FIFO as MNIST data" "is a FIFO" timeout 20 $BIN/vae-train --data "$T/fifodata" --epochs 1 --out "$T/o9"
expect_error "not a decoder image" "not a decoder image" $BIN/vae-gen --decoder-image checkpoints/vae-mnist.vaeckpt -n 1 --out "$T/x"
out=$($BIN/vae-gen --checkpoint "$(printf '%s/bad\033[2Jname' "$T")" 2>&1)
grep -qF 'bad\x1b[2Jname' <<<"$out" && ! grep -q $'\033' <<<"$out" && ok || bad "control bytes in a name are escaped: $out"
# NaN and infinite weights (a forged CRC): refused with code 17's reason, not decoded to blank digits.
for bits in 0x7fc00000 0xff800000; do
  python3 - "$T/d.vaed" "$T/nan.vaed" $bits <<'PY'
import struct, sys, zlib
b = bytearray(open(sys.argv[1], "rb").read())
struct.pack_into("<I", b, struct.unpack_from("<I", b, 64 + 36)[0] + 40, int(sys.argv[3], 16))   # a weight of layer 0
struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[16:struct.unpack_from("<I", b, 8)[0]])))
open(sys.argv[2], "wb").write(b)
PY
  expect_error "non-finite weight $bits in a decoder image" "NaN or infinite" $BIN/vae-gen --decoder-image "$T/nan.vaed" -n 1 --out "$T/x"
done
# int8: the shipped quantised decoder, from the checkpoint and exported raw; its digits are not
# float32's; thread count and kernel choice do not change any digit.
o8=$($BIN/vae-gen --precision int8 -n 100 --out "$T/g8" 2>&1)
of=$($BIN/vae-gen --threads 1 -n 100 --out "$T/gf" 2>&1)
[ -n "$(grep ^sha256 <<<"$o8")" ] && [ "$(grep ^sha256 <<<"$o8")" != "$(grep ^sha256 <<<"$of")" ] && grep -q "int8 (" <<<"$o8" && ok || bad "vae-gen --precision int8: $o8"
$BIN/vae-gen export-decoder --precision int8 --out "$T/q.vaed" > /dev/null 2>&1 && \
  [ "$($BIN/vae-gen --decoder-image "$T/q.vaed" -n 100 --out "$T/g8b" | grep ^sha256)" = "$(grep ^sha256 <<<"$o8")" ] && ok || bad "int8 export-decoder round trip"
[ "$($BIN/vae-gen --precision int8 --kernels portable --threads 1 -n 40 --out "$T/g8p" | grep ^sha256)" = "$($BIN/vae-gen --precision int8 -n 40 --out "$T/g8q" | grep ^sha256)" ] && ok || bad "int8 portable kernels differ"
[ "$($BIN/vae-gen --kernels reference -n 20 --out "$T/gr" | grep ^sha256)" = "$($BIN/vae-gen --threads 2 -n 20 --out "$T/gs" | grep ^sha256)" ] && ok || bad "float32 reference kernels differ"
expect_error "int8 image asked for float32" "not float32" $BIN/vae-gen --decoder-image "$T/q.vaed" --precision float32 -n 1 --out "$T/x"
expect_error "bad kernel name" "kernels" $BIN/vae-gen --kernels avx1024
expect_error "bad thread count" "--threads" $BIN/vae-gen --threads 0
expect_error "bench --repeats 0" "--repeats" $BIN/vae-gen bench --repeats 0
expect_error "bench --images 0" "--images" $BIN/vae-gen bench --images 0
expect_error "bad precision" "precision" $BIN/vae-gen --precision float16
expect_error "unwritable vae-gen --out" "--out folder /proc/vae-gen" $BIN/vae-gen -n 4 --out /proc/vae-gen
expect_error "unwritable export path" "/proc/d.vaed" $BIN/vae-gen export-decoder --out /proc/d.vaed
# Grids are capped at 16 Mi pixels: more digits go to grid-0001.png, grid-0002.png, ... with the same digits.
out=$($BIN/vae-gen -n 400 --scale 8 --out "$T/tiles" 2>&1)
[ -s "$T/tiles/grid-0001.png" ] && [ -s "$T/tiles/grid-0002.png" ] && [ ! -e "$T/tiles/grid-0003.png" ] \
  && [ "$(grep ^sha256 <<<"$out")" = "$($BIN/vae-gen -n 400 --out "$T/tiles1" | grep ^sha256)" ] && ok || bad "tiled grids: $out"
expect_error "scale out of range" "--scale must be" $BIN/vae-gen --scale 0

echo "cli-tests: $pass passed, $fail failed"
[ $fail -eq 0 ]
