import Checkpoint
import Foundation

/// Weight rounding chosen by each layer's output error (docs/quantisation.md section 6, step 2), in
/// the manner of GPTQ (Frantar et al., 2022): the int8 weights of one output channel are fixed one
/// at a time, and each rounding error is pushed onto the channel's weights not yet fixed, in the
/// direction that the layer's inputs make cheapest. Rounding to nearest treats the weights of a
/// channel as independent; they are not, because neighbouring taps see strongly correlated
/// pixels, so errors that cancel in the output are free and this finds them.
///
/// The objective per channel is `||(w - s q) X||^2` over the float decoder's inputs to the layer
/// (the calibration latents' traces), whose Hessian `H = X X^T` is all the algorithm needs. For a
/// stride-1 transposed convolution with full output, `H` depends only on the tap offset
/// between two features, so it is built from the input's autocorrelation instead of from patches.
extension Quantiser {
    public struct RoundedWeights {
        /// Per layer: int8 weights in the checkpoint's layout `[in][out][kh][kw]`, and the
        /// per-output-channel scales (max |w| / 127, as rounding to nearest uses).
        public var layers: [(q: [Int8], scale: [Double])]
        public init(layers: [(q: [Int8], scale: [Double])]) { self.layers = layers }
    }

    /// Rounds every layer's weights by its output error over `latents`' float traces.
    /// `damping` is the fraction of the mean diagonal added to `H` (GPTQ's 1%): it keeps `H`
    /// invertible where features are nearly collinear.
    public func roundWeightsByOutputError(latents: [[Float]], damping: Double = 0.01) -> RoundedWeights {
        let L = config.layers.count
        var traces = [[[Float]]](repeating: [], count: latents.count)
        forEachFloatTrace(latents) { i, acts in traces[i] = Array(acts.prefix(L)) }
        var out: [(q: [Int8], scale: [Double])] = []
        for i in 0..<L {
            let h = inputHessian(layer: i, traces: traces)
            out.append(roundLayer(i, hessian: h, damping: damping))
        }
        return RoundedWeights(layers: out)
    }

    /// `H[f1][f2]` with `f = (ic * k + ky) * k + kx`: the sum over images and output positions of
    /// the products of the two inputs that taps f1 and f2 multiply. Output o takes tap (ky, kx)
    /// from input o - (ky, kx), so the pair is input pixel p of ic1 and p + (ky1 - ky2, kx1 - kx2) of ic2.
    static let hessianChunks = 8

