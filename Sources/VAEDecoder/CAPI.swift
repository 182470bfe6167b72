/// The C interface (include/vae_decoder.h, docs/c-api.md): thin `@c` exports over the Swift
/// runtime, so C callers and the firmware run exactly the code vae-gen runs. No global mutable
/// state and no allocation: the state lives in caller memory, the weights stay in the caller's
/// image, the activations in the caller's arena. Every entry point checks its pointers and
/// returns a `DecoderError` raw value (0 = OK) instead of trapping.

/// What `vae_decoder_init` places in the caller's state memory.
struct CDecoderState {
    /// `CDecoderState.live` once initialised; anything else makes the other calls refuse it.
    var tag: UInt32
    var decoder: Decoder

    static let live: UInt32 = 0x5641_4553   // "SEAV" in memory order
}

/// Status 0 (no `DecoderError` case has raw value 0).
let vaeOK: Int32 = 0

@inline(__always)
func isAligned(_ p: UnsafeRawPointer, _ alignment: Int) -> Bool {
    Int(bitPattern: p) & (alignment &- 1) == 0
}

/// A C length as an Int; lengths past Int.max (or, on 32-bit targets, past 1 GiB, so that no
/// offset arithmetic in the parser can overflow) are clamped: no valid image is that long.
@inline(__always)
func clampLength(_ n: UInt) -> Int {
    #if _pointerBitWidth(_32)
    let cap = 1 << 30
    #else
    let cap = Int.max
    #endif
    return n > UInt(cap) ? cap : Int(n)
}

/// On 32-bit targets `Int(UInt32)` traps for values >= 2^31, and offset + size sums near 2^31
/// overflow. The parser converts several header and layer-record fields that way, so a hostile
/// image could trap it; this refuses values >= 2^30 first (no valid image comes near), with the
/// code the parser gives for an out-of-range value of that field. (On 64-bit targets every u32
/// fits an Int with room for the sums, and the parser's own checks suffice.)
func preflightLargeFields(_ image: UnsafeRawBufferPointer) -> Int32 {
    #if _pointerBitWidth(_32)
    typealias H = DecoderImageLayout.Header
    typealias R = DecoderImageLayout.Layer
    let len = image.count
    guard len >= DecoderImageLayout.headerBytes else { return vaeOK }   // the parser says truncated
    let limit: UInt32 = 1 << 30
    if image.u32(H.totalLength) >= limit { return DecoderError.truncated.rawValue }
    // (No array literals here: on a target without a heap they would need one.)
    func big(_ f: Int) -> Bool { image.u32(f) >= limit }
    if big(H.latent) || big(H.viewChannels) || big(H.viewHeight) || big(H.viewWidth) {
        return DecoderError.exceedsCapacity.rawValue
    }
    if image.u32(H.layerCount) >= limit { return DecoderError.tooManyLayers.rawValue }
    if big(H.outputChannels) || big(H.outputHeight) || big(H.outputWidth) {
        return DecoderError.inconsistentArchitecture.rawValue
    }
    let int8 = image.u32(H.weightType) == DecoderImageLayout.weightTypeInt8
    let recordBytes = DecoderImageLayout.layerRecordBytes(weightType: image.u32(H.weightType))
    let n = min(Int(image.u32(H.layerCount)), Capacity.maxLayers)
    for i in 0..<n {
        let r = DecoderImageLayout.headerBytes + i * recordBytes
        guard r + recordBytes <= len else { break }
        if big(r + R.inChannels) || big(r + R.outChannels) || big(r + R.kernelH) || big(r + R.kernelW) {
            return DecoderError.exceedsCapacity.rawValue
        }
        if big(r + R.weightOffset) || big(r + R.biasOffset) || (int8 && big(r + R.requantOffset)) {
            return DecoderError.badTensorOffset.rawValue
        }
        if int8 && big(r + R.outputWidth) { return DecoderError.badQuantisation.rawValue }
    }
    #endif
    return vaeOK
}

/// Parses and validates `image[0..<len]`.
func parseModel(_ image: UnsafeRawPointer?, _ len: UInt) -> (DecoderModel?, Int32) {
    guard let image else { return (nil, DecoderError.badArgument.rawValue) }
    guard isAligned(image, 4) else { return (nil, DecoderError.misaligned.rawValue) }
    let bytes = UnsafeRawBufferPointer(start: image, count: clampLength(len))
    let pre = preflightLargeFields(bytes)
    guard pre == vaeOK else { return (nil, pre) }
    do throws(DecoderError) {
        return (try DecoderModel(image: bytes), vaeOK)
    } catch {
        return (nil, error.rawValue)
    }
}

