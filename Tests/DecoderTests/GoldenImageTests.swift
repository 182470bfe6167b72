import Checkpoint
import Foundation
import VAEDecoder
import VAETrainer
import XCTest

/// The runtime held against the trainer's own float decoder and against the committed goldens
/// (made by `vae-train make-goldens`; never by a test).
final class GoldenImageTests: XCTestCase {
    static let seeds: [UInt64] = [0, 42, 2026]

    func testGoldensWereMadeFromTheShippedCheckpoint() throws {
        let digests = try String(contentsOfFile: Repo.golden("digests.txt"), encoding: .utf8)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Repo.checkpoint)))
        XCTAssertTrue(digests.contains("checkpoint sha256 \(sha256Hex(bytes))"),
                      "the goldens are stale: regenerate them with `vae-train make-goldens` after changing checkpoints/")
    }

    func testRuntimeFloatMatchesTrainerDecoderOn1000Latents() throws {
        let h = try Harness()
        let ck = try CheckpointReader.read(Repo.checkpoint)
        let trainer = TrainerDecoder(config: ck.config, params: ck.params)
        let latents = TrainerDecoder.seededLatents(seed: 12345, count: 1000, latent: ck.config.latent)
        let expected = trainer.decode(latents)
        var worst: Float = 0
        // zip stops at the shorter of the two: lengths first, or a short decode would pass.
        XCTAssertEqual(expected.count, latents.count)
        for (l, e) in zip(latents, expected) {
            let got = h.decodeFloat(l)
            XCTAssertEqual(got.count, e.count)
            for (a, b) in zip(got, e) { worst = max(worst, abs(a - b)) }
        }
        print("runtime vs trainer decoder, 1000 latents: max |difference| \(worst)")
        XCTAssertLessThanOrEqual(worst, 1e-4)
    }

    func testRuntimeFloatMatchesCommittedTrainerGoldens() throws {
        let h = try Harness()
        for seed in Self.seeds {
            let golden = try readFloats(Repo.golden("trainer-f32-seed\(seed).bin"))
            XCTAssertEqual(golden.count, 16 * 784)
            var worst: Float = 0
            for i in 0..<16 {
                var lat = [Float](repeating: 0, count: h.model.latent)
                lat.withUnsafeMutableBufferPointer { LatentGenerator.fill(seed: seed, image: UInt64(i), latent: h.model.latent, into: $0.baseAddress!) }
                let got = h.decodeFloat(lat)
                for p in 0..<784 { worst = max(worst, abs(got[p] - golden[i * 784 + p])) }
            }
            XCTAssertLessThanOrEqual(worst, 1e-4, "seed \(seed)")
        }
    }

    func testRuntimeBytesEqualCommittedGoldens() throws {
        let h = try Harness()
        let digests = try String(contentsOfFile: Repo.golden("digests.txt"), encoding: .utf8)
        for seed in Self.seeds {
            let golden = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Repo.golden("runtime-u8-seed\(seed).bin"))))
            let got = h.generate(seed: seed, count: 16)
            XCTAssertEqual(got, golden, "seed \(seed): the 8-bit images changed")
            XCTAssertTrue(digests.contains("seed \(seed) all16 sha256 \(sha256Hex(golden))"))
            for i in 0..<16 {
                XCTAssertTrue(digests.contains("seed \(seed) image \(i) sha256 \(sha256Hex(Array(golden[(i * 784)..<((i + 1) * 784)])))"))
            }
        }
    }

    /// Every kernel path this machine can run (the portable one included, forced), on the
    /// shipped decoder: the reference kernel's bits. The slow paths see fewer latents.
    func testEveryKernelPathEqualsReferenceKernelBitForBit() throws {
        XCTAssertTrue(KernelPath.available.contains(.portable), "the host kernels are missing from this build")
        for path in KernelPath.available where path != .reference {
            let h = try Harness(path: path)
            XCTAssertEqual(h.decoder.path, path)
            var differing = 0
            let count = path == .portable || path == .blocked ? 60 : 1000
            for i in 0..<count {
                var lat = [Float](repeating: 0, count: h.model.latent)
                lat.withUnsafeMutableBufferPointer { LatentGenerator.fill(seed: 99, image: UInt64(i), latent: h.model.latent, into: $0.baseAddress!) }
                let a = h.decodeFloat(lat), b = h.decodeReference(lat)
                XCTAssertEqual(a.count, b.count, "\(path.name): pixel counts")
                differing += zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
            }
            XCTAssertEqual(differing, 0, "\(path.name): pixels whose float bits differ from the reference kernel's")
            XCTAssertEqual(h.generate(seed: 42, count: 16), try Data(contentsOf: URL(fileURLWithPath: Repo.golden("runtime-u8-seed42.bin"))).map { $0 },
                           "\(path.name): seed 42 differs from the golden bytes")
        }
    }
}

