// libFuzzer: the runtime's loader (DecoderModel) and, when it accepts, a decode of two images
// through LoadedDecoder (the kernels vae-gen runs), and of a class digit when it has priors. The CRC is re-signed first, so mutations
// reach the checks behind it. Anything but a thrown DecoderError (a trap, an out-of-bounds
// read under ASan) is a finding.
import FuzzSupport
import VAEDecoder

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    FuzzSupport.writeSeedsIfAsked { FuzzSupport.decoderImageSeeds() }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    FuzzSupport.resign(&bytes)
    guard let rt = try? LoadedDecoder(image: bytes) else { return 0 }
    let px = UnsafeMutablePointer<UInt8>.allocate(capacity: rt.model.pixelCount)
    defer { px.deallocate() }
    rt.generate(seed: 42, index: 0, pixels: px)
    rt.generate(seed: 7, index: 3, pixels: px)
    if rt.model.classCount > 0 {
        try? rt.decoder.generate(seed: 42, index: 1, classIndex: rt.model.classCount - 1, latentScratch: rt.latent, pixels: px)
    }
    return 0
}
