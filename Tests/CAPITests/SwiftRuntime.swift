// The Swift runtime's own answers, for comparison with the C interface (this file imports the
// Swift module; CAPITests.swift imports the C header only).
import Foundation
import VAEDecoder

enum SwiftRuntime {
    /// SHA-256 (hex) of images 0 ..< count of `seed`, concatenated: what vae-gen prints.
    static func sha256OfImages(image: [UInt8], seed: UInt64, count: Int) -> String {
        let img = UnsafeMutableRawBufferPointer.allocate(byteCount: image.count, alignment: 16)
        defer { img.deallocate() }
        img.copyBytes(from: image)
        let model = try! DecoderModel(image: UnsafeRawBufferPointer(img))
        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: Decoder.arenaBytes(for: model), alignment: 64)
        defer { arena.deallocate() }
        let d = try! Decoder(model: model, arena: arena)
        var latent = [Float](repeating: 0, count: model.latent)
        var all = [UInt8](repeating: 0, count: count * model.pixelCount)
        latent.withUnsafeMutableBufferPointer { lat in
            all.withUnsafeMutableBufferPointer { px in
                for i in 0..<count {
                    d.generate(seed: seed, index: UInt64(i), latentScratch: lat.baseAddress!,
                               pixels: px.baseAddress! + i * model.pixelCount)
                }
            }
        }
        var sha = SHA256()
        var digest = [UInt8](repeating: 0, count: 32)
        all.withUnsafeBytes { sha.update($0) }
        digest.withUnsafeMutableBufferPointer { sha.finish(into: $0.baseAddress!) }
        return digest.map { String(format: "%02x", $0) }.joined()
    }

    static func latent(seed: UInt64, index: UInt64, dim: Int) -> [Float] {
        var out = [Float](repeating: 0, count: dim)
        LatentGenerator.fill(seed: seed, image: index, latent: dim, into: &out)
        return out
    }
}
