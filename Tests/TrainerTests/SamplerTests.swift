@testable import Checkpoint
import Foundation
import HostEncoder
import XCTest
import VAETrainer

/// --sampler fc | split through the checkpoint: the header says which, and the host encoder
/// (vae-gen reconstruct) turns an image into the latent the trainer computes.
final class SamplerTests: XCTestCase {
    func config(_ s: ModelConfig.Sampler) -> ModelConfig {
        var c = ModelConfig.decoder(layers: 4)
        c.sampler = s
        return c
    }

    func testSamplerRoundTripsThroughTheCheckpoint() throws {
        for s in [ModelConfig.Sampler.linearHeads, .split] {
            let st = TrainState(config: config(s), hyper: Hyper())
            let bytes = CheckpointWriter.encode(st.checkpointContents)
            XCTAssertEqual(UInt16(bytes[10]) | UInt16(bytes[11]) << 8, s == .split ? 3 : 2, "minor version")
            // Head kind: the 9th u32 of the architecture block, which starts at byte 16.
            XCTAssertEqual(bytes[16 + 8 * 4], UInt8(s.rawValue))
            let back = try CheckpointReader.read(bytes: bytes, path: "mem")
            XCTAssertEqual(back.config.sampler, s)
            XCTAssertEqual(back.params.map(\.bitPattern), st.params.map(\.bitPattern))
        }
    }

    /// An fc model's file is what the writer wrote before samplers existed: minor 2, head kind 1,
    /// the four fc_* tensors.
    func testHeadsModelKeepsItsFormat() throws {
        let bytes = CheckpointWriter.encode(TrainState(config: .standard, hyper: Hyper()).checkpointContents)
        XCTAssertEqual(bytes[10], 2)
        XCTAssertEqual(bytes[16 + 8 * 4], 1)
        let names = ParamLayout(.standard).entries.map(\.name)
        XCTAssertEqual(names.filter { $0.hasPrefix("fc_") }, ["fc_mu.weight", "fc_mu.bias", "fc_logvar.weight", "fc_logvar.bias"])
    }

    func testUnknownHeadKindIsRefused() throws {
        var bytes = CheckpointWriter.encode(TrainState(config: config(.split), hyper: Hyper()).checkpointContents)
        bytes[16 + 8 * 4] = 3
        let h = Int(bytes[12]) | Int(bytes[13]) << 8 | Int(bytes[14]) << 16
        let crc = withUnsafeBytes(of: Zlib.crc32(bytes[0..<(h - 4)]).littleEndian) { Array($0) }
        bytes.replaceSubrange((h - 4)..<h, with: crc)
        XCTAssertThrowsError(try CheckpointReader.read(bytes: bytes, path: "mem")) { e in
            XCTAssertTrue("\(e)".contains("head kind 3"), "\(e)")
        }
    }

    /// The host encoder's mean and log-variance are the trainer's, for both samplers.
    func testHostEncoderHonoursTheSampler() throws {
        let images = try MNIST.loadImages(Fixtures.path("mnist-test-first256.idx3.gz"))
        for s in [ModelConfig.Sampler.linearHeads, .split] {
            let c = config(s)
            let st = TrainState(config: c, hyper: Hyper())
            let px = (0..<2).map { i in Array(images.pixels[(i * 784)..<((i + 1) * 784)]) }
            let probe = FloatProbe(config: c, images: px.map { $0.map { Double($0) / 255 } },
                                   noise: px.map { _ in [Double](repeating: 0, count: c.latent) })
            _ = probe.loss(st.params)
            let enc = HostEncoder(config: c, params: st.params)
            for i in 0..<2 {
                let (mu, lv) = enc.encode(px[i])
                for j in 0..<c.latent {
                    XCTAssertEqual(Double(mu[j]), probe.outputs.mu[i][j], accuracy: 1e-5, "\(s) mu[\(j)]")
                    XCTAssertEqual(Double(lv[j]), probe.outputs.logvar[i][j], accuracy: 1e-5, "\(s) logvar[\(j)]")
                }
            }
        }
    }
}
