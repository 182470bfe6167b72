import Checkpoint
import Foundation
import XCTest
import VAETrainer

final class TrainingTests: XCTestCase {
    func data() throws -> (ImageSet, ImageSet) {
        (try MNIST.loadImages(Fixtures.path("mnist-train-first512.idx3.gz")).prefix(320),
         try MNIST.loadImages(Fixtures.path("mnist-test-first256.idx3.gz")).prefix(64))
    }

    func bits(_ s: TrainState) -> [UInt32] { (s.params + s.adamM + s.adamV + s.running).map(\.bitPattern) }

    /// Interrupt after epoch 1, save, load, go on: the same bits as never stopping.
    func testResumeIsBitIdentical() throws { try resume(.standard) }

    /// The same for a --decoder-layers 4 --activation relu run: the checkpoint's header brings
    /// the architecture back.
    func testResumeIsBitIdenticalForAReLU4LayerDecoder() throws { try resume(.decoder(layers: 4, activation: .relu)) }

    /// A --sampler split run: head kind 2 in the header, no fc_* tensors, resumed as itself.
    func testResumeIsBitIdenticalForTheSplitSampler() throws {
        var c = ModelConfig.decoder(layers: 4)
        c.sampler = .split
        try resume(c)
    }

    /// A --batch-norm run: the running statistics and the unfolded convolutions come back from
    /// section NORM (DEC holds the folded ones).
    func testResumeIsBitIdenticalForBatchNorm() throws {
        var c = ModelConfig.decoder(layers: 4)
        c.batchNorm = true
        try resume(c)
    }

    func resume(_ config: ModelConfig) throws {
        let (train, val) = try data()
        var h = Hyper(); h.seed = 11; h.batch = 64
        let straight = Trainer(state: TrainState(config: config, hyper: h), threads: 2)
        for _ in 0..<2 { straight.runEpoch(train: train, validation: val) }

        let first = Trainer(state: TrainState(config: config, hyper: h), threads: 2)
        first.runEpoch(train: train, validation: val)
        let path = NSTemporaryDirectory() + "resume-\(getpid()).vaeckpt"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try first.state.save(to: path)
        let resumed = Trainer(state: try TrainState(checkpoint: path), threads: 2)
        XCTAssertEqual(resumed.state.config, config, "the checkpoint's header gives back the decoder")
        resumed.runEpoch(train: train, validation: val)

        XCTAssertEqual(bits(resumed.state), bits(straight.state))
        XCTAssertEqual(resumed.state.rng, straight.state.rng)
        XCTAssertEqual(resumed.state.step, straight.state.step)
        XCTAssertEqual(resumed.state.history.map(\.valTotal), straight.state.history.map(\.valTotal))
        // And training did something.
        XCTAssertNotEqual(bits(straight.state), bits(TrainState(config: config, hyper: h)))
    }

    /// Gradients are reduced shard by shard in a fixed order: thread count changes nothing.
    func testThreadCountDoesNotChangeTheResult() throws {
        let (train, val) = try data()
        var h = Hyper(); h.seed = 5; h.batch = 96
        let one = Trainer(state: TrainState(config: .standard, hyper: h), threads: 1)
        let three = Trainer(state: TrainState(config: .standard, hyper: h), threads: 3)
        one.runEpoch(train: train, validation: val)
        three.runEpoch(train: train, validation: val)
        XCTAssertEqual(bits(one.state), bits(three.state))
    }

    /// Batch norm's statistics span the shards; their reduction is in shard order too.
    func testThreadCountDoesNotChangeABatchNormRun() throws {
        let (train, val) = try data()
        var h = Hyper(); h.seed = 5; h.batch = 96
        var c = ModelConfig.decoder(layers: 4, activation: .relu)
        c.batchNorm = true
        let one = Trainer(state: TrainState(config: c, hyper: h), threads: 1)
        let three = Trainer(state: TrainState(config: c, hyper: h), threads: 3)
        one.runEpoch(train: train, validation: val)
        three.runEpoch(train: train, validation: val)
        XCTAssertEqual(bits(one.state), bits(three.state))
        XCTAssertEqual(one.state.history, three.state.history.map { var r = $0; r.seconds = one.state.history[0].seconds; return r })
    }

    /// A few hundred steps on a few hundred real digits must bring the loss well down.
    func testLossFallsOnRealDigits() throws {
        let (train, val) = try data()
        var h = Hyper(); h.batch = 32
        let t = Trainer(state: TrainState(config: .standard, hyper: h), threads: 2)
        let before = t.evaluate(val, noiseSeed: 1)
        for _ in 0..<8 { t.runEpoch(train: train, validation: val) }
        let after = t.evaluate(val, noiseSeed: 1)
        print("validation total per image: \(before.rec + before.kl) -> \(after.rec + after.kl)")
        XCTAssertLessThan(after.rec + after.kl, 0.8 * (before.rec + before.kl))
    }
}

final class MNISTLoaderTests: XCTestCase {
    func write(_ bytes: [UInt8], gzip: Bool = false) -> String {
        let path = NSTemporaryDirectory() + "idx-\(getpid())-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    func header(_ magic: [UInt8], _ dims: [Int]) -> [UInt8] {
        var b = magic
        for d in dims { b += [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)] }
        return b
    }

    func expect(_ path: String, _ text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try MNIST.loadImages(path), file: file, line: line) { e in
            XCTAssertTrue("\(e)".hasPrefix(path) && "\(e)".contains(text), "\(e)", file: file, line: line)
        }
    }

    func testRealFixtureLoads() throws {
        let s = try MNIST.loadImages(Fixtures.path("mnist-train-first512.idx3.gz"))
        XCTAssertEqual(s.count, 512); XCTAssertEqual(s.rows, 28)
        XCTAssertGreaterThan(s.pixels.max()!, 200)
    }

    func testLabelsFileIsNamedAsSuch() { expect(Fixtures.path("mnist-train-labels-first512.idx1.gz"), "labels file") }
    func testWrongMagic() { expect(write([0x50, 0x4B, 3, 4] + [UInt8](repeating: 0, count: 20)), "not an IDX file") }
    func testWrongDimensions() { expect(write(header([0, 0, 8, 3], [2, 32, 32]) + [UInt8](repeating: 0, count: 2048)), "32x32") }
    func testTruncated() { expect(write(header([0, 0, 8, 3], [10, 28, 28]) + [UInt8](repeating: 0, count: 784 * 3)), "truncated") }
    func testTruncatedGzip() throws {
        let full = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("mnist-train-first512.idx3.gz"))))
        expect(write(Array(full.prefix(full.count / 2))), "truncated")
    }
    func testMissing() { expect("/nonexistent/train-images-idx3-ubyte.gz", "no such file") }
    func testMissingFolder() {
        XCTAssertThrowsError(try MNIST.loadFolder("/nonexistent-folder")) { XCTAssertTrue("\($0)".contains("no such folder")) }
    }
}
