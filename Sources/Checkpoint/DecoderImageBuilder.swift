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
        let offs = offsets(config)
        var w = ByteWriter()
        w.u32(DecoderImageLayout.magic)
        w.u16(DecoderImageLayout.major); w.u16(DecoderImageLayout.minor)
        w.u32(0)   // total, patched below
        w.u32(0)   // CRC, patched below
        w.u32(DecoderImageLayout.weightTypeFloat32)
        w.u32(config.latent); w.u32(config.view.c); w.u32(config.view.h); w.u32(config.view.w)
        w.u32(config.layers.count)
        let outSide = config.side(atLayer: config.layers.count)
        w.u32(config.layers.last!.outChannels); w.u32(outSide); w.u32(outSide)
        while w.bytes.count < DecoderImageLayout.headerBytes { w.u8(0) }
        for (i, l) in config.layers.enumerated() {
            w.u32(DecoderImageLayout.layerKindConvTranspose)
            w.u32(l.inChannels); w.u32(l.outChannels); w.u32(l.kernel); w.u32(l.kernel)
            w.u32(1); w.u32(0)
            w.u32(l.activation.rawValue); w.f32(l.slope)
            w.u32(offs[i].weight); w.u32(offs[i].bias); w.u32(0)
        }
        for (i, _) in config.layers.enumerated() {
            w.align(16); precondition(w.bytes.count == offs[i].weight)
            w.floats(tensor("convs.\(i).weight"))
            w.align(16); precondition(w.bytes.count == offs[i].bias)
            w.floats(tensor("convs.\(i).bias"))
        }
        w.align(16)
        w.patchU32(at: 8, UInt32(w.bytes.count))
        w.patchU32(at: 12, Zlib.crc32(w.bytes[16...]))
        return w.bytes
    }
}
