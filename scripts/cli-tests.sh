#!/usr/bin/env bash
# The command-line tools as a user meets them: good runs, and bad input that must give one clear
# line and a non-zero exit without touching anything. Needs release builds of vae-train, vae-gen.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release}
for b in vae-train vae-gen; do
  [ -x "$BIN/$b" ] || { echo "cli-tests: no $BIN/$b; build first (swift build -c release) or set BIN"; echo "cli-tests: 0 passed, 1 failed"; exit 1; }
done
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
# A truncated gzip input: the file named once, zlib's reason without its "<fd:N>: " prefix.
mkdir -p "$T/badgz"; head -c 100 $FIX/mnist-train-first512.idx3.gz > "$T/badgz/train-images-idx3-ubyte.gz"
cp $FIX/mnist-test-first256.idx3.gz "$T/badgz/t10k-images-idx3-ubyte.gz"
out=$($BIN/vae-train --data "$T/badgz" --epochs 1 --out "$T/badgz-run" 2>&1)
[ $? -ne 0 ] && grep -qF "train-images-idx3-ubyte.gz: corrupt or truncated gzip data (unexpected end of file)" <<<"$out" \
  && [ "$(grep -o "train-images-idx3-ubyte.gz" <<<"$out" | wc -l)" = 1 ] && ! grep -q "<fd:" <<<"$out" && ok \
  || bad "truncated gzip input: $out"
# Before the parser (ArgumentCheck): a repeated option would silently keep the last value, and a
# negative number would be read as an option ("Missing value for '--seed <seed>'").
expect_error "vae-gen: --seed twice" "--seed is given twice" $BIN/vae-gen --seed 1 --seed 2 -n 1 --out "$T/twice"
expect_error "vae-gen: --seed -1" "--seed -1: negative numbers are not accepted" $BIN/vae-gen --seed -1 -n 1 --out "$T/neg"
expect_error "vae-gen: -n -5" "-n -5: negative numbers are not accepted" $BIN/vae-gen -n -5 --out "$T/neg"
expect_error "vae-train: --epochs twice (= form)" "--epochs is given twice" $BIN/vae-train --epochs 2 --epochs=3 --data "$T/data" --out "$T/twice"
expect_error "vae-train quantise: --widths twice" "--widths is given twice" $BIN/vae-train quantise --widths int8 --widths int16 --checkpoint x
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

# Decoder variants: a tiny 4-layer ReLU run (300 fixture digits), decoded by vae-gen from the
# checkpoint's header alone; it must differ from the standard model's digits. Bad values refused.
if $BIN/vae-train --data "$T/data" --train-limit 300 --epochs 1 --decoder-layers 4 --activation relu --out "$T/v4" --quiet > "$T/v4.log" 2>&1 \
   && ov=$($BIN/vae-gen --checkpoint "$T/v4/latest.vaeckpt" --seed 42 -n 16 --out "$T/gv4" 2>&1) \
   && grep -q '^sha256 [0-9a-f]\{64\}$' <<<"$ov" && [ -s "$T/gv4/grid.png" ] \
   && [ "$(grep ^sha256 <<<"$ov")" != "$($BIN/vae-gen --checkpoint "$T/run/latest.vaeckpt" --seed 42 -n 16 --out "$T/gv6" | grep ^sha256)" ] \
   && [ "$(grep ^sha256 <<<"$ov")" = "$($BIN/vae-gen --checkpoint "$T/v4/latest.vaeckpt" --seed 42 -n 16 --kernels reference --threads 1 --out "$T/gv4r" | grep ^sha256)" ] \
   && $BIN/vae-train --data "$T/data" --train-limit 300 --epochs 2 --out "$T/v4" --resume "$T/v4/latest.vaeckpt" --quiet > "$T/v4r.log" 2>&1 \
   && [ "$(wc -l < "$T/v4/history.csv")" = 3 ]; then ok; else bad "4-layer ReLU run, resume and vae-gen: $(cat "$T/v4.log" "$T/v4r.log" 2>/dev/null) $ov"; fi
