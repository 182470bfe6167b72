/// Transposed convolution, stride 1, no padding, fused with its activation. Both kernels below
/// compute every output value with the same operations in the same order (docs/checkpoint-format.md
/// section 2.1): acc = bias, then one fused multiply-add per tap, ic ascending, then iy ascending,
/// then ix ascending. That is what makes the host and a Cortex-M produce the same bits.

@inline(__always)
func activate(_ v: Float, _ act: Activation, _ slope: Float) -> Float {
    switch act {
    case .none: return v
    case .relu: return v < 0 ? 0 : v
    case .leakyReLU: return v < 0 ? v * slope : v
    case .sigmoid: return PortableMath.sigmoid(v)
    }
}

/// The reference kernel: one output at a time, only the taps that exist. Small, and the one
/// every constrained target runs.
func convTransposeReference(_ l: DecoderLayer, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
    let side = l.inSide, k = l.kernel, os = l.outSide, kk = k &* k
    let inC = l.inChannels, outC = l.outChannels
    let w = l.weights.unsafelyUnwrapped, b = l.bias.unsafelyUnwrapped
    var o = output
    for oc in 0..<outC {
        for oy in 0..<os {
            let iyLo = oy >= k ? oy &- k &+ 1 : 0, iyHi = oy < side ? oy : side &- 1
            for ox in 0..<os {
                let ixLo = ox >= k ? ox &- k &+ 1 : 0, ixHi = ox < side ? ox : side &- 1
                var acc = b[oc]
                var wb = w + oc &* kk
                var ib = input
                for _ in 0..<inC {
                    var iy = iyLo
                    while iy <= iyHi {
                        // w[ic][oc][oy - iy][ox - ix] = wr[-ix]
                        let wr = wb + ((oy &- iy) &* k &+ ox)
                        let ir = ib + iy &* side
                        var ix = ixLo
                        while ix <= ixHi {
                            acc = acc.addingProduct(ir[ix], wr[-ix])
                            ix &+= 1
                        }
                        iy &+= 1
                    }
                    wb += outC &* kk
                    ib += side &* side
                }
                o.pointee = activate(acc, l.activation, l.slope)
                o += 1
            }
        }
    }
}

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
        (scratch + r * pw + (k - 1)).update(from: input + r * side, count: side)
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
        var a0 = SIMD16<Float>(repeating: b[oc]), c0 = a0
        var a1 = n > 1 ? SIMD16<Float>(repeating: b[oc + 1]) : SIMD16<Float>(), c1 = a1
        var a2 = n > 2 ? SIMD16<Float>(repeating: b[oc + 2]) : SIMD16<Float>(), c2 = a2
        var a3 = n > 3 ? SIMD16<Float>(repeating: b[oc + 3]) : SIMD16<Float>(), c3 = a3
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
        for x in 0..<first {
            o[x] = activate(a0[x], act, slope)
            if n > 1 { o[plane + x] = activate(a1[x], act, slope) }
            if n > 2 { o[2 * plane + x] = activate(a2[x], act, slope) }
            if n > 3 { o[3 * plane + x] = activate(a3[x], act, slope) }
        }
        if two {
            for x in 16..<os {
                o[x] = activate(c0[x - 16], act, slope)
                if n > 1 { o[plane + x] = activate(c1[x - 16], act, slope) }
                if n > 2 { o[2 * plane + x] = activate(c2[x - 16], act, slope) }
                if n > 3 { o[3 * plane + x] = activate(c3[x - 16], act, slope) }
            }
        }
    }
}
#endif
