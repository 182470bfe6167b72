import Checkpoint
import Dispatch
import Foundation

/// One epoch's figures, per image (the columns of history.csv and of the checkpoint's HIST).
public struct EpochRecord: Equatable, Sendable {
    public var epoch: Int
    public var seconds: Double
    public var trainRec: Double, trainKL: Double
    public var valRec: Double, valKL: Double
    public var trainTotal: Double { trainRec + trainKL }
    public var valTotal: Double { valRec + valKL }
    public init(epoch: Int, seconds: Double, trainRec: Double, trainKL: Double, valRec: Double, valKL: Double) {
        self.epoch = epoch; self.seconds = seconds; self.trainRec = trainRec; self.trainKL = trainKL
        self.valRec = valRec; self.valKL = valKL
    }
}

public struct Hyper: Equatable, Sendable {
    public var lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8
    public var batch = 128
    public var seed: UInt64 = 0
    public init() {}
}

/// Everything a run is: weights, Adam moments, the RNG, the history. A checkpoint holds exactly
/// this, so resuming restores it and continues as if never stopped.
public struct TrainState {
    public var config: ModelConfig
    public var hyper: Hyper
    public var params: [Float]
    public var adamM: [Float]
    public var adamV: [Float]
    public var step: UInt64 = 0
    public var epoch = 0
    public var rng: Xoshiro256
    public var history: [EpochRecord] = []
    public var imagesPerEpoch = 0
    /// Batch norm's running mean and variance (ParamLayout.running order; empty without it).
    public var running: [Float]

    /// A fresh model with PyTorch's default initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    /// for Linear and ConvTranspose2d (whose fan_in is out_channels * k * k), U(-1/sqrt(hidden),
    /// 1/sqrt(hidden)) for every LSTM tensor.
    public init(config: ModelConfig, hyper: Hyper) {
        self.config = config; self.hyper = hyper
        let lay = ParamLayout(config)
        var rng = Xoshiro256(seed: hyper.seed)
        var p = [Float](repeating: 0, count: lay.total)
        func fill(_ off: Int, _ n: Int, _ bound: Double) {
            for i in 0..<n { p[off + i] = Float((rng.uniform() * 2 - 1) * bound) }
        }
        let hb = 1 / Double(config.hidden).squareRoot()
        for e in lay.entries {
            // PyTorch's BatchNorm2d starts as the identity (weight 1, bias 0) and draws nothing,
            // so a batch-norm model's other tensors start as those of the same model without.
            if e.isBatchNorm { if e.name.hasSuffix(".weight") { for i in 0..<e.count { p[e.offset + i] = 1 } }; continue }
            if e.name.hasPrefix("lstm.") { fill(e.offset, e.count, hb) }
            else if e.name.hasPrefix("fc_") { fill(e.offset, e.count, hb) }  // fan_in = hidden
            else {
                // convs.i.weight [in, out, k, k] / convs.i.bias [out]
                let i = Int(e.name.split(separator: ".")[1])!
                let l = config.layers[i]
                fill(e.offset, e.count, 1 / Double(l.outChannels * l.kernel * l.kernel).squareRoot())
            }
        }
        params = p
        running = []
        for i in config.normalisedLayers {
            let n = config.layers[i].outChannels
            running += [Float](repeating: 0, count: n) + [Float](repeating: 1, count: n)
        }
        adamM = [Float](repeating: 0, count: lay.total)
        adamV = [Float](repeating: 0, count: lay.total)
        self.rng = rng
    }

    public var bestValTotal: Double? { history.map(\.valTotal).min() }
}

/// Progress of a running epoch, for the command line.
public struct Progress: Sendable {
    public var epoch: Int, batchesDone: Int, batches: Int
    public var imagesDone: Int, seconds: Double
    public var runningRec: Double, runningKL: Double  // per image so far
}

public final class Trainer {
    public private(set) var state: TrainState
    let layout: ParamLayout
    let threads: Int
    /// Shards per thread-slot: a batch of 128 is 8 shards of 16; shard s's gradient goes to its
    /// own buffer and the buffers are added in shard order, so the result does not depend on
    /// which thread ran which shard, nor on how many threads there are.
    var shards: [Shard<Float>] = []
    let gradSum: UnsafeMutablePointer<Float>

    public init(state: TrainState, threads: Int = 2) {
        self.state = state
        layout = ParamLayout(state.config)
        self.threads = max(1, threads)
        let perBatch = (state.hyper.batch + laneCount - 1) / laneCount
        shards = (0..<perBatch).map { _ in Shard<Float>(config: state.config) }
        gradSum = .allocate(capacity: layout.total)
        gradSum.initialize(repeating: 0, count: layout.total)
    }