expect_error "--decoder-layers 7" "--decoder-layers must be 4, 5, 6 or 8 (got 7)" $BIN/vae-train --data "$T/data" --decoder-layers 7 --out "$T/o8"
expect_error "--activation foo" "'foo' is not an activation" $BIN/vae-train --data "$T/data" --activation foo --out "$T/o8"
expect_error "--activation leaky-relu:-1" "slope must be in (0, 1) (got -1)" $BIN/vae-train --data "$T/data" --activation leaky-relu:-1 --out "$T/o8"
expect_error "--decoder-layers with --resume" "for new runs" $BIN/vae-train --data "$T/data" --decoder-layers 4 --epochs 9 --out "$T/v4" --resume "$T/v4/latest.vaeckpt"
[ ! -e "$T/o8" ] && ok || bad "a refused variant created its --out"
# Batch norm and the split sampler: vae-gen decodes the folded image, reconstruct reads the sampler.
ob=""
if $BIN/vae-train --data "$T/data" --train-limit 300 --epochs 1 --decoder-layers 4 --batch-norm --sampler split --out "$T/bns" --quiet > "$T/bns.log" 2>&1 \
   && ob=$($BIN/vae-gen --checkpoint "$T/bns/latest.vaeckpt" --seed 42 -n 4 --out "$T/gbns" 2>&1) && grep -q '^sha256 [0-9a-f]\{64\}$' <<<"$ob" \
   && $BIN/vae-gen reconstruct --checkpoint "$T/bns/latest.vaeckpt" --images $FIX/mnist-test-first256.idx3.gz -n 2 --out-png "$T/bnsr.png" > /dev/null 2>&1 \
   && $BIN/vae-train --data "$T/data" --train-limit 300 --epochs 2 --out "$T/bns" --resume "$T/bns/latest.vaeckpt" --quiet > "$T/bnsr.log" 2>&1; then ok
else bad "batch-norm split run, vae-gen, reconstruct, resume: $(cat "$T/bns.log" "$T/bnsr.log" 2>/dev/null) $ob"; fi
expect_error "--sampler foo" "--sampler must be fc or split (got 'foo')" $BIN/vae-train --data "$T/data" --sampler foo --out "$T/o8"
expect_error "--batch-norm with --resume" "for new runs" $BIN/vae-train --data "$T/data" --batch-norm --epochs 9 --out "$T/bns" --resume "$T/bns/latest.vaeckpt"
# The study: two variants, twice interrupted by asking for fewer epochs first; refusals.
if $BIN/vae-train experiments --data "$T/data" --train-limit 256 --val-limit 64 --epochs 1 --variants 4-relu-fc,4-relu-bn-fc --seeds 1,2 --out "$T/ex" > "$T/ex.log" 2>&1 \
   && $BIN/vae-train experiments --data "$T/data" --train-limit 256 --val-limit 64 --epochs 2 --variants 4-relu-fc,4-relu-bn-fc --seeds 1,2 --out "$T/ex" > "$T/ex2.log" 2>&1 \
   && grep -q "4-relu-bn-fc seed 2, epochs 2...2 (resumed)" "$T/ex2.log" && [ "$(wc -l < "$T/ex/results.csv")" = 5 ] \
   && [ "$(grep -c '^| 4 layer, relu' "$T/ex/table.md")" = 2 ] && [ -s "$T/ex/validation.png" ] \
   && $BIN/vae-train experiments --data "$T/data" --train-limit 256 --val-limit 64 --epochs 2 --variants 4-relu-fc,4-relu-bn-fc --seeds 1,2 --out "$T/ex" > "$T/ex3.log" 2>&1 \
   && grep -q "4 already finished" "$T/ex3.log"; then ok
else bad "vae-train experiments run, resume, skip: $(cat "$T/ex.log" "$T/ex2.log" 2>/dev/null | grep experiments)"; fi
expect_error "experiments --seeds" "--seeds must be comma-separated" $BIN/vae-train experiments --epochs 1 --seeds 1,x --out "$T/o9"
expect_error "experiments --variants" "'9-layer' is not one of" $BIN/vae-train experiments --epochs 1 --variants 9-layer --out "$T/o9"

