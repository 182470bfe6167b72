import Checkpoint
import VAEDecoder

/// The trainer's implementation of the int8 decoder's maths (docs/quantisation.md, sections 3
/// and 4), in plain loops over the quantised parameters. It shares no code with the runtime's
/// kernels or parser: the golden images it writes are what holds the runtime to the spec.
public enum Int8Reference {
    /// Section 3: one float32 multiply, round half away from zero, NaN to 0, clamp.
    public static func quantiseLatent(_ z: [Float], inverseScale: Float, qmax: Int32) -> [Int32] {
        z.map { x in
            let v = x * inverseScale
            if v.isNaN { return 0 }
            // Clamped as a float first so that a huge or infinite value converts without trapping.
            let r = min(max(v.rounded(.toNearestOrAwayFromZero), -Float(qmax)), Float(qmax))
            return Int32(r)
        }
    }

    /// Section 4's sums for one layer: acc[oc][oy][ox], exact (int64 holds any int32 sum; the
    /// accumulator bound is what makes int32 enough for a runtime).
    public static func accumulate(_ l: Int8Layer, input x: [Int32], inSide: Int, inZeroPoint: Int32) -> [Int64] {
        let k = l.kernel, outSide = inSide + k - 1, plane = outSide * outSide
        precondition(x.count == l.inChannels * inSide * inSide)
        var acc = [Int64](repeating: 0, count: l.outChannels * plane)
        for oc in 0..<l.outChannels { for p in 0..<plane { acc[oc * plane + p] = Int64(l.bias[oc]) } }
        // Scattered from each input: the sum is exact, so its order is free.
        for ic in 0..<l.inChannels {
            for iy in 0..<inSide {
                for ix in 0..<inSide {
                    let xc = Int64(x[(ic * inSide + iy) * inSide + ix]) - Int64(inZeroPoint)
                    if xc == 0 { continue }
                    for oc in 0..<l.outChannels {
                        let wBase = (ic * l.outChannels + oc) * k * k
                        for ky in 0..<k {
                            let row = oc * plane + (iy + ky) * outSide + ix
                            for kx in 0..<k { acc[row + kx] += Int64(l.weights[wBase + ky * k + kx]) * xc }
                        }
                    }
                }
            }
        }
        return acc
    }

    /// Requantisation with the activation folded in (section 4, hidden layer).
    @inline(__always)
    public static func requantise(_ acc: Int64, mPos: Int64, nPos: Int64, mNeg: Int64, nNeg: Int64, relu: Bool,
                                  zeroPoint: Int32, qmin: Int32, qmax: Int32) -> Int32 {
        var v: Int64
        if acc >= 0 {
            v = (acc * mPos + (Int64(1) << (nPos - 1))) >> nPos
        } else if relu {
            v = 0
        } else {
            v = (acc * mNeg + (Int64(1) << (nNeg - 1))) >> nNeg   // >> on Int64 is arithmetic: floor
        }
        v += Int64(zeroPoint)
        return Int32(min(max(v, Int64(qmin)), Int64(qmax)))
    }

    /// Section 4, last layer: how many of the channel's thresholds the accumulator reaches.
    /// Counted one by one (a runtime may binary-search; the count is the definition).
    @inline(__always)
    public static func pixel(_ acc: Int64, thresholds t: ArraySlice<Int32>) -> UInt8 {
        var n = 0
        for v in t where acc >= Int64(v) { n += 1 }
        return UInt8(n)
    }

    /// A hidden layer's output tensor from its accumulators.
    public static func hiddenOutput(_ l: Int8Layer, acc: [Int64]) -> [Int32] {
        let plane = acc.count / l.outChannels
        var y = [Int32](repeating: 0, count: acc.count)
        for oc in 0..<l.outChannels {
            let m = l.multipliers(oc)
            for p in 0..<plane {
                y[oc * plane + p] = requantise(acc[oc * plane + p], mPos: m.mPos, nPos: m.nPos, mNeg: m.mNeg, nNeg: m.nNeg,
                                               relu: l.activation == .relu, zeroPoint: l.outputZeroPoint,
                                               qmin: l.outputQmin, qmax: l.outputQmax)
            }
        }
        return y
    }

    /// The last layer's pixels from its accumulators.
    public static func pixels(_ l: Int8Layer, acc: [Int64]) -> [UInt8] {
        let plane = acc.count / l.outChannels, T = DecoderImageLayout.pixelThresholds
        var px = [UInt8](repeating: 0, count: acc.count)
        for oc in 0..<l.outChannels {
            let t = l.requant[(oc * T)..<((oc + 1) * T)]
            for p in 0..<plane { px[oc * plane + p] = pixel(acc[oc * plane + p], thresholds: t) }
        }
        return px
    }

    /// A whole image: latent (float32) in, 8-bit pixels out.
    public static func decode(_ d: Int8Decoder, latent z: [Float]) -> [UInt8] {
        var x = quantiseLatent(z, inverseScale: d.latentInverseScale, qmax: d.latentQmax)
        var side = d.viewSide
        for (i, l) in d.layers.enumerated() {
            let acc = accumulate(l, input: x, inSide: side, inZeroPoint: d.inputZeroPoint(ofLayer: i))
            if i == d.layers.count - 1 { return pixels(l, acc: acc) }
            x = hiddenOutput(l, acc: acc)
            side += l.kernel - 1
        }
        preconditionFailure("a decoder has at least one layer")
    }
}
