import Checkpoint
import Foundation
import XCTest
import VAETrainer

/// The Swift model's forward pass against PyTorch's on the same weights, images and noise
/// (Fixtures/torch-forward.json, written once by scripts/make_torch_fixture.py).
final class TorchForwardTests: XCTestCase {
    struct Fixture: Decodable {
        var noise: [[Double]], mu: [[Double]], logvar: [[Double]], reconstruction: [[Double]]
        var rec_per_image: [Double], kl_per_image: [Double]
        var rec_sum: Double, kl_sum: Double
    }

    func testForwardMatchesPyTorch() throws {
        let (fx, ck, imgs) = try TorchFixture.load(Fixture.self)
        let n = fx.noise.count
        let probe = FloatProbe(config: ck.config, images: imgs, noise: fx.noise)
        let total = probe.loss(ck.params)
        let o = probe.outputs
        // zip stops at the shorter array: the counts first, or a short fixture would pass.
        func maxDiff(_ a: [[Double]], _ b: [[Double]], file: StaticString = #filePath, line: UInt = #line) -> Double {
            XCTAssertEqual(a.count, b.count, "rows", file: file, line: line)
            XCTAssertEqual(a.map(\.count), b.map(\.count), "row lengths", file: file, line: line)
            return zip(a, b).map { zip($0, $1).map { abs($0 - $1) }.max()! }.max()!
        }
        let dMu = maxDiff(Array(o.mu.prefix(n)), fx.mu)
        let dLv = maxDiff(Array(o.logvar.prefix(n)), fx.logvar)
        let dRec = maxDiff(Array(o.reconstruction.prefix(n)), fx.reconstruction)
        print("vs PyTorch: max |d mu| \(dMu), |d logvar| \(dLv), |d pixel| \(dRec); loss \(total) vs \(fx.rec_sum + fx.kl_sum)")
        XCTAssertLessThan(dMu, 1e-4)
        XCTAssertLessThan(dLv, 1e-4)
        XCTAssertLessThan(dRec, 1e-4)
        XCTAssertEqual(fx.rec_per_image.count, n)
        XCTAssertEqual(fx.kl_per_image.count, n)
        for i in 0..<n {
            XCTAssertEqual(o.rec[i], fx.rec_per_image[i], accuracy: 1e-3 * fx.rec_per_image[i], "image \(i) BCE")
            XCTAssertEqual(o.kl[i], fx.kl_per_image[i], accuracy: 1e-3 * fx.kl_per_image[i] + 1e-3, "image \(i) KL")
        }
        XCTAssertEqual(total, fx.rec_sum + fx.kl_sum, accuracy: 1e-4 * (fx.rec_sum + fx.kl_sum))
    }

    /// A batch of fewer than 16 images (an epoch's last): the fixture fills all 16 lanes, so
    /// its first k images are run alone. Each must get the values it has in the full batch
    /// (lanes are independent), the 16 - k masked lanes none, and the loss only theirs.
    func testMaskedLanesOfAPartialBatchContributeNothing() throws {
        let (fx, ck, imgs) = try TorchFixture.load(TorchForwardTests.Fixture.self)
        let n = fx.noise.count, k = 11
        XCTAssertEqual(n, 16, "the fixture should fill every lane")
        let full = FloatProbe(config: ck.config, images: imgs, noise: fx.noise)
        _ = full.loss(ck.params)
        let part = FloatProbe(config: ck.config, images: Array(imgs.prefix(k)), noise: Array(fx.noise.prefix(k)))
        let total = part.loss(ck.params)
        let (o, p) = (full.outputs, part.outputs)
        XCTAssertEqual(p.rec.count, 16)
        XCTAssertEqual(p.kl.count, 16)
        XCTAssertEqual(Array(p.rec.prefix(k)), Array(o.rec.prefix(k)), "BCE of the k real images")
        XCTAssertEqual(Array(p.kl.prefix(k)), Array(o.kl.prefix(k)), "KL of the k real images")
        XCTAssertEqual(Array(p.rec[k...]), [Double](repeating: 0, count: 16 - k), "BCE of the masked lanes")
        XCTAssertEqual(Array(p.kl[k...]), [Double](repeating: 0, count: 16 - k), "KL of the masked lanes")
        // Not zero because nothing was computed: the real lanes carry the loss.
        XCTAssertTrue(o.rec[k...].allSatisfy { $0 > 0 }, "the same lanes in the full batch have a BCE")
        let want = (0..<k).map { fx.rec_per_image[$0] + fx.kl_per_image[$0] }.reduce(0, +)
        XCTAssertEqual(total, want, accuracy: 1e-4 * want, "the loss of a batch of \(k)")
    }
}

