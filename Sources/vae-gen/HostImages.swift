#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Checkpoint
import HostEncoder
import ImageIO
import ToolSupport
import VAEDecoder

/// What reconstruct, interpolate and decode share: images in through the host encoder, latents
/// out through the runtime, pictures written atomically (a rerun never leaves half a PNG).
enum HostImages {
    /// Images first ..< first + n of an IDX, PNG or PGM file, checked against the model's size.
    static func load(_ path: String, first: Int, n: Int, side: Int) -> [[UInt8]] {
        let set: GrayImages
        do { set = try InputFiles.images(path) } catch { fail("\(error)") }
        guard set.width == side, set.height == side else {
            fail("\(path): images are \(set.width)x\(set.height); this model needs \(side)x\(side)")
        }
        guard first < set.images.count else {
            fail("\(path): --first \(first) is past the last image (the file holds \(set.images.count))")
        }
        return Array(set.images[first..<min(set.images.count, first + n)])
    }

    /// The encoder of the checkpoint named by --checkpoint (a decoder image has none).
    static func encoder(_ model: ModelOptions) -> HostEncoder {
        do { return try HostEncoder(checkpoint: model.checkpoint) } catch {
            fail("\(error) (the encoder comes from --checkpoint)")
        }
    }

    /// Each latent decoded by the runtime: float pixels (for the BCE) and 8-bit ones.
    static func decode(_ rt: LoadedDecoder, _ latents: [[Float]]) -> (floats: [[Float]], bytes: [[UInt8]]) {
        let m = rt.model
        var floats: [[Float]] = [], bytes: [[UInt8]] = []
        var f = [Float](repeating: 0, count: m.pixelCount)
        var b = [UInt8](repeating: 0, count: m.pixelCount)
        for z in latents {
            precondition(z.count == m.latent)
            z.withUnsafeBufferPointer { zp in
                f.withUnsafeMutableBufferPointer { rt.decoder.decode(latent: zp.baseAddress!, into: $0.baseAddress!) }
                b.withUnsafeMutableBufferPointer { rt.decoder.decode(latent: zp.baseAddress!, pixels: $0.baseAddress!) }
            }
            floats.append(f); bytes.append(b)
        }
        return (floats, bytes)
    }

    /// `bytes` to `path` atomically, creating the folder it is in.
    static func write(_ bytes: [UInt8], to path: String) {
        let dir = Path.dirname(path)
        if !dir.isEmpty && dir != "." {
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch { fail("cannot create the folder of \(path): \(error)") }
        }
        do { try AtomicFile.write(bytes, to: path, durable: false) } catch { fail("\(error)") }
    }
}
