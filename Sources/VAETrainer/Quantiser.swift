import Checkpoint
import Foundation
import VAEDecoder

/// The int8 exporter of docs/quantisation.md section 6: calibration, per-channel weights,
/// tensor widths, biases, multipliers, thresholds; and the fidelity figures `vae-train quantise`
/// prints (section 8).
public final class Quantiser {
    public let config: ModelConfig
    let params: [Float]
    let layout: ParamLayout
    let threads: Int

    /// Per activation tensor: index 0 is the latent, index i (1 ..< L) layer i-1's output.
    public struct TensorRange: Equatable, Sendable {
        public var min = Double.infinity, max = -Double.infinity, maxAbs = 0.0
        mutating func add(_ v: Float) {
            let d = Double(v)
            if d < min { min = d }
            if d > max { max = d }
            if abs(d) > maxAbs { maxAbs = abs(d) }
        }
    }

    /// How one activation tensor is stored: `real = scale * (q - zeroPoint)`.
    public struct TensorFormat: Equatable, Sendable {
        public var width: Int
        public var scale: Double
        public var zeroPoint: Int32
        public var qmin: Int32, qmax: Int32
    }

    /// An exported decoder with the scales that made it (the image keeps only the integers).
    public struct Export {
        public var decoder: Int8Decoder
        /// tensors[0] is the latent, tensors[i] layer i-1's output (hidden layers only).
        public var tensors: [TensorFormat]
        /// Per layer, per output channel: the accumulator's scale s_in * s_w[oc].
        public var accScales: [[Double]]
        /// Per layer, how many channels' biases the bias correction moved (empty when off).
        public var correctedChannels: [Int] = []
    }

    public init(config: ModelConfig, params: [Float], threads: Int = 2) {
        precondition(params.count == ParamLayout(config).total)
        self.config = config; self.params = params; layout = ParamLayout(config); self.threads = max(1, threads)
    }

    // MARK: latents

    /// The encoder's means (mu) of the given images: deterministic, no sampling.
    public func encoderMeans(_ images: ImageSet) -> [[Float]] {
        encoderPosterior(images).map(\.mu)
    }

    /// The encoder's posterior (mu, logvar) of the given images.
    public func encoderPosterior(_ images: ImageSet) -> [(mu: [Float], logvar: [Float])] {
        let shard = Shard<Float>(config: config)
        let P = images.rows * images.cols, L = config.latent
        var out: [(mu: [Float], logvar: [Float])] = []
        var lo = 0
        while lo < images.count {
            let n = min(laneCount, images.count - lo)
            images.pixels.withUnsafeBufferPointer { px in
                shard.setImages({ lane, p in Float(px[(lo + lane) * P + p]) / 255 }, count: n)
            }
            shard.setNoise { _, _ in 0 }
            params.withUnsafeBufferPointer { shard.forward($0.baseAddress!) }
            for lane in 0..<n { out.append(((0..<L).map { shard.mu[$0][lane] }, (0..<L).map { shard.logvar[$0][lane] })) }
            lo += n
        }
        return out
    }

    /// Section 6.1: the encoder means of the first 2,000 training images, then seeds 0 and 1,
    /// images 0 ..< 1,000 each.
    public func calibrationLatents(training: ImageSet) -> [[Float]] {
        encoderMeans(training.prefix(2000))
            + TrainerDecoder.seededLatents(seed: 0, count: 1000, latent: config.latent)
            + TrainerDecoder.seededLatents(seed: 1, count: 1000, latent: config.latent)
    }

    // MARK: the float decoder

    /// Runs the trainer's float decoder over `latents`, 16 at a time, and hands every image's
    /// activations (acts[0] the latent, acts[i + 1] layer i's output after its activation) to `body`.
    func forEachFloatTrace(_ latents: [[Float]], _ body: (_ image: Int, _ acts: [[Float]]) -> Void) {
        let shard = Shard<Float>(config: config)
        var i = 0
        while i < latents.count {
            let n = min(laneCount, latents.count - i)
            shard.setLatents(latents, from: i, count: n)
            _ = params.withUnsafeBufferPointer { shard.decodeLatents($0.baseAddress!) }
            for lane in 0..<n {
                body(i + lane, shard.acts.enumerated().map { t, a in (0..<shard.actSizes[t]).map { a[$0][lane] } })
            }
            i += n
        }
    }

