import Checkpoint

// BatchNorm2d after a hidden layer's convolution (vae-train --batch-norm; docs/training.md).
// In training it normalises with the statistics of the whole batch, which spans the shards (and
// the threads): the pass goes layer by layer over every shard, with a reduction in shard order
// between, so that the result, like the rest of training, does not depend on the threads.

extension Shard {
    /// Normalises with the running statistics (validation, sampling): mean and variance of each
    /// normalised layer, ParamLayout.running order.
    public func useRunningStatistics(_ running: [Float]) {
        for i in config.normalisedLayers {
            let n = config.layers[i].outChannels, o = layout.running[i]
            bnMean[i] = (0..<n).map { S(running[o + $0]) }
            bnInvStd[i] = (0..<n).map { 1 / S.sqrtS(S(running[o + n + $0]) + S(ModelConfig.batchNormEps)) }
        }
    }

    /// acts[i + 1] = gamma (bnPre[i] - mean) / sqrt(var + eps) + beta, per channel.
    func normalise(_ i: Int, _ params: UnsafePointer<S>) {
        let n = config.layers[i].outChannels, plane = actSizes[i + 1] / n
        let pre = bnPre[i], out = acts[i + 1]
        for c in 0..<n {
            let scale = SIMD16<S>(repeating: params[layout.bnW[i] + c] * bnInvStd[i][c])
            let mean = SIMD16<S>(repeating: bnMean[i][c]), shift = SIMD16<S>(repeating: params[layout.bnB[i] + c])
            for p in (c * plane)..<((c + 1) * plane) { out[p] = (pre[p] - mean) * scale + shift }
        }
    }

    /// This shard's per-channel sums of x and x^2 over its images (masked lanes left out).
    func batchSums(_ i: Int) -> (sum: [Double], squares: [Double]) {
        let n = config.layers[i].outChannels, plane = actSizes[i + 1] / n
        let pre = bnPre[i], m = SIMD16<Double>(mask)
        var sum = [Double](repeating: 0, count: n), squares = sum
        for c in 0..<n {
            var a = SIMD16<Double>(), q = SIMD16<Double>()
            for p in (c * plane)..<((c + 1) * plane) {
                let v = SIMD16<Double>(pre[p]) * m
                a += v; q += v * v
            }
            sum[c] = a.sum(); squares[c] = q.sum()
        }
        return (sum, squares)
    }

    /// With dacts[i + 1] the gradient w.r.t. the batch norm's output: this shard's sums of dy
    /// and dy * xhat per channel, which are also its gradients of beta and gamma.
    func batchGradientSums(_ i: Int) -> (dy: [Double], dyx: [Double]) {
        let n = config.layers[i].outChannels, plane = actSizes[i + 1] / n
        let pre = bnPre[i], d = dacts[i + 1]
        var dy = [Double](repeating: 0, count: n), dyx = dy
        for c in 0..<n {
            let mean = SIMD16<S>(repeating: bnMean[i][c]), inv = SIMD16<S>(repeating: bnInvStd[i][c])
            var a = SIMD16<Double>(), b = SIMD16<Double>()
            for p in (c * plane)..<((c + 1) * plane) {
                let g = SIMD16<Double>(d[p] * mask)
                a += g; b += g * SIMD16<Double>((pre[p] - mean) * inv)
            }
            dy[c] = a.sum(); dyx[c] = b.sum()
            grad[layout.bnB[i] + c] += S(dy[c])
            grad[layout.bnW[i] + c] += S(dyx[c])
        }
        return (dy, dyx)
    }

    /// dacts[i + 1] made the gradient w.r.t. the convolution's output, given the batch's sums of
    /// dy and dy * xhat over `count` values per channel:
    /// dx = gamma / sigma (dy - mean(dy) - xhat mean(dy xhat)).
    func batchNormBackward(_ i: Int, _ params: UnsafePointer<S>, dy: [Double], dyx: [Double], count: Double) {
        let n = config.layers[i].outChannels, plane = actSizes[i + 1] / n
        let pre = bnPre[i], d = dacts[i + 1]
        for c in 0..<n {
            let mean = SIMD16<S>(repeating: bnMean[i][c]), inv = SIMD16<S>(repeating: bnInvStd[i][c])
            let k = SIMD16<S>(repeating: params[layout.bnW[i] + c] * bnInvStd[i][c])
            let mdy = SIMD16<S>(repeating: S(dy[c] / count)), mdyx = SIMD16<S>(repeating: S(dyx[c] / count))
            for p in (c * plane)..<((c + 1) * plane) {
                let xhat = (pre[p] - mean) * inv
                d[p] = k * (d[p] - mdy - xhat * mdyx) * mask
            }
        }
    }

