import Checkpoint
import Foundation

/// Quantisation-aware fine-tuning of the decoder (docs/quantisation.md section 7).
///
/// The decoder is trained to make the float32 decoder's pixels *through* the integer path: its
/// forward pass rounds the weights to the int8 grid and every hidden output to its tensor's
/// integers (fake quantisation), its backward pass treats those roundings as the identity inside
/// the clamp range and as a wall outside it (the straight-through estimator). The target is the
/// original float32 decoder's output for the same latent (distillation), not the training
/// images: the figures that matter compare the int8 decoder with that float32 decoder, so that
/// is what the loss measures. The encoder is not needed and not touched.
///
/// Latents: half of every batch from the prior N(0, I) (what vae-gen draws), half sampled from
/// the encoder's posterior of a random training image (what the validation total decodes).
/// Every batch is two shards of 16 lanes with their own seeded generators, reduced in a fixed
/// order, so the result does not depend on the thread count.
public final class QuantisationAwareTraining {
    public struct Options: Sendable {
        public var epochs = 4
        public var stepsPerEpoch = 1000          // 32 latents per step
        public var lr = 3e-5
        public var seed: UInt64 = 0
        public init() {}
    }

    public struct EpochReport: Sendable {
        public var epoch: Int
        /// Mean squared error of the fake-quantised decoder's probabilities against the
        /// float32 decoder's, per pixel, as PSNR (peak 1).
        public var psnr: Double
        public var seconds: Double
    }

    let config: ModelConfig
    let layout: ParamLayout
    let teacherParams: [Float]
    public private(set) var params: [Float]
    /// tensors[0] is the latent, tensors[i] layer i-1's output (the exporter's formats).
    let tensors: [Quantiser.TensorFormat]
    let posterior: [(mu: [Float], logvar: [Float])]
    let options: Options
    /// Per layer, the per-output-channel weight scales: fixed for the whole run, the teacher's
    /// (max |w| / 127, the grid rounding to nearest and output-error rounding share), so the grid
    /// the weights are trained on is the grid they are exported on.
    let scales: [[Double]]
    static let shardsPerStep = 2

    /// `tensors` are the formats of the export being trained for (Quantiser.Export.tensors);
    /// `posterior` the encoder's (mu, logvar) of training images. `start`, if given, is where
    /// the student's weights begin (output-error rounding's integers times their scales): the
    /// fine-tuning then starts from the best post-training rounding instead of from nearest.
    public init(config: ModelConfig, params: [Float], tensors: [Quantiser.TensorFormat],
                posterior: [(mu: [Float], logvar: [Float])], options: Options,
                start: Quantiser.RoundedWeights? = nil) {
        precondition(tensors.count == config.layers.count && !posterior.isEmpty)
        self.config = config; layout = ParamLayout(config); teacherParams = params; self.params = params
        self.tensors = tensors; self.posterior = posterior; self.options = options
        let teacher = Quantiser(config: config, params: params, threads: 1)
        scales = config.layers.indices.map { teacher.quantiseWeights($0).scale }
        if let start {
            precondition(start.layers.count == config.layers.count)
            for (i, l) in config.layers.enumerated() {
                let kk = l.kernel * l.kernel, base = layout.convW[i]
                precondition(start.layers[i].scale == scales[i], "start must use the teacher's grid")
                for ic in 0..<l.inChannels { for oc in 0..<l.outChannels { for t in 0..<kk {
                    let k = (ic * l.outChannels + oc) * kk + t
                    self.params[base + k] = Float(Double(start.layers[i].q[k]) * scales[i][oc])
                } } }
            }
        }
    }

    /// The student's weights rounded to nearest on the fixed grid: what the export uses.
    public func roundedWeights() -> Quantiser.RoundedWeights {
        Quantiser.RoundedWeights(layers: config.layers.enumerated().map { i, l in
            let kk = l.kernel * l.kernel, base = layout.convW[i]
            var q = [Int8](repeating: 0, count: l.inChannels * l.outChannels * kk)
            for ic in 0..<l.inChannels { for oc in 0..<l.outChannels { for t in 0..<kk {
                let k = (ic * l.outChannels + oc) * kk + t
                q[k] = Int8(Self.gridIndex(params[base + k], scales[i][oc]))
            } } }
            return (q, scales[i])
        })
    }

    static func gridIndex(_ w: Float, _ s: Double) -> Double {
        min(max((Double(w) / s).rounded(.toNearestOrAwayFromZero), -127), 127)
    }

