import Checkpoint
import Foundation
import VAEDecoder

enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
    static let checkpoint = path("checkpoints/vae-mnist.vaeckpt")
    static func golden(_ name: String) -> String { path("Tests/DecoderTests/Goldens/" + name) }
}

/// A runtime over a decoder image (the runtime's own owner type), on a chosen kernel path.
final class Harness {
    let loaded: LoadedDecoder
    var decoder: Decoder { loaded.decoder }
    var model: DecoderModel { decoder.model }

    init(image bytes: [UInt8], path: KernelPath = .automatic) throws {
        loaded = try LoadedDecoder(image: bytes, path: path)
    }

    convenience init(checkpoint: String = Repo.checkpoint, path: KernelPath = .automatic) throws {
        try self.init(image: try CheckpointReader.readDecoderImage(checkpoint).image, path: path)
    }

    func decodeFloat(_ latent: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: model.pixelCount)
        latent.withUnsafeBufferPointer { l in out.withUnsafeMutableBufferPointer { decoder.decode(latent: l.baseAddress!, into: $0.baseAddress!) } }
        return out
    }

    func decodeReference(_ latent: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: model.pixelCount)
        latent.withUnsafeBufferPointer { l in out.withUnsafeMutableBufferPointer { decoder.decodeReference(latent: l.baseAddress!, into: $0.baseAddress!) } }
        return out
    }

    func generate(seed: UInt64, count: Int) -> [UInt8] {
        var px = [UInt8](repeating: 0, count: count * model.pixelCount)
        var lat = [Float](repeating: 0, count: model.latent)
        px.withUnsafeMutableBufferPointer { p in
            lat.withUnsafeMutableBufferPointer { l in
                for i in 0..<count {
                    decoder.generate(seed: seed, index: UInt64(i), latentScratch: l.baseAddress!, pixels: p.baseAddress! + i * model.pixelCount)
                }
            }
        }
        return px
    }
}

func sha256Hex(_ bytes: [UInt8]) -> String { SHA256.hex(of: bytes) }

func readFloats(_ path: String) throws -> [Float] {
    let d = try Data(contentsOf: URL(fileURLWithPath: path))
    return d.withUnsafeBytes { b in (0..<(d.count / 4)).map { Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
}
