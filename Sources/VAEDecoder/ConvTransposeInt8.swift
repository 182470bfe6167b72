/// The int8 decoder's maths (docs/quantisation.md sections 3 and 4), as plain loops: the
/// runtime's definition, which the host's vector kernels and the targets' blocked kernels are
/// tested against bit for bit. Integer sums are exact (the loader checked the accumulator bound),
/// so any kernel may add in any order; this one follows the float kernel's order for ease of
/// reading. Kept separate on purpose from the trainer's Int8Reference, which writes the goldens.
enum Int8Math {
    /// The latent, float to int16: one float32 multiply, rounding halves away from zero,
    /// clamping; NaN gives 0 (section 3). The last floating-point operation of the int8 path.
    @inline(__always)
    static func quantiseLatent(_ z: Float, inverseScale: Float, qmax: Int32) -> Int16 {
        let v = z * inverseScale
        if !(v == v) { return 0 }
        let lim = Float(Int(qmax))   // Int, not Int32: a direct conversion on 32-bit targets
        if v >= lim { return Int16(truncatingIfNeeded: qmax) }
        if v <= -lim { return Int16(truncatingIfNeeded: -qmax) }
        // |v| < 32768: truncation is exact, and so is the fraction v - t (no libm round: it is
        // absent on targets, and v +- 0.5 would itself round for v just below a half).
        let t = Int32(v)
        let f = v - Float(Int(t))
        let r = f >= 0.5 ? t &+ 1 : (f <= -0.5 ? t &- 1 : t)
        return Int16(truncatingIfNeeded: r)
    }

    /// Section 4, hidden layer: the requantised, activated, clamped output of one accumulator.
    @inline(__always)
    static func requantise(_ acc: Int32, _ words: UnsafePointer<Int32>, relu: Bool, _ out: QuantTensor) -> Int32 {
        var v: Int64 = 0
        if acc >= 0 || !relu {
            let (m, n) = acc >= 0 ? (words[0], words[1]) : (words[2], words[3])
            let p = Int64(acc) &* Int64(m)
            v = (p &+ (Int64(1) &<< Int64(n &- 1))) &>> Int64(n)
        }
        v &+= Int64(out.zeroPoint)
        if v < Int64(out.qmin) { v = Int64(out.qmin) }
        if v > Int64(out.qmax) { v = Int64(out.qmax) }
        return Int32(truncatingIfNeeded: v)
    }

    /// Section 4, last layer: the number of thresholds at or below `acc` (a binary search over
    /// the non-decreasing table).
    @inline(__always)
    static func pixel(_ acc: Int32, _ t: UnsafePointer<Int32>) -> UInt8 {
        var lo = 0, hi = DecoderImageLayout.pixelThresholds   // answer in lo ... hi
        while lo < hi {
            let mid = (lo &+ hi) &>> 1
            if acc >= t[mid] { lo = mid &+ 1 } else { hi = mid }
        }
        return UInt8(truncatingIfNeeded: lo)
    }

    /// Output `o` of layer `l` from its sum: the pixel for the last layer, else the requantised
    /// value at the output tensor's width (section 4). Both target kernels end with this.
    @inline(__always)
    static func finish(_ acc: Int32, _ words: UnsafePointer<Int32>, _ l: DecoderLayer, relu: Bool,
                       into output: UnsafeMutableRawPointer, at o: Int) {
        if l.output.width == 0 {
            output.storeBytes(of: pixel(acc, words), toByteOffset: o, as: UInt8.self)
            return
        }
        let v = requantise(acc, words, relu: relu, l.output)
        if l.output.width == 1 { output.storeBytes(of: Int8(truncatingIfNeeded: v), toByteOffset: o, as: Int8.self) }
        else { output.storeBytes(of: Int16(truncatingIfNeeded: v), toByteOffset: o &* 2, as: Int16.self) }
    }

    @inline(__always)
    static func load(_ p: UnsafeRawPointer, _ i: Int, width: Int) -> Int32 {
        width == 1 ? Int32(p.load(fromByteOffset: i, as: Int8.self)) : Int32(p.load(fromByteOffset: i &* 2, as: Int16.self))
    }
}

