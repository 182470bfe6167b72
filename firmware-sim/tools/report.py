#!/usr/bin/env python3
"""Reads what run.sh collected for one firmware variant (section sizes, symbols, the
semihosting output, the instruction-count log), prints the size and speed table, compares the
bytes with the goldens, and exits non-zero if anything is off."""
import argparse
import re
import sys

ap = argparse.ArgumentParser()
for a in ("name", "elf_sections", "symbols", "out", "insn", "golden_bin", "core", "precision"):
    ap.add_argument("--" + a.replace("_", "-"), required=True)
for a in ("count", "flash_kib", "ram_kib", "macs", "insn_budget", "qemu_status"):
    ap.add_argument("--" + a.replace("_", "-"), type=int, required=True)
a = ap.parse_args()
problems = []

sec = {}
for line in open(a.elf_sections):
    f = line.split()
    if len(f) >= 4 and f[0].isdigit():
        sec[f[1]] = int(f[2], 16)
sym = {}
for line in open(a.symbols):
    f = line.split()
    if len(f) == 4:
        sym[f[3]] = int(f[1], 16)

image = sym.get("vae_image", 0)
text, rodata = sec.get(".text", 0), sec.get(".rodata", 0)
other_flash = sec.get(".got", 0) + sec.get(".ARM.exidx", 0)
data, bss, stack = sec.get(".data", 0), sec.get(".bss", 0), sec.get(".stack", 0)
flash = text + rodata + other_flash + data
ram = data + bss + stack
arena = sym.get("arena", 0)

out = open(a.out, errors="replace").read().splitlines()
peak = None
for l in out:
    m = re.match(r"fw: stack peak (\d+) of (\d+)", l)
    if m:
        peak = int(m.group(1))
px = {}
for l in out:
    f = l.split()
    if len(f) == 3 and f[0] == "px":
        px[int(f[1])] = bytes.fromhex(f[2])
golden = open(a.golden_bin, "rb").read()
n_px = len(golden) // a.count if a.count else 0
diff_pixels, max_diff, images_equal = 0, 0, 0
for i in range(a.count):
    g = golden[i * n_px:(i + 1) * n_px]
    b = px.get(i)
    if b is None or len(b) != len(g):
        problems.append("image %d: bytes missing from the firmware output" % i)
        continue
    d = [abs(x - y) for x, y in zip(b, g)]
    diff_pixels += sum(1 for x in d if x)
    max_diff = max([max_diff] + d)
    images_equal += b == g
if diff_pixels:
    problems.append("%d pixels differ from %s (max |difference| %d levels)" % (diff_pixels, a.golden_bin, max_diff))

marks = []
total = None
for l in open(a.insn, errors="replace"):
    f = l.split()
    if len(f) == 3 and f[0] == "mark":
        marks.append(int(f[2]))
    elif len(f) == 2 and f[0] == "total":
        total = int(f[1])
lat, dec = [], []
for i in range(0, len(marks) - 2, 3):
    lat.append(marks[i + 1] - marks[i])
    dec.append(marks[i + 2] - marks[i + 1])
if len(dec) != a.count:
    problems.append("instruction marks: expected %d images, got %d" % (a.count, len(dec)))

if a.qemu_status != 0:
    problems.append("qemu exit status %d (0 = every digest golden; 1 = a digest differs; 2 = a bad-image "
                    "check failed; 10+code = init failed; 99 = fault)" % a.qemu_status)
if not any(l.strip() == "fw: PASS" for l in out):
    problems.append("the firmware did not report PASS")
if flash > a.flash_kib * 1024:
    problems.append("flash %d > %d KiB" % (flash, a.flash_kib))
if ram > a.ram_kib * 1024:
    problems.append("RAM %d > %d KiB" % (ram, a.ram_kib))
if peak is None or peak >= stack:
    problems.append("stack peak %s not below the %d-byte reservation" % (peak, stack))
if dec and a.insn_budget > 0 and max(dec) > a.insn_budget:
    problems.append("decode takes %d instructions per image > budget %d" % (max(dec), a.insn_budget))

K = lambda b: "%.1f KiB" % (b / 1024.0)
print("")
CORES = {"m4": "qemu mps2-an386, Cortex-M4F", "m0": "qemu microbit, Cortex-M0: no FPU, no DSP instructions"}
print("### firmware-sim `%s` (%s, %s decoder)" % (a.name, CORES.get(a.core, a.core), a.precision))
print("")
print("| region | bytes | | budget |")
print("|---|---:|---:|---:|")
print("| flash: decoder image (`.rodata`) | %d | %s | |" % (image, K(image)))
print("| flash: code (`.text`) | %d | %s | |" % (text, K(text)))
print("| flash: other constants (`.rodata`, `.got`, `.data` load image) | %d | %s | |"
      % (rodata - image + other_flash + data, K(rodata - image + other_flash + data)))
print("| **flash total** | **%d** | **%s** | %d KiB |" % (flash, K(flash), a.flash_kib))
print("| RAM: `.data` | %d | %s | |" % (data, K(data)))
print("| RAM: `.bss` (arena %d, state, latent, pixels, line buffer) | %d | %s | |" % (arena, bss, K(bss)))
print("| RAM: stack reserved (peak measured by painting: %s) | %d | %s | |" % (peak, stack, K(stack)))
print("| **RAM total** (data + bss + stack) | **%d** | **%s** | %d KiB |" % (ram, K(ram), a.ram_kib))
print("")
if dec:
    print("| instructions per image (exact, TCG plugin) | min | max |")
    print("|---|---:|---:|")
    print("| decode: latent -> 784 pixels (`vae_decoder_decode`) | %d | %d |" % (min(dec), max(dec)))
    print("| latent: `vae_latent` (64 normals) | %d | %d |" % (min(lat), max(lat)))
    print("| per multiply-add (%d MACs), decode | %.3f | %.3f |" % (a.macs, min(dec) / a.macs, max(dec) / a.macs))
    print("")
    print("instructions: decode %d per image (%s); whole run %s"
          % (max(dec), "budget %d" % a.insn_budget if a.insn_budget > 0 else "counted, no budget", total))
print("bits: %d/%d images byte-identical to %s (%d pixels differ, max |difference| %d)"
      % (images_equal, a.count, a.golden_bin, diff_pixels, max_diff))
if problems:
    for p in problems:
        print("firmware-sim: FAIL: %s: %s" % (a.name, p), file=sys.stderr)
    sys.exit(1)
print("firmware-sim: %s OK" % a.name)
