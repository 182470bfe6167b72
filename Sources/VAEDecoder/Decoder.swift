/// The decoder runtime: a validated model plus a caller-owned arena. After `init`, decoding
/// touches only the image's weights, the arena and the caller's output: no allocation, no
/// globals, no file system.
public struct Decoder {
    public let model: DecoderModel
    /// The kernel every layer runs with (KernelPath.swift decides; tests pick each in turn).
    public let path: KernelPath
    /// The two activation buffers (ping-pong) and the path's scratch, all in the arena.
    let bufferA: UnsafeMutableRawPointer
    let bufferB: UnsafeMutableRawPointer
    let scratch: UnsafeMutableRawPointer
    /// What the path keeps per layer for the decoder's lifetime (KernelPath.persistentBytes),
    /// layer after layer; nil if nothing.
    let persistent: UnsafeMutableRawPointer?
    /// KernelPath.int8Blocked(model), asked once here: asked per decode, it passed the whole
    /// model by value, and that copy was the deepest frame of a Cortex-M0 firmware's stack.
    let int8BlockedLayout: Bool

    /// Bytes of one activation buffer, rounded up so that the next one stays 16-byte aligned.
    static func bufferBytes(_ model: DecoderModel) -> Int { (model.maxActivationBytes + 15) & ~15 }

    /// Arena bytes `model` needs with `path`: two activation buffers and the path's scratch.
    public static func arenaBytes(for model: DecoderModel, path: KernelPath = .automatic) -> Int {
        var s = 0
        for i in 0..<model.layerCount { s = max(s, path.scratchBytes(model.layer(i), model.precision)) }
        return 2 * bufferBytes(model) + ((s + 63) & ~63) + persistentBytes(model, path)
    }

    static func persistentBytes(_ model: DecoderModel, _ path: KernelPath) -> Int {
        var p = 0
        for i in 0..<model.layerCount { p += path.persistentBytes(model.layer(i), model.precision) }
        return p
    }

    /// An arena this large serves any image within `Capacity` on any path (for static allocation).
    public static var maxArenaBytes: Int {
        var bytes = 2 * 4 * Capacity.maxActivation
        if KernelPath.hasHostKernels {
            // The host kernels' padded input: in*H*(H + 2(k-1)) + 32 floats = in*H*H + 2(k-1)*in*H
            // + 32, and in*H*H is itself an activation (or the latent). The int8 kernels' padded
            // pairs take no more (4 bytes per padded value too).
            bytes += 4 * (Capacity.maxActivation + 2 * (Capacity.maxKernel - 1) * Capacity.maxChannels * Capacity.maxSide + 32)
        }
        return bytes
    }

    public init(model: DecoderModel, arena: UnsafeMutableRawBufferPointer, path: KernelPath = .automatic) throws(DecoderError) {
        guard path.isAvailable else { throw .badArgument }
        guard let base = arena.baseAddress else { throw .badArgument }
        guard Int(bitPattern: base) & 3 == 0 else { throw .misaligned }
        guard arena.count >= Decoder.arenaBytes(for: model, path: path) else { throw .arenaTooSmall }
        self.model = model
        self.path = path
        int8BlockedLayout = KernelPath.int8Blocked(model)
        bufferA = base
        bufferB = base + Decoder.bufferBytes(model)
        scratch = base + 2 * Decoder.bufferBytes(model)
        if Decoder.persistentBytes(model, path) > 0 {
            var s = 0
            for i in 0..<model.layerCount { s = max(s, path.scratchBytes(model.layer(i), model.precision)) }
            var p = scratch + ((s + 63) & ~63)
            persistent = p
            for i in 0..<model.layerCount {
                path.prepare(model.layer(i), model.precision, into: p)
                p += path.persistentBytes(model.layer(i), model.precision)
            }
        } else {
            persistent = nil
        }
    }

    /// Layer i's persistent bytes (nil if the path keeps none).
    @inline(__always)
    func persistent(_ i: Int) -> UnsafeRawPointer? {
        guard var p = persistent else { return nil }
        for j in 0..<i { p += path.persistentBytes(model.layer(j), model.precision) }
        return UnsafeRawPointer(p)
    }

    @inline(__always)
    func run(_ l: DecoderLayer, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        path.run(l, input, output, scratch: scratch.assumingMemoryBound(to: Float.self))
    }

    /// Layer i alone, from `input` to `output` (for per-layer benchmarks): floats for a float32
    /// image, the layer's integer tensors for an int8 one.
    public func runLayer(_ i: Int, input: UnsafeRawPointer, output: UnsafeMutableRawPointer) {
        let l = model.layer(i)
        if Precision.int8.isBuilt && model.precision == .int8 {
            path.runInt8(l, input, output, scratch: scratch, persistent: persistent(i), blocked: int8BlockedLayout)
            return
        }
        run(l, input.assumingMemoryBound(to: Float.self), output.assumingMemoryBound(to: Float.self))
    }

    /// latent[0..<model.latent] -> out[0..<model.pixelCount]: the last layer's activations of a
    /// float32 image; for an int8 image, its 8-bit pixels divided by 255.
    public func decode(latent: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        if Precision.int8.isBuilt && model.precision == .int8 {
            // The pixels go into the first quarter of `out`, then widen from the end backwards.
            let bytes = UnsafeMutableRawPointer(out).assumingMemoryBound(to: UInt8.self)
            decodeInt8(latent: latent, pixels: bytes, path: path)
            var i = model.pixelCount
            while i > 0 { i -= 1; out[i] = Float(UInt32(bytes[i])) / 255 }
            return
        }
        floatLayers(latent, out, path: path)
    }