    deinit { gradSum.deallocate() }

    /// Runs `body(shardIndex)` for 0..<n on the worker threads.
    func parallel(_ n: Int, _ body: (Int) -> Void) {
        if threads == 1 || n == 1 { for i in 0..<n { body(i) }; return }
        let t = min(threads, n)
        DispatchQueue.concurrentPerform(iterations: t) { w in
            var i = w
            while i < n { body(i); i += t }
        }
    }

    /// One epoch over `data` in the order the RNG draws; returns the epoch's record (without
    /// validation: see `evaluate`).
    public func trainEpoch(_ data: ImageSet, progress: ((Progress) -> Void)? = nil) -> (rec: Double, kl: Double, seconds: Double) {
        let start = DispatchTime.now().uptimeNanoseconds
        let order = state.rng.permutation(data.count)
        let B = state.hyper.batch
        let nb = (data.count + B - 1) / B
        var recSum = 0.0, klSum = 0.0
        let P = data.rows * data.cols
        let L = state.config.latent
        var noise = [Float](repeating: 0, count: B * L)
        for b in 0..<nb {
            let lo = b * B, hi = min(data.count, lo + B)
            let n = hi - lo
            // The noise of a batch is drawn image by image, in batch order, before any work is
            // split: the draws do not depend on the sharding.
            for i in 0..<(n * L) { noise[i] = Float(state.rng.normal()) }
            let nShards = (n + laneCount - 1) / laneCount
            let result = state.config.batchNorm ? batchNormStep(data, order: order, lo: lo, hi: hi, noise: noise)
                                                : state.params.withUnsafeBufferPointer { pp -> (Double, Double) in
                let params = pp.baseAddress!
                data.pixels.withUnsafeBufferPointer { px in
                    noise.withUnsafeBufferPointer { nz in
                        parallel(nShards) { s in
                            let sh = shards[s]
                            let first = lo + s * laneCount
                            let cnt = min(laneCount, hi - first)
                            sh.setImages({ lane, p in Float(px[order[first + lane] * P + p]) / 255 }, count: cnt)
                            sh.setNoise({ lane, j in lane < cnt ? nz[(s * laneCount + lane) * L + j] : 0 })
                            sh.zeroGrad()
                            sh.forward(params)
                            sh.backward(params)
                        }
                    }
                }
                var r = 0.0, k = 0.0
                for s in 0..<nShards { r += Double(hsum(shards[s].recLanes)); k += Double(hsum(shards[s].klLanes)) }
                return (r, k)
            }
            recSum += result.0; klSum += result.1
            reduceGradients(nShards)
            adamStep()
            if let progress {
                let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                progress(Progress(epoch: state.epoch + 1, batchesDone: b + 1, batches: nb, imagesDone: hi, seconds: secs,
                                  runningRec: recSum / Double(hi), runningKL: klSum / Double(hi)))
            }
        }
        let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        state.imagesPerEpoch = data.count
        return (recSum / Double(data.count), klSum / Double(data.count), secs)
    }

    /// One batch of a batch-norm model: forward and backward over all its shards with the
    /// batch's statistics, then the running statistics updated; returns the summed losses.
    func batchNormStep(_ data: ImageSet, order: [Int], lo: Int, hi: Int, noise: [Float]) -> (Double, Double) {
        let P = data.rows * data.cols, L = state.config.latent
        let nShards = (hi - lo + laneCount - 1) / laneCount
        let stats = state.params.withUnsafeBufferPointer { pp -> BatchNormPass.Statistics in
            for s in 0..<nShards {
                let sh = shards[s], first = lo + s * laneCount, cnt = min(laneCount, hi - first)
                data.pixels.withUnsafeBufferPointer { px in
                    sh.setImages({ lane, p in Float(px[order[first + lane] * P + p]) / 255 }, count: cnt)
                }
                sh.setNoise({ lane, j in lane < cnt ? noise[(s * laneCount + lane) * L + j] : 0 })
            }
            return BatchNormPass.run(shards, nShards, pp.baseAddress!, backward: true, parallel: parallel)
        }
        BatchNormPass.updateRunning(&state.running, stats, config: state.config)
        var r = 0.0, k = 0.0
        for s in 0..<nShards { r += Double(hsum(shards[s].recLanes)); k += Double(hsum(shards[s].klLanes)) }
        return (r, k)
    }