    var lanesInUse: Int { Int(mask.sum()) }
}

/// One forward (and backward) pass of a batch norm model over shards 0..<n, with the batch's
/// statistics. `parallel(n, body)` runs body(0..<n) on the worker threads.
enum BatchNormPass {
    /// Per normalised layer, the batch's mean and biased variance per channel.
    typealias Statistics = [(mean: [Double], variance: [Double], count: Double)]

    @discardableResult
    static func run<S>(_ shards: [Shard<S>], _ n: Int, _ params: UnsafePointer<S>, backward: Bool,
                       parallel: (Int, (Int) -> Void) -> Void) -> Statistics {
        let config = shards[0].config
        var stats: Statistics = []
        parallel(n) { shards[$0].encode(params) }
        for i in config.layers.indices {
            guard config.normalisedLayers.contains(i) else {
                parallel(n) { shards[$0].convolve(i, params); shards[$0].activate(i) }
                continue
            }
            var partial = [(sum: [Double], squares: [Double])?](repeating: nil, count: n)
            partial.withUnsafeMutableBufferPointer { pp in
                parallel(n) { s in shards[s].convolve(i, params); pp[s] = shards[s].batchSums(i) }
            }
            let c = config.layers[i].outChannels
            var sum = [Double](repeating: 0, count: c), squares = sum
            for p in partial { for j in 0..<c { sum[j] += p!.sum[j]; squares[j] += p!.squares[j] } }
            let count = Double((0..<n).map { shards[$0].lanesInUse }.reduce(0, +) * (shards[0].actSizes[i + 1] / c))
            let mean = sum.map { $0 / count }
            let variance = (0..<c).map { max(0, squares[$0] / count - mean[$0] * mean[$0]) }
            stats.append((mean, variance, count))
            let sMean = mean.map { S($0) }, sInv = variance.map { S(1 / ($0 + ModelConfig.batchNormEps).squareRoot()) }
            parallel(n) { s in
                shards[s].bnMean[i] = sMean; shards[s].bnInvStd[i] = sInv
                shards[s].normalise(i, params); shards[s].activate(i)
            }
        }
        parallel(n) { shards[$0].lossForward() }
        guard backward else { return stats }
        parallel(n) { shards[$0].zeroGrad(); shards[$0].lossBackward() }
        for i in config.layers.indices.reversed() {
            parallel(n) { shards[$0].layerBackward(i, params) }
            let j = i - 1
            guard j >= 0, config.normalisedLayers.contains(j) else { continue }
            let c = config.layers[j].outChannels
            var partial = [(dy: [Double], dyx: [Double])?](repeating: nil, count: n)
            partial.withUnsafeMutableBufferPointer { pp in parallel(n) { pp[$0] = shards[$0].batchGradientSums(j) } }
            var dy = [Double](repeating: 0, count: c), dyx = dy
            for p in partial { for k in 0..<c { dy[k] += p!.dy[k]; dyx[k] += p!.dyx[k] } }
            let count = stats[j].count
            parallel(n) { shards[$0].batchNormBackward(j, params, dy: dy, dyx: dyx, count: count) }
        }
        parallel(n) { shards[$0].encoderBackward(params) }
        return stats
    }

    /// PyTorch's update of the running statistics from a batch's: (1 - m) r + m b, with the
    /// unbiased variance.
    static func updateRunning(_ running: inout [Float], _ stats: Statistics, config: ModelConfig) {
        let lay = ParamLayout(config), m = ModelConfig.batchNormMomentum
        for (k, i) in config.normalisedLayers.enumerated() {
            let c = config.layers[i].outChannels, o = lay.running[i]
            let st = stats[k]
            for j in 0..<c {
                running[o + j] = Float((1 - m) * Double(running[o + j]) + m * st.mean[j])
                let unbiased = st.variance[j] * st.count / max(st.count - 1, 1)
                running[o + c + j] = Float((1 - m) * Double(running[o + c + j]) + m * unbiased)
            }
        }
    }
}
