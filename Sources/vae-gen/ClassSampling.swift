import Checkpoint
import VAEDecoder

/// vae-gen --digit: latents from the checkpoint's class priors (section PRIO), decoded by the
/// runtime one at a time (the same bits as the batch path; a hundred digits take milliseconds).
enum ClassSampling {
    static func digits(_ rt: LoadedDecoder, checkpoint: String, digit: Int, seed: UInt64, first: UInt64, n: Int) -> [UInt8] {
        let priors: ClassPriors
        do { priors = try CheckpointReader.readClassPriors(checkpoint) } catch { fail("\(error)") }
        guard digit < priors.classes else { fail("\(checkpoint): the class priors have \(priors.classes) classes, no \(digit)") }
        let m = rt.model
        var out = [UInt8](repeating: 0, count: n * m.pixelCount)
        var z = [Float](repeating: 0, count: m.latent)
        for i in 0..<n {
            priors.means[digit].withUnsafeBufferPointer { mp in
                priors.scales[digit].withUnsafeBufferPointer { sp in
                    z.withUnsafeMutableBufferPointer {
                        ClassLatent.fill(seed: seed, image: first + UInt64(i), latent: m.latent, mean: mp.baseAddress!,
                                         scale: sp.baseAddress!, full: priors.kind == .full, into: $0.baseAddress!)
                    }
                }
            }
            z.withUnsafeBufferPointer { zp in
                out.withUnsafeMutableBufferPointer { rt.decoder.decode(latent: zp.baseAddress!, pixels: $0.baseAddress! + i * m.pixelCount) }
            }
        }
        return out
    }
}
