import Checkpoint

/// The model's loss, outputs and gradient on a fixed batch (at most 16 images) with fixed
/// noise: what the finite-difference checks and the PyTorch comparison need.
final class Probe<S: TrainScalar> {
    let shard: Shard<S>
    let total: Int

    init(config: ModelConfig, images: [[Double]], noise: [[Double]]) {
        precondition(images.count <= laneCount && images.count == noise.count)
        shard = Shard<S>(config: config)
        total = ParamLayout(config).total
        shard.setImages({ lane, p in S(images[lane][p]) }, count: images.count)
        shard.setNoise { lane, j in lane < noise.count ? S(noise[lane][j]) : 0 }
    }

    /// Batch norm normalises with the statistics of the probe's images (training mode).
    func pass(_ params: [S], backward: Bool) {
        params.withUnsafeBufferPointer { p in
            if shard.config.batchNorm {
                BatchNormPass.run([shard], 1, p.baseAddress!, backward: backward) { n, body in for i in 0..<n { body(i) } }
            } else {
                shard.forward(p.baseAddress!)
                if backward { shard.zeroGrad(); shard.backward(p.baseAddress!) }
            }
        }
    }

    @inline(__always)
    func loss(_ params: [S]) -> Double {
        pass(params, backward: false)
        var s = 0.0
        for l in 0..<laneCount { s += Double(shard.recLanes[l] + shard.klLanes[l]) }
        return s
    }

    @inline(__always)
    func gradient(_ params: [S]) -> [Double] {
        pass(params, backward: true)
        return (0..<total).map { Double(shard.grad[$0]) }
    }

    func lanes(_ p: UnsafeMutablePointer<SIMD16<S>>, _ n: Int) -> [[Double]] {
        (0..<laneCount).map { lane in (0..<n).map { Double(p[$0][lane]) } }
    }
    var outputs: ProbeOutputs {
        ProbeOutputs(mu: lanes(shard.mu, shard.config.latent), logvar: lanes(shard.logvar, shard.config.latent),
                     reconstruction: lanes(shard.acts[shard.config.layers.count], shard.config.pixels),
                     rec: (0..<laneCount).map { Double(shard.recLanes[$0]) }, kl: (0..<laneCount).map { Double(shard.klLanes[$0]) })
    }
}

/// Forward outputs of the last `loss` call, one row per lane.
public struct ProbeOutputs {
    public var mu: [[Double]], logvar: [[Double]], reconstruction: [[Double]]
    public var rec: [Double], kl: [Double]
}

/// The probe in Double (gradient checks).
public final class DoubleProbe {
    let p: Probe<Double>
    public init(config: ModelConfig, images: [[Double]], noise: [[Double]]) { p = Probe(config: config, images: images, noise: noise) }
    public func loss(_ params: [Double]) -> Double { p.loss(params) }
    public func gradient(_ params: [Double]) -> [Double] { p.gradient(params) }
    public var outputs: ProbeOutputs { p.outputs }
}

/// The probe in Float, the precision training runs in (PyTorch comparison).
public final class FloatProbe {
    let p: Probe<Float>
    public init(config: ModelConfig, images: [[Double]], noise: [[Double]]) { p = Probe(config: config, images: images, noise: noise) }
    public func loss(_ params: [Float]) -> Double { p.loss(params) }
    public func gradient(_ params: [Float]) -> [Double] { p.gradient(params) }
    public var outputs: ProbeOutputs { p.outputs }
}
