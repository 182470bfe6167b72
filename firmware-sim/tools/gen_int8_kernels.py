"""The int8 half of gen_kernels.py: generates Sources/VAEDecoder/ConvTransposeInt8Fast.swift, the
register-blocked int8 kernel that Cortex-M builds run (the method is in the header comment of the
generated file). gen_kernels.py writes and checks both generated files.

SHAPES are the (kernel, input side) pairs of the shipped decoder; CHUNK is how many outputs of a
row one call sums at once, per kernel size. The M4 has 14 general registers, so a whole row
spills some accumulators, yet whole rows counted fewest instructions (2.79 M per image, against
3.27 M with chunks that fit the registers: 5 to 7 outputs rebuild the weight words once per
chunk and row, which costs more than the spills) and the least flash. Measured with
`PROFILE=1 bash firmware-sim/run.sh` and tools/profile.py.
"""
import os

SHAPES = [(9, 2), (7, 10), (5, 16), (5, 20), (3, 24), (3, 26)]
CHUNK = {3: 28, 5: 24, 7: 16, 9: 10}

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Sources", "VAEDecoder",
                   "ConvTransposeInt8Fast.swift")


def weight_plan(k):
    """How the k weights of a kernel row become registers. Returns (lines, pairs, singles):
    pairs[g] = name of the word (lo w[g], hi w[g + 2]); singles[g] = (name, half) for a tap
    with no partner, half 'lo', 'hi' or 'full' (an already sign-extended int). Every byte read
    lies in w[-1] ... w[k - 1] (w[-1] is inside the image: no tensor starts at its offset 0)."""
    if k == 3:   # u = (w[-1], w0, w1, w2)
        return (["let u = UnsafeRawPointer(wr - 1).loadUnaligned(as: UInt32.self)",
                 "let y0 = int8Pairs(odd: u), yS = int8Pairs(even: u)"],
                {0: "y0"}, {1: ("yS", "hi")})
    if k == 5:   # u = (w0 ... w3), w4 alone
        return (["let u = UnsafeRawPointer(wr).loadUnaligned(as: UInt32.self)",
                 "let y0 = int8Pairs(even: u), y1 = int8Pairs(odd: u), w4 = Int32(wr[4])"],
                {0: "y0", 1: "y1"}, {4: ("w4", "full")})
    if k == 7:   # u = (w0 ... w3), v = (w3 ... w6)
        return (["let u = UnsafeRawPointer(wr).loadUnaligned(as: UInt32.self)",
                 "let v = UnsafeRawPointer(wr + 3).loadUnaligned(as: UInt32.self)",
                 "let y0 = int8Pairs(even: u), y1 = int8Pairs(odd: u), y4 = int8Pairs(odd: v), y35 = int8Pairs(even: v)"],
                {0: "y0", 1: "y1", 4: "y4"}, {5: ("y35", "hi")})
    if k == 9:   # u = (w0 ... w3), v = (w4 ... w7), w8 alone
        return (["let u = UnsafeRawPointer(wr).loadUnaligned(as: UInt32.self)",
                 "let v = UnsafeRawPointer(wr + 4).loadUnaligned(as: UInt32.self)",
                 "let y0 = int8Pairs(even: u), y1 = int8Pairs(odd: u), y4 = int8Pairs(even: v), y5 = int8Pairs(odd: v)",
                 "let w8 = Int32(wr[8])"],
                {0: "y0", 1: "y1", 4: "y4", 5: "y5"}, {8: ("w8", "full")})
    raise ValueError("no weight plan for kernel %d" % k)


def half(expr, h):
    return {"lo": "lo16(%s)" % expr, "hi": "hi16(%s)" % expr, "full": expr}[h]


def chunks(os_, cmax):
    n = (os_ + cmax - 1) // cmax
    out, o = [], 0
    for i in range(n):
        c = os_ // n + (1 if i < os_ % n else 0)
        out.append((o, c))
        o += c
    return out


def name(k, side, o0, c):
    return "int8Chunk_k%d_s%d_o%d_c%d" % (k, side, o0, c)