/// The live state behind a caller's pointer, or nil.
@inline(__always)
func liveState(_ state: UnsafeRawPointer?) -> UnsafePointer<CDecoderState>? {
    guard let state, isAligned(state, MemoryLayout<CDecoderState>.alignment) else { return nil }
    let s = state.assumingMemoryBound(to: CDecoderState.self)
    return s.pointee.tag == CDecoderState.live ? s : nil
}

// MARK: - Exports

@c(vae_decoder_state_size)
public func vae_decoder_state_size() -> UInt { UInt(MemoryLayout<CDecoderState>.size) }

@c(vae_decoder_state_align)
public func vae_decoder_state_align() -> UInt { UInt(MemoryLayout<CDecoderState>.alignment) }

/// Arena bytes this build needs for `image` (validates the image; *arenaSize untouched on error).
@c(vae_decoder_arena_size)
public func vae_decoder_arena_size(_ image: UnsafeRawPointer?, _ imageLen: UInt,
                                   _ arenaSize: UnsafeMutablePointer<UInt>?) -> Int32 {
    guard let arenaSize else { return DecoderError.badArgument.rawValue }
    guard isAligned(arenaSize, MemoryLayout<UInt>.alignment) else { return DecoderError.misaligned.rawValue }
    let (model, status) = parseModel(image, imageLen)
    guard let model else { return status }
    arenaSize.pointee = UInt(Decoder.arenaBytes(for: model))
    return vaeOK
}

/// An arena this large serves any image this build accepts (for static allocation).
@c(vae_decoder_max_arena_size)
public func vae_decoder_max_arena_size() -> UInt { UInt(Decoder.maxArenaBytes) }

@c(vae_decoder_init)
public func vae_decoder_init(_ state: UnsafeMutableRawPointer?, _ stateSize: UInt,
                             _ image: UnsafeRawPointer?, _ imageLen: UInt,
                             _ arena: UnsafeMutableRawPointer?, _ arenaSize: UInt) -> Int32 {
    guard let state, arena != nil else { return DecoderError.badArgument.rawValue }
    guard stateSize >= UInt(MemoryLayout<CDecoderState>.size) else { return DecoderError.badArgument.rawValue }
    guard isAligned(state, MemoryLayout<CDecoderState>.alignment) else { return DecoderError.misaligned.rawValue }
    // A failed init leaves a state the other calls refuse.
    state.storeBytes(of: 0, as: UInt32.self)
    let (model, status) = parseModel(image, imageLen)
    guard let model else { return status }
    let arenaBytes = UnsafeMutableRawBufferPointer(start: arena, count: clampLength(arenaSize))
    do throws(DecoderError) {
        let decoder = try Decoder(model: model, arena: arenaBytes)
        state.bindMemory(to: CDecoderState.self, capacity: 1)
            .initialize(to: CDecoderState(tag: CDecoderState.live, decoder: decoder))
        return vaeOK
    } catch {
        return error.rawValue
    }
}

/// Latent dimension of an initialised state (0 if `state` is not one).
@c(vae_decoder_precision)
public func vae_decoder_precision(_ state: UnsafeRawPointer?) -> Int32 {
    guard let s = liveState(state) else { return 0 }
    return Int32(bitPattern: s.pointee.decoder.model.precision.rawValue)
}

@c(vae_decoder_latent_dim)
public func vae_decoder_latent_dim(_ state: UnsafeRawPointer?) -> UInt {
    guard let s = liveState(state) else { return 0 }
    return UInt(s.pointee.decoder.model.latent)
}

/// Output values per image (channels x height x width; 784 for MNIST), 0 if `state` is not one.
@c(vae_decoder_pixel_count)
public func vae_decoder_pixel_count(_ state: UnsafeRawPointer?) -> UInt {
    guard let s = liveState(state) else { return 0 }
    return UInt(s.pointee.decoder.model.pixelCount)
}

/// Image `index` of `seed`'s latent, as `LatentGenerator.fill` (and vae-gen) computes it.
@c(vae_latent)
public func vae_latent(_ seed: UInt64, _ index: UInt64, _ dim: UInt, _ out: UnsafeMutablePointer<Float>?) -> Int32 {
    guard let out, dim >= 1, dim <= UInt(Int.max / 4) else { return DecoderError.badArgument.rawValue }
    guard isAligned(out, 4) else { return DecoderError.misaligned.rawValue }
    LatentGenerator.fill(seed: seed, image: index, latent: Int(dim), into: out)
    return vaeOK
}

/// latent (latent_dim floats) -> 8-bit pixels (pixel_count bytes).
@c(vae_decoder_decode)
public func vae_decoder_decode(_ state: UnsafeRawPointer?, _ latent: UnsafePointer<Float>?,
                               _ pixels: UnsafeMutablePointer<UInt8>?) -> Int32 {
    guard let s = liveState(state), let latent, let pixels else { return DecoderError.badArgument.rawValue }
    guard isAligned(latent, 4) else { return DecoderError.misaligned.rawValue }
    s.pointee.decoder.decode(latent: latent, pixels: pixels)
    return vaeOK
}

