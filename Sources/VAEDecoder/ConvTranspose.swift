/// Transposed convolution, stride 1, no padding, fused with its activation. Both kernels below
/// compute every output value with the same operations in the same order (docs/checkpoint-format.md
/// section 2.1): acc = bias, then one fused multiply-add per tap, ic ascending, then iy ascending,
/// then ix ascending. That is what makes the host and a Cortex-M produce the same bits.

/// acc + x * w with one rounding, the kernels' one operation per tap: the target's fused
/// multiply-add instruction, or on WebAssembly, which has none, PortableMath.fma (inlined here;
/// through `Float.addingProduct` LLVM would call out to `fmaf` for every tap).
@inline(__always)
func fusedMultiplyAdd(_ acc: Float, _ x: Float, _ w: Float) -> Float {
    #if arch(wasm32)
    return PortableMath.fma(x, w, acc)
    #else
    return acc.addingProduct(x, w)
    #endif
}

@inline(__always)
func activate(_ v: Float, _ act: Activation, _ slope: Float) -> Float {
    switch act {
    case .none: return v
    case .relu: return v < 0 ? 0 : v
    case .leakyReLU: return v < 0 ? v * slope : v
    case .sigmoid: return PortableMath.sigmoid(v)
    }
}

/// The reference kernel: one output at a time, only the taps that exist. It defines the maths;
/// the host's vector kernel and the targets' register-blocked kernels (ConvTransposeFast.swift,
/// about 10x fewer instructions on a Cortex-M4) are tested against it bit for bit.
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
                            acc = fusedMultiplyAdd(acc, ir[ix], wr[-ix])
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

// The host's vectorised kernel is in ConvTransposeVector.swift.