def chunk_fn(k, side, o0, c):
    """Outputs o0 ..< o0 + c of one output row. x[j] is column j of an input row, stored
    de-interleaved: column j at element (j & 1) * side / 2 + j >> 1, so that (x[i], x[i + 2])
    is one 32-bit word."""
    wlines, pairs, singles = weight_plan(k)
    half_side = side // 2

    def elem(j):
        return (j & 1) * half_side + (j >> 1)

    words = {}       # i -> list of (output, Y name) for SMLADX
    xuses = []       # (output, j, weight expr) single products x[j] * weight
    for o in range(o0, o0 + c):
        for g, y in pairs.items():
            t1 = 0 <= o - g < side           # x[o - g] * w[g]       (w[g] = lo of y)
            t2 = 0 <= o - g - 2 < side       # x[o - g - 2] * w[g+2] (hi of y)
            if t1 and t2:
                words.setdefault(o - g - 2, []).append((o, y))
            elif t1:
                xuses.append((o, o - g, half(y, "lo")))
            elif t2:
                xuses.append((o, o - g - 2, half(y, "hi")))
        for g, (y, h) in singles.items():
            if 0 <= o - g < side:
                xuses.append((o, o - g, half(y, h)))
    L = []
    n = name(k, side, o0, c)
    L.append("/// Outputs %d ..< %d of one output row, kernel %d, input side %d." % (o0, o0 + c, k, side))
    L.append("@inline(never)")
    L.append("func %s(_ x: UnsafeRawPointer, _ w: UnsafePointer<Int8>, _ inC: Int, _ outC: Int, _ oc: Int, _ oy: Int," % n)
    L.append("    _ bias: Int32, _ out: UnsafeMutablePointer<Int32>) {")
    L.append("    let iyLo = oy >= %d ? oy &- %d : 0, iyHi = oy < %d ? oy : %d" % (k, k - 1, side, side - 1))
    L.append("    let rows = iyHi &- iyLo &+ 1")
    L.append("    " + "; ".join("var a%d = bias" % j for j in range(c)))
    L.append("    // w[ic][oc][oy - iy][.] and input row x[ic][iy] for ic = 0, iy = iyLo.")
    L.append("    var wc = w + (oc &* %d &+ (oy &- iyLo) &* %d)" % (k * k, k))
    L.append("    var xc = x + iyLo &* %d" % (2 * side))
    L.append("    let wStep = outC &* %d" % (k * k))
    L.append("    var ic = inC")
    L.append("    while ic > 0 {")
    L.append("        var wr = wc, xr = xc, n = rows")
    L.append("        while n > 0 {")
    for line in wlines:
        L.append("            " + line)
    # Each word is loaded just before its uses and is dead after them, so that the register
    # allocator needs one or two word registers, not all of them (loading all first spilled).
    singles_of = {}   # word -> [(output, expr)]: single products that read a half of it
    own = []          # single products that need their own halfword load
    for (o, j, wexpr) in xuses:
        if j in words:
            singles_of.setdefault(j, []).append((o, "lo16(p%d)" % j, wexpr))
        elif (j - 2) in words:
            singles_of.setdefault(j - 2, []).append((o, "hi16(p%d)" % (j - 2), wexpr))
        else:
            own.append((o, j, wexpr))
    for i in sorted(words):
        L.append("            let p%s = xr.loadUnaligned(fromByteOffset: %d, as: UInt32.self)" % (i, 2 * elem(i)))
        for (o, y) in words[i]:
            L.append("            a{0} = dualMultiplyAddCross(p{1}, {2}, a{0})".format(o - o0, i, y))
        for (o, xe, wexpr) in singles_of.get(i, []):
            L.append("            a{0} = a{0} &+ {1} &* {2}".format(o - o0, xe, wexpr))
    loaded_h = set()
    for (o, j, wexpr) in own:
        if j not in loaded_h:
            L.append("            let h%d = Int32(xr.load(fromByteOffset: %d, as: Int16.self))" % (j, 2 * elem(j)))
            loaded_h.add(j)
        L.append("            a{0} = a{0} &+ h{1} &* {2}".format(o - o0, j, wexpr))
    L.append("            wr -= %d; xr += %d; n &-= 1" % (k, 2 * side))
    L.append("        }")
    L.append("        wc += wStep; xc += %d; ic &-= 1" % (2 * side * side))
    L.append("    }")
    L.append("    " + "; ".join("out[%d] = a%d" % (j + o0, j) for j in range(c)))
    L.append("}")
    return "\n".join(L)


def generate():
    fns = []
    cases = []
    for (k, side) in SHAPES:
        os_ = side + k - 1
        calls = []
        for (o0, c) in chunks(os_, CHUNK[k]):
            fns.append(chunk_fn(k, side, o0, c))
            calls.append("%s(x, w, inC, outC, oc, oy, bias, sums)" % name(k, side, o0, c))
        cases.append("    case (%d, %d): %s" % (k, side, "; ".join(calls)))
    head = '''// Generated by firmware-sim/tools/gen_int8_kernels.py (through gen_kernels.py); do not edit.
//
// The register-blocked int8 kernel for targets without the host vector kernels (Cortex-M), for
// int16 activations (docs/quantisation.md section 4; integer sums are exact, so the order is
// free). For each output channel and output row, one call sums a chunk of consecutive outputs
// (a whole row: CHUNK in the generator says why) in locals, which the register allocator keeps in
// registers as far as they go: for ic, for each input row iy that reaches the output row, the
// kernel row's weights become (k + 1) / 2 words of two int16 (w[g], w[g + 2]) (two bytes two
// apart are what SXTB16 extracts from one 32-bit load), and each input word (x[i], x[i + 2])
// meets them in one dual multiply-add with exchange (SMLADX):
//     out[o] += x[o - g] w[g] + x[o - g - 2] w[g + 2],    i = o - g - 2.
// So that (x[i], x[i + 2]) is one load, the blocked path stores every hidden activation row
// de-interleaved: its even columns, then its odd ones (a side-2 row, the latent's, is the same
// either way). Taps whose partner falls outside the row are single 16 x 16 multiply-adds
// (SMLABB and its half-selecting forms, which LLVM picks from lo16/hi16); only taps that
// exist are computed.
//
// Shapes (kernel, input side): %s.
// A decoder with any other layer runs the reference kernel.

/// The layer's sums for output channel `oc`, row `oy`, into sums[0 ..< outSide] (a shape
/// without chunk kernels, which int8FastShape rules out first, writes nothing).
@inline(never)
func int8FastRow(_ k: Int, _ side: Int, _ x: UnsafeRawPointer, _ w: UnsafePointer<Int8>, _ inC: Int, _ outC: Int,
                 _ oc: Int, _ oy: Int, _ bias: Int32, _ sums: UnsafeMutablePointer<Int32>) {
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
