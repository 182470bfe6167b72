import Checkpoint
import Foundation
import XCTest
import VAETrainer

/// Every parameter tensor's analytic gradient against central finite differences, in Double,
/// on three real digits (plus masked empty lanes), with fixed sampling noise.
final class GradientCheckTests: XCTestCase {
    func testAnalyticGradientsMatchFiniteDifferences() throws { try check(.standard, "standard") }

    /// The variants of --decoder-layers and --activation: a 4-layer ReLU decoder (ReLU's zero
    /// gradient below the kink, other kernels and channel counts) and an 8-layer LeakyReLU(0.2).
    func testReLU4LayerDecoderGradientsMatchFiniteDifferences() throws {
        try check(.decoder(layers: 4, activation: .relu), "4-layer ReLU")
    }

    func testLeaky8LayerDecoderGradientsMatchFiniteDifferences() throws {
        try check(.decoder(layers: 8, activation: .leakyReLU(slope: 0.2)), "8-layer LeakyReLU(0.2)")
    }

    /// The split sampler (--sampler split, the report's FC-): mu and log-variance are the two
    /// halves of the LSTM's last hidden state, so their gradients go straight into dh.
    func testSplitSamplerGradientsMatchFiniteDifferences() throws {
        var c = ModelConfig.decoder(layers: 4)
        c.sampler = .split
        try check(c, "4-layer split sampler")
        XCTAssertFalse(ParamLayout(c).entries.contains { $0.name.hasPrefix("fc_") }, "the split sampler has no heads")
    }

    /// --batch-norm: BatchNorm2d with the probe's batch statistics (3 images, the masked lanes
    /// left out), its scale and shift and everything upstream of it.
    func testBatchNormGradientsMatchFiniteDifferences() throws {
        var c = ModelConfig.decoder(layers: 4)
        c.batchNorm = true
        try check(c, "4-layer batch norm")
        XCTAssertEqual(ParamLayout(c).entries.filter(\.isBatchNorm).count, 6)
    }

    func check(_ config: ModelConfig, _ label: String) throws {
        XCTAssertNil(config.validate())
        let layout = ParamLayout(config)
        let images = try MNIST.loadImages(Fixtures.path("mnist-train-first512.idx3.gz"))
        // Initialise as the trainer does, in Double.
        let st = TrainState(config: config, hyper: Hyper())
        var params = st.params.map(Double.init)
        let n = 3
        let imgs = (0..<n).map { i in (0..<784).map { Double(images.pixels[i * 784 + $0]) / 255 } }
        var rng = Xoshiro256(seed: 7)
        // Batch norm starts as the identity (gamma 1, beta 0): check away from that point.
        for e in layout.entries where e.isBatchNorm {
            for i in e.offset..<(e.offset + e.count) { params[i] = e.name.hasSuffix("weight") ? 0.5 + rng.uniform() : rng.uniform() - 0.5 }
        }
        let noise = (0..<n).map { _ in (0..<config.latent).map { _ in rng.normal() } }
        let probe = DoubleProbe(config: config, images: imgs, noise: noise)
        func loss(_ p: [Double]) -> Double { probe.loss(p) }
        let analytic = probe.gradient(params)

        var checked = 0
        var worst = (name: "", rel: 0.0)
        var worstPlain = 0.0
        var retried: [String] = []
        for e in layout.entries {
            // A spread of indices in each tensor: first, last, and a few in between.
            let picks = Set([0, e.count - 1, e.count / 2, e.count / 3, (7 * e.count) / 11, Int(rng.below(e.count))])
            for i in picks {
                let k = e.offset + i
                // Small steps: a (Leaky)ReLU kink inside [p - h, p + h] would spoil the difference.
                // Finite differences of a ~1600-nat loss carry ~2e-6 of rounding noise at h = 1e-7:
                // pass when the relative error is under 1e-4, beyond an absolute allowance of
                // 2e-5 (scaled by 1e-7 / h) for that noise.
                func attempt(_ step: Double) -> (numeric: Double, rel: Double, plain: Double) {
                    let h = step * max(1, abs(params[k]))
                    let saved = params[k]
                    params[k] = saved + h; let lp = loss(params)
                    params[k] = saved - h; let lm = loss(params)
                    params[k] = saved
                    let numeric = (lp - lm) / (2 * h)
                    let a = analytic[k]
                    let scale = max(abs(a), abs(numeric), 1e-12)
                    return (numeric, max(0, abs(a - numeric) - 2e-5 * 1e-7 / step) / scale, abs(a - numeric) / scale)
                }
                var r = attempt(1e-7)
                if r.rel >= 1e-4 {
                    // A kink within 1e-7 of p (ReLU's dead pixels make them likelier) moves out of
                    // a 16 times smaller step; a wrong gradient stays wrong at every step.
                    let first = r
                    r = attempt(1e-7 / 16)
                    retried.append("\(e.name)[\(i)] numeric \(first.numeric) at h = 1e-7, \(r.numeric) at h = 1e-7/16, analytic \(analytic[k])")
                }
                let a = analytic[k], numeric = r.numeric, rel = r.rel
                worstPlain = max(worstPlain, r.plain)
                if rel > worst.rel { worst = ("\(e.name)[\(i)] analytic \(a) numeric \(numeric)", rel) }
                XCTAssertLessThan(rel, 1e-4, "\(e.name)[\(i)]: analytic \(a), numeric \(numeric)")
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 3 * layout.entries.count)
        // Kinks are rare: more than a couple of retries would mean the first step is too large.
        XCTAssertLessThanOrEqual(retried.count, 2, "\(label): retried \(retried)")
        // The check must have seen real gradients in every decoder tensor (not all dead ReLUs).
        for e in layout.entries where e.isDecoder || e.isBatchNorm {
            // A bias before a batch norm is subtracted again with the batch mean: no gradient.
            if config.normalisedLayers.contains(where: { e.name == "convs.\($0).bias" }) {
                XCTAssertLessThan((e.offset..<(e.offset + e.count)).map { abs(analytic[$0]) }.max()!, 1e-9, "\(label): \(e.name)")
                continue
            }
            XCTAssertGreaterThan((e.offset..<(e.offset + e.count)).map { abs(analytic[$0]) }.max()!, 1e-6, "\(label): \(e.name) has no gradient")
        }
        print("gradient check \(label): \(checked) parameters; largest relative difference \(worstPlain); beyond the noise allowance: \(worst.rel) \(worst.name); retried at a smaller step: \(retried)")
    }
}

enum Fixtures {
    static func path(_ name: String) -> String {
        Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil)!.path
    }
}