    /// Section 6.1: min, max and largest magnitude of the latent and every hidden output.
    public func calibrate(_ latents: [[Float]]) -> [TensorRange] {
        var r = [TensorRange](repeating: TensorRange(), count: config.layers.count)
        forEachFloatTrace(latents) { _, acts in
            for t in 0..<config.layers.count { for v in acts[t] { r[t].add(v) } }
        }
        return r
    }

    /// The float decoder's 8-bit pixels (what vae-gen --precision float32 writes, computed by
    /// the trainer).
    public func floatPixels(_ latents: [[Float]]) -> [[UInt8]] {
        TrainerDecoder(config: config, params: params).decode(latents).map { $0.map { Pixels.quantize($0) } }
    }

    // MARK: export

    /// Section 6.2: per-channel symmetric int8 weights and their scales.
    func quantiseWeights(_ i: Int) -> (q: [Int8], scale: [Double]) {
        let l = config.layers[i], kk = l.kernel * l.kernel
        let w = params[layout.convW[i]..<(layout.convW[i] + l.inChannels * l.outChannels * kk)]
        var scale = [Double](repeating: 1, count: l.outChannels)
        for oc in 0..<l.outChannels {
            var m = 0.0
            for ic in 0..<l.inChannels { for t in 0..<kk { m = max(m, abs(Double(w[w.startIndex + (ic * l.outChannels + oc) * kk + t]))) } }
            if m > 0 { scale[oc] = m / 127 }
        }
        var q = [Int8](repeating: 0, count: w.count)
        for ic in 0..<l.inChannels {
            for oc in 0..<l.outChannels {
                for t in 0..<kk {
                    let k = (ic * l.outChannels + oc) * kk + t
                    q[k] = Int8(min(max((Double(w[w.startIndex + k]) / scale[oc]).rounded(.toNearestOrAwayFromZero), -127), 127))
                }
            }
        }
        return (q, scale)
    }

    /// Section 6.4: the real bias at the accumulator's scale, rounded half away from zero.
    static func quantiseBias(_ b: Float, accScale: Double) -> Int32 {
        let v = (Double(b) / accScale).rounded(.toNearestOrAwayFromZero)
        return Int32(min(max(v, Double(Int32.min)), Double(Int32.max)))
    }

    /// Section 6.4: m = M * 2^-n with M in [2^30, 2^31) and n <= 62.
    public static func multiplier(_ m: Double) -> (M: Int32, n: Int32) {
        precondition(m.isFinite && m > 0, "a requantisation multiplier must be finite and positive (got \(m))")
        var n = 30 - Int(floor(log2(m)))
        func mant(_ n: Int) -> Double { (m * pow(2, Double(n))).rounded(.toNearestOrAwayFromZero) }
        // log2 of a value next to a power of two may land on the wrong side; step to the range.
        while n < 62, mant(n) < Double(1 << 30) { n += 1 }
        while mant(n) >= Double(1 << 31) { n -= 1 }
        if n > 62 { n = 62 }
        precondition(n >= 1, "requantisation multiplier \(m) is too large for a shift of at least 1")
        let M = mant(n)
        // n capped at 62: M may fall below 2^30 and, for a vanishing m, to 0; M_pos must be >= 1.
        return (Int32(max(M, 1)), Int32(n))
    }

