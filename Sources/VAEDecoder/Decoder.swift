/// The decoder runtime: a validated model plus a caller-owned arena. After `init`, decoding
/// touches only the image's weights, the arena and the caller's output: no allocation, no
/// globals, no file system.
public struct Decoder {
    public let model: DecoderModel
    /// The kernel every layer runs with (KernelPath.swift decides; tests pick each in turn).
    public let path: KernelPath
    let bufferA: UnsafeMutablePointer<Float>
    let bufferB: UnsafeMutablePointer<Float>
    let scratch: UnsafeMutablePointer<Float>?

    /// Arena bytes `model` needs with `path`: two activation buffers and the path's scratch.
    public static func arenaBytes(for model: DecoderModel, path: KernelPath = .automatic) -> Int {
        var s = 0
        for i in 0..<model.layerCount { s = max(s, path.scratchFloats(model.layers[i])) }
        return (2 * model.maxActivation + s) * 4
    }

    /// An arena this large serves any image within `Capacity` on any path (for static allocation).
    public static var maxArenaBytes: Int {
        var floats = 2 * Capacity.maxActivation
        if KernelPath.hasHostKernels {
            // The host kernels' padded input: in*H*(H + 2(k-1)) + 32 = in*H*H + 2(k-1)*in*H + 32,
            // and in*H*H is itself an activation (or the latent).
            floats += Capacity.maxActivation + 2 * (Capacity.maxKernel - 1) * Capacity.maxChannels * Capacity.maxSide + 32
        }
        return floats * 4
    }

    public init(model: DecoderModel, arena: UnsafeMutableRawBufferPointer, path: KernelPath = .automatic) throws(DecoderError) {
        guard path.isAvailable else { throw .badArgument }
        guard let base = arena.baseAddress else { throw .badArgument }
        guard Int(bitPattern: base) & 3 == 0 else { throw .misaligned }
        guard arena.count >= Decoder.arenaBytes(for: model, path: path) else { throw .arenaTooSmall }
        self.model = model
        self.path = path
        let f = base.assumingMemoryBound(to: Float.self)
        bufferA = f
        bufferB = f + model.maxActivation
        scratch = f + 2 * model.maxActivation
    }

    @inline(__always)
    func run(_ l: DecoderLayer, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        path.run(l, input, output, scratch: scratch)
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
            KernelPath.reference.run(model.layers[i], src, dst, scratch: nil)
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