/// The Swift gradient of the same batch's summed loss against PyTorch's autograd.
final class TorchGradientTests: XCTestCase {
    struct Grad: Decodable { var index: [Int]; var value: [Double]; var norm: Double }
    struct Fixture: Decodable { var noise: [[Double]]; var grad: [String: Grad] }

    func testGradientMatchesPyTorch() throws { try check(variant: false) }

    /// Batch norm (batch statistics), the split sampler and ReLU against PyTorch's autograd.
    func testVariantGradientMatchesPyTorch() throws {
        let (_, ck, _) = try TorchFixture.load(Fixture.self, variant: true)
        XCTAssertTrue(ck.config.batchNorm)
        XCTAssertEqual(ck.config.sampler, .split)
        XCTAssertEqual(ck.config.layers.count, 4)
        XCTAssertEqual(ck.config.layers[0].activation, .relu)
        try check(variant: true)
    }

    func check(variant: Bool) throws {
        let (fx, ck, imgs) = try TorchFixture.load(Fixture.self, variant: variant)
        let n = fx.noise.count
        // Double here, so that the comparison measures PyTorch's float32 rounding, not ours.
        let probe = DoubleProbe(config: ck.config, images: imgs, noise: fx.noise)
        let g = probe.gradient(ck.params.map(Double.init))
        let layout = ParamLayout(ck.config)
        XCTAssertEqual(Set(fx.grad.keys), Set(layout.entries.map(\.name)))
        let normalised = ck.config.batchNorm ? Set((0..<(ck.config.layers.count - 1)).map { "convs.\($0).bias" }) : []
        XCTAssertEqual(normalised.count, ck.config.batchNorm ? 3 : 0)
        for e in layout.entries {
            let t = try XCTUnwrap(fx.grad[e.name])
            let norm = (e.offset..<(e.offset + e.count)).map { g[$0] * g[$0] }.reduce(0, +).squareRoot()
            if normalised.contains(e.name) {
                // Batch norm subtracts the batch mean, so a bias before it has no effect: its
                // gradient is 0 (ours, in double, is 0 to rounding), and PyTorch's float32 value
                // is rounding noise, 1e-7 of the same layer's weight gradient.
                let weights = try XCTUnwrap(fx.grad[e.name.replacingOccurrences(of: ".bias", with: ".weight")])
                XCTAssertLessThan(norm, 1e-9 * weights.norm, "\(e.name): not zero")
                XCTAssertLessThan(t.norm, 1e-6 * weights.norm, "\(e.name): PyTorch's is not rounding noise")
                continue
            }
            XCTAssertEqual(norm, t.norm, accuracy: 1e-3 * t.norm + 1e-6, "\(e.name) gradient norm")
            XCTAssertEqual(t.index.count, t.value.count, "\(e.name): fixture index and value lists")
            for (i, v) in zip(t.index, t.value) {
                XCTAssertEqual(g[e.offset + i], v, accuracy: 2e-3 * t.norm / Double(e.count).squareRoot() + 1e-4 * abs(v) + 1e-6,
                               "\(e.name)[\(i)]")
            }
        }
    }
}

/// The PyTorch fixture, the checkpoint it was made from, and the images it used.
enum TorchFixture {
    /// `variant`: the report's-variant fixture (4 layers, ReLU, batch norm, split sampler).
    static func load<F: Decodable>(_ type: F.Type, variant: Bool = false) throws -> (F, CheckpointContents, [[Double]]) where F: HasNoise {
        let json = variant ? "torch-forward-variant.json" : "torch-forward.json"
        let fx = try JSONDecoder().decode(F.self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path(json))))
        let ck = try CheckpointReader.read(Fixtures.path(variant ? "forward-variant.vaeckpt" : "forward.vaeckpt"))
        let images = try MNIST.loadImages(Fixtures.path("mnist-train-first512.idx3.gz"))
        let imgs = (0..<fx.noise.count).map { i in (0..<784).map { Double(images.pixels[i * 784 + $0]) / 255 } }
        return (fx, ck, imgs)
    }
}

protocol HasNoise { var noise: [[Double]] { get } }
extension TorchForwardTests.Fixture: HasNoise {}
extension TorchGradientTests.Fixture: HasNoise {}