    /// The decoder's parameter ranges in the flat layout (weights and bias of every layer).
    var decoderRanges: [Range<Int>] {
        config.layers.indices.flatMap { i -> [Range<Int>] in
            let l = config.layers[i]
            return [layout.convW[i]..<(layout.convW[i] + l.inChannels * l.outChannels * l.kernel * l.kernel),
                    layout.convB[i]..<(layout.convB[i] + l.outChannels)]
        }
    }

    public func run(progress: (EpochReport) -> Void) {
        let shards = (0..<Self.shardsPerStep).map { _ in Lanes(config: config) }
        let teachers = (0..<Self.shardsPerStep).map { _ in Shard<Float>(config: config) }
        let ranges = decoderRanges
        var m = [Float](repeating: 0, count: layout.total), v = m
        var quantised = params
        var step = 0
        for epoch in 1...options.epochs {
            let start = Date()
            var sq = 0.0
            for _ in 0..<options.stepsPerEpoch {
                step += 1
                fakeQuantiseWeights(into: &quantised)
                quantised.withUnsafeBufferPointer { qp in
                    teacherParams.withUnsafeBufferPointer { tp in
                        DispatchQueue.concurrentPerform(iterations: Self.shardsPerStep) { s in
                            var rng = Xoshiro256(seed: options.seed ^ (UInt64(step) &* 0x9E37_79B9_7F4A_7C15) ^ UInt64(s))
                            drawLatents(teachers[s], &rng)
                            let target = teachers[s].decodeLatents(tp.baseAddress!)
                            shards[s].step(qp.baseAddress!, latent: teachers[s].z, target: target, tensors: tensors)
                        }
                    }
                }
                for s in shards { sq += s.squaredError }
                adam(shards, ranges, &m, &v, step)
            }
            let mse = sq / Double(options.stepsPerEpoch * Self.shardsPerStep * laneCount * config.pixels)
            progress(EpochReport(epoch: epoch, psnr: 10 * log10(1 / max(mse, 1e-30)), seconds: Date().timeIntervalSince(start)))
        }
    }

    func drawLatents(_ t: Shard<Float>, _ rng: inout Xoshiro256) {
        let L = config.latent
        var z = [[Float]](repeating: [Float](repeating: 0, count: L), count: laneCount)
        for lane in 0..<laneCount {
            if lane < laneCount / 2 {
                for j in 0..<L { z[lane][j] = Float(rng.normal()) }
            } else {
                let p = posterior[Int(rng.next() % UInt64(posterior.count))]
                for j in 0..<L { z[lane][j] = p.mu[j] + Float(rng.normal()) * Foundation.exp(p.logvar[j] / 2) }
            }
        }
        t.setLatents(z, from: 0, count: laneCount)
    }

    /// Rounding to nearest on the fixed grid applied to the float weights: s_w[oc] * w_q.
    func fakeQuantiseWeights(into q: inout [Float]) {
        for (i, l) in config.layers.enumerated() {
            let kk = l.kernel * l.kernel, base = layout.convW[i]
            for ic in 0..<l.inChannels { for oc in 0..<l.outChannels { for t in 0..<kk {
                let k = base + (ic * l.outChannels + oc) * kk + t
                q[k] = Float(Self.gridIndex(params[k], scales[i][oc]) * scales[i][oc])
            } } }
            for oc in 0..<l.outChannels { q[layout.convB[i] + oc] = params[layout.convB[i] + oc] }
        }
    }

    /// torch.optim.Adam on the decoder's parameters; gradients summed over shards in order.
    func adam(_ shards: [Lanes], _ ranges: [Range<Int>], _ m: inout [Float], _ v: inout [Float], _ step: Int) {
        var h = Hyper(); h.lr = options.lr
        var g = [Float](repeating: 0, count: layout.total)
        for r in ranges { for i in r { for s in shards { g[i] += s.grad[i] } } }
        params.withUnsafeMutableBufferPointer { p in
            m.withUnsafeMutableBufferPointer { mp in
                v.withUnsafeMutableBufferPointer { vp in
                    g.withUnsafeBufferPointer { gp in
                        for r in ranges {
                            adamUpdate(params: p.baseAddress!, m: mp.baseAddress!, v: vp.baseAddress!, grad: gp.baseAddress!,
                                       range: r, step: UInt64(step), hyper: h)
                        }
                    }
                }
            }
        }
    }

    /// One shard's decoder state: 16 latents' fake-quantised forward and backward pass.
    final class Lanes {
        let config: ModelConfig
        let layout: ParamLayout
        /// acts[0] the fake-quantised latent, acts[i + 1] layer i's output (fake-quantised for
        /// hidden layers, probabilities for the last).
        let acts: [VPtr<Float>]
        let dacts: [VPtr<Float>]
        /// 1 where the straight-through gradient passes (inside the clamp range, times the
        /// activation's slope), per hidden output.
        let pass: [VPtr<Float>]
        let sizes: [Int]
        let grad: UnsafeMutablePointer<Float>
        var squaredError = 0.0

