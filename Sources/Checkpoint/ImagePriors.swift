import VAEDecoder

/// Class priors carried in a decoder image (docs/checkpoint-format.md section 2.2), so that a
/// target or a C caller can ask for a digit without the checkpoint. The runtime's
/// `DecoderModel` is the reader of what this writes.
public enum ImagePriors {
    /// What `vae-gen export-decoder --priors` puts in the image.
    public enum Choice: String, CaseIterable, Sendable {
        /// No priors: the image stays byte for byte the checkpoint's section.
        case none
        /// The checkpoint's priors as fitted (the shipped ones are full: 85,832 bytes for ten
        /// digits, more than a 48 KiB flash holds).
        case fitted
        /// Each class's marginal standard deviations only (5,192 bytes for ten digits): a
        /// diagonal Gaussian, so it draws other latents than `fitted` does when that is full.
        case diagonal
    }

    /// `image` (minor 0 or 1, no extension record) with an extension record after its layer
    /// records and `priors` after its tensors; minor version 2, length and CRC rewritten. The
    /// tensors move by the record's 16 bytes, so their 16-byte alignment is kept.
    public static func attach(_ priors: ClassPriors, to image: [UInt8]) -> [UInt8] {
        typealias H = DecoderImageLayout.Header
        typealias R = DecoderImageLayout.Layer
        func u32(_ a: [UInt8], _ o: Int) -> Int { Int(a[o]) | Int(a[o + 1]) << 8 | Int(a[o + 2]) << 16 | Int(a[o + 3]) << 24 }
        let int8 = UInt32(u32(image, H.weightType)) == DecoderImageLayout.weightTypeInt8
        precondition(Int(image[H.minor]) < Int(DecoderImageLayout.minorExtensions), "the image already has an extension record")
        let recordBytes = DecoderImageLayout.layerRecordBytes(weightType: UInt32(u32(image, H.weightType)))
        let layersEnd = DecoderImageLayout.headerBytes + u32(image, H.layerCount) * recordBytes
        let shift = DecoderImageLayout.extensionRecordBytes
        var w = ByteWriter()
        w.bytes = Array(image[..<layersEnd]) + [UInt8](repeating: 0, count: shift) + Array(image[layersEnd...])
        for i in 0..<u32(image, H.layerCount) {
            let r = DecoderImageLayout.headerBytes + i * recordBytes
            for f in int8 ? [R.weightOffset, R.biasOffset, R.requantOffset] : [R.weightOffset, R.biasOffset] {
                w.patchU32(at: r + f, UInt32(u32(w.bytes, r + f) + shift))
            }
        }
        w.align(16)
        let block = priors.encode()
        w.patchU32(at: layersEnd + DecoderImageLayout.Extension.priorsOffset, UInt32(w.bytes.count))
        w.patchU32(at: layersEnd + DecoderImageLayout.Extension.priorsLength, UInt32(block.count))
        w.bytes += block
        w.align(16)
        w.bytes[H.minor] = UInt8(DecoderImageLayout.minorExtensions); w.bytes[H.minor + 1] = 0
        w.patchU32(at: H.totalLength, UInt32(w.bytes.count))
        w.patchU32(at: H.crc, Zlib.crc32(w.bytes[H.crcStart...]))
        return w.bytes
    }

    /// `priors` as diagonal Gaussians: a full class's standard deviations are the square roots
    /// of its covariance's diagonal, sum over k of L[j][k]^2, summed in Double and rounded once.
    public static func diagonal(_ priors: ClassPriors) -> ClassPriors {
        guard priors.kind == .full else { return priors }
        let d = priors.latent
        let sds: [[Float]] = priors.scales.map { l in
            (0..<d).map { j in
                var sum = 0.0
                for k in 0...j { let v = Double(l[j * (j + 1) / 2 + k]); sum += v * v }
                return Float(sum.squareRoot())
            }
        }
        return ClassPriors(kind: .diagonal, latent: d, counts: priors.counts, means: priors.means, scales: sds)
    }
}