# vae-gen against the committed goldens: 16 digits of every golden seed give the "all16" digest
# of digests.txt (float32) and digests-int8.txt (int8), for both shipped models.
G=Tests/DecoderTests/Goldens
for spec in "$G/digests.txt:checkpoints/vae-mnist.vaeckpt:float32" "$G/digests-int8.txt:checkpoints/vae-mnist.vaeckpt:int8" \
            "$G/fashion-mnist/digests.txt:checkpoints/vae-fashion-mnist.vaeckpt:float32" "$G/fashion-mnist/digests-int8.txt:checkpoints/vae-fashion-mnist.vaeckpt:int8"; do
  IFS=: read -r dig ck prec <<<"$spec"
  seeds=$(sed -n 's/^seed \([0-9]*\) all16 sha256 [0-9a-f]*$/\1/p' "$dig")
  [ "$(echo $seeds)" = "0 42 2026" ] && ok || bad "$dig: the golden seeds are '$(echo $seeds)', not 0 42 2026"
  for s in $seeds; do
    want=$(sed -n "s/^seed $s all16 sha256 //p" "$dig")
    got=$($BIN/vae-gen --checkpoint "$ck" --precision "$prec" --seed "$s" -n 16 --out "$T/golden" 2>&1 | sed -n 's/^sha256 //p')
    [ -n "$want" ] && [ "$got" = "$want" ] && ok || bad "vae-gen --checkpoint $ck --precision $prec --seed $s -n 16: sha256 '$got', $dig says '$want'"
  done
done

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
# The shipped all-int8 (QAT) image: decodes, differs from the checkpoint's int8 decoder, same bits portable.
oq=$($BIN/vae-gen --decoder-image checkpoints/vae-mnist-int8-qat.vaed -n 40 --out "$T/gq" 2>&1)
[ -n "$(grep ^sha256 <<<"$oq")" ] && [ "$(grep ^sha256 <<<"$oq")" != "$($BIN/vae-gen --precision int8 -n 40 --out "$T/g8r" | grep ^sha256)" ] && ok || bad "vae-gen --decoder-image vae-mnist-int8-qat.vaed: $oq"
[ "$($BIN/vae-gen --decoder-image checkpoints/vae-mnist-int8-qat.vaed --kernels portable --threads 1 -n 40 --out "$T/gqp" | grep ^sha256)" = "$(grep ^sha256 <<<"$oq")" ] && ok || bad "QAT image: portable kernels differ"
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
expect_error "--checkpoint with --decoder-image" "give one of them" $BIN/vae-gen --checkpoint checkpoints/vae-mnist.vaeckpt --decoder-image checkpoints/vae-mnist-int8-qat.vaed -n 1
expect_error "empty --out" "--out must name a folder" $BIN/vae-gen --out '' -n 1
expect_error "export-decoder --symbol not a C identifier" "--symbol must be a C identifier" $BIN/vae-gen export-decoder --symbol 'a b' --out "$T/sym.h"
expect_error "export-decoder --symbol starting with a digit" "--symbol must be a C identifier" $BIN/vae-gen export-decoder --symbol '9x' --out "$T/sym.h"

# The web page: vae-train pca (the sliders' directions), vae-gen export-web (the static site; a
# stand-in module here: wasm/run.sh builds and tests the real one).
if $BIN/vae-train pca --checkpoint checkpoints/vae-mnist.vaeckpt --data "$T/data" --out "$T/pca.json" > "$T/pca.log" 2>&1 \
   && grep -q '"images": 512,' "$T/pca.json" && [ "$(python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); print(len(p["components"]), len(p["components"][0]), len(p["stddev"]), len(p["mean"]))' "$T/pca.json")" = "8 64 8 64" ] \
   && python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); c=p["components"]; assert all(abs(sum(a*b for a,b in zip(c[i],c[j])) - (i==j)) < 1e-5 for i in range(8) for j in range(8)); assert p["stddev"] == sorted(p["stddev"], reverse=True)' "$T/pca.json"
then ok; else bad "vae-train pca: $(cat "$T/pca.log")"; fi
printf '\0asm\1\0\0\0' > "$T/stand-in.wasm"
ow=$($BIN/vae-gen export-web --module "$T/stand-in.wasm" --out "$T/site" 2>&1)
[ $? -eq 0 ] && for f in index.html app.js vae.js vae.wasm decoder.vaed decoder-int8.vaed pca.json; do [ -s "$T/site/$f" ] || false; done \
  && cmp -s "$T/site/decoder.vaed" "$T/d.vaed" && cmp -s "$T/site/decoder-int8.vaed" "$T/q.vaed" && cmp -s "$T/site/pca.json" web/pca.json && ok || bad "vae-gen export-web: $ow"
