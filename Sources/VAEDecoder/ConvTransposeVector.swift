// The host kernel: same maths and same per-output operation order as convTransposeReference
// (ConvTranspose.swift), vectorised over output columns.

#if arch(x86_64) || arch(arm64)
/// Bytes of scratch the vector kernel needs for layer `l`: its input with every row padded by
/// k - 1 zeros on both sides, plus one vector's slack at the end.
func paddedScratchFloats(_ l: DecoderLayer) -> Int {
    l.inChannels * l.inSide * (l.inSide + 2 * (l.kernel - 1)) + 32
}

/// The host kernel: a row of outputs at a time, 16 or 32 lanes (one lane per output column),
/// up to four output channels per pass so that each loaded input vector feeds several FMAs.
/// A lane whose tap falls outside the input reads a padding zero: fma(0, w, acc) leaves acc's
/// value unchanged, so the per-output sequence is the reference kernel's.
func convTransposeVector(_ l: DecoderLayer, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>) {
    let side = l.inSide, k = l.kernel
    let pw = side + 2 * (k - 1)
    let rows = l.inChannels * side
    scratch.update(repeating: 0, count: rows * pw + 32)
    for r in 0..<rows {
        UnsafeMutableRawPointer(scratch + r * pw + (k - 1)).copyMemory(from: input + r * side, byteCount: side * 4)
    }
    if l.inSide < l.kernel && l.outSide <= 16 && l.weightSlackBytes >= 64 {
        narrowInputLayer(l, input: input, output: output)
        return
    }
    let twoVectors = l.outSide > 16
    var oc = 0
    while oc < l.outChannels {
        let n = min(4, l.outChannels - oc)
        switch (n, twoVectors) {
        case (4, true): rowTile(l, oc, 4, true, scratch, pw, output)
        case (4, false): rowTile(l, oc, 4, false, scratch, pw, output)
        case (3, true): rowTile(l, oc, 3, true, scratch, pw, output)
        case (3, false): rowTile(l, oc, 3, false, scratch, pw, output)
        case (2, true): rowTile(l, oc, 2, true, scratch, pw, output)
        case (2, false): rowTile(l, oc, 2, false, scratch, pw, output)
        case (_, true): rowTile(l, oc, 1, true, scratch, pw, output)
        default: rowTile(l, oc, 1, false, scratch, pw, output)
        }
        oc += n
    }
}

/// PortableMath.exp on 16 lanes: the same operations in the same order, so each lane's bits
/// equal the scalar function's.
@inline(__always)
func exp16(_ xin: SIMD16<Float>) -> SIMD16<Float> {
    var x = xin.replacing(with: 80, where: xin .> 80)
    x.replace(with: -80, where: .!(x .>= -80))
    let t = x * 1.442_695_04
    let half = SIMD16<Float>(repeating: 0.5).replacing(with: -0.5, where: t .< 0)
    // Truncation to an integer without the standard library's lane-by-lane conversions:
    // |t| < 128, so rounding toward zero is exact, and adding 1.5 * 2^23 leaves the integer
    // in the low mantissa bits.
    let kf = (t + half).rounded(.towardZero)
    let k = unsafeBitCast(kf + 12_582_912.0, to: SIMD16<Int32>.self) &- 0x4B40_0000
    let r = (x - kf * 0.693_359_375) + kf * 2.121_944_4e-4
    var p = SIMD16<Float>(repeating: 1.0 / 720.0)
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    let scale = unsafeBitCast((k &+ 127) &<< 23, to: SIMD16<Float>.self)
    return p * scale
}

@inline(__always)
func activate16(_ v: SIMD16<Float>, _ act: Activation, _ slope: Float) -> SIMD16<Float> {
    switch act {
    case .none: return v
    case .relu: return v.replacing(with: 0, where: v .< 0)
    case .leakyReLU: return v.replacing(with: v * slope, where: v .< 0)
    case .sigmoid: return 1 / (1 + exp16(-v))
    }
}

@inline(__always)
private func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, count: Int) {
    if count >= 16 { UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self); return }
    for i in 0..<count { p[i] = v[i] }
}

