#!/usr/bin/env bash
# Installs what building and testing need, only when it is missing (idempotent; Debian/Ubuntu).
#   scripts/setup.sh              zlib headers (for the trainer, vae-gen and the tests)
#   scripts/setup.sh --firmware   also qemu-system-arm, qemu-user (the portability checks) and
#                                 gcc-arm-none-eabi (libgcc's soft float for the Cortex-M0), the
#                                 aarch64 cross libc (the arm64 check under qemu-aarch64); the
#                                 Swift toolchain's clang and ld.lld do the rest
#   scripts/setup.sh --web        also node (Debian's nodejs) and chromium (headless, for the
#                                 page's browser test, wasm/run.sh); flags may be combined
# and numpy for python/vaebridge (and its shim scripts/vaeckpt.py), the Python implementation of the checkpoint format that the suite tests.
set -euo pipefail
need=()
[ -f /usr/include/zlib.h ] || need+=(zlib1g-dev)
command -v python3 >/dev/null || need+=(python3)
firmware=0 web=0
for a in "$@"; do
  case "$a" in
    --firmware) firmware=1 ;;
    --web) web=1 ;;
    *) echo "setup: unknown option $a (--firmware, --web)" >&2; exit 2 ;;
  esac
done
if [ $web = 1 ]; then
  command -v node >/dev/null || need+=(nodejs)
  command -v chromium >/dev/null || need+=(chromium)
fi
if [ $firmware = 1 ]; then
  command -v qemu-system-arm >/dev/null || need+=(qemu-system-arm)
  command -v qemu-x86_64 >/dev/null || need+=(qemu-user)
  command -v arm-none-eabi-gcc >/dev/null || need+=(gcc-arm-none-eabi)
  [ "$(uname -m)" != x86_64 ] || [ -f /usr/aarch64-linux-gnu/lib/libc.a ] || need+=(libc6-dev-arm64-cross libgcc-12-dev-arm64-cross)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# numpy from PyPI; where pip may not install (a system Python that is externally managed, or
# none), Debian's python3-numpy.
if ! python3 -c 'import numpy' 2>/dev/null; then
  echo "setup: installing numpy (pip)" >&2
  if ! python3 -m pip install -q numpy; then
    echo "setup: pip could not install numpy; installing Debian's python3-numpy" >&2
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-numpy >/dev/null
  fi
  python3 -c 'import numpy' || { echo "setup: numpy is still not importable by python3; install it (pip install numpy) and rerun" >&2; exit 1; }
fi
command -v swift >/dev/null || { echo "setup: the Swift toolchain (swift 6.x) is not on PATH" >&2; exit 1; }