ow2=$($BIN/vae-gen export-web --module "$T/stand-in.wasm" --checkpoint "$T/run/best.vaeckpt" --out "$T/site2" 2>&1)
[ $? -eq 0 ] && [ ! -e "$T/site2/pca.json" ] && grep -q "another checkpoint's" <<<"$ow2" && ok || bad "export-web leaves out another checkpoint's pca.json: $ow2"
$BIN/vae-gen export-web --module "$T/stand-in.wasm" --checkpoint "$T/run/best.vaeckpt" --pca "$T/pca.json" --out "$T/site3" > /dev/null 2>&1 \
  && cmp -s "$T/site3/pca.json" "$T/pca.json" && ok || bad "export-web --pca"
expect_error "export-web without the module" "wasm/build.sh" $BIN/vae-gen export-web --module "$T/none.wasm" --out "$T/site4"
expect_error "export-web with a module that is not one" "not a WebAssembly module" $BIN/vae-gen export-web --module "$T/d.vaed" --out "$T/site5"
expect_error "pca --components 0" "--components" $BIN/vae-train pca --checkpoint checkpoints/vae-mnist.vaeckpt --data "$T/data" --out "$T/p0.json" --components 0
# reconstruct, interpolate, decode: IDX, PNG and PGM in; good runs and refusals naming the file.
$BIN/vae-gen --seed 42 -n 2 --each pgm --out "$T/in" > /dev/null
cp "$T/in/digit-42-000000.pgm" "$T/d0.pgm"
out=$($BIN/vae-gen reconstruct --images $FIX/mnist-test-first256.idx3.gz --first 3 -n 5 --out-png "$T/rec.png" 2>&1)
[ $? -eq 0 ] && [ -s "$T/rec.png" ] && [ "$(grep -c '^image [0-9]*: BCE [0-9.]*$' <<<"$out")" = 5 ] && grep -q '^image 3: ' <<<"$out" && ok || bad "reconstruct IDX: $out"
# A decoded digit re-encoded and decoded again is close to itself: a BCE under 200 (a blank
# reconstruction of a digit costs far more), through PGM and through PNG alike.
o1=$($BIN/vae-gen reconstruct --images "$T/d0.pgm" -n 1 --out-png "$T/r1.png" 2>&1)
b1=$(sed -n 's/^image 0: BCE //p' <<<"$o1")
[ -n "$b1" ] && awk "BEGIN{exit !($b1 < 200)}" && ok || bad "reconstruct PGM: $o1"
$BIN/vae-gen --seed 42 -n 1 --each png --out "$T/inp" > /dev/null
o3=$($BIN/vae-gen reconstruct --images "$T/inp/digit-42-000000.png" -n 1 --out-png "$T/r3.png" 2>&1)
[ "$(sed -n 's/^image 0: BCE //p' <<<"$o3")" = "$b1" ] && ok || bad "reconstruct PNG differs from the same digit as PGM: $o3 / $o1"
expect_error "reconstruct: grid PNG is not 28x28" "this model needs 28x28" $BIN/vae-gen reconstruct --images "$T/rec.png"
expect_error "reconstruct: --first past the end" "past the last image" $BIN/vae-gen reconstruct --images "$T/d0.pgm" --first 1
expect_error "reconstruct: labels file" "labels file" $BIN/vae-gen reconstruct --images $FIX/mnist-train-labels-first512.idx1.gz
printf 'P5\n28 28\n255\n' > "$T/short.pgm"
expect_error "reconstruct: truncated PGM" "short.pgm: truncated" $BIN/vae-gen reconstruct --images "$T/short.pgm"
head -c 100 "$T/inp/digit-42-000000.png" > "$T/cut.png"
expect_error "reconstruct: truncated PNG" "cut.png: truncated" $BIN/vae-gen reconstruct --images "$T/cut.png"
expect_error "reconstruct: not an image" "not an IDX, PNG or PGM" $BIN/vae-gen reconstruct --images scripts/cli-tests.sh
expect_error "reconstruct: missing file" "no such file" $BIN/vae-gen reconstruct --images "$T/none.png"
mkfifo "$T/fifo.png"
expect_error "reconstruct: a FIFO" "is a FIFO (named pipe), not a regular file" timeout 10 $BIN/vae-gen reconstruct --images "$T/fifo.png"
expect_error "decode: a directory" "is a directory, not a regular file" timeout 10 $BIN/vae-gen decode --latents "$T"
expect_error "reconstruct: -n 0" "-n must be between" $BIN/vae-gen reconstruct --images "$T/d0.pgm" -n 0
o=$($BIN/vae-gen interpolate --from 42:0 --to 42:1 --steps 10 --out-png "$T/i.png" 2>&1)
[ $? -eq 0 ] && [ -s "$T/i.png" ] && grep -q "10 steps" <<<"$o" && ok || bad "interpolate seeds: $o"
o=$($BIN/vae-gen interpolate --from $FIX/mnist-test-first256.idx3.gz:0 --to "$T/d0.pgm" --steps 5 --out-png "$T/i2.png" 2>&1)
[ $? -eq 0 ] && [ -s "$T/i2.png" ] && ok || bad "interpolate images: $o"
expect_error "interpolate: --steps 1" "--steps must be" $BIN/vae-gen interpolate --from 42:0 --to 42:1 --steps 1
expect_error "interpolate: missing image" "nope.png: no such file" $BIN/vae-gen interpolate --from 42:0 --to "$T/nope.png"
# decode: latents of seed 42 written as .npy decode to vae-gen's own digits, byte for byte.
if python3 -c "import numpy" 2>/dev/null; then
  $BIN/vae-gen latent --seed 42 --index 0 > "$T/z0.txt"; $BIN/vae-gen latent --seed 42 --index 1 > "$T/z1.txt"
  python3 - "$T" <<'PY'
