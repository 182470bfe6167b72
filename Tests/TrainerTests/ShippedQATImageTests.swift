import Checkpoint
import Foundation
import VAEDecoder
@testable import VAETrainer
import XCTest

/// checkpoints/vae-mnist-int8-qat.vaed, the all-int8-activation decoder that
/// `vae-train quantise --widths int8 --qat-epochs 3` made from the shipped checkpoint
/// (docs/quantisation.md section 7): its claims, checked from the committed files.
final class ShippedQATImageTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let imagePath = root.appendingPathComponent("checkpoints/vae-mnist-int8-qat.vaed").path

    func image() throws -> (bytes: [UInt8], decoder: Int8Decoder) {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.imagePath)))
        return (bytes, try Int8ImageBuilder.parse(bytes, path: Self.imagePath))
    }

    func testEveryHiddenOutputIsInt8() throws {
        let d = try image().decoder
        XCTAssertEqual(d.layers.dropLast().map(\.outputWidth), [Int](repeating: 1, count: d.layers.count - 1))
    }

    /// The runtime on every kernel path gives Int8Reference's bytes (the same check the
    /// shipped all-int16 image has in Int8GoldenTests, here for int8 activations).
    func testRuntimeEqualsTheReferenceOnEveryPath() throws {
        let (bytes, d) = try image()
        let latents = TrainerDecoder.seededLatents(seed: 42, count: 16, latent: d.latent)
        let want = latents.flatMap { Int8Reference.decode(d, latent: $0) }
        for path in KernelPath.available {
            let loaded = try LoadedDecoder(image: bytes, path: path)
            let m = loaded.decoder.model
            XCTAssertEqual(m.precision, .int8)
            var px = [UInt8](repeating: 0, count: 16 * m.pixelCount), lat = [Float](repeating: 0, count: m.latent)
            px.withUnsafeMutableBufferPointer { p in
                lat.withUnsafeMutableBufferPointer { l in
                    for i in 0..<16 { loaded.decoder.generate(seed: 42, index: UInt64(i), latentScratch: l.baseAddress!, pixels: p.baseAddress! + i * m.pixelCount) }
                }
            }
            XCTAssertEqual(px, want, "\(path.name)")
        }
    }

    /// The figure README quotes: >= 35 dB against the shipped checkpoint's float32 decoder
    /// (the decoder it was fine-tuned from) over the 1,000 fidelity latents of section 8.
    func testFidelityAgainstTheFloatDecoderItWasTunedFrom() throws {
        let d = try image().decoder
        let ck = try CheckpointReader.read(Self.root.appendingPathComponent("checkpoints/vae-mnist.vaeckpt").path)
        let q = Quantiser(config: ck.config, params: ck.params)
        let latents = TrainerDecoder.seededLatents(seed: 2026, count: 1000, latent: ck.config.latent)
        let f = Quantiser.fidelity(q.int8Pixels(d, latents), q.floatPixels(latents))
        XCTAssertGreaterThanOrEqual(f.psnr, 35, "PSNR \(f.psnr) dB, max diff \(f.maxDiff)")
    }
}