    /// Exports one configuration. `widths[i]` is the width (1 or 2) of layer i's output for the
    /// hidden layers (count L - 1). `rounded` replaces rounding to nearest with weights chosen by
    /// output error (section 6, step 2).
    public func export(ranges: [TensorRange], widths: [Int], rounded: RoundedWeights? = nil) -> Export {
        let L = config.layers.count
        precondition(widths.count == L - 1 && ranges.count == L && (rounded?.layers.count ?? L) == L)
        let weights = rounded?.layers ?? (0..<L).map { quantiseWeights($0) }
        let int32Max = Int64(Int32.max)
        let biasF = (0..<L).map { i in Array(params[layout.convB[i]..<(layout.convB[i] + config.layers[i].outChannels)]) }

        /// Does layer i's accumulator bound hold with input magnitude A and input scale s?
        func boundHolds(_ i: Int, A: Int64, s: Double) -> Bool {
            let l = config.layers[i], kk = l.kernel * l.kernel
            for oc in 0..<l.outChannels {
                var sum: Int64 = 0
                for ic in 0..<l.inChannels { for t in 0..<kk { sum += Int64(weights[i].q[(ic * l.outChannels + oc) * kk + t].magnitude) } }
                let b = Int64(Self.quantiseBias(biasF[i][oc], accScale: s * weights[i].scale[oc]).magnitude)
                if b + A * sum > int32Max { return false }
            }
            return true
        }

        // Tensor formats; an int16 tensor's qmax is the largest (<= 32767) whose consumer's bound holds.
        var tensors: [TensorFormat] = []
        var latentInverse: Float = 1
        for t in 0..<L {
            let r = ranges[t]
            let width = t == 0 ? 2 : widths[t - 1]
            if width == 1 {
                let lo = min(r.min, 0), hi = max(r.max, 0)
                let s = hi > lo ? (hi - lo) / 255 : 1
                let zp = Int32(min(max((-128 - lo / s).rounded(.toNearestOrAwayFromZero), -128), 127))
                precondition(boundHolds(t, A: Int64(max(127 - zp, zp + 128)), s: s), "an int8 input overflows layer \(t)'s accumulator")
                tensors.append(TensorFormat(width: 1, scale: s, zeroPoint: zp, qmin: -128, qmax: 127))
                continue
            }
            let maxAbs = r.maxAbs > 0 ? r.maxAbs : 1
            // The latent's scale is the one its stored float32 inverse scale implies.
            func scale(_ q: Int) -> Double { t == 0 ? 1 / Double(Float(Double(q) / maxAbs)) : maxAbs / Double(q) }
            var q = 32767
            if !boundHolds(t, A: Int64(q), s: scale(q)) {
                var lo = 1, hi = q   // bound holds at lo, fails at hi
                precondition(boundHolds(t, A: 1, s: scale(1)), "layer \(t)'s accumulator overflows even with qmax 1")
                while hi - lo > 1 { let mid = (lo + hi) / 2; if boundHolds(t, A: Int64(mid), s: scale(mid)) { lo = mid } else { hi = mid } }
                q = lo
            }
            if t == 0 { latentInverse = Float(Double(q) / maxAbs) }
            tensors.append(TensorFormat(width: 2, scale: scale(q), zeroPoint: 0, qmin: Int32(-q), qmax: Int32(q)))
        }

        var layers: [Int8Layer] = []
        var accScales: [[Double]] = []
        for i in 0..<L {
            let l = config.layers[i]
            let sIn = tensors[i].scale
            let acc = weights[i].scale.map { sIn * $0 }
            accScales.append(acc)
            let bias = (0..<l.outChannels).map { Self.quantiseBias(biasF[i][$0], accScale: acc[$0]) }
            var requant: [Int32] = []
            if i == L - 1 {
                for oc in 0..<l.outChannels { requant += Self.thresholds(accScale: acc[oc]) }
                layers.append(Int8Layer(inChannels: l.inChannels, outChannels: l.outChannels, kernel: l.kernel, activation: l.activation,
                                        slope: l.slope, weights: weights[i].q, bias: bias, requant: requant, outputWidth: 0,
                                        outputZeroPoint: 0, outputQmin: 0, outputQmax: 0))
            } else {
                let out = tensors[i + 1]
                for oc in 0..<l.outChannels {
                    let m = acc[oc] / out.scale
                    let pos = Self.multiplier(m)
                    let neg: (M: Int32, n: Int32)
                    switch l.activation {
                    case .none: neg = pos
                    case .relu: neg = (0, pos.n)
                    case .leakyReLU:
                        precondition(l.slope >= 0, "layer \(i): a negative LeakyReLU slope has no int8 form (M_neg >= 0)")
                        neg = l.slope == 0 ? (0, pos.n) : Self.multiplier(m * Double(l.slope))
                    case .sigmoid: preconditionFailure("only the last layer is sigmoid")
                    }
                    requant += [pos.M, pos.n, neg.M, neg.n]
                }
                layers.append(Int8Layer(inChannels: l.inChannels, outChannels: l.outChannels, kernel: l.kernel, activation: l.activation,
                                        slope: l.slope, weights: weights[i].q, bias: bias, requant: requant, outputWidth: out.width,
                                        outputZeroPoint: out.zeroPoint, outputQmin: out.qmin, outputQmax: out.qmax))
            }
        }
        let d = Int8Decoder(latent: config.latent, viewChannels: config.view.c, viewSide: config.view.h,
                            latentInverseScale: latentInverse, latentQmax: tensors[0].qmax, layers: layers)
        if let p = d.problem() { preconditionFailure("the exporter made an invalid int8 decoder: \(p)") }
        return Export(decoder: d, tensors: tensors, accScales: accScales)
    }

