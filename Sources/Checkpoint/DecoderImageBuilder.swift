import VAEDecoder

/// Writes decoder image v1 (docs/checkpoint-format.md, section 2) from a config and the
/// decoder's tensors. The runtime's `DecoderModel` is the reader of what this writes.
public enum DecoderImageBuilder {
    /// Byte offsets of each layer's weight and bias inside the image (the tensor table records them).
    public static func offsets(_ config: ModelConfig) -> [(weight: Int, bias: Int)] {
        var off = DecoderImageLayout.headerBytes + config.layers.count * DecoderImageLayout.layerRecordBytes
        func align(_ x: Int) -> Int { (x + 15) & ~15 }
        var r: [(Int, Int)] = []
        for l in config.layers {
            off = align(off)
            let w = off
            off += l.inChannels * l.outChannels * l.kernel * l.kernel * 4
            off = align(off)
            let b = off
            off += l.outChannels * 4
            r.append((w, b))
        }
        return r
    }

    /// `tensor(name)` returns the float values of `convs.K.weight` / `convs.K.bias`.
    public static func build(_ config: ModelConfig, tensor: (String) -> [Float]) -> [UInt8] {
        typealias H = DecoderImageLayout.Header
        typealias R = DecoderImageLayout.Layer
        let offs = offsets(config)
        var w = ByteWriter()
        // Header and records as zeros, then every field at its named offset.
        let recordsEnd = DecoderImageLayout.headerBytes + config.layers.count * DecoderImageLayout.layerRecordBytes
        while w.bytes.count < recordsEnd { w.u8(0) }
        func put(_ at: Int, _ v: Int) { w.patchU32(at: at, UInt32(v)) }
        w.patchU32(at: H.magic, DecoderImageLayout.magic)
        w.bytes[H.major] = UInt8(DecoderImageLayout.major); w.bytes[H.major + 1] = UInt8(DecoderImageLayout.major >> 8)
        w.bytes[H.minor] = UInt8(DecoderImageLayout.minor); w.bytes[H.minor + 1] = UInt8(DecoderImageLayout.minor >> 8)
        w.patchU32(at: H.weightType, DecoderImageLayout.weightTypeFloat32)
        put(H.latent, config.latent); put(H.viewChannels, config.view.c); put(H.viewHeight, config.view.h); put(H.viewWidth, config.view.w)
        put(H.layerCount, config.layers.count)
        let outSide = config.side(atLayer: config.layers.count)
        put(H.outputChannels, config.layers.last!.outChannels); put(H.outputHeight, outSide); put(H.outputWidth, outSide)
        for (i, l) in config.layers.enumerated() {
            let r = DecoderImageLayout.headerBytes + i * DecoderImageLayout.layerRecordBytes
            w.patchU32(at: r + R.kind, DecoderImageLayout.layerKindConvTranspose)
            put(r + R.inChannels, l.inChannels); put(r + R.outChannels, l.outChannels)
            put(r + R.kernelH, l.kernel); put(r + R.kernelW, l.kernel)
            put(r + R.stride, 1); put(r + R.padding, 0)
            w.patchU32(at: r + R.activation, l.activation.rawValue); w.patchU32(at: r + R.slope, l.slope.bitPattern)
            put(r + R.weightOffset, offs[i].weight); put(r + R.biasOffset, offs[i].bias)
        }
        for (i, _) in config.layers.enumerated() {
            w.align(16); precondition(w.bytes.count == offs[i].weight)
            w.floats(tensor("convs.\(i).weight"))
            w.align(16); precondition(w.bytes.count == offs[i].bias)
            w.floats(tensor("convs.\(i).bias"))
        }
        w.align(16)
        put(H.totalLength, w.bytes.count)
        w.patchU32(at: H.crc, Zlib.crc32(w.bytes[H.crcStart...]))
        return w.bytes
    }
}