import sys, numpy as np
t = sys.argv[1]
# the bit patterns (last column), so that the latents are exactly the generator's
rows = [[int(l.split()[-1], 16) for l in open(f"{t}/z{i}.txt") if l.split() and l.split()[-1].startswith("0x")] for i in (0, 1)]
assert all(len(r) == 64 for r in rows)
np.save(f"{t}/z.npy", np.array(rows, dtype="<u4").view("<f4"))
np.save(f"{t}/z64.npy", np.zeros((2, 64), dtype="<f8"))
np.save(f"{t}/z32.npy", np.zeros((2, 32), dtype="<f4"))
np.save(f"{t}/zF.npy", np.asfortranarray(np.zeros((64, 64), dtype="<f4")))
open(f"{t}/zcut.npy", "wb").write(open(f"{t}/z.npy", "rb").read()[:-4])
PY
  o=$($BIN/vae-gen decode --latents "$T/z.npy" --out-png "$T/dz.png" --out-npy "$T/px.npy" 2>&1)
  [ "$(grep ^sha256 <<<"$o")" = "$($BIN/vae-gen --seed 42 -n 2 --out "$T/g2" | grep ^sha256)" ] && [ -s "$T/dz.png" ] \
    && python3 -c "import numpy as np,sys; a=np.load('$T/px.npy'); sys.exit(0 if a.shape==(2,28,28) and a.dtype==np.uint8 else 1)" \
    && ok || bad "decode seed-42 latents from .npy: $o"
  expect_error "decode: float64" "descr is '<f8'" $BIN/vae-gen decode --latents "$T/z64.npy" --out-png "$T/x.png"
  expect_error "decode: 32 columns" "z32.npy: npy shape (2, 32)" $BIN/vae-gen decode --latents "$T/z32.npy" --out-png "$T/x.png"
  expect_error "decode: Fortran order" "fortran_order is True" $BIN/vae-gen decode --latents "$T/zF.npy" --out-png "$T/x.png"
  expect_error "decode: cut data" "zcut.npy: npy data is 508 bytes" $BIN/vae-gen decode --latents "$T/zcut.npy" --out-png "$T/x.png"
fi
expect_error "decode: not npy" "not a .npy file" $BIN/vae-gen decode --latents "$T/d0.pgm"
expect_error "decode: missing" "no such file" $BIN/vae-gen decode --latents "$T/none.npy"

