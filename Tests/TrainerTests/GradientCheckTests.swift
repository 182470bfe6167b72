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
        let images = try MNIST.loadImages(Fixtures.path("mnist-train-first512.idx3.gz"))
        // Initialise as the trainer does, in Double.
        let st = TrainState(config: config, hyper: Hyper())
        var params = st.params.map(Double.init)
        let n = 3
        let imgs = (0..<n).map { i in (0..<784).map { Double(images.pixels[i * 784 + $0]) / 255 } }
        var rng = Xoshiro256(seed: 7)
        let noise = (0..<n).map { _ in (0..<config.latent).map { _ in rng.normal() } }
        let probe = DoubleProbe(config: config, images: imgs, noise: noise)
        func loss(_ p: [Double]) -> Double { probe.loss(p) }
        let analytic = probe.gradient(params)

        var checked = 0
        var worst = (name: "", rel: 0.0)
        var worstPlain = 0.0
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
                // Pass: relative error under 1e-4, beyond an absolute allowance of 2e-5 for that noise.
                let rel = max(0, abs(a - numeric) - 2e-5) / max(abs(a), abs(numeric), 1e-12)
                worstPlain = max(worstPlain, abs(a - numeric) / max(abs(a), abs(numeric), 1e-12))
                if rel > worst.rel { worst = ("\(e.name)[\(i)] analytic \(a) numeric \(numeric)", rel) }
                XCTAssertLessThan(rel, 1e-4, "\(e.name)[\(i)]: analytic \(a), numeric \(numeric)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 80)
        print("gradient check: \(checked) parameters; largest relative difference \(worstPlain); beyond the noise allowance: \(worst.rel) \(worst.name)")
    }
}

enum Fixtures {
    static func path(_ name: String) -> String {
        Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil)!.path
    }
}
