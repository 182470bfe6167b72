import VAEDecoder

/// vae-gen --digit: latents from the image's class priors, decoded by the runtime one at a
/// time (`Decoder.generate(classIndex:)`, what `vae_generate_class` runs; a hundred digits take
/// milliseconds).
enum ClassSampling {
    static func digits(_ rt: LoadedDecoder, source: String, digit: Int, seed: UInt64, first: UInt64, n: Int) -> [UInt8] {
        let m = rt.model
        guard digit < m.classCount else { fail("\(source): the class priors have \(m.classCount) classes, no \(digit)") }
        var out = [UInt8](repeating: 0, count: n * m.pixelCount)
        out.withUnsafeMutableBufferPointer { px in
            for i in 0..<n {
                do throws(DecoderError) {
                    try rt.decoder.generate(seed: seed, index: first + UInt64(i), classIndex: digit, latentScratch: rt.latent,
                                            pixels: px.baseAddress! + i * m.pixelCount)
                } catch { fail("\(source): \(error.message)") }
            }
        }
        return out
    }
}