# Class priors: fitted into a short run's checkpoint from the fixture's labelled digits; --digit
# then draws the same bytes every time, and different ones for different digits.
mkdir -p "$T/lab"; cp "$T/data/"*.gz "$T/lab/"; cp $FIX/mnist-train-labels-first512.idx1.gz "$T/lab/train-labels-idx1-ubyte.gz"
o=$($BIN/vae-train fit-priors --checkpoint "$T/run/latest.vaeckpt" --data "$T/lab" --out "$T/prio.vaeckpt" 2>&1)
[ $? -eq 0 ] && grep -q "full Gaussians for 10 digits from 512" <<<"$o" && ok || bad "fit-priors: $o"
a=$($BIN/vae-gen --checkpoint "$T/prio.vaeckpt" --digit 7 --seed 42 -n 16 --out "$T/d7" | grep ^sha256)
b=$($BIN/vae-gen --checkpoint "$T/prio.vaeckpt" --digit 7 --seed 42 -n 16 --out "$T/d7b" | grep ^sha256)
c=$($BIN/vae-gen --checkpoint "$T/prio.vaeckpt" --digit 1 --seed 42 -n 16 --out "$T/d1" | grep ^sha256)
[ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" != "$c" ] && [ -s "$T/d7/grid.png" ] && ok || bad "vae-gen --digit: $a / $b / $c"
[ "$($BIN/vae-gen --checkpoint "$T/prio.vaeckpt" -n 16 --out "$T/u" | grep ^sha256)" = "$($BIN/vae-gen --checkpoint "$T/run/latest.vaeckpt" -n 16 --out "$T/u2" | grep ^sha256)" ] && ok || bad "fit-priors changed the decoder"
expect_error "fit-priors without labels" "train-labels-idx1-ubyte" $BIN/vae-train fit-priors --checkpoint "$T/run/latest.vaeckpt" --data "$T/data" --out "$T/x.vaeckpt"
expect_error "--digit without priors" "vae-train fit-priors" $BIN/vae-gen --checkpoint "$T/run/latest.vaeckpt" --digit 3 -n 4 --out "$T/x"
expect_error "--digit 10" "--digit must be between 0 and 9" $BIN/vae-gen --checkpoint "$T/prio.vaeckpt" --digit 10
# The class priors in an exported decoder image (docs/checkpoint-format.md 2.2): the same digits
# as from the checkpoint, in float32 and int8; diagonal ones differ; an image without says how.
$BIN/vae-gen export-decoder --checkpoint "$T/prio.vaeckpt" --priors fitted --out "$T/prio.vaed" > /dev/null &&
  [ "$($BIN/vae-gen --decoder-image "$T/prio.vaed" --digit 7 --seed 42 -n 16 --out "$T/d7i" | grep ^sha256)" = "$a" ] && ok || bad "--digit from an image with priors differs from the checkpoint's"
$BIN/vae-gen export-decoder --checkpoint "$T/prio.vaeckpt" --priors diagonal --out "$T/diag.vaed" > /dev/null &&
  dg=$($BIN/vae-gen --decoder-image "$T/diag.vaed" --digit 7 --seed 42 -n 16 --out "$T/d7d" | grep ^sha256) &&
  [ -n "$dg" ] && [ "$dg" != "$a" ] && ok || bad "--priors diagonal: $dg"
s8=$($BIN/vae-gen --digit 3 --seed 5 -n 8 --precision int8 --out "$T/c8" | grep ^sha256)
$BIN/vae-gen export-decoder --precision int8 --priors fitted --out "$T/prio8.vaed" > /dev/null &&
  [ -n "$s8" ] && [ "$($BIN/vae-gen --decoder-image "$T/prio8.vaed" --digit 3 --seed 5 -n 8 --out "$T/c8i" | grep ^sha256)" = "$s8" ] && ok || bad "int8 --digit from the image differs from the checkpoint's"
expect_error "--digit with a decoder image without priors" "export-decoder --priors fitted" $BIN/vae-gen --decoder-image "$T/d.vaed" --digit 3
expect_error "export-decoder --priors from a checkpoint without them" "vae-train fit-priors" $BIN/vae-gen export-decoder --checkpoint "$T/run/latest.vaeckpt" --priors fitted --out "$T/np.vaed"
expect_error "export-decoder --priors bogus" "--priors" $BIN/vae-gen export-decoder --priors bogus --out "$T/np.vaed"

echo "cli-tests: $pass passed, $fail failed"
[ $fail -eq 0 ]
