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

// The targets' int8 kernel (ConvTransposeInt8Fast.swift, generated) reaches the Cortex-M4's DSP
// instructions through these (shared/notes: swiftc never forms SMLAD-like instructions from
// plain code; the Builtin module reaches them). Elsewhere (the Cortex-M0, hosts running the
// tests) the same integers come from plain arithmetic.

/// acc + lo(x) lo(y) + hi(x) hi(y), the halves signed int16: one SMLAD on a Cortex-M4.
@inline(__always)
func dualMultiplyAdd(_ x: UInt32, _ y: UInt32, _ acc: Int32) -> Int32 {
    #if hasFeature(BuiltinModule) && arch(arm) && VAE_DSP
    return Int32(Builtin.int_arm_smlad(x._value, y._value, acc._value))
    #else
    return acc &+ Int32(Int16(truncatingIfNeeded: x)) &* Int32(Int16(truncatingIfNeeded: y))
        &+ (Int32(bitPattern: x) &>> 16) &* (Int32(bitPattern: y) &>> 16)
    #endif
}

/// Two weights as one word of int16 halves (lo, hi): two LDRSB and a PKHBT.
@inline(__always)
func int8WeightPair(_ lo: Int8, _ hi: Int8) -> UInt32 {
    UInt32(UInt16(bitPattern: Int16(lo))) | UInt32(bitPattern: Int32(hi) &<< 16)
}

/// An odd last channel's int16 row of `n` values and, if `two`, the row after it, as words
/// (x[j], next[j]) or (x[j], 0) in `dst`, for the pair kernel.
@inline(__always)
func int8WidenRows(_ src: UnsafeRawPointer, _ two: Bool, _ n: Int, _ dst: UnsafeMutablePointer<UInt32>) -> UnsafeRawPointer {
    var j = 0
    while j < n {
        let lo = UInt32(UInt16(bitPattern: src.load(fromByteOffset: j &* 2, as: Int16.self)))
        let hi = two ? UInt32(UInt16(bitPattern: src.load(fromByteOffset: (n &+ j) &* 2, as: Int16.self))) : 0
        dst[j] = lo | hi &<< 16
        j &+= 1
    }
    return UnsafeRawPointer(dst)
}

/// The blocked path's activation layout: channels (2p, 2p + 1) as int32 words of int16 halves
/// (lo 2p, hi 2p + 1), plane p = 0 ..< C / 2 of [row][column] words, then an odd last channel as
/// an int16 plane. The same C * plane * 2 bytes as the natural layout.
enum Int8PairLayout {
    /// Where value (c, position) of a C-channel tensor of `plane` positions sits, in int16 units,
    /// and the distance between neighbouring positions of that channel.
    @inline(__always)
    static func index(_ c: Int, _ position: Int, channels: Int, plane: Int) -> (at: Int, stride: Int) {
        if c < channels & ~1 { return (((c &>> 1) &* plane &+ position) &* 2 &+ (c & 1), 2) }
        return ((channels & ~1) &* plane &+ position, 1)
    }
}

/// Section 4's requantisation of one channel, for int16 outputs (zero point 0) and shifts
/// n >= 33 (the exporter's are; other channels take Int8Math.requantise). With H the high word
/// of acc * M, (acc M + 2^(n - 1)) >> n = (H + 2^(n - 33)) >> (n - 32) exactly (adding a
/// multiple of 2^32 moves only the high word, and floor division in two steps is exact): one
/// 32 x 32 -> 64 multiply, an add and a shift on a 32-bit core, instead of 64-bit arithmetic.
struct ChannelRequant {
    let mPos, mNeg, sPos, sNeg, cPos, cNeg: Int32

    init?(_ words: UnsafePointer<Int32>, relu: Bool, _ out: QuantTensor) {
        guard out.width == 2, out.zeroPoint == 0, words[1] >= 33, words[3] >= 33 else { return nil }
        mPos = words[0]; sPos = words[1] &- 32; cPos = 1 &<< (words[1] &- 33)
        // ReLU: M = 0 and no rounding term give 0 for a negative sum.
        mNeg = relu ? 0 : words[2]; sNeg = words[3] &- 32; cNeg = relu ? 0 : 1 &<< (words[3] &- 33)
    }

    /// A row of `os` sums to int16 at dst[0], dst[stride], ... (Int8PairLayout).
    @inline(never)
    func row(_ sums: UnsafePointer<Int32>, _ os: Int, _ qmin: Int32, _ qmax: Int32, _ dst: UnsafeMutablePointer<Int16>, _ stride: Int) {
        var j = 0, at = dst
        while j < os {
            at.pointee = one(sums[j], qmin, qmax)
            at += stride; j &+= 1
        }
    }

    @inline(__always)
    func one(_ acc: Int32, _ qmin: Int32, _ qmax: Int32) -> Int16 {
        // Both signs' values, then a select: cheaper here than selecting three operands.
        let vp = (acc.multipliedFullWidth(by: mPos).high &+ cPos) &>> sPos
        let vn = (acc.multipliedFullWidth(by: mNeg).high &+ cNeg) &>> sNeg
        let v = acc < 0 ? vn : vp
        return Int16(truncatingIfNeeded: v < qmin ? qmin : (v > qmax ? qmax : v))
    }
}

/// One layer of the blocked path (KernelPath.int8Blocked said yes): int16 channel pairs in
/// (Int8PairLayout), int16 channel pairs out, or 8-bit pixels in natural order for the last layer.
func convTransposeInt8Blocked(_ l: DecoderLayer, input: UnsafeRawPointer, output: UnsafeMutableRawPointer) {
    let os = l.outSide, plane = os &* os, outC = l.outChannels
    let w = l.weightsInt8.unsafelyUnwrapped, b = l.biasInt32.unsafelyUnwrapped, q = l.requant.unsafelyUnwrapped
    let last = l.output.width == 0, relu = l.activation == .relu, out = l.output
    withUnsafeTemporaryAllocation(of: Int32.self, capacity: 2 &* Capacity.maxSide) { rowBuf in
        let sums = rowBuf.baseAddress.unsafelyUnwrapped
        let odd = UnsafeMutableRawPointer(sums + Capacity.maxSide).assumingMemoryBound(to: UInt32.self)
        for oc in 0..<outC {
            let words = q + oc &* (last ? DecoderImageLayout.pixelThresholds : DecoderImageLayout.requantWordsPerChannel)
            let fast = last ? nil : ChannelRequant(words, relu: relu, out)
            for oy in 0..<os {
                int8FastRow(l.kernel, l.inSide, input, w, l.inChannels, outC, oc, oy, b[oc], sums, odd)
                if last {
                    let row = oc &* plane &+ oy &* os
                    for ox in 0..<os { output.storeBytes(of: Int8Math.pixel(sums[ox], words), toByteOffset: row &+ ox, as: UInt8.self) }
                    continue
                }
                let (at, stride) = Int8PairLayout.index(oc, oy &* os, channels: outC, plane: plane)
                let dst = output.assumingMemoryBound(to: Int16.self) + at
                if let fast { fast.row(sums, os, out.qmin, out.qmax, dst, stride); continue }
                for ox in 0..<os {
                    dst[ox &* stride] = Int16(truncatingIfNeeded: Int8Math.requantise(sums[ox], words, relu: relu, out))
                }
            }
        }
    }
}
