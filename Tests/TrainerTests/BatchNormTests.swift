import Checkpoint
import Foundation
import XCTest
@testable import VAETrainer

/// --batch-norm: statistics of the whole batch in training, running ones otherwise, folded
/// into the convolutions for the decoder image.
final class BatchNormTests: XCTestCase {
    func config(_ a: ModelConfig.HiddenActivation = .leakyReLU(slope: 0.01)) -> ModelConfig {
        var c = ModelConfig.decoder(layers: 4, activation: a)
        c.batchNorm = true
        return c
    }

    func data() throws -> (ImageSet, ImageSet) {
        (try MNIST.loadImages(Fixtures.path("mnist-train-first512.idx3.gz")).prefix(384),
         try MNIST.loadImages(Fixtures.path("mnist-test-first256.idx3.gz")).prefix(64))
    }

    /// A model trained a little, so that gamma, beta and the running statistics are far from
    /// their starting values (1, 0, 0, 1).
    func trained(_ c: ModelConfig) throws -> TrainState {
        let (train, val) = try data()
        var h = Hyper(); h.batch = 64; h.seed = 3
        let t = Trainer(state: TrainState(config: c, hyper: h), threads: 2)
        for _ in 0..<2 { t.runEpoch(train: train, validation: val) }
        let lay = ParamLayout(c)
        XCTAssertGreaterThan(abs(t.state.params[lay.bnB[0]]), 1e-3, "beta moved")
        XCTAssertGreaterThan(abs(t.state.running[lay.running[1]]), 1e-3, "running mean moved")
        return t.state
    }

    /// The decoder with batch norm folded in (what the decoder image holds) decodes as the
    /// trainer's decoder with BatchNorm2d in eval mode (running statistics).
    func testFoldedDecoderEqualsTheUnfoldedOne() throws {
        for a in [ModelConfig.HiddenActivation.leakyReLU(slope: 0.01), .relu] {
            let c = config(a)
            let st = try trained(c)
            let latents = TrainerDecoder.seededLatents(seed: 42, count: 48, latent: c.latent)
            let unfolded = TrainerDecoder(config: c, params: st.params, running: st.running).decode(latents)
            let folded = TrainerDecoder(config: c.inference, params: BatchNormFold.inferenceParams(c, params: st.params, running: st.running))
                .decode(latents)
            var worst: Float = 0
            XCTAssertEqual(unfolded.count, latents.count)
            XCTAssertEqual(folded.map(\.count), unfolded.map(\.count))
            for (u, f) in zip(unfolded, folded) { for (x, y) in zip(u, f) { worst = max(worst, abs(x - y)) } }
            print("batch norm folded vs unfolded (\(a)): largest pixel difference \(worst)")
            XCTAssertLessThan(worst, 2e-5)
            // Not a comparison of a model with itself: without the running statistics (identity
            // batch norm) the pixels differ.
            let identity = TrainerDecoder(config: c, params: st.params, running: TrainState(config: c, hyper: Hyper()).running).decode(latents)
            XCTAssertEqual(identity.map(\.count), unfolded.map(\.count))
            XCTAssertGreaterThan(zip(identity, unfolded).map { zip($0, $1).map { abs($0 - $1) }.max()! }.max()!, 0.01)
        }
    }

    /// The checkpoint: DEC is the folded decoder (what vae-gen reads), NORM gives back the
    /// unfolded convolutions, gamma, beta and the running statistics bit for bit.
    func testCheckpointHoldsTheFoldedImageAndTheTrainingTensors() throws {
        let c = config()
        let st = try trained(c)
        let bytes = CheckpointWriter.encode(st.checkpointContents)
        XCTAssertEqual(bytes[10], 3, "minor version 3")
        let back = try CheckpointReader.read(bytes: bytes, path: "mem")
        XCTAssertEqual(back.config, c)
        XCTAssertEqual(back.params.map(\.bitPattern), st.params.map(\.bitPattern))
        XCTAssertEqual(back.batchNormRunning.map(\.bitPattern), st.running.map(\.bitPattern))
        let path = NSTemporaryDirectory() + "bn-\(getpid()).vaeckpt"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try CheckpointWriter.write(st.checkpointContents, to: path)
        let image = try CheckpointReader.readDecoderImage(path)
        XCTAssertEqual(image.config, c)
        let inference = back.inferenceModel
        let lay = ParamLayout(inference.config)
        let expected = DecoderImageBuilder.build(inference.config) { name in
            let e = lay.entry(named: name)!
            return Array(inference.params[e.offset..<(e.offset + e.count)])
        }
        XCTAssertEqual(image.image, expected, "DEC is the plain decoder image of the folded weights")
    }

    /// Training normalises with the statistics of the whole batch, not of each 16-image shard:
    /// two shards of 8 images give the loss one shard of the same 16 gives.
    func testStatisticsSpanTheShards() throws {
        let c = config()
        let st = TrainState(config: c, hyper: Hyper())
        let (train, _) = try data()
        var rng = Xoshiro256(seed: 9)
        let noise = (0..<16).map { _ in (0..<c.latent).map { _ in Float(rng.normal()) } }
        func image(_ i: Int, _ p: Int) -> Float { Float(train.pixels[i * 784 + p]) / 255 }
        func shard(_ first: Int, _ count: Int) -> Shard<Float> {
            let s = Shard<Float>(config: c)
            s.setImages({ lane, p in image(first + lane, p) }, count: count)
            s.setNoise { lane, j in lane < count ? noise[first + lane][j] : 0 }
            return s
        }
        func serial(_ n: Int, _ body: (Int) -> Void) { for i in 0..<n { body(i) } }
        func total(_ shards: [Shard<Float>]) -> Double {
            shards.map { Double(hsum($0.recLanes + $0.klLanes)) }.reduce(0, +)
        }
        let one = [shard(0, 16)], two = [shard(0, 8), shard(8, 8)]
        st.params.withUnsafeBufferPointer { p in
            BatchNormPass.run(one, 1, p.baseAddress!, backward: false, parallel: serial)
            BatchNormPass.run(two, 2, p.baseAddress!, backward: false, parallel: serial)
        }
        XCTAssertEqual(total(two), total(one), accuracy: 1e-3 * abs(total(one)))
        // Each half alone (its own statistics) is a different computation.
        let alone = [shard(0, 8)]
        st.params.withUnsafeBufferPointer { p in _ = BatchNormPass.run(alone, 1, p.baseAddress!, backward: false, parallel: serial) }
        XCTAssertGreaterThan(abs(total(alone) - total([two[0]])), 1e-2)
    }
}