    /// Section 4: T[j] = ceil(logit((j + 0.5) / 255) / accScale), clamped to int32.
    public static func thresholds(accScale: Double) -> [Int32] {
        (0..<DecoderImageLayout.pixelThresholds).map { j in
            let p = (Double(j) + 0.5) / 255
            let v = (log(p / (1 - p)) / accScale).rounded(.up)
            return Int32(min(max(v, Double(Int32.min)), Double(Int32.max)))
        }
    }

    // MARK: bias correction

    /// Beyond rounding: shifts each channel's int32 bias by the mean, over `latents`, of the
    /// difference between the float decoder's pre-activation and the int8 path's (accumulator
    /// times its scale), weighted by the square of the activation's slope there, layer by layer, so each layer also absorbs the mean error the layers
    /// before it left. A channel whose shifted bias would break the accumulator bound keeps its bias.
    public func biasCorrect(_ e: inout Export, latents: [[Float]]) {
        let L = config.layers.count
        var traces = [[[Float]]](repeating: [], count: latents.count)
        forEachFloatTrace(latents) { i, acts in traces[i] = acts }
        var xs = latents.map { Int8Reference.quantiseLatent($0, inverseScale: e.decoder.latentInverseScale, qmax: e.decoder.latentQmax) }
        e.correctedChannels = []
        for i in 0..<L {
            let l = e.decoder.layers[i], side = config.side(atLayer: i), outSide = side + l.kernel - 1, plane = outSide * outSide
            let zp = e.decoder.inputZeroPoint(ofLayer: i)
            var accs = [[Int64]](repeating: [], count: latents.count)
            // Per worker, per channel: sum of g^2 * error and of g^2 (two rows per worker).
            var errs = [Double](repeating: 0, count: threads * 2 * l.outChannels)
            let scale = e.accScales[i]
            let xsNow = xs
            accs.withUnsafeMutableBufferPointer { accBuf in
                errs.withUnsafeMutableBufferPointer { errBuf in
                    let accBase = accBuf.baseAddress!, errBase = errBuf.baseAddress!
                    DispatchQueue.concurrentPerform(iterations: threads) { w in
                        let err = errBase + w * 2 * l.outChannels, wsum = err + l.outChannels
                        for n in stride(from: w, to: latents.count, by: threads) {
                            let acc = Int8Reference.accumulate(l, input: xsNow[n], inSide: side, inZeroPoint: zp)
                            let pre = floatPreActivation(i, input: traces[n][i])
                            for oc in 0..<l.outChannels {
                                for p in 0..<plane {
                                    let f = pre[oc * plane + p], g = activationSlope(l, at: f)
                                    err[oc] += g * g * (f - Double(acc[oc * plane + p]) * scale[oc]); wsum[oc] += g * g
                                }
                            }
                            (accBase + n).pointee = acc
                        }
                    }
                }
            }
            var moved = 0
            var delta = [Int64](repeating: 0, count: l.outChannels)
            for oc in 0..<l.outChannels {
                let num = (0..<threads).reduce(0.0) { $0 + errs[$1 * 2 * l.outChannels + oc] }
                let den = (0..<threads).reduce(0.0) { $0 + errs[($1 * 2 + 1) * l.outChannels + oc] }
                guard den > 0 else { continue }
                let mean = num / den
                let d = Int64((mean / scale[oc]).rounded(.toNearestOrAwayFromZero))
                if d == 0 { continue }
                let old = e.decoder.layers[i].bias[oc]
                let new = Int64(old) + d
                guard new >= Int64(Int32.min), new <= Int64(Int32.max) else { continue }
                e.decoder.layers[i].bias[oc] = Int32(new)
                if e.decoder.accumulatorWorstCase(layer: i, channel: oc) > Int64(Int32.max) {
                    e.decoder.layers[i].bias[oc] = old
                    continue
                }
                delta[oc] = d; moved += 1
            }
            e.correctedChannels.append(moved)
            if i == L - 1 { break }
            let lc = e.decoder.layers[i]
            xs = accs.map { acc in
                var a = acc
                for oc in 0..<lc.outChannels where delta[oc] != 0 { for p in 0..<plane { a[oc * plane + p] += delta[oc] } }
                return Int8Reference.hiddenOutput(lc, acc: a)
            }
        }
        precondition(e.decoder.problem() == nil)
    }

