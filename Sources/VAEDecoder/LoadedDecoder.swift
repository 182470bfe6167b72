#if canImport(VAEHostKernels) && !hasFeature(Embedded)
/// "Load an image, check it, give it an arena", once, for host programs (the tools, the tests):
/// owns an aligned copy of the image, the arena and a latent buffer, and frees them when it
/// goes. Decoding through it allocates nothing. (Targets and the C interface take caller memory
/// instead; this type exists only where the host kernels do.)
public final class LoadedDecoder {
    public let image: UnsafeMutableRawBufferPointer
    public let arena: UnsafeMutableRawBufferPointer
    public let decoder: Decoder
    /// model.latent floats, for `generate`.
    public let latent: UnsafeMutablePointer<Float>
    public var model: DecoderModel { decoder.model }

    public convenience init(image bytes: UnsafeRawBufferPointer, path: KernelPath = .automatic) throws(DecoderError) {
        try self.init(owning: LoadedDecoder.alignedCopy(bytes), count: bytes.count, path: path)
    }

    public convenience init(image bytes: [UInt8], path: KernelPath = .automatic) throws(DecoderError) {
        try self.init(owning: bytes.withUnsafeBytes { LoadedDecoder.alignedCopy($0) }, count: bytes.count, path: path)
    }

    private static func alignedCopy(_ bytes: UnsafeRawBufferPointer) -> UnsafeMutableRawBufferPointer {
        // 64-byte aligned: the model checks 4-byte alignment and 16-byte tensor offsets.
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        if let b = bytes.baseAddress { copy.baseAddress!.copyMemory(from: b, byteCount: bytes.count) }
        return copy
    }

    private init(owning copy: UnsafeMutableRawBufferPointer, count: Int, path: KernelPath) throws(DecoderError) {
        let model: DecoderModel
        do { model = try DecoderModel(image: UnsafeRawBufferPointer(rebasing: copy[0..<count])) } catch {
            copy.deallocate(); throw error
        }
        let a = UnsafeMutableRawBufferPointer.allocate(byteCount: Decoder.arenaBytes(for: model, path: path), alignment: 64)
        do { decoder = try Decoder(model: model, arena: a, path: path) } catch {
            copy.deallocate(); a.deallocate(); throw error
        }
        image = UnsafeMutableRawBufferPointer(rebasing: copy[0..<count])
        storage = copy
        arena = a
        latent = .allocate(capacity: model.latent)
        latent.initialize(repeating: 0, count: model.latent)
    }

    private let storage: UnsafeMutableRawBufferPointer

    deinit { storage.deallocate(); arena.deallocate(); latent.deallocate() }

    /// Image `index` of `seed` as 8-bit pixels (model.pixelCount of them).
    public func generate(seed: UInt64, index: UInt64, pixels: UnsafeMutablePointer<UInt8>) {
        decoder.generate(seed: seed, index: index, latentScratch: latent, pixels: pixels)
    }
}
#endif
