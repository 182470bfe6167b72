// libFuzzer: the C interface as a C caller uses it (vae_decoder_arena_size, vae_decoder_init,
// vae_generate, and vae_generate_class when the image has class priors), with caller-owned, exactly sized buffers so that ASan sees any read or write
// past them. The CRC is re-signed first. The interface must return a status, never trap.
import CVAEDecoder
import FuzzSupport
#if canImport(Glibc)
import Glibc
#endif

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    FuzzSupport.writeSeedsIfAsked { FuzzSupport.decoderImageSeeds() }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    FuzzSupport.resign(&bytes)
    // Exactly `size` bytes, 16-byte aligned (malloc), so that ASan catches a read past the end.
    let image = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 16)
    defer { image.deallocate() }
    bytes.withUnsafeBytes { if size > 0 { image.copyMemory(from: $0.baseAddress!, byteCount: size) } }
    var need = 0
    guard vae_decoder_arena_size(image, size, &need) == 0 else { return 0 }
    let arena = UnsafeMutableRawPointer.allocate(byteCount: need, alignment: 16)
    defer { arena.deallocate() }
    let state = UnsafeMutablePointer<vae_decoder_state>.allocate(capacity: 1)
    defer { state.deallocate() }
    let rc = vae_decoder_init(state, MemoryLayout<vae_decoder_state>.size, image, size, arena, need)
    if rc != 0 { fputs("vae_decoder_arena_size accepted an image that vae_decoder_init refuses (\(rc))\n", stderr); abort() }
    let n = vae_decoder_pixel_count(state)
    let px = UnsafeMutablePointer<UInt8>.allocate(capacity: n)
    defer { px.deallocate() }
    if vae_generate(state, 42, 0, px) != 0 { abort() }
    // Class priors (minor 2 images): every class the image says it has must draw; the next is refused.
    let classes = vae_decoder_class_count(state)
    if classes > 0 {
        if vae_generate_class(state, 42, 0, UInt32(classes - 1), px) != 0 { abort() }
        if vae_generate_class(state, 42, 0, UInt32(classes), px) != Int32(VAE_ERR_NO_SUCH_CLASS) { abort() }
    }
    return 0
}
