/// Why a decoder image was refused, or a call could not be served. The raw values are the C
/// interface's error codes (include/vae_decoder.h); they never change meaning.
public enum DecoderError: Int32, Error {
    case badMagic = 1
    case unsupportedVersion = 2
    case truncated = 3
    case checksumMismatch = 4
    case unsupportedWeightType = 5
    case tooManyLayers = 6
    case exceedsCapacity = 7
    case inconsistentArchitecture = 8
    case unsupportedLayer = 9
    case misaligned = 10
    case badTensorOffset = 11
    case arenaTooSmall = 12
    case badArgument = 13
    case badQuantisation = 14
    case accumulatorBound = 15
    case precisionNotBuilt = 16
    case nonFiniteWeight = 17
    case badClassPriors = 18
    case noSuchClass = 19

    /// One line for a person: what is wrong and, where it helps, what to do.
    public var message: StaticString {
        switch self {
        case .badMagic: return "not a decoder image (magic is not \"VAED\")"
        case .unsupportedVersion: return "decoder image major version is not 1 (this runtime reads v1 only), or an int8 image says minor version 0"
        case .truncated: return "decoder image is shorter than its header says (truncated)"
        case .checksumMismatch: return "decoder image CRC-32 does not match its contents (corrupt)"
        case .unsupportedWeightType: return "decoder image weight type is neither 1 (float32) nor 2 (int8)"
        case .tooManyLayers: return "decoder image has more layers than this runtime's capacity"
        case .exceedsCapacity: return "a decoder layer or activation is larger than this runtime's capacity"
        case .inconsistentArchitecture: return "decoder layers do not chain (channels or sizes disagree)"
        case .unsupportedLayer: return "decoder layer kind, stride, padding or activation not supported (v1: ConvTranspose2d, stride 1, no padding)"
        case .misaligned: return "decoder image or arena is not 4-byte aligned, or a tensor offset is not a multiple of 16"
        case .badTensorOffset: return "a tensor lies outside the decoder image or overlaps the header"
        case .arenaTooSmall: return "arena is smaller than the decoder needs (ask vae_decoder_arena_size)"
        case .badArgument: return "null pointer or out-of-range argument"
        case .badQuantisation: return "int8 decoder image: a width, zero point, clamp range, multiplier, shift or latent parameter is out of range, or pixel thresholds decrease (docs/quantisation.md)"
        case .accumulatorBound: return "int8 decoder image: a layer's worst-case sum of products does not fit the 32-bit accumulator (docs/quantisation.md, section 2)"
        case .precisionNotBuilt: return "this build of the runtime leaves out the decoder image's precision (float32 or int8)"
        case .nonFiniteWeight: return "float32 decoder image: a weight or bias is NaN or infinite (it would decode blank or undefined digits)"
        case .badClassPriors: return "decoder image: the class priors block is malformed (length, version, class count, latent size, kind, or a NaN, infinite or non-positive scale; docs/checkpoint-format.md section 2.2)"
        case .noSuchClass: return "the decoder image has no class priors, or none for that class (export the image with `vae-gen export-decoder --priors fitted`)"
        }
    }
}
