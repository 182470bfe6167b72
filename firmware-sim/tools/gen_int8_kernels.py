"""The int8 half of gen_kernels.py: generates Sources/VAEDecoder/ConvTransposeInt8Fast.swift, the
register-blocked int8 kernel that Cortex-M builds run (the method is in the header comment of the
generated file). gen_kernels.py writes and checks both generated files.

SHAPES are the (kernel, input side) pairs of the shipped decoder. PASS is how many taps of a
kernel row one sweep along the input row applies, per kernel size: that many weight words stay
in registers beside the sums in flight (about PASS + 1) and two input words, within the M4's 14
general registers. Kernel 7 in one sweep spilled (2.57 M instructions per image against 2.18 M
in sweeps of 4 and 3); in sweeps of 3 it took 2.22 M (more loads and stores of the sums); kernel
5 in sweeps of 4 and 1 does not fit the 48 KiB flash. A row shorter than the kernel (the first layer's) is
swept the other way: its words stay and the weights stream. Measured with
`PROFILE=1 bash firmware-sim/run.sh` and tools/profile.py.
"""
import os

SHAPES = [(9, 2), (7, 10), (5, 16), (5, 20), (3, 24), (3, 26)]
PASS = {3: 3, 5: 5, 7: 4}

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Sources", "VAEDecoder",
                   "ConvTransposeInt8Fast.swift")


def name(k, side):
    return "int8PairRow_k%d_s%d" % (k, side)


def passes(k):
    p = PASS[k]
    return [list(range(t, min(t + p, k))) for t in range(0, k, p)]


def sweep(L, side, taps, ind, stream=None):
    """One sweep along an input row for the kernel-row taps `taps`: input word j (channels
    2p, 2p + 1 at column j) times weight word W[kx] into sum j + kx. A sum is read when it is
    first reached and written when it is last, two neighbours together (LDRD, STRD).
    `stream` swaps the roles for rows shorter than the kernel: the `side` input words are the
    taps, held in registers, and the weight words (built by stream(j)) are swept, each used
    `side` times as soon as it is made."""
    t0, t1 = taps[0], taps[-1]
    lo, hi = t0, side - 1 + t1          # the sums this sweep reaches

    def last(o):
        return min(side - 1, o - t0)

    loaded, stored = set(), set()
    tag = "s%d_" % t0
    for j in range(side):
        if stream:
            L.append(ind + stream(j))
        elif j % 2 == 0:
            L.append(ind + "; ".join("let x%d = xr.load(fromByteOffset: %d, as: UInt32.self)" % (i, 4 * i)
                                     for i in range(j, min(j + 2, side))))
        for kx in taps:
            o = j + kx
            if o not in loaded:
                grp = [g for g in (o & ~1, o | 1) if lo <= g <= hi and g not in loaded]
                L.append(ind + "; ".join("var %s%d = out[%d]" % (tag, g, g) for g in grp))
                loaded.update(grp)
            if stream:
                L.append(ind + "{0}{1} = dualMultiplyAdd(x{3}, W{2}, {0}{1})".format(tag, o, j, kx))
            else:
                L.append(ind + "{0}{1} = dualMultiplyAdd(x{2}, W{3}, {0}{1})".format(tag, o, j, kx))
        done = [o for o in range(lo, hi + 1) if o in loaded and o not in stored and last(o) <= j]
        for o in done:
            if o in stored:
                continue
            partner = o ^ 1
            if lo <= partner <= hi and partner not in stored and last(partner) > j:
                continue            # written with its neighbour, after the neighbour's last use
            grp = sorted(g for g in (o, partner) if lo <= g <= hi and g not in stored and last(g) <= j)
            L.append(ind + "; ".join("out[%d] = %s%d" % (g, tag, g) for g in grp))
            stored.update(grp)
    assert stored == set(range(lo, hi + 1)), (taps, side)


