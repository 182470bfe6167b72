#!/usr/bin/env python3
"""Instructions per function from a profiled firmware-sim run, for tuning the target kernels.

    PROFILE=1 VARIANTS=int8-m4 bash firmware-sim/run.sh
    python3 firmware-sim/tools/profile.py firmware-sim/build/int8-m4

Reads NAME/insn.log ("tb ADDR INSNS EXECS" lines, tools/insncount.c with profile=1) and the
ELF's symbols (llvm-nm from the Swift toolchain), and prints each function's share of the whole
run (all 16 images and the checks, not one decode).
"""
import bisect
import os
import subprocess
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    d = sys.argv[1]
    tb = os.path.dirname(subprocess.run(["bash", "-c", "command -v swiftc || echo /opt/swift/usr/bin/swiftc"],
                                        capture_output=True, text=True).stdout.strip())
    nm = subprocess.run([os.path.join(tb, "llvm-nm"), "-n", os.path.join(d, "fw.elf")], capture_output=True, text=True,
                        check=True).stdout
    syms = []
    for line in nm.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tTwW":
            syms.append((int(parts[0], 16) & ~1, parts[2]))
    syms.sort()
    addrs = [a for a, _ in syms]
    per = {}
    total = 0
    for line in open(os.path.join(d, "insn.log")):
        if not line.startswith("tb "):
            continue
        _, addr, n, execs = line.split()
        cost = int(n) * int(execs)
        i = bisect.bisect_right(addrs, int(addr, 16)) - 1
        name = syms[i][1] if i >= 0 else "?"
        per[name] = per.get(name, 0) + cost
        total += cost
    if total == 0:
        sys.exit("profile.py: no 'tb' lines in %s/insn.log: run with PROFILE=1" % d)
    demangle = os.path.join(tb, "swift-demangle")
    names = sorted(per, key=per.get, reverse=True)[:25]
    shown = subprocess.run([demangle, "--simplified"], input="\n".join(names), capture_output=True, text=True).stdout.splitlines()
    for name, pretty in zip(names, shown):
        print("%12d %5.1f%%  %s" % (per[name], 100.0 * per[name] / total, pretty[:100]))
    print("%12d        total" % total)


if __name__ == "__main__":
    main()
