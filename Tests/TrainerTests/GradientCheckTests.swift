import Checkpoint
import Foundation
import XCTest
import VAETrainer

/// Every parameter tensor's analytic gradient against central finite differences, in Double,
/// on three real digits (plus masked empty lanes), with fixed sampling noise.
final class GradientCheckTests: XCTestCase {
    func testAnalyticGradientsMatchFiniteDifferences() throws {
        let config = ModelConfig.standard
        let layout = ParamLayout(config)
        let images = try MNIST.loadImages(Fixtures.path("train-images-idx3-ubyte.gz"))
        // Initialise as the trainer does, in Double.
        let st = TrainState(config: config, hyper: Hyper())
        var params = st.params.map(Double.init)
        let shard = Shard<Double>(config: config)
        let n = 3
        shard.setImages({ lane, p in Double(images.pixels[lane * 784 + p]) / 255 }, count: n)
        var rng = Xoshiro256(seed: 7)
        var noise = [[Double]](repeating: [Double](repeating: 0, count: config.latent), count: laneCount)
        for l in 0..<n { for j in 0..<config.latent { noise[l][j] = rng.normal() } }
        shard.setNoise { lane, j in noise[lane][j] }

        func loss(_ p: [Double]) -> Double {
            p.withUnsafeBufferPointer { shard.forward($0.baseAddress!) }
            var s = 0.0
            for l in 0..<laneCount { s += shard.recLanes[l] + shard.klLanes[l] }
            return s
        }
        _ = loss(params)
        shard.zeroGrad()
        params.withUnsafeBufferPointer { shard.backward($0.baseAddress!) }
        let analytic = (0..<layout.total).map { shard.grad[$0] }

        var checked = 0
        var worst = (name: "", rel: 0.0)
        for e in layout.entries {
            // A spread of indices in each tensor: first, last, and a few in between.
            let picks = Set([0, e.count - 1, e.count / 2, e.count / 3, (7 * e.count) / 11, Int(rng.below(e.count))])
            for i in picks {
                let k = e.offset + i
                // Small steps: a LeakyReLU kink inside [p - h, p + h] would spoil the difference.
                let h = 1e-7 * max(1, abs(params[k]))
                let saved = params[k]
                params[k] = saved + h; let lp = loss(params)
                params[k] = saved - h; let lm = loss(params)
                params[k] = saved
                let numeric = (lp - lm) / (2 * h)
                let a = analytic[k]
                // Finite differences of a ~1600-nat loss carry ~2e-6 of rounding noise at this h.
                let rel = abs(a - numeric) / (max(abs(a), abs(numeric)) + 0.05)
                if rel > worst.rel { worst = ("\(e.name)[\(i)] analytic \(a) numeric \(numeric)", rel) }
                XCTAssertLessThan(rel, 1e-4, "\(e.name)[\(i)]: analytic \(a), numeric \(numeric)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 80)
        print("gradient check: \(checked) parameters, worst relative error \(worst.rel) at \(worst.name)")
    }
}

enum Fixtures {
    static func path(_ name: String) -> String {
        Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil)!.path
    }
}