def row_fn(k, side):
    os_ = side + k - 1
    L = []
    L.append("/// One output row of kernel %d over input rows of side %d (%d sums)." % (k, side, os_))
    L.append("@inline(never)")
    L.append("func %s(_ x: UnsafeRawPointer, _ w: UnsafePointer<Int8>, _ inC: Int, _ outC: Int, _ oc: Int, _ oy: Int," % name(k, side))
    L.append("    _ bias: Int32, _ out: UnsafeMutablePointer<Int32>, _ odd: UnsafeMutablePointer<UInt32>) {")
    L.append("    let iyLo = oy >= %d ? oy &- %d : 0, iyHi = oy < %d ? oy : %d" % (k, k - 1, side, side - 1))
    L.append("    var o = 0")
    L.append("    while o < %d { out[o] = bias; o &+= 1 }" % os_)
    L.append("    // Channel c's kernel row ky for output channel oc: w + (c outC + oc) k k + ky k.")
    L.append("    let cs = outC &* %d, full = inC &>> 1" % (k * k))
    L.append("    var wc = w + (oc &* %d &+ (oy &- iyLo) &* %d)" % (k * k, k))
    L.append("    var xc = x + iyLo &* %d" % (4 * side))
    L.append("    var p = 0")
    L.append("    while p < (inC &+ 1) &>> 1 {")
    L.append("        // An odd last channel pairs with itself, two input rows at once: words (x[iy], x[iy + 1])")
    L.append("        // and weights (w[ky], w[ky - 1]), or (x[iy], 0) for a last single row.")
    L.append("        let paired = p < full")
    L.append("        var wr = wc, xp = xc, iy = iyLo")
    L.append("        while iy <= iyHi {")
    L.append("            // A store the sums may alias, on every row: without it LLVM carries the sums from")
    L.append("            // one input row to the next in registers, which it has too few of (it spilled them).")
    L.append("            odd[Capacity.maxSide &- 1] = UInt32(truncatingIfNeeded: iy)")
    L.append("            let two = !paired && iy < iyHi, w1 = paired ? cs : (two ? -%d : 0)" % k)
    L.append("            let xr = paired ? UnsafeRawPointer(xp) : int8WidenRows(x + (full &* %d &+ iy &* %d), two, %d, odd)" % (4 * side * side, 2 * side, side))
    if side < k:   # the row is the short operand: its words stay, the weights stream
        L.append("            " + "; ".join("let x%d = xr.load(fromByteOffset: %d, as: UInt32.self)" % (i, 4 * i) for i in range(side)))
        L.append("            do {")
        sweep(L, k, list(range(side)), "                ",
              stream=lambda kx: "let W%d = int8WeightPair(wr[%d], wr[w1 &+ %d])" % (kx, kx, kx))
        L.append("            }")
    for n, taps in enumerate(passes(k) if side >= k else []):
        if n:
            L.append("            odd[Capacity.maxSide &- 1] = 0   // (the same, between sweeps)")
        L.append("            do {")
        L.append("                " + "; ".join("let W%d = int8WeightPair(wr[%d], wr[w1 &+ %d])" % (kx, kx, kx) for kx in taps))
        sweep(L, side, taps, "                ")
        L.append("            }")
    L.append("            let rows = two ? 2 : 1")
    L.append("            wr -= %d &* rows; xp += %d; iy &+= rows" % (k, 4 * side))
    L.append("        }")
    L.append("        wc += 2 &* cs; xc += %d; p &+= 1" % (4 * side * side))
    L.append("    }")
    L.append("}")
    return "\n".join(L)


def generate():
    fns = [row_fn(k, side) for (k, side) in SHAPES]
    cases = ["    case (%d, %d): %s(x, w, inC, outC, oc, oy, bias, sums, odd)" % (k, side, name(k, side)) for (k, side) in SHAPES]
    head = '''// Generated by firmware-sim/tools/gen_int8_kernels.py (through gen_kernels.py); do not edit.
//
// The register-blocked int8 kernel for targets without the host vector kernels (Cortex-M), for
// int16 activations (docs/quantisation.md section 4; integer sums are exact, so the order is
// free). The blocked path stores every hidden activation as channel pairs: word (x[2p], x[2p + 1])
// of each position, plane p = 0 ..< C / 2 of [row][column] words, then an odd last channel as an
// int16 plane (KernelPath.int8Blocked, Int8PairLayout). One call sums one output row of one
// output channel: the row's sums start at the bias in `sums`, and for each channel pair and each
// input row that reaches the output row, the kernel row's weights become k words
// (w[2p][kx], w[2p + 1][kx]) and each input word meets them in one dual multiply-add (SMLAD):
//     sums[j + kx] += x[2p][j] w[2p][kx] + x[2p + 1][j] w[2p + 1][kx],
// in sweeps of at most PASS taps along the input row (see the generator), every sum read and
// written once per sweep, two neighbours at a time. No tap is half used and none falls outside
// the row, so there are exactly (inC + 1) / 2 side k multiply-adds per input row.
//
// Shapes (kernel, input side): %s.
// A decoder with any other layer runs the reference kernel.

/// The layer's sums for output channel `oc`, row `oy`, into sums[0 ..< outSide]; `odd` holds
/// Capacity.maxSide words (a shape without a kernel, which int8FastShape rules out first,
/// writes nothing).
@inline(never)
func int8FastRow(_ k: Int, _ side: Int, _ x: UnsafeRawPointer, _ w: UnsafePointer<Int8>, _ inC: Int, _ outC: Int,
                 _ oc: Int, _ oy: Int, _ bias: Int32, _ sums: UnsafeMutablePointer<Int32>, _ odd: UnsafeMutablePointer<UInt32>) {
    switch (k, side) {
''' % ", ".join("(%d, %d)" % s for s in SHAPES)
    tail = '''    default: break
    }
}

/// Whether int8FastRow has the shape.
func int8FastShape(_ k: Int, _ side: Int) -> Bool {
    switch (k, side) {
    case %s: return true
    default: return false
    }
}

''' % ", ".join("(%d, %d)" % s for s in SHAPES)
    return head + "\n".join(cases) + "\n" + tail + "\n\n".join(fns) + "\n"