    func inputHessian(layer i: Int, traces: [[[Float]]]) -> [Double] {
        let l = config.layers[i], k = l.kernel, C = l.inChannels, side = config.side(atLayer: i)
        let D = 2 * k - 1, n = C * k * k
        // Autocorrelation per chunk of images: corr[ic1][ic2][dy + k - 1][dx + k - 1]. The chunks
        // are fixed (not one per thread) and summed in order, so --threads cannot change the bits.
        let corrSize = C * C * D * D, chunks = Self.hessianChunks
        var corr = [Double](repeating: 0, count: chunks * corrSize)
        corr.withUnsafeMutableBufferPointer { cb in
            let base = cb.baseAddress!
            DispatchQueue.concurrentPerform(iterations: chunks) { w in
                let c = base + w * corrSize
                var x = [Double](repeating: 0, count: C * side * side)
                for img in stride(from: w, to: traces.count, by: chunks) {
                    for j in 0..<x.count { x[j] = Double(traces[img][i][j]) }
                    x.withUnsafeBufferPointer { xb in
                        let xp = xb.baseAddress!
                        for c1 in 0..<C {
                            for c2 in 0..<C {
                                for dy in -(k - 1)...(k - 1) {
                                    let y0 = max(0, -dy), y1 = min(side, side - dy)
                                    if y0 >= y1 { continue }
                                    for dx in -(k - 1)...(k - 1) {
                                        let x0 = max(0, -dx), x1 = min(side, side - dx)
                                        if x0 >= x1 { continue }
                                        var s = 0.0
                                        for y in y0..<y1 {
                                            let a = xp + (c1 * side + y) * side, b = xp + (c2 * side + y + dy) * side + dx
                                            for xx in x0..<x1 { s += a[xx] * b[xx] }
                                        }
                                        c[((c1 * C + c2) * D + dy + k - 1) * D + dx + k - 1] += s
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var h = [Double](repeating: 0, count: n * n)
        for c1 in 0..<C {
            for y1 in 0..<k {
                for x1 in 0..<k {
                    let f1 = (c1 * k + y1) * k + x1
                    for c2 in 0..<C {
                        for y2 in 0..<k {
                            for x2 in 0..<k {
                                let f2 = (c2 * k + y2) * k + x2
                                let at = ((c1 * C + c2) * D + y1 - y2 + k - 1) * D + x1 - x2 + k - 1
                                var s = 0.0
                                for w in 0..<chunks { s += corr[w * corrSize + at] }
                                h[f1 * n + f2] = s
                            }
                        }
                    }
                }
            }
        }
        return h
    }

    /// GPTQ for one layer: U is the upper Cholesky factor of H^-1; fixing feature j of a channel
    /// with error e = (w_j - s q_j) / U[j][j] moves the channel's later weights by -e U[j][j+1...].
    func roundLayer(_ i: Int, hessian: [Double], damping: Double) -> (q: [Int8], scale: [Double]) {
        let l = config.layers[i], kk = l.kernel * l.kernel, n = l.inChannels * kk, O = l.outChannels
        let base = layout.convW[i]
        var h = hessian
        var meanDiag = 0.0
        for j in 0..<n { meanDiag += h[j * n + j] }
        meanDiag /= Double(n)
        for j in 0..<n {
            if h[j * n + j] == 0 { h[j * n + j] = 1 }   // an input that is always 0: its weights are free
            h[j * n + j] += damping * max(meanDiag, 1e-12)
        }
        let u = Self.upperCholeskyOfInverse(h, n)
        var scale = [Double](repeating: 1, count: O)
        var q = [Int8](repeating: 0, count: l.inChannels * O * kk)
        for oc in 0..<O {
            // The channel's weights as features f = ic * kk + t.
            var w = [Double](repeating: 0, count: n)
            for ic in 0..<l.inChannels { for t in 0..<kk { w[ic * kk + t] = Double(params[base + (ic * O + oc) * kk + t]) } }
            let m = w.reduce(0) { max($0, abs($1)) }
            if m > 0 { scale[oc] = m / 127 }
            let s = scale[oc]
            for j in 0..<n {
                let v = min(max((w[j] / s).rounded(.toNearestOrAwayFromZero), -127), 127)
                q[((j / kk) * O + oc) * kk + j % kk] = Int8(v)
                let e = (w[j] - v * s) / u[j * n + j]
                if e == 0 { continue }
                for j2 in (j + 1)..<n { w[j2] -= e * u[j * n + j2] }
            }
        }
        return (q, scale)
    }

    /// The upper triangular U with U^T U = H^-1, for a symmetric positive definite H (n x n,
    /// row-major): H = L L^T, H^-1 = L^-T L^-1, and U is the Cholesky factor of that, taken upper.
    static func upperCholeskyOfInverse(_ h: [Double], _ n: Int) -> [Double] {
        func cholesky(_ a: inout [Double]) {   // lower, in place
            for j in 0..<n {
                var d = a[j * n + j]
                for k in 0..<j { d -= a[j * n + k] * a[j * n + k] }
                let r = sqrt(max(d, 1e-300))
                a[j * n + j] = r
                for i in (j + 1)..<n {
                    var s = a[i * n + j]
                    for k in 0..<j { s -= a[i * n + k] * a[j * n + k] }
                    a[i * n + j] = s / r
                }
                for k in (j + 1)..<n { a[j * n + k] = 0 }
            }
        }
        var lo = h
        cholesky(&lo)
        // H^-1 from L: solve L Y = I, then H^-1 = Y^T Y.
        var y = [Double](repeating: 0, count: n * n)   // Y = L^-1, lower
        for c in 0..<n {
            for r in c..<n {
                var s = r == c ? 1.0 : 0.0
                for k in c..<r { s -= lo[r * n + k] * y[k * n + c] }
                y[r * n + c] = s / lo[r * n + r]
            }
        }
        var inv = [Double](repeating: 0, count: n * n)
        for a in 0..<n {
            for b in a..<n {
                var s = 0.0
                for k in b..<n { s += y[k * n + a] * y[k * n + b] }
                inv[a * n + b] = s; inv[b * n + a] = s
            }
        }
        cholesky(&inv)
        // Upper factor: U = L'^T.
        var u = [Double](repeating: 0, count: n * n)
        for r in 0..<n { for c in r..<n { u[r * n + c] = inv[c * n + r] } }
        return u
    }
}

extension Quantiser {
    /// Section 6, step 1, `--int8-ranges mse`: an int8 tensor's upper end is chosen, among the
    /// largest value and a few high quantiles of the float decoder's values over `latents`, as
    /// the one with the smallest mean squared quantisation error (rounding and clamping) over
    /// those values. A few huge values (layer 2's output reaches ~10^3 on rare latents) would
    /// otherwise set a step that wipes out the ordinary ones. Only `max` changes: `min` and
    /// `maxAbs` (what int16 tensors use) are those of `calibrate`.
    public func mseClippedRanges(_ ranges: [TensorRange], latents: [[Float]]) -> [TensorRange] {
        let L = config.layers.count
        var values = [[Float]](repeating: [], count: L)
        forEachFloatTrace(latents) { _, acts in for t in 1..<L { values[t] += acts[t] } }
        var out = ranges
        for t in 1..<L {
            let v = values[t].sorted()
            guard let top = v.last, top > 0 else { continue }
            let lo = min(ranges[t].min, 0)
            var best = (hi: Double(top), err: Double.infinity)
            for q in Self.clipQuantiles {
                let hi = q == 1 ? Double(top) : Double(v[min(v.count - 1, Int((Double(v.count) * q).rounded(.down)))])
                guard hi > 0 else { continue }
                let s = (hi - lo) / 255, zp = (-128 - lo / s).rounded(.toNearestOrAwayFromZero)
                var err = 0.0
                for x in v {
                    let qv = min(max((Double(x) / s).rounded(.toNearestOrAwayFromZero) + zp, -128), 127)
                    let e = Double(x) - s * (qv - zp)
                    err += e * e
                }
                if err < best.err { best = (hi, err) }
            }
            out[t].max = best.hi
        }
        return out
    }

    static let clipQuantiles: [Double] = [1, 0.99999, 0.9999, 0.9995, 0.999, 0.998, 0.995, 0.99]
}