    /// The activation's derivative at a float pre-activation: how much an error there reaches
    /// the layer's output. The bias correction weighs errors by its square, so that errors the
    /// activation squashes (LeakyReLU's negative side, a saturated sigmoid) do not steer the bias.
    func activationSlope(_ l: Int8Layer, at x: Double) -> Double {
        switch l.activation {
        case .none: return 1
        case .relu: return x < 0 ? 0 : 1
        case .leakyReLU: return x < 0 ? Double(l.slope) : 1
        case .sigmoid: let p = 1 / (1 + exp(-x)); return p * (1 - p)
        }
    }

    /// Layer i's float pre-activation (before its activation) from its float input, in double.
    func floatPreActivation(_ i: Int, input x: [Float]) -> [Double] {
        let l = config.layers[i], k = l.kernel, side = config.side(atLayer: i), outSide = side + k - 1, plane = outSide * outSide
        let w = layout.convW[i], b = layout.convB[i]
        var y = [Double](repeating: 0, count: l.outChannels * plane)
        for oc in 0..<l.outChannels { for p in 0..<plane { y[oc * plane + p] = Double(params[b + oc]) } }
        for ic in 0..<l.inChannels {
            for iy in 0..<side {
                for ix in 0..<side {
                    let xv = Double(x[(ic * side + iy) * side + ix])
                    if xv == 0 { continue }
                    for oc in 0..<l.outChannels {
                        let wb = w + (ic * l.outChannels + oc) * k * k
                        for ky in 0..<k {
                            let row = oc * plane + (iy + ky) * outSide + ix
                            for kx in 0..<k { y[row + kx] += Double(params[wb + ky * k + kx]) * xv }
                        }
                    }
                }
            }
        }
        return y
    }

    // MARK: fidelity

    /// The int8 path's pixels for every latent, on the worker threads.
    public func int8Pixels(_ d: Int8Decoder, _ latents: [[Float]]) -> [[UInt8]] {
        var out = [[UInt8]](repeating: [], count: latents.count)
        out.withUnsafeMutableBufferPointer { o in
            let base = o.baseAddress!
            DispatchQueue.concurrentPerform(iterations: threads) { w in
                for n in stride(from: w, to: latents.count, by: threads) { (base + n).pointee = Int8Reference.decode(d, latent: latents[n]) }
            }
        }
        return out
    }