/// One int8 layer, reference loops: input tensor (int8 or int16) to output tensor or, for the
/// last layer, to 8-bit pixels.
func convTransposeInt8Reference(_ l: DecoderLayer, input: UnsafeRawPointer, output: UnsafeMutableRawPointer) {
    let side = l.inSide, k = l.kernel, os = l.outSide, kk = k &* k
    let inC = l.inChannels, outC = l.outChannels
    let w = l.weightsInt8.unsafelyUnwrapped, b = l.biasInt32.unsafelyUnwrapped, q = l.requant.unsafelyUnwrapped
    let inW = l.input.width, zp = l.input.zeroPoint
    let last = l.output.width == 0
    let relu = l.activation == .relu
    var o = 0
    for oc in 0..<outC {
        let words = q + oc &* (last ? DecoderImageLayout.pixelThresholds : DecoderImageLayout.requantWordsPerChannel)
        for oy in 0..<os {
            let iyLo = oy >= k ? oy &- k &+ 1 : 0, iyHi = oy < side ? oy : side &- 1
            for ox in 0..<os {
                let ixLo = ox >= k ? ox &- k &+ 1 : 0, ixHi = ox < side ? ox : side &- 1
                var acc = b[oc]
                for ic in 0..<inC {
                    let wb = w + (ic &* outC &+ oc) &* kk
                    var iy = iyLo
                    while iy <= iyHi {
                        var ix = ixLo
                        while ix <= ixHi {
                            let x = Int8Math.load(input, (ic &* side &+ iy) &* side &+ ix, width: inW) &- zp
                            acc &+= Int32(wb[(oy &- iy) &* k &+ (ox &- ix)]) &* x
                            ix &+= 1
                        }
                        iy &+= 1
                    }
                }
                Int8Math.finish(acc, words, l, relu: relu, into: output, at: o)
                o &+= 1
            }
        }
    }
}

#if hasFeature(BuiltinModule) && arch(arm)
import Builtin
#endif

/// acc + lo16(x) * lo16(y) + hi16(x) * hi16(y): one SMLAD on a Cortex-M4 (the notes in
/// shared/notes: swiftc never forms it from plain code, the Builtin module reaches it); the
/// same integers from two multiplies elsewhere (Cortex-M0, hosts running the tests).
@inline(__always)
func dualMultiplyAdd(_ x: UInt32, _ y: UInt32, _ acc: Int32) -> Int32 {
    #if hasFeature(BuiltinModule) && arch(arm) && VAE_DSP
    return Int32(Builtin.int_arm_smlad(x._value, y._value, acc._value))
    #else
    let lo = Int32(Int16(truncatingIfNeeded: x)) &* Int32(Int16(truncatingIfNeeded: y))
    return acc &+ lo &+ (Int32(bitPattern: x) &>> 16) &* (Int32(bitPattern: y) &>> 16)
    #endif
}

/// The targets' int8 kernel (docs/quantisation.md section 4, any order being exact): for each
/// output row, the sums live in a row of int32 on the stack, and each pair of input values
/// (x[2m], x[2m + 1]), one 32-bit load from an int16 row, meets the k + 1 weight pairs
/// V[d] = (w[d], w[d - 1]) of the kernel row: out[2m + d] += x[2m] w[d] + x[2m + 1] w[d - 1],
/// one dual multiply-add per output it reaches. Only taps that exist are computed (no padding),
/// so no tensor is copied and the arena is just the two activation buffers. Takes int16 inputs
/// of even width (the shipped decoder's); returns false for anything else, which the reference
/// kernel then runs.
func convTransposeInt8Blocked(_ l: DecoderLayer, input: UnsafeRawPointer, output: UnsafeMutableRawPointer) -> Bool {
    let side = l.inSide, k = l.kernel, os = l.outSide
    guard l.input.width == 2, side & 1 == 0, k <= Capacity.maxKernel, os <= Capacity.maxSide else { return false }
    let inC = l.inChannels, outC = l.outChannels, kk = k &* k
    let w = l.weightsInt8.unsafelyUnwrapped, b = l.biasInt32.unsafelyUnwrapped, q = l.requant.unsafelyUnwrapped
    let last = l.output.width == 0, relu = l.activation == .relu
    let pairs = side &>> 1
    let x = input.assumingMemoryBound(to: UInt32.self)   // int16 pairs; rows are an even number of values
    // Stack scratch: one output row of sums, one kernel row's weight pairs.
    withUnsafeTemporaryAllocation(of: Int32.self, capacity: Capacity.maxSide) { rowBuf in
    withUnsafeTemporaryAllocation(of: UInt32.self, capacity: Capacity.maxKernel + 1) { vBuf in
    let acc = rowBuf.baseAddress.unsafelyUnwrapped, v = vBuf.baseAddress.unsafelyUnwrapped
    var o = 0
    for oc in 0..<outC {
        let words = q + oc &* (last ? DecoderImageLayout.pixelThresholds : DecoderImageLayout.requantWordsPerChannel)
        for oy in 0..<os {
            for ox in 0..<os { acc[ox] = b[oc] }
            let iyLo = oy >= k ? oy &- k &+ 1 : 0, iyHi = oy < side ? oy : side &- 1
            for ic in 0..<inC {
                var iy = iyLo
                while iy <= iyHi {
                    let plane: Int = (ic &* outC &+ oc) &* kk
                    let wr = w + (plane &+ (oy &- iy) &* k)
                    // V[d] = (lo: w[d], hi: w[d - 1]), zero outside the kernel row.
                    var prev: Int32 = 0
                    for d in 0...k {
                        let cur: Int32 = d < k ? Int32(wr[d]) : 0
                        v[d] = UInt32(UInt16(truncatingIfNeeded: cur)) | UInt32(truncatingIfNeeded: prev) &<< 16
                        prev = cur
                    }
                    let xRow: Int = (ic &* side &+ iy) &* pairs
                    let xr = x + xRow
                    int8RowPass(k, xr, pairs, v, acc)
                    iy &+= 1
                }
            }
            for ox in 0..<os {
                Int8Math.finish(acc[ox], words, l, relu: relu, into: output, at: o)
                o &+= 1
            }
        }
    }
    }
    }
    return true
}

