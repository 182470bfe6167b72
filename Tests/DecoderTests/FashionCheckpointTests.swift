// checkpoints/vae-fashion-mnist.vaeckpt, the second shipped model (the same architecture trained
// on Fashion-MNIST): the runtime held against the trainer's own decoders of that file, float32
// and int8, on every kernel path, computed live from the committed file; and against its
// committed goldens (Tests/DecoderTests/Goldens/fashion-mnist, made by `vae-train make-goldens`,
// which firmware-sim also checks on the Cortex-M cores).
import Checkpoint
import Foundation
import VAEDecoder
import VAETrainer
import XCTest

final class FashionCheckpointTests: XCTestCase {
    static let path = Repo.path("checkpoints/vae-fashion-mnist.vaeckpt")

    func testRuntimeFloatMatchesTheTrainersDecoder() throws {
        let h = try Harness(checkpoint: Self.path)
        let ck = try CheckpointReader.read(Self.path)
        let latents = TrainerDecoder.seededLatents(seed: 7, count: 200, latent: ck.config.latent)
        let expected = TrainerDecoder(config: ck.config, params: ck.params).decode(latents)
        var worst: Float = 0
        XCTAssertEqual(expected.count, latents.count)
        for (l, e) in zip(latents, expected) {
            let got = h.decodeFloat(l)
            XCTAssertEqual(got.count, e.count)
            for (a, b) in zip(got, e) { worst = max(worst, abs(a - b)) }
        }
        XCTAssertLessThanOrEqual(worst, 1e-4)
        // Not the digits model: the same latents give other pictures.
        let digits = try Harness()
        XCTAssertNotEqual(digits.generate(seed: 42, count: 4), h.generate(seed: 42, count: 4))
    }

    func testEveryPathGivesTheSameBytesFloat32AndInt8() throws {
        let f32 = try CheckpointReader.readDecoderImage(Self.path).image
        let i8 = try CheckpointReader.readDecoderImage(Self.path, precision: .int8).image
        let d = try Int8ImageBuilder.parse(i8, path: Self.path)
        let want8 = TrainerDecoder.seededLatents(seed: 42, count: 16, latent: d.latent).flatMap { Int8Reference.decode(d, latent: $0) }
        let want32 = try Harness(image: f32, path: .reference).generate(seed: 42, count: 16)
        for path in KernelPath.available {
            XCTAssertEqual(try Harness(image: f32, path: path).generate(seed: 42, count: 16), want32, "float32, \(path.name)")
            XCTAssertEqual(try Harness(image: i8, path: path).generate(seed: 42, count: 16), want8, "int8, \(path.name)")
        }
    }

    static func golden(_ name: String) -> String { Repo.golden("fashion-mnist/" + name) }

    func testCommittedGoldensAreThisCheckpointsAndEveryPathGivesThem() throws {
        let digests = try String(contentsOfFile: Self.golden("digests.txt"), encoding: .utf8)
        let digests8 = try String(contentsOfFile: Self.golden("digests-int8.txt"), encoding: .utf8)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.path)))
        XCTAssertTrue(digests.contains("checkpoint sha256 \(sha256Hex(bytes))"),
                      "stale: vae-train make-goldens --checkpoint checkpoints/vae-fashion-mnist.vaeckpt --out Tests/DecoderTests/Goldens/fashion-mnist")
        let f32 = try CheckpointReader.readDecoderImage(Self.path).image
        let i8 = try CheckpointReader.readDecoderImage(Self.path, precision: .int8).image
        for seed: UInt64 in [0, 42, 2026] {
            let want32 = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.golden("runtime-u8-seed\(seed).bin"))))
            let want8 = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.golden("trainer-int8-seed\(seed).bin"))))
            XCTAssertEqual(want32.count, 16 * 784)
            XCTAssertEqual(want8.count, 16 * 784)
            XCTAssertTrue(digests.contains("seed \(seed) all16 sha256 \(sha256Hex(want32))"))
            XCTAssertTrue(digests8.contains("seed \(seed) image 0 sha256 \(sha256Hex(Array(want8[0..<784])))"))
            XCTAssertNotEqual(want32, want8, "int8 is close to float32, not equal")
            for path in KernelPath.available {
                XCTAssertEqual(try Harness(image: f32, path: path).generate(seed: seed, count: 16), want32, "float32, \(path.name), seed \(seed)")
                XCTAssertEqual(try Harness(image: i8, path: path).generate(seed: seed, count: 16), want8, "int8, \(path.name), seed \(seed)")
            }
        }
    }
}
