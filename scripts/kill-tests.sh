#!/usr/bin/env bash
# SIGKILL during training, as a power cut or the OOM killer would do it: vae-train is killed
# (kill -9, no chance to clean up) at random moments, many of them while a checkpoint is being
# written, and resumed each time from OUT/latest.vaeckpt. After every kill both checkpoints must
# read whole (every section's CRC, through `vae-train plot`, which reads all of a checkpoint);
# at the end the killed-and-resumed run must equal an uninterrupted one bit for bit (the digits
# of latest.vaeckpt and best.vaeckpt, and history.csv without its seconds column), and no
# temporary file may be left behind.
#   scripts/kill-tests.sh                  16 kills, 30 epochs (the suite; about a minute)
#   KILLS=200 scripts/kill-tests.sh        a longer run (docs/reliability.md)
# Needs release builds of vae-train and vae-gen (BIN=.build/release unless told).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release}
KILLS=${KILLS:-16}
EPOCHS=${EPOCHS:-30}
SEED=${SEED:-1}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
FIX=Tests/TrainerTests/Fixtures
pass=0; fail=0
ok()  { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*"; }
RANDOM=$SEED

mkdir -p "$T/data"
cp $FIX/mnist-train-first512.idx3.gz "$T/data/train-images-idx3-ubyte.gz"
cp $FIX/mnist-test-first256.idx3.gz "$T/data/t10k-images-idx3-ubyte.gz"
# Small epochs (one batch), so that the files written at the end of each are a large part of
# the time and many kills land inside a write.
common=(--data "$T/data" --epochs "$EPOCHS" --quiet --threads 2 --train-limit 128 --val-limit 32)

digits() { $BIN/vae-gen --checkpoint "$1" -n 64 --out "$T/g" 2>&1 | grep ^sha256; }
readable() { $BIN/vae-train plot --checkpoint "$1" --data "$T/data" --out "$T/p.png" > "$T/plot.log" 2>&1; }

# The uninterrupted run.
t0=$SECONDS
$BIN/vae-train "${common[@]}" --out "$T/ref" > "$T/ref.log" 2>&1 || { bad "reference run: $(cat "$T/ref.log")"; echo "kill-tests: $pass passed, $fail failed"; exit 1; }
ref_seconds=$((SECONDS - t0))
# Kill delays spread over about two epochs of the reference run, so that every phase of an
# epoch (training, validation, each file written at its end) is hit.
span_ms=$(( (ref_seconds * 1000 + 500) * 2 / EPOCHS + 200 ))

kills=0 midwrite=0 starts=0 unreadable=0 finished=0 stale=0
while [ $kills -lt "$KILLS" ]; do
  args=("${common[@]}" --out "$T/run")
  [ -f "$T/run/latest.vaeckpt" ] && args+=(--resume "$T/run/latest.vaeckpt")
  $BIN/vae-train "${args[@]}" > "$T/run.log" 2>&1 &
  pid=$!; starts=$((starts + 1))
  if [ $((starts % 2)) = 0 ]; then
    # Every other start: killed the moment a checkpoint's temporary appears, i.e. inside the
    # write of latest.vaeckpt or best.vaeckpt (before its rename).
    delay_ms=write; t_end=$((SECONDS + 20))
    until compgen -G "$T/run/.*.vaeckpt.tmp-$pid" > /dev/null || ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -gt $t_end ]; do :; done
  else
    delay_ms=$(( 30 + RANDOM % span_ms ))
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  fi
  if ! kill -9 "$pid" 2>/dev/null; then
    wait "$pid"; rc=$?
    # It ended first: the run is done (or it refused: then that is the failure).
    if [ $rc -eq 0 ] || grep -q "has already done" "$T/run.log"; then finished=1; break; fi
    bad "vae-train exited $rc by itself: $(cat "$T/run.log")"; break
  fi
  wait "$pid" 2>/dev/null
  kills=$((kills + 1))
  # A temporary of the killed process: the kill came while a file was being written.
  if compgen -G "$T/run/.*.tmp-$pid" > /dev/null; then midwrite=$((midwrite + 1)); fi
  stale=$((stale + $(ls -A "$T/run" | grep -c '\.tmp-' || true)))
  for f in latest best; do
    if [ -f "$T/run/$f.vaeckpt" ] && ! readable "$T/run/$f.vaeckpt"; then
      unreadable=$((unreadable + 1)); bad "after kill $kills (pid $pid, ${delay_ms} ms): $f.vaeckpt does not read: $(cat "$T/plot.log")"
    fi
  done
done
[ $unreadable -eq 0 ] && ok

# Finish the run without kills.
if [ $finished -eq 0 ]; then
  args=("${common[@]}" --out "$T/run")
  [ -f "$T/run/latest.vaeckpt" ] && args+=(--resume "$T/run/latest.vaeckpt")
  out=$($BIN/vae-train "${args[@]}" 2>&1) || grep -q "has already done" <<<"$out" || bad "final resume: $out"
fi
for f in latest best; do
  a=$(digits "$T/ref/$f.vaeckpt"); b=$(digits "$T/run/$f.vaeckpt")
  [ -n "$a" ] && [ "$a" = "$b" ] && ok || bad "$f.vaeckpt after $kills kills differs from the uninterrupted run's: $a / $b"
done
cut -d, -f1,3- "$T/ref/history.csv" > "$T/h1"; cut -d, -f1,3- "$T/run/history.csv" > "$T/h2"
cmp -s "$T/h1" "$T/h2" && ok || bad "history.csv (without seconds) differs: $(diff "$T/h1" "$T/h2" | head -5)"
left=$(ls -A "$T/run" | grep '\.tmp-' || true)
[ -z "$left" ] && ok || bad "temporary files left after the final run: $left"

echo "kill-tests: $kills kills in $starts starts ($midwrite inside a file's write, leaving its temporary; temporaries seen after kills: $stale in all, none left at the end), $EPOCHS epochs; reference run ${ref_seconds} s"
echo "kill-tests: $pass passed, $fail failed"
[ $fail -eq 0 ]
