/// The decoder runtime: a validated model plus a caller-owned arena. After `init`, decoding
/// touches only the image's weights, the arena and the caller's output: no allocation, no
/// globals, no file system.
public struct Decoder {
    public let model: DecoderModel
    let bufferA: UnsafeMutablePointer<Float>
    let bufferB: UnsafeMutablePointer<Float>
    let scratch: UnsafeMutablePointer<Float>?

    /// Whether this build runs the vectorised host kernel (it needs extra scratch).
    public static var usesVectorKernel: Bool {
        #if arch(x86_64) || arch(arm64)
        return true
        #else
        return false
        #endif
    }

    /// Arena bytes `model` needs in this build: two activation buffers, and on hosts the
    /// vector kernel's padded-input scratch.
    public static func arenaBytes(for model: DecoderModel) -> Int {
        var floats = 2 * model.maxActivation
        #if arch(x86_64) || arch(arm64)
        var s = 0
        for i in 0..<model.layerCount { s = max(s, paddedScratchFloats(model.layers[i])) }
        floats += s
        #endif
        return floats * 4
    }

    /// An arena this large serves any image within `Capacity` (for static allocation).
    public static var maxArenaBytes: Int {
        var floats = 2 * Capacity.maxActivation
        #if arch(x86_64) || arch(arm64)
        // in*H*(H + 2(k-1)) = in*H*H + 2(k-1)*in*H, and in*H*H is itself an activation (or the latent).
        floats += Capacity.maxActivation + 2 * (Capacity.maxKernel - 1) * Capacity.maxChannels * Capacity.maxSide + 32
        #endif
        return floats * 4
    }

    public init(model: DecoderModel, arena: UnsafeMutableRawBufferPointer) throws(DecoderError) {
        guard let base = arena.baseAddress else { throw .badArgument }
        guard Int(bitPattern: base) & 3 == 0 else { throw .misaligned }
        guard arena.count >= Decoder.arenaBytes(for: model) else { throw .arenaTooSmall }
        self.model = model
        let f = base.assumingMemoryBound(to: Float.self)
        bufferA = f
        bufferB = f + model.maxActivation
        #if arch(x86_64) || arch(arm64)
        scratch = f + 2 * model.maxActivation
        #else
        scratch = nil
        #endif
    }

    /// Runs one layer with the kernel this build uses.
    @inline(__always)
    func run(_ l: DecoderLayer, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        #if arch(x86_64) || arch(arm64)
        convTransposeVector(l, input: input, output: output, scratch: scratch.unsafelyUnwrapped)
        #else
        // Register-blocked kernels exist for the shipped decoder's layer shapes; any other
        // shape runs the reference loop (same bits, slower).
        if !convTransposeFast(l, input: input, output: output) { convTransposeReference(l, input: input, output: output) }
        #endif
    }

    /// Layer i alone, from `input` to `output` (for per-layer benchmarks).
    public func runLayer(_ i: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
        run(model.layers[i], input, output)
    }

    /// latent[0..<model.latent] -> out[0..<model.pixelCount], the last layer's activations.
    public func decode(latent: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        var src = latent
        for i in 0..<model.layerCount {
            let dst = i == model.layerCount - 1 ? out : (i % 2 == 0 ? bufferA : bufferB)
            run(model.layers[i], src, dst)
            src = UnsafePointer(dst)
        }
    }

    /// The same, through the reference kernel whatever the build (for tests and for checking
    /// that the two kernels agree bit for bit).
    public func decodeReference(latent: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        var src = latent
        for i in 0..<model.layerCount {
            let dst = i == model.layerCount - 1 ? out : (i % 2 == 0 ? bufferA : bufferB)
            convTransposeReference(model.layers[i], input: src, output: dst)
            src = UnsafePointer(dst)
        }
    }

    /// latent -> 8-bit pixels. The float image is built in the arena, then quantised.
    public func decode(latent: UnsafePointer<Float>, pixels: UnsafeMutablePointer<UInt8>) {
        let last = model.layerCount % 2 == 1 ? bufferA : bufferB   // free at the last layer
        decode(latent: latent, into: last)
        Pixels.quantize(last, count: model.pixelCount, into: pixels)
    }

    /// Image `index` of `seed`, as vae-gen makes it. `latentScratch` holds model.latent floats.
    public func generate(seed: UInt64, index: UInt64, latentScratch: UnsafeMutablePointer<Float>,
                         pixels: UnsafeMutablePointer<UInt8>) {
        LatentGenerator.fill(seed: seed, image: index, latent: model.latent, into: latentScratch)
        decode(latent: latentScratch, pixels: pixels)
    }
}

public enum Pixels {
    /// p in [0, 1] -> round(p * 255), halves up; NaN becomes 0.
    @inline(__always)
    public static func quantize(_ p: Float) -> UInt8 {
        var v = p
        if !(v > 0) { v = 0 }
        if v > 1 { v = 1 }
        return UInt8(v * 255 + 0.5)
    }

    public static func quantize(_ src: UnsafePointer<Float>, count: Int, into dst: UnsafeMutablePointer<UInt8>) {
        for i in 0..<count { dst[i] = quantize(src[i]) }
    }
}