final class BatchDecoderTests: XCTestCase {
    /// Sixteen lanes, each image's bits equal to the single-image decoder's (also for a partial batch).
    func testBatchEqualsSingleImageDecoderBitForBit() throws {
        let h = try Harness()
        let m = h.model
        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: BatchDecoder.arenaBytes(for: m), alignment: 64)
        defer { arena.deallocate() }
        for path in KernelPath.available where path.rawValue >= 0 {
        let batch = try BatchDecoder(model: m, arena: arena, path: path)
        for count in [16, 5] {
            var latents = [Float](repeating: 0, count: count * m.latent)
            latents.withUnsafeMutableBufferPointer { p in
                for i in 0..<count { LatentGenerator.fill(seed: 77, image: UInt64(i), latent: m.latent, into: p.baseAddress! + i * m.latent) }
            }
            var out = [Float](repeating: 0, count: count * m.pixelCount)
            latents.withUnsafeBufferPointer { l in out.withUnsafeMutableBufferPointer { batch.decode(latents: l.baseAddress!, count: count, into: $0.baseAddress!) } }
            for i in 0..<count {
                let single = h.decodeFloat(Array(latents[(i * m.latent)..<((i + 1) * m.latent)]))
                XCTAssertEqual(Array(out[(i * m.pixelCount)..<((i + 1) * m.pixelCount)]).map(\.bitPattern), single.map(\.bitPattern), "\(path.name): image \(i) of \(count)")
            }
        }
        }
        XCTAssertThrowsError(try BatchDecoder(model: m, arena: UnsafeMutableRawBufferPointer(rebasing: arena[16...]))) {
            XCTAssertEqual($0 as? DecoderError, .misaligned)
        }
    }
}

/// The runtime takes its architecture from the image: other stacks (the report's 4-layer
/// decoders, ReLU instead of LeakyReLU) run and agree with the trainer's decoder.
final class OtherArchitectureTests: XCTestCase {
    func check(_ config: ModelConfig, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertNil(config.validate(), file: file, line: line)
        var h = Hyper(); h.seed = 3
        let params = TrainState(config: config, hyper: h).params
        let layout = ParamLayout(config)
        let image = DecoderImageBuilder.build(config) { name in
            let e = layout.entry(named: name)!
            return Array(params[e.offset..<(e.offset + e.count)])
        }
        let rt = try Harness(image: image)
        XCTAssertEqual(rt.model.layerCount, config.layers.count, file: file, line: line)
        let latents = TrainerDecoder.seededLatents(seed: 5, count: 48, latent: config.latent)
        let expected = TrainerDecoder(config: config, params: params).decode(latents)
        var worst: Float = 0
        XCTAssertEqual(expected.count, latents.count, file: file, line: line)
        for (l, e) in zip(latents, expected) {
            let got = rt.decodeFloat(l)
            XCTAssertEqual(got.count, e.count, file: file, line: line)
            XCTAssertEqual(got.map(\.bitPattern), rt.decodeReference(l).map(\.bitPattern), "\(rt.decoder.path.name) vs reference", file: file, line: line)
            for (a, b) in zip(got, e) { worst = max(worst, abs(a - b)) }
        }
        XCTAssertLessThanOrEqual(worst, 1e-4, file: file, line: line)
    }

    func testFourLayerReLUDecoder() throws {
        try check(ModelConfig(layers: [
            .init(16, 12, kernel: 9, activation: .relu), .init(12, 8, kernel: 9, activation: .relu),
            .init(8, 4, kernel: 7, activation: .relu), .init(4, 1, kernel: 5, activation: .sigmoid)]))
    }

    func testEightLayerLeakyDecoder() throws {
        try check(ModelConfig(layers: [
            .init(16, 16, kernel: 5, activation: .leakyReLU, slope: 0.2), .init(16, 12, kernel: 7, activation: .leakyReLU, slope: 0.2),
            .init(12, 10, kernel: 7, activation: .leakyReLU, slope: 0.2), .init(10, 8, kernel: 3, activation: .leakyReLU, slope: 0.2),
            .init(8, 6, kernel: 3, activation: .leakyReLU, slope: 0.2), .init(6, 4, kernel: 3, activation: .leakyReLU, slope: 0.2),
            .init(4, 2, kernel: 3, activation: .leakyReLU, slope: 0.2), .init(2, 1, kernel: 3, activation: .sigmoid)]))
    }

    func testNineLayersExceedCapacity() throws {
        var layers = [ModelConfig.DeconvLayer](repeating: .init(16, 16, kernel: 3, activation: .relu), count: 8)
        layers.append(.init(16, 1, kernel: 11, activation: .sigmoid))
        let config = ModelConfig(layers: layers)
        XCTAssertNil(config.validate())
        let image = DecoderImageBuilder.build(config) { name in
            [Float](repeating: 0.01, count: ParamLayout(config).entry(named: name)!.count)
        }
        XCTAssertThrowsError(try Harness(image: image)) { XCTAssertEqual($0 as? DecoderError, .tooManyLayers) }
    }
}