    /// Validation loss per image, with z sampled as in training (as the PyTorch reference
    /// does), from a noise stream of its own so that evaluating never moves the training RNG.
    /// Batch norm uses its running statistics, as PyTorch's eval mode does.
    public func evaluate(_ data: ImageSet, noiseSeed: UInt64) -> (rec: Double, kl: Double) {
        if state.config.batchNorm { for sh in shards { sh.useRunningStatistics(state.running) } }
        var rng = Xoshiro256(seed: noiseSeed)
        let L = state.config.latent
        let P = data.rows * data.cols
        let chunk = laneCount * shards.count
        var rec = 0.0, kl = 0.0
        var noise = [Float](repeating: 0, count: chunk * L)
        var lo = 0
        while lo < data.count {
            let hi = min(data.count, lo + chunk)
            let n = hi - lo
            for i in 0..<(n * L) { noise[i] = Float(rng.normal()) }
            let nShards = (n + laneCount - 1) / laneCount
            state.params.withUnsafeBufferPointer { pp in
                data.pixels.withUnsafeBufferPointer { px in
                    noise.withUnsafeBufferPointer { nz in
                        parallel(nShards) { s in
                            let sh = shards[s]
                            let first = lo + s * laneCount
                            let cnt = min(laneCount, hi - first)
                            sh.setImages({ lane, p in Float(px[(first + lane) * P + p]) / 255 }, count: cnt)
                            sh.setNoise({ lane, j in lane < cnt ? nz[(s * laneCount + lane) * L + j] : 0 })
                            sh.forward(pp.baseAddress!)
                        }
                    }
                }
            }
            for s in 0..<nShards { rec += Double(hsum(shards[s].recLanes)); kl += Double(hsum(shards[s].klLanes)) }
            lo = hi
        }
        return (rec / Double(data.count), kl / Double(data.count))
    }

    /// Trains one epoch, validates, appends to the history.
    @discardableResult
    public func runEpoch(train: ImageSet, validation: ImageSet, progress: ((Progress) -> Void)? = nil) -> EpochRecord {
        let t = trainEpoch(train, progress: progress)
        state.epoch += 1
        let v = evaluate(validation, noiseSeed: state.hyper.seed ^ (0xA5A5_0000_0000_0000 | UInt64(state.epoch)))
        let r = EpochRecord(epoch: state.epoch, seconds: t.seconds, trainRec: t.rec, trainKL: t.kl, valRec: v.rec, valKL: v.kl)
        state.history.append(r)
        return r
    }

    func reduceGradients(_ nShards: Int) {
        let n = layout.total
        gradSum.update(from: shards[0].grad, count: n)
        for s in 1..<max(1, nShards) {
            let g = shards[s].grad
            for i in 0..<n { gradSum[i] += g[i] }
        }
    }

    /// Adam exactly as torch.optim.Adam (no weight decay, no amsgrad).
    func adamStep() {
        state.step += 1
        let n = layout.total, step = state.step, hyper = state.hyper
        // Three nested mutations of `state` overlap, which Swift's exclusivity checks trap on
        // (the -Ounchecked build did not check): the arrays are moved out for the step, no copy.
        var params = [Float](), adamM = [Float](), adamV = [Float]()
        swap(&params, &state.params); swap(&adamM, &state.adamM); swap(&adamV, &state.adamV)
        defer { swap(&params, &state.params); swap(&adamM, &state.adamM); swap(&adamV, &state.adamV) }
        params.withUnsafeMutableBufferPointer { p in
            adamM.withUnsafeMutableBufferPointer { m in
                adamV.withUnsafeMutableBufferPointer { v in
                    adamUpdate(params: p.baseAddress!, m: m.baseAddress!, v: v.baseAddress!, grad: gradSum,
                               range: 0..<n, step: step, hyper: hyper)
                }
            }
        }
    }
}

/// Floating-point operations per image (a multiply-add counts two), from the model's shape:
/// the LSTM's input and recurrent products over all steps, the two heads and the transposed
/// convolutions; training adds the backward pass (input gradients and weight gradients of each,
/// the recurrent input gradient for steps 1...T-1). Elementwise work and Adam are not counted.
public func flopsPerImage(_ c: ModelConfig, training: Bool) -> Double {
    let T = Double(c.imageSize), I = Double(c.imageSize), H = Double(c.hidden), G = Double(c.gates), L = Double(c.latent)
    var deconv = 0.0
    for (i, l) in c.layers.enumerated() {
        let s = Double(c.side(atLayer: i))
        deconv += Double(l.inChannels * l.outChannels * l.kernel * l.kernel) * s * s
    }
    let forward = T * G * (I + H) + 2 * L * H + deconv
    if !training { return 2 * forward }
    let backward = T * G * (I + H) + (T - 1) * G * H + 4 * L * H + 2 * deconv
    return 2 * (forward + backward)
}