/// acc[2m + d] += x[2m] w[d] + x[2m + 1] w[d - 1] for every pair m and d in 0 ... k
/// (convTransposeInt8Blocked). The shipped kernel sizes get a pass each (`int8RowPassUnrolled`
/// with k a constant) in which the k + 1 weight pairs are locals, so that they stay in registers
/// across the pairs (a loop over d would reload them after every store to the row); any other
/// size takes the loop.
@inline(__always)
func int8RowPass(_ k: Int, _ xr: UnsafePointer<UInt32>, _ pairs: Int, _ v: UnsafePointer<UInt32>,
                 _ acc: UnsafeMutablePointer<Int32>) {
    switch k {
    case 3: int8RowPass3(xr, pairs, v, acc)
    case 5: int8RowPass5(xr, pairs, v, acc)
    case 7: int8RowPass7(xr, pairs, v, acc)
    case 9: int8RowPass9(xr, pairs, v, acc)
    default:
        var m = 0
        while m < pairs {
            let xv = xr[m]
            let a = acc + m &* 2
            for d in 0...k { a[d] = dualMultiplyAdd(xv, v[d], a[d]) }
            m &+= 1
        }
    }
}

@inline(never) func int8RowPass3(_ x: UnsafePointer<UInt32>, _ n: Int, _ v: UnsafePointer<UInt32>, _ a: UnsafeMutablePointer<Int32>) { int8RowPassUnrolled(3, x, n, v, a) }
@inline(never) func int8RowPass5(_ x: UnsafePointer<UInt32>, _ n: Int, _ v: UnsafePointer<UInt32>, _ a: UnsafeMutablePointer<Int32>) { int8RowPassUnrolled(5, x, n, v, a) }
@inline(never) func int8RowPass7(_ x: UnsafePointer<UInt32>, _ n: Int, _ v: UnsafePointer<UInt32>, _ a: UnsafeMutablePointer<Int32>) { int8RowPassUnrolled(7, x, n, v, a) }
@inline(never) func int8RowPass9(_ x: UnsafePointer<UInt32>, _ n: Int, _ v: UnsafePointer<UInt32>, _ a: UnsafeMutablePointer<Int32>) { int8RowPassUnrolled(9, x, n, v, a) }

/// The pass for k <= 9, written once: with k a constant every `k >= d` folds, leaving k + 1
/// weight locals and k + 1 dual multiply-adds per input pair.
@inline(__always)
func int8RowPassUnrolled(_ k: Int, _ xr: UnsafePointer<UInt32>, _ pairs: Int, _ v: UnsafePointer<UInt32>,
                         _ acc: UnsafeMutablePointer<Int32>) {
    let v0 = v[0], v1 = v[1]
    let v2 = k >= 2 ? v[2] : 0, v3 = k >= 3 ? v[3] : 0, v4 = k >= 4 ? v[4] : 0, v5 = k >= 5 ? v[5] : 0
    let v6 = k >= 6 ? v[6] : 0, v7 = k >= 7 ? v[7] : 0, v8 = k >= 8 ? v[8] : 0, v9 = k >= 9 ? v[9] : 0
    var m = 0
    var a = acc
    while m < pairs {
        let xv = xr[m]
        a[0] = dualMultiplyAdd(xv, v0, a[0])
        a[1] = dualMultiplyAdd(xv, v1, a[1])
        if k >= 2 { a[2] = dualMultiplyAdd(xv, v2, a[2]) }
        if k >= 3 { a[3] = dualMultiplyAdd(xv, v3, a[3]) }
        if k >= 4 { a[4] = dualMultiplyAdd(xv, v4, a[4]) }
        if k >= 5 { a[5] = dualMultiplyAdd(xv, v5, a[5]) }
        if k >= 6 { a[6] = dualMultiplyAdd(xv, v6, a[6]) }
        if k >= 7 { a[7] = dualMultiplyAdd(xv, v7, a[7]) }
        if k >= 8 { a[8] = dualMultiplyAdd(xv, v8, a[8]) }
        if k >= 9 { a[9] = dualMultiplyAdd(xv, v9, a[9]) }
        a += 2
        m &+= 1
    }
}
