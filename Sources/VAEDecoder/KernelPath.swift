// The one place that decides which float32 kernel runs a layer. Every path computes the bits
// of docs/checkpoint-format.md section 2.1 (tests hold each equal to `.reference`); they differ
// only in speed:
//
//   .reference  convTransposeReference: the plain loop that defines the maths (any build)
//   .blocked    targets without the host kernels (Cortex-M): register-blocked kernels generated
//               for the shipped layer shapes (ConvTransposeFast.swift; int8:
//               ConvTransposeInt8Fast.swift, whole decoders only), the reference otherwise
//   .portable / .avx2 / .avx512 / .neon   hosts: the C kernels of Sources/VAEHostKernels, one
//               body compiled per instruction-set level; `.automatic` takes the best level the
//               CPU has (cpu_features.h), lowered by the environment variable VAE_KERNELS.
#if canImport(VAEHostKernels)
import CPUFeatures
import VAEHostKernels
#endif

public enum KernelPath: Int32, CaseIterable {
    case reference = -2
    case blocked = -1
    case portable = 0
    case avx2 = 1
    case avx512 = 2
    case neon = 3
    /// AVX-512 plus VNNI: the int8 kernels' int16 dot-product instruction (float32 runs .avx512).
    case avx512vnni = 4

    /// Whether this build has the host kernels (SwiftPM builds for x86-64 and arm64 do; the
    /// firmware's Embedded Swift build does not).
    public static var hasHostKernels: Bool {
        #if canImport(VAEHostKernels)
        return true
        #else
        return false
        #endif
    }

    /// The path a `Decoder` takes unless told otherwise.
    public static var automatic: KernelPath {
        #if canImport(VAEHostKernels)
        return KernelPath(rawValue: vae_isa_selected()) ?? .portable
        #else
        return .blocked
        #endif
    }

    /// The best path this CPU can run (ignoring VAE_KERNELS).
    public static var best: KernelPath {
        #if canImport(VAEHostKernels)
        return KernelPath(rawValue: vae_isa_detected()) ?? .portable
        #else
        return .blocked
        #endif
    }

    /// Whether this build and this CPU can run the path.
    public var isAvailable: Bool {
        switch self {
        case .reference: return true
        case .blocked: return true
        case .portable: return KernelPath.hasHostKernels
        case .avx2, .avx512, .avx512vnni:
            #if arch(x86_64)
            return KernelPath.hasHostKernels && rawValue <= KernelPath.best.rawValue
            #else
            return false
            #endif
        case .neon:
            #if arch(arm64)
            return KernelPath.hasHostKernels
            #else
            return false
            #endif
        }
    }

    /// The paths this build and CPU can run, best last.
    public static var available: [KernelPath] { allCases.filter { $0.isAvailable } }

    public var name: StaticString {
        switch self {
        case .reference: return "reference"
        case .blocked: return "blocked"
        case .portable: return "portable"
        case .avx2: return "avx2"
        case .avx512: return "avx512"
        case .neon: return "neon"
        case .avx512vnni: return "avx512vnni"
        }
    }

    /// The kernels that run for `precision` on this path: float32 has no VNNI kernel, so at that
    /// level it runs the AVX-512 one.
    public func name(for precision: Precision) -> StaticString {
        precision == .float32 && self == .avx512vnni ? KernelPath.avx512.name : name
    }

    /// Bytes of arena scratch the path needs for `l`, beyond the two activation buffers.
    func scratchBytes(_ l: DecoderLayer, _ precision: Precision) -> Int {
        #if canImport(VAEHostKernels)
        if rawValue >= 0 {
            if precision == .int8 {
                var c = l.cLayerInt8
                return vae_convt_i8_scratch_bytes(&c)
            }
            var c = l.cLayer
            return 4 * vae_convt_f32_scratch_floats(&c)
        }
        #endif
        return 0
    }

    /// Bytes of arena the path keeps for `l` for the decoder's lifetime (the int8 host kernels'
    /// weights packed as int16 pairs, made once when the decoder is set up).
    func persistentBytes(_ l: DecoderLayer, _ precision: Precision) -> Int {
        #if canImport(VAEHostKernels)
        if rawValue >= 0 && precision == .int8 {
            var c = l.cLayerInt8
            return (vae_convt_i8_pack_bytes(&c) + 63) & ~63
        }
        #endif
        return 0
    }

