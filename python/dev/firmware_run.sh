#!/usr/bin/env bash
# Dev: a checkpoint's float32 decoder (e.g. one vaebridge converted from PyTorch) on the emulated
# Cortex-M4F, its 16 digits of seed 42 checked byte for byte against vae-gen's. firmware-sim/run.sh
# does the building and the checks; this makes the goldens it compares with from vae-gen.
#
#   python/dev/firmware_run.sh CHECKPOINT [VAE_GEN]      (default VAE_GEN: .build/release/vae-gen)
#
# run.sh's instruction budget (INSN_BUDGET, 3,000,000 per image) is the shipped decoder's; for
# another stack pass INSN_BUDGET=0 to count without a budget (python/README.md has the counts).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CK="$(realpath "$1")"
GEN="$(realpath "${2:-$ROOT/.build/release/vae-gen}")"
G="$(mktemp -d)"
trap 'rm -rf "$G"' EXIT
"$GEN" --checkpoint "$CK" --seed 42 -n 16 --each pgm --out "$G/gen" >/dev/null
python3 - "$G" <<'PY'
import hashlib, os, sys
g = sys.argv[1]
px = []
for i in range(16):
    b = open(os.path.join(g, 'gen', 'digit-42-%06d.pgm' % i), 'rb').read()
    px.append(b[-784:])          # P5 28 28 255, then the 784 pixels
with open(os.path.join(g, 'digests.txt'), 'w') as f:
    for i, p in enumerate(px):
        f.write('seed 42 image %d sha256 %s\n' % (i, hashlib.sha256(p).hexdigest()))
open(os.path.join(g, 'runtime-u8-seed42.bin'), 'wb').write(b''.join(px))
PY
cd "$ROOT"
CHECKPOINT="$CK" GOLDENS="$G" VARIANTS=float32 firmware-sim/run.sh