/// For an input narrower than the kernel (the first layer: 2x2 in, 9x9 kernel) the lanes run
/// over the kernel instead: output row oy of channel oc gets, for each input value in canonical
/// order (ic, iy, ix ascending), that value times kernel row (oy - iy) shifted right by ix.
/// Lanes outside the shifted kernel row take weight 0, so fma leaves them as they were.
private func narrowInputLayer(_ l: DecoderLayer, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
    let side = l.inSide, k = l.kernel, os = l.outSide, kk = k * k, outC = l.outChannels
    let w = l.weights.unsafelyUnwrapped, b = l.bias.unsafelyUnwrapped
    // keep[ix]: all-ones bits in lanes ix ..< ix + k (where the shifted kernel row lies).
    var keep = InlineArray<16, SIMD16<UInt32>>(repeating: SIMD16<UInt32>())
    for ix in 0..<side { for lane in ix..<min(16, ix + k) { keep[ix][lane] = 0xFFFF_FFFF } }
    let act = l.activation, slope = l.slope
    var oc = 0
    while oc < outC {
        let n = min(4, outC - oc)
        for oy in 0..<os {
            let iyLo = max(0, oy - k + 1), iyHi = min(side - 1, oy)
            var (a0, a1, a2, a3) = biasVectors(b, oc, n)
            for ic in 0..<l.inChannels {
                var iy = iyLo
                while iy <= iyHi {
                    let wr = w + ((ic * outC + oc) * k + (oy - iy)) * k
                    let irow = input + (ic * side + iy) * side
                    for ix in 0..<side {
                        let v = irow[ix]
                        let m = keep[ix]
                        let base = wr - ix
                        a0 = a0.addingProduct(v, masked(base, m))
                        if n > 1 { a1 = a1.addingProduct(v, masked(base + kk, m)) }
                        if n > 2 { a2 = a2.addingProduct(v, masked(base + 2 * kk, m)) }
                        if n > 3 { a3 = a3.addingProduct(v, masked(base + 3 * kk, m)) }
                    }
                    iy += 1
                }
            }
            let plane = os * os
            let o = output + oc * plane + oy * os
            store16(activate16(a0, act, slope), o, count: os)
            if n > 1 { store16(activate16(a1, act, slope), o + plane, count: os) }
            if n > 2 { store16(activate16(a2, act, slope), o + 2 * plane, count: os) }
            if n > 3 { store16(activate16(a3, act, slope), o + 3 * plane, count: os) }
        }
        oc += n
    }
}

/// Accumulators for output channels oc ..< oc + n (n <= 4), each starting at its bias: the
/// first step of every output's sequence (format spec, 2.1).
@inline(__always)
func biasVectors(_ b: UnsafePointer<Float>, _ oc: Int, _ n: Int) -> (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>) {
    (SIMD16(repeating: b[oc]), n > 1 ? SIMD16(repeating: b[oc + 1]) : SIMD16(),
     n > 2 ? SIMD16(repeating: b[oc + 2]) : SIMD16(), n > 3 ? SIMD16(repeating: b[oc + 3]) : SIMD16())
}

/// 16 floats from p, with the lanes whose mask bits are clear set to +0.
@inline(__always)
private func masked(_ p: UnsafePointer<Float>, _ m: SIMD16<UInt32>) -> SIMD16<Float> {
    unsafeBitCast(UnsafeRawPointer(p).loadUnaligned(as: SIMD16<UInt32>.self) & m, to: SIMD16<Float>.self)
}

@inline(__always)
private func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

/// Output channels oc ..< oc + n, every output row. `n` and `two` are constants at each call
/// site, so the branches on them fold away.
@inline(__always)
private func rowTile(_ l: DecoderLayer, _ oc: Int, _ n: Int, _ two: Bool, _ pad: UnsafeMutablePointer<Float>,
                     _ pw: Int, _ output: UnsafeMutablePointer<Float>) {
    let side = l.inSide, k = l.kernel, os = l.outSide, kk = k * k, outC = l.outChannels
    let w = l.weights.unsafelyUnwrapped, b = l.bias.unsafelyUnwrapped
    for oy in 0..<os {
        let iyLo = max(0, oy - k + 1), iyHi = min(side - 1, oy)
        var (a0, a1, a2, a3) = biasVectors(b, oc, n)
        var (c0, c1, c2, c3) = (a0, a1, a2, a3)
        for ic in 0..<l.inChannels {
            var iy = iyLo
            while iy <= iyHi {
                let prow = UnsafePointer(pad + (ic * side + iy) * pw)
                let wr = w + ((ic * outC + oc) * k + (oy - iy)) * k
                var kx = k - 1
                while kx >= 0 {
                    let base = prow + (k - 1 - kx)
                    let x0 = load16(base)
                    let w0 = wr[kx]
                    a0 = a0.addingProduct(x0, w0)
                    if n > 1 { a1 = a1.addingProduct(x0, wr[kk + kx]) }
                    if n > 2 { a2 = a2.addingProduct(x0, wr[2 * kk + kx]) }
                    if n > 3 { a3 = a3.addingProduct(x0, wr[3 * kk + kx]) }
                    if two {
                        let x1 = load16(base + 16)
                        c0 = c0.addingProduct(x1, w0)
                        if n > 1 { c1 = c1.addingProduct(x1, wr[kk + kx]) }
                        if n > 2 { c2 = c2.addingProduct(x1, wr[2 * kk + kx]) }
                        if n > 3 { c3 = c3.addingProduct(x1, wr[3 * kk + kx]) }
                    }
                    kx -= 1
                }
                iy += 1
            }
        }
        let plane = os * os
        let o = output + oc * plane + oy * os
        let act = l.activation, slope = l.slope
        let first = min(os, 16)
        store16(activate16(a0, act, slope), o, count: first)
        if n > 1 { store16(activate16(a1, act, slope), o + plane, count: first) }
        if n > 2 { store16(activate16(a2, act, slope), o + 2 * plane, count: first) }
        if n > 3 { store16(activate16(a3, act, slope), o + 3 * plane, count: first) }
        if two {
            store16(activate16(c0, act, slope), o + 16, count: os - 16)
            if n > 1 { store16(activate16(c1, act, slope), o + plane + 16, count: os - 16) }
            if n > 2 { store16(activate16(c2, act, slope), o + 2 * plane + 16, count: os - 16) }
            if n > 3 { store16(activate16(c3, act, slope), o + 3 * plane + 16, count: os - 16) }
        }
    }
}
#endif