/// latent -> the last layer's float outputs (pixel_count floats in [0, 1]).
@c(vae_decoder_decode_float)
public func vae_decoder_decode_float(_ state: UnsafeRawPointer?, _ latent: UnsafePointer<Float>?,
                                     _ out: UnsafeMutablePointer<Float>?) -> Int32 {
    guard let s = liveState(state), let latent, let out else { return DecoderError.badArgument.rawValue }
    guard isAligned(latent, 4), isAligned(out, 4) else { return DecoderError.misaligned.rawValue }
    s.pointee.decoder.decode(latent: latent, into: out)
    return vaeOK
}

/// Image `index` of `seed` as 8-bit pixels, as `vae-gen --seed seed` makes it. The latent is
/// built in the arena's second activation buffer, which the first layer only reads and which
/// no layer writes before the second (Decoder.decode alternates A, B, A, ...), and which holds
/// at least `latent` floats (DecoderModel.maxActivationBytes >= 4 * latent). An int8 image's
/// decoder quantises it there in place (int16 value j at bytes 2j, after float j at 4j is read).
@c(vae_generate)
public func vae_generate(_ state: UnsafeRawPointer?, _ seed: UInt64, _ index: UInt64,
                         _ pixels: UnsafeMutablePointer<UInt8>?) -> Int32 {
    guard let s = liveState(state), let pixels else { return DecoderError.badArgument.rawValue }
    let d = s.pointee.decoder
    d.generate(seed: seed, index: index, latentScratch: d.bufferB.assumingMemoryBound(to: Float.self), pixels: pixels)
    return vaeOK
}

/// Classes in the image's priors (0: none, or `state` is not initialised).
@c(vae_decoder_class_count)
public func vae_decoder_class_count(_ state: UnsafeRawPointer?) -> UInt {
    guard let s = liveState(state) else { return 0 }
    return UInt(s.pointee.decoder.model.classCount)
}

/// Image `index` of `seed`'s latent drawn from class `cls` (latent_dim floats into `out`).
@c(vae_class_latent)
public func vae_class_latent(_ state: UnsafeRawPointer?, _ seed: UInt64, _ index: UInt64, _ cls: UInt32,
                             _ out: UnsafeMutablePointer<Float>?) -> Int32 {
    guard let s = liveState(state), let out else { return DecoderError.badArgument.rawValue }
    guard isAligned(out, 4) else { return DecoderError.misaligned.rawValue }
    do throws(DecoderError) {
        try s.pointee.decoder.classLatent(seed: seed, index: index, classIndex: Int(clamping: cls), into: out)
        return vaeOK
    } catch { return error.rawValue }
}

/// Image `index` of `seed` drawn from class `cls`, as `vae-gen --digit cls --seed seed` makes
/// it; the latent is kept in the arena as in `vae_generate`.
@c(vae_generate_class)
public func vae_generate_class(_ state: UnsafeRawPointer?, _ seed: UInt64, _ index: UInt64, _ cls: UInt32,
                               _ pixels: UnsafeMutablePointer<UInt8>?) -> Int32 {
    guard let s = liveState(state), let pixels else { return DecoderError.badArgument.rawValue }
    do throws(DecoderError) {
        try s.pointee.decoder.generate(seed: seed, index: index, classIndex: Int(clamping: cls),
                                       latentScratch: s.pointee.decoder.bufferB.assumingMemoryBound(to: Float.self), pixels: pixels)
        return vaeOK
    } catch { return error.rawValue }
}

/// SHA-256 of data[0..<len] into digest[0..<32] (the digest vae-gen prints for its pixels).
@c(vae_sha256)
public func vae_sha256(_ data: UnsafeRawPointer?, _ len: UInt, _ digest: UnsafeMutablePointer<UInt8>?) -> Int32 {
    guard let digest, data != nil || len == 0, len <= UInt(Int.max) else { return DecoderError.badArgument.rawValue }
    var sha = SHA256()
    if let data { sha.update(UnsafeRawBufferPointer(start: data, count: Int(len))) }
    sha.finish(into: digest)
    return vaeOK
}

/// A NUL-terminated, static English sentence for a status code.
@c(vae_status_string)
public func vae_status_string(_ status: Int32) -> UnsafePointer<CChar> {
    let text: StaticString
    if status == vaeOK {
        text = "ok"
    } else if let e = DecoderError(rawValue: status) {
        text = e.message
    } else {
        text = "unknown status code"
    }
    return UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)
}