    public struct Fidelity: Sendable {
        public var psnr: Double       // dB, peak 255, over every pixel; infinite when identical
        public var maxDiff: Int       // levels
    }

    public static func fidelity(_ a: [[UInt8]], _ b: [[UInt8]]) -> Fidelity {
        precondition(a.count == b.count)
        var sq = 0.0, n = 0, m = 0
        for (x, y) in zip(a, b) {
            for (p, q) in zip(x, y) { let d = Int(p) - Int(q); sq += Double(d * d); m = max(m, abs(d)) }
            n += x.count
        }
        let mse = sq / Double(max(n, 1))
        return Fidelity(psnr: mse == 0 ? .infinity : 10 * log10(255 * 255 / mse), maxDiff: m)
    }

    // MARK: validation

    /// Per image over a test set: the KL term, the reconstruction term of the float decoder as
    /// training computes it, and the latents (sampled as validation samples them).
    public struct ValidationSamples {
        public var latents: [[Float]]
        public var kl: Double          // per image
        public var floatRec: Double    // per image, probabilities straight from the float decoder
    }

    /// z = mu + eps * sigma with eps from `noiseSeed`, drawn image by image in order: the same
    /// draws as `Trainer.evaluate`, so `floatRec + kl` is the checkpoint's validation total when
    /// given the seed of its last epoch.
    public func validationSamples(_ data: ImageSet, noiseSeed: UInt64) -> ValidationSamples {
        var rng = Xoshiro256(seed: noiseSeed)
        let shard = Shard<Float>(config: config)
        let P = data.rows * data.cols, L = config.latent
        var latents: [[Float]] = [], rec = 0.0, kl = 0.0
        var lo = 0
        while lo < data.count {
            let n = min(laneCount, data.count - lo)
            var noise = [Float](repeating: 0, count: n * L)
            for i in 0..<(n * L) { noise[i] = Float(rng.normal()) }
            data.pixels.withUnsafeBufferPointer { px in shard.setImages({ lane, p in Float(px[(lo + lane) * P + p]) / 255 }, count: n) }
            shard.setNoise { lane, j in lane < n ? noise[lane * L + j] : 0 }
            params.withUnsafeBufferPointer { shard.forward($0.baseAddress!) }
            rec += Double(hsum(shard.recLanes)); kl += Double(hsum(shard.klLanes))
            for lane in 0..<n { latents.append((0..<L).map { shard.z[$0][lane] }) }
            lo += n
        }
        return ValidationSamples(latents: latents, kl: kl / Double(data.count), floatRec: rec / Double(data.count))
    }

    /// The clamp that makes an 8-bit pixel a probability the BCE can take the log of: 0 and 255
    /// become 1e-7 and 1 - 1e-7 (a log of at most 16.1 nats, where training's clamp is 100).
    public static let pixelProbabilityFloor = 1e-7

    /// BCE summed over pixels, per image, of 8-bit reconstructions (pixel / 255 as probability).
    public static func bce(targets data: ImageSet, pixels: [[UInt8]]) -> Double {
        precondition(pixels.count == data.count)
        var table = [(Double, Double)](repeating: (0, 0), count: 256)   // (log p, log(1 - p)) per level
        for v in 0..<256 {
            let p = min(max(Double(v) / 255, pixelProbabilityFloor), 1 - pixelProbabilityFloor)
            table[v] = (log(p), log(1 - p))
        }
        let P = data.rows * data.cols
        var total = 0.0
        for n in 0..<data.count {
            for p in 0..<P {
                let x = Double(data.pixels[n * P + p]) / 255
                let (lp, l1p) = table[Int(pixels[n][p])]
                total -= x * lp + (1 - x) * l1p
            }
        }
        return total / Double(data.count)
    }
}
