#!/usr/bin/env bash
# Dev: a checkpoint's decoders (e.g. one vaebridge converted from PyTorch) on the emulated
# Cortex-M4F, their 16 digits of seed 42 checked byte for byte against vae-gen's.
# firmware-sim/run.sh does the building and the checks; this makes the goldens it compares with
# from vae-gen: float32 always, int8 when the checkpoint has a DEC8 section (vae-train quantise).
#
#   python/dev/firmware_run.sh CHECKPOINT [VAE_GEN]      (default VAE_GEN: .build/release/vae-gen)
#
# run.sh's instruction budgets (INSN_BUDGET, INSN_BUDGET_INT8) are the shipped decoder's; for
# another stack pass 0 to count without a budget (python/README.md has the counts).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CK="$(realpath "$1")"
GEN="$(realpath "${2:-$ROOT/.build/release/vae-gen}")"
G="$(mktemp -d)"
trap 'rm -rf "$G"' EXIT
variants=float32
"$GEN" --checkpoint "$CK" --seed 42 -n 16 --each pgm --out "$G/float32" >/dev/null
if "$GEN" --checkpoint "$CK" --precision int8 --seed 42 -n 16 --each pgm --out "$G/int8" >/dev/null 2>&1; then
  variants="float32 int8-m4"
fi
python3 - "$G" <<'PY'
import hashlib, os, sys
g = sys.argv[1]
# run.sh's golden file names: float32 from the runtime, int8 from the trainer's reference (the
# runtime's int8 digits equal it bit for bit; the suite's goldens hold them to it).
for sub, digests, binary in (('float32', 'digests.txt', 'runtime-u8-seed42.bin'), ('int8', 'digests-int8.txt', 'trainer-int8-seed42.bin')):
    if not os.path.isdir(os.path.join(g, sub)):
        continue
    px = [open(os.path.join(g, sub, 'digit-42-%06d.pgm' % i), 'rb').read()[-784:] for i in range(16)]  # after the P5 header
    with open(os.path.join(g, digests), 'w') as f:
        for i, p in enumerate(px):
            f.write('seed 42 image %d sha256 %s\n' % (i, hashlib.sha256(p).hexdigest()))
    open(os.path.join(g, binary), 'wb').write(b''.join(px))
PY
cd "$ROOT"
CHECKPOINT="$CK" GOLDENS="$G" VARIANTS="$variants" firmware-sim/run.sh
