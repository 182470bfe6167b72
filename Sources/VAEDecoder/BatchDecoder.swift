#if canImport(VAEHostKernels)
import VAEHostKernels

/// Sixteen images at once, one per SIMD lane (hosts only). Every lane runs exactly the
/// per-output operation sequence of docs/checkpoint-format.md section 2.1, so each image's bits
/// equal what `Decoder` makes of it alone; but no lane ever idles on a tap that does not exist,
/// which is where the single-image kernels lose time.
public struct BatchDecoder {
    public static let lanes = 16
    public let model: DecoderModel
    /// A host level (.portable, .avx2, .avx512, .neon): the C lanes kernel of that level.
    public let path: KernelPath
    let bufferA: UnsafeMutablePointer<SIMD16<Float>>
    let bufferB: UnsafeMutablePointer<SIMD16<Float>>

    /// Arena bytes for `model`: two activation buffers of 16 lanes (64-byte aligned).
    public static func arenaBytes(for model: DecoderModel) -> Int { 2 * max(model.maxActivation, model.latent) * 64 }

    public init(model: DecoderModel, arena: UnsafeMutableRawBufferPointer, path: KernelPath = .automatic) throws(DecoderError) {
        guard path.isAvailable, path.rawValue >= 0 else { throw .badArgument }
        guard let base = arena.baseAddress else { throw .badArgument }
        guard Int(bitPattern: base) & 63 == 0 else { throw .misaligned }
        guard arena.count >= BatchDecoder.arenaBytes(for: model) else { throw .arenaTooSmall }
        self.model = model
        self.path = path
        bufferA = base.assumingMemoryBound(to: SIMD16<Float>.self)
        bufferB = bufferA + max(model.maxActivation, model.latent)
    }

    /// latents[i * latent + j] for i < count (count <= 16) -> out[i * pixelCount + p].
    public func decode(latents: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>) {
        let last = run(latents: latents, count: count)
        let px = model.pixelCount
        for p in 0..<px {
            let v = last[p]
            for i in 0..<count { out[i * px + p] = v[i] }
        }
    }

    /// The same, quantised to 8-bit pixels.
    public func decode(latents: UnsafePointer<Float>, count: Int, pixels: UnsafeMutablePointer<UInt8>) {
        let last = run(latents: latents, count: count)
        let px = model.pixelCount
        for p in 0..<px {
            let v = last[p]
            for i in 0..<count { pixels[i * px + p] = Pixels.quantize(v[i]) }
        }
    }

    func run(latents: UnsafePointer<Float>, count: Int) -> UnsafeMutablePointer<SIMD16<Float>> {
        let d = model.latent
        for j in 0..<d {
            var v = SIMD16<Float>()
            for i in 0..<min(count, 16) { v[i] = latents[i * d + j] }
            bufferA[j] = v
        }
        var src = bufferA, dst = bufferB
        for i in 0..<model.layerCount {
            lanesLayer(model.layers[i], path, src, dst)
            swap(&src, &dst)
        }
        return src
    }
}

/// One layer over 16 images: each lane runs the per-output sequence of the format spec (2.1).
private func lanesLayer(_ l: DecoderLayer, _ path: KernelPath, _ input: UnsafeMutablePointer<SIMD16<Float>>,
                        _ output: UnsafeMutablePointer<SIMD16<Float>>) {
    var c = l.cLayer
    UnsafeMutableRawPointer(output).withMemoryRebound(to: Float.self, capacity: 16 * l.outputCount) { o in
        UnsafeRawPointer(input).withMemoryRebound(to: Float.self, capacity: 16) { i in
            vae_convt_f32_lanes16(&c, i, o, path.rawValue)
        }
    }
    if l.activation == .sigmoid {
        for p in 0..<l.outputCount { output[p] = Sigmoid.sigmoid16(output[p]) }
    }
}
#endif