    /// The same, through the reference kernel whatever the build (for tests and for checking
    /// that the kernels agree bit for bit).
    public func decodeReference(latent: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        if Precision.int8.isBuilt && model.precision == .int8 {
            let bytes = UnsafeMutableRawPointer(out).assumingMemoryBound(to: UInt8.self)
            decodeInt8(latent: latent, pixels: bytes, path: .reference)
            var i = model.pixelCount
            while i > 0 { i -= 1; out[i] = Float(UInt32(bytes[i])) / 255 }
            return
        }
        floatLayers(latent, out, path: .reference)
    }

    /// latent -> 8-bit pixels, either precision.
    public func decode(latent: UnsafePointer<Float>, pixels: UnsafeMutablePointer<UInt8>) {
        if Precision.int8.isBuilt && model.precision == .int8 { decodeInt8(latent: latent, pixels: pixels, path: path); return }
        let last = (model.layerCount % 2 == 1 ? bufferA : bufferB).assumingMemoryBound(to: Float.self)   // free at the last layer
        floatLayers(latent, last, path: path)
        Pixels.quantize(last, count: model.pixelCount, into: pixels)
    }

    /// The int8 decoder through the reference kernel (tests compare the fast kernels with it).
    public func decodeReference(latent: UnsafePointer<Float>, pixels: UnsafeMutablePointer<UInt8>) {
        if Precision.int8.isBuilt && model.precision == .int8 { decodeInt8(latent: latent, pixels: pixels, path: .reference); return }
        let last = (model.layerCount % 2 == 1 ? bufferA : bufferB).assumingMemoryBound(to: Float.self)
        floatLayers(latent, last, path: .reference)
        Pixels.quantize(last, count: model.pixelCount, into: pixels)
    }

    private func floatLayers(_ latent: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, path: KernelPath) {
        // An int8-only build has no float32 model to run (the loader refused it): no kernels.
        guard Precision.float32.isBuilt else { return }
        var src = latent
        let s = scratch.assumingMemoryBound(to: Float.self)
        for i in 0..<model.layerCount {
            let dst = i == model.layerCount - 1 ? out : (i % 2 == 0 ? bufferA : bufferB).assumingMemoryBound(to: Float.self)
            path.run(model.layer(i), src, dst, scratch: s)
            src = UnsafePointer(dst)
        }
    }

    /// An int8 image's first step (docs/quantisation.md section 3), for tools that run layers alone.
    public func quantiseLatent(_ latent: UnsafePointer<Float>, into q: UnsafeMutablePointer<Int16>) {
        for j in 0..<model.latent {
            q[j] = Int8Math.quantiseLatent(latent[j], inverseScale: model.latentInverseScale, qmax: model.latentQmax)
        }
    }

    /// docs/quantisation.md: quantise the latent into buffer B (int16), then every layer on
    /// integers, the last one straight to pixels. No floating point after the first loop.
    private func decodeInt8(latent: UnsafePointer<Float>, pixels: UnsafeMutablePointer<UInt8>, path: KernelPath) {
        let q = bufferB.assumingMemoryBound(to: Int16.self)
        let blocked = path == .blocked && int8BlockedLayout
        // The blocked kernel reads channel pairs (Int8PairLayout); the others, the natural order.
        let l0 = model.layer(0), plane = l0.inSide &* l0.inSide
        for j in 0..<model.latent {
            let v = Int8Math.quantiseLatent(latent[j], inverseScale: model.latentInverseScale, qmax: model.latentQmax)
            q[blocked ? Int8PairLayout.index(j / plane, j % plane, channels: l0.inChannels, plane: plane).at : j] = v
        }
        var src = UnsafeRawPointer(bufferB)
        // Each layer's packed weights follow the previous layer's: one walk, one copy of each
        // layer record (persistent(i) per layer re-reads every record before i).
        var packed = path == self.path ? persistent.map { UnsafeRawPointer($0) } : nil
        for i in 0..<model.layerCount {
            let l = model.layer(i)
            let dst = i == model.layerCount - 1 ? UnsafeMutableRawPointer(pixels) : (i % 2 == 0 ? bufferA : bufferB)
            path.runInt8(l, src, dst, scratch: scratch, persistent: packed, blocked: blocked)
            packed = packed.map { $0 + path.persistentBytes(l, model.precision) }
            src = UnsafeRawPointer(dst)
        }
    }

    /// Image `index` of `seed`, as vae-gen makes it. `latentScratch` holds model.latent floats.
    public func generate(seed: UInt64, index: UInt64, latentScratch: UnsafeMutablePointer<Float>,
                         pixels: UnsafeMutablePointer<UInt8>) {
        LatentGenerator.fill(seed: seed, image: index, latent: model.latent, into: latentScratch)
        decode(latent: latentScratch, pixels: pixels)
    }

    /// Image `index` of `seed` drawn from class `classIndex` of the image's priors
    /// (docs/latent-generator.md section 6): `vae-gen --digit` bit for bit. Throws noSuchClass
    /// when the image has no priors or fewer classes.
    public func generate(seed: UInt64, index: UInt64, classIndex: Int, latentScratch: UnsafeMutablePointer<Float>,
                         pixels: UnsafeMutablePointer<UInt8>) throws(DecoderError) {
        try classLatent(seed: seed, index: index, classIndex: classIndex, into: latentScratch)
        decode(latent: latentScratch, pixels: pixels)
    }

    /// The latent `generate(seed:index:classIndex:...)` decodes.
    public func classLatent(seed: UInt64, index: UInt64, classIndex c: Int, into out: UnsafeMutablePointer<Float>) throws(DecoderError) {
        guard c >= 0, c < model.classCount else { throw .noSuchClass }
        ClassLatent.fill(seed: seed, image: index, latent: model.latent, mean: model.classMean(c),
                         scale: model.classScale(c), full: model.classFull, into: out)
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
