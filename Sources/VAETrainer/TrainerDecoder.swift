import Checkpoint
import VAEDecoder

/// The trainer's own float decoder, applied to given latents: the yardstick the runtime is held
/// to (golden images), computed by the training code, not the runtime's.
public final class TrainerDecoder {
    let shard: Shard<Float>
    let params: [Float]
    public let config: ModelConfig

    /// `running`: batch norm's running statistics, which a batch-norm model decodes with.
    public init(config: ModelConfig, params: [Float], running: [Float] = []) {
        precondition(params.count == ParamLayout(config).total && running.count == ParamLayout(config).runningTotal)
        self.config = config; self.params = params
        shard = Shard<Float>(config: config)
        shard.useRunningStatistics(running)
    }

    /// Decodes each latent (config.latent floats) into config.pixels floats in [0, 1].
    public func decode(_ latents: [[Float]]) -> [[Float]] {
        var out: [[Float]] = []
        var i = 0
        while i < latents.count {
            let n = min(laneCount, latents.count - i)
            shard.setLatents(latents, from: i, count: n)
            let px = params.withUnsafeBufferPointer { shard.decodeLatents($0.baseAddress!) }
            for lane in 0..<n { out.append((0..<config.pixels).map { px[$0][lane] }) }
            i += n
        }
        return out
    }

    /// The latents vae-gen uses for images 0..<count of `seed` (docs/latent-generator.md).
    public static func seededLatents(seed: UInt64, count: Int, latent: Int, first: Int = 0) -> [[Float]] {
        (0..<count).map { i in
            (0..<latent).map { LatentGenerator.component(seed: seed, image: UInt64(first + i), index: $0, latent: latent) }
        }
    }
}

extension Trainer {
    /// `count` digits decoded by the current weights from the seeded latents, as 8-bit tiles.
    public func sampleDigits(count: Int, seed: UInt64) -> [[UInt8]] {
        let d = TrainerDecoder(config: state.config, params: state.params, running: state.running)
        return d.decode(TrainerDecoder.seededLatents(seed: seed, count: count, latent: state.config.latent)).map { img in
            img.map { Pixels.quantize($0) }
        }
    }
}

extension Shard where S == Float {
    /// latents[first ..< first + count] into the shard's latent lanes (one image per lane).
    func setLatents(_ latents: [[Float]], from first: Int, count: Int) {
        for j in 0..<config.latent {
            var v = SIMD16<Float>()
            for lane in 0..<count { v[lane] = latents[first + lane][j] }
            z[j] = v
        }
    }
}