    /// Fills the persistent bytes of `l` (see persistentBytes).
    func prepare(_ l: DecoderLayer, _ precision: Precision, into p: UnsafeMutableRawPointer) {
        #if canImport(VAEHostKernels)
        if rawValue >= 0 && precision == .int8 {
            var c = l.cLayerInt8
            vae_convt_i8_pack(&c, p.assumingMemoryBound(to: Int32.self))
        }
        #endif
    }

    /// Floats of scratch for a float32 layer (tests that run one layer alone).
    func scratchFloats(_ l: DecoderLayer) -> Int { scratchBytes(l, .float32) / 4 }

    /// Whether `.blocked` runs `model`'s int8 layers with the targets' blocked kernel, else the
    /// reference. That kernel takes whole decoders only, because it keeps activations as channel
    /// pairs (Int8PairLayout, ConvTransposeInt8Fast.swift): every layer's shape has a kernel and
    /// every tensor is int16.
    static func int8Blocked(_ model: DecoderModel) -> Bool {
        guard model.precision == .int8, model.layerCount >= 1 else { return false }
        for i in 0..<model.layerCount {
            let l = model.layer(i)
            guard l.input.width == 2, l.output.width == 2 || i == model.layerCount - 1,
                  int8FastShape(l.kernel, l.inSide), l.outSide <= Capacity.maxSide else { return false }
        }
        return true
    }

    /// An int8 layer from its input tensor to its output tensor (or pixels). `blocked`:
    /// KernelPath.int8Blocked(model), for `.blocked` (the tensors are then channel pairs).
    @inline(__always)
    func runInt8(_ l: DecoderLayer, _ input: UnsafeRawPointer, _ output: UnsafeMutableRawPointer, scratch: UnsafeMutableRawPointer,
                 persistent: UnsafeRawPointer?, blocked: Bool) {
        #if canImport(VAEHostKernels)
        if rawValue >= 0, let persistent {
            var c = l.cLayerInt8
            c.packed = persistent.assumingMemoryBound(to: Int32.self)
            vae_convt_i8(&c, input, output, scratch, rawValue)
            return
        }
        #endif
        if self == .blocked && blocked { convTransposeInt8Blocked(l, input: input, output: output); return }
        convTransposeInt8Reference(l, input: input, output: output)
    }

    /// Layer `l` from `input` to `output` (activation included).
    @inline(__always)
    func run(_ l: DecoderLayer, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
             scratch: UnsafeMutablePointer<Float>?) {
        switch self {
        case .reference:
            convTransposeReference(l, input: input, output: output)
        case .blocked:
            if !convTransposeFast(l, input: input, output: output) { convTransposeReference(l, input: input, output: output) }
        default:
            #if canImport(VAEHostKernels)
            var c = l.cLayer
            vae_convt_f32(&c, input, output, scratch, rawValue)
            if l.activation == .sigmoid { Sigmoid.apply(output, count: l.outputCount) }
            #else
            convTransposeReference(l, input: input, output: output)
            #endif
        }
    }
}

#if canImport(VAEHostKernels)
extension DecoderLayer {
    /// The layer as the C kernels take it (pointers into the same image).
    var cLayer: vae_convt_f32_layer {
        vae_convt_f32_layer(in_channels: Int32(inChannels), out_channels: Int32(outChannels), kernel: Int32(kernel),
                            in_side: Int32(inSide), activation: Int32(activation.rawValue), slope: slope,
                            weights: weights, bias: bias, weight_slack_bytes: Int32(min(weightSlackBytes, 1 << 20)))
    }

    var cLayerInt8: vae_convt_i8_layer {
        vae_convt_i8_layer(in_channels: Int32(inChannels), out_channels: Int32(outChannels), kernel: Int32(kernel),
                           in_side: Int32(inSide), in_width: Int32(input.width), in_zero_point: input.zeroPoint,
                           out_width: Int32(output.width), out_zero_point: output.zeroPoint, out_qmin: output.qmin,
                           out_qmax: output.qmax, relu: activation == .relu ? 1 : 0,
                           weights: weightsInt8, bias: biasInt32, requant: requant, packed: nil)
    }
}
#endif