        init(config: ModelConfig) {
            self.config = config; layout = ParamLayout(config)
            var s = [config.view.c * config.view.h * config.view.w]
            for (i, l) in config.layers.enumerated() { s.append(l.outChannels * config.side(atLayer: i + 1) * config.side(atLayer: i + 1)) }
            sizes = s
            func alloc(_ n: Int) -> VPtr<Float> { let p = VPtr<Float>.allocate(capacity: n); p.initialize(repeating: .zero, count: n); return p }
            acts = s.map(alloc); dacts = s.map(alloc); pass = s.map(alloc)
            grad = .allocate(capacity: layout.total); grad.initialize(repeating: 0, count: layout.total)
        }

        deinit {
            for p in acts + dacts + pass { p.deallocate() }
            grad.deallocate()
        }

        /// real -> s * (clamp(round(real / s) + zp) - zp); `pass` gets 1 inside the range.
        static func fakeQuantise(_ x: VPtr<Float>, _ pass: VPtr<Float>, _ n: Int, _ f: Quantiser.TensorFormat, slope: Float?) {
            let s = Float(f.scale), inv = 1 / Float(f.scale), zp = Float(f.zeroPoint)
            let lo = SIMD16<Float>(repeating: Float(f.qmin)), hi = SIMD16<Float>(repeating: Float(f.qmax))
            let one = SIMD16<Float>(repeating: 1), zero = SIMD16<Float>()
            for p in 0..<n {
                var a = x[p]
                var g = one
                if let slope {
                    let neg = a .< 0
                    a = a.replacing(with: a * slope, where: neg)
                    g = g.replacing(with: SIMD16<Float>(repeating: slope), where: neg)
                }
                let q = (a * inv).rounded(.toNearestOrAwayFromZero) + zp
                let inside = (q .>= lo) .& (q .<= hi)
                pass[p] = g.replacing(with: zero, where: .!inside)
                x[p] = (q.clamped(lowerBound: lo, upperBound: hi) - zp) * s
            }
        }

        func step(_ w: UnsafePointer<Float>, latent z: UnsafePointer<SIMD16<Float>>, target: UnsafePointer<SIMD16<Float>>,
                  tensors: [Quantiser.TensorFormat]) {
            let L = config.layers.count
            acts[0].update(from: z, count: sizes[0])
            Self.fakeQuantise(acts[0], pass[0], sizes[0], tensors[0], slope: nil)
            for (i, l) in config.layers.enumerated() {
                deconvForward(input: acts[i], inC: l.inChannels, side: config.side(atLayer: i), w: w + layout.convW[i],
                              b: w + layout.convB[i], outC: l.outChannels, k: l.kernel, output: acts[i + 1])
                if i == L - 1 { sigmoidLanes(acts[i + 1], sizes[i + 1]); break }
                let slope: Float
                switch l.activation {
                case .none: slope = 1
                case .relu: slope = 0
                case .leakyReLU: slope = l.slope
                case .sigmoid: preconditionFailure("only the last layer is sigmoid")
                }
                Self.fakeQuantise(acts[i + 1], pass[i + 1], sizes[i + 1], tensors[i + 1], slope: slope)
            }
            // Loss: sum over pixels of (p - target)^2; through the sigmoid.
            let out = acts[L], d = dacts[L]
            var sq = SIMD16<Float>()
            for p in 0..<sizes[L] {
                let e = out[p] - target[p]
                sq += e * e
                d[p] = 2 * e * out[p] * (1 - out[p])
            }
            squaredError = Double(sq.sum())
            grad.update(repeating: 0, count: layout.total)
            for i in stride(from: L - 1, through: 0, by: -1) {
                let l = config.layers[i], side = config.side(atLayer: i)
                deconvBackwardWeights(input: acts[i], inC: l.inChannels, side: side, dOut: dacts[i + 1], outC: l.outChannels,
                                      k: l.kernel, gw: grad + layout.convW[i], gb: grad + layout.convB[i])
                if i == 0 { break }
                deconvBackwardInput(dOut: dacts[i + 1], outC: l.outChannels, side: side, w: w + layout.convW[i],
                                    inC: l.inChannels, k: l.kernel, dIn: dacts[i])
                let dp = dacts[i], ps = pass[i]
                for p in 0..<sizes[i] { dp[p] *= ps[p] }
            }
        }
    }
}
