/// What this build of the runtime can hold. Loading checks an image against these before it
/// trusts anything, so the buffers below can be sized without looking at the image.
public enum Capacity {
    public static let maxLayers = 8
    public static let maxChannels = 64
    public static let maxKernel = 16
    public static let maxLatent = 1024
    /// Largest activation (channels x height x width) of any layer, in floats.
    public static let maxActivation = 8192
    /// Largest output side (the SIMD kernel covers a row with two 16-lane vectors).
    public static let maxSide = 32
}

/// The layout of decoder images (docs/checkpoint-format.md section 2; the int8 fields:
/// docs/quantisation.md section 2). Every reader and writer of images (the runtime, the C
/// interface's pre-checks, the checkpoint's image builders) takes its offsets from here.
public enum DecoderImageLayout {
    public static let magic: UInt32 = 0x4445_4156   // "VAED" read as little-endian u32
    public static let major: UInt16 = 1
    /// Minor version of float32 images; int8 images are minor 1 (they need the int8 fields).
    public static let minor: UInt16 = 0
    public static let minorInt8: UInt16 = 1
    /// Minor 2, either weight type: an extension record follows the layer records (it can
    /// point at class priors). Older runtimes read such an image and ignore the record, since
    /// tensors start after it.
    public static let minorExtensions: UInt16 = 2
    public static let extensionRecordBytes = 16
    public static let headerBytes = 64
    public static let weightTypeFloat32: UInt32 = 1
    public static let weightTypeInt8: UInt32 = 2
    public static let layerKindConvTranspose: UInt32 = 1

    /// Header fields (byte offsets).
    public enum Header {
        public static let magic = 0, major = 4, minor = 6, totalLength = 8, crc = 12, weightType = 16
        public static let latent = 20, viewChannels = 24, viewHeight = 28, viewWidth = 32, layerCount = 36
        public static let outputChannels = 40, outputHeight = 44, outputWidth = 48
        /// The CRC covers [crcStart, total length).
        public static let crcStart = 16
        /// int8 images only (zero in float images).
        public static let latentWidth = 52, latentInverseScale = 56, latentQmax = 60
    }

    /// Layer record fields (byte offsets from the record's start), both weight types.
    public enum Layer {
        public static let kind = 0, inChannels = 4, outChannels = 8, kernelH = 12, kernelW = 16
        public static let stride = 20, padding = 24, activation = 28, slope = 32
        public static let weightOffset = 36, biasOffset = 40
        /// int8 records only.
        public static let requantOffset = 44, outputWidth = 48, outputZeroPoint = 52, outputQmin = 56, outputQmax = 60
    }

    /// Extension record fields (byte offsets from the record's start; minor 2 images).
    public enum Extension {
        /// 0 (with length 0): the image has no class priors.
        public static let priorsOffset = 0, priorsLength = 4
    }

    /// The class priors block: the checkpoint's `PRIO` payload, byte for byte
    /// (docs/checkpoint-format.md sections 1.7 and 2.2), then its class records.
    public enum Priors {
        public static let blockLength = 0, version = 4, classCount = 8, latent = 12, kind = 16
        public static let minBlockLength = 32, maxClasses = 256
        public static let versionOne: UInt32 = 1, kindDiagonal: UInt32 = 1, kindFull: UInt32 = 2
    }

    /// Bytes of one layer record.
    public static func layerRecordBytes(weightType: UInt32) -> Int { weightType == weightTypeInt8 ? layerRecordBytesInt8 : layerRecordBytes }
    public static let layerRecordBytes = 48
    public static let layerRecordBytesInt8 = 64
    /// int32 values per output channel in an int8 hidden layer's requantisation block.
    public static let requantWordsPerChannel = 4
    /// int32 thresholds per output channel in an int8 image's last (sigmoid) layer.
    public static let pixelThresholds = 255
}

/// A layer's activation; the raw values are the format's codes (docs/checkpoint-format.md).
public enum Activation: UInt32, Sendable {
    case none = 0, relu = 1, leakyReLU = 2, sigmoid = 3
}

/// The arithmetic of a decoder image (its weight type).
public enum Precision: UInt32 {
    case float32 = 1
    case int8 = 2

    public var name: StaticString { self == .float32 ? "float32" : "int8" }

    /// Whether this build carries the precision's kernels: a firmware build may leave one out
    /// (compilation condition VAE_FLOAT32_ONLY or VAE_INT8_ONLY) and then refuses such images.
    public var isBuilt: Bool {
        switch self {
        case .float32:
            #if VAE_INT8_ONLY
            return false
            #else
            return true
            #endif
        case .int8:
            #if VAE_FLOAT32_ONLY
            return false
            #else
            return true
            #endif
        }
    }
}

/// An int8 image's activation tensor (docs/quantisation.md section 1): `width` bytes per value
/// (1 or 2; 0 for the last layer's 8-bit pixels), zero point and clamp range.
public struct QuantTensor {
    public var width = 0
    public var zeroPoint: Int32 = 0
    public var qmin: Int32 = 0
    public var qmax: Int32 = 0
    /// The largest |q - zeroPoint| the tensor can hold.
    public var magnitude: Int { max(Int(qmax) - Int(zeroPoint), Int(zeroPoint) - Int(qmin)) }
    public init() {}
}

/// One layer, as the forward pass needs it; every pointer points into the image.
public struct DecoderLayer {
    public var inChannels: Int = 0
    public var outChannels: Int = 0
    public var kernel: Int = 0
    public var inSide: Int = 0
    public var activation: Activation = .none
    public var slope: Float = 0
    // float32 images
    public var weights: UnsafePointer<Float>? = nil   // [in][out][k][k]
    public var bias: UnsafePointer<Float>? = nil      // [out]
    /// Bytes of the image readable before and after the weight tensor (the smaller of the two):
    /// a vector kernel may over-read that far and discard what it read.
    public var weightSlackBytes = 0
    // int8 images (docs/quantisation.md section 2)
    public var weightsInt8: UnsafePointer<Int8>? = nil    // [in][out][k][k]
    public var biasInt32: UnsafePointer<Int32>? = nil     // [out]
    /// Hidden layers: [out][4] = {M_pos, n_pos, M_neg, n_neg}; the last layer: [out][255] thresholds.
    public var requant: UnsafePointer<Int32>? = nil
    public var input = QuantTensor()
    public var output = QuantTensor()

    public var outSide: Int { inSide + kernel - 1 }
    public var outputCount: Int { outChannels * outSide * outSide }
    public var inputCount: Int { inChannels * inSide * inSide }
    public init() {}
}

/// A parsed, validated decoder image. Holds pointers into the caller's bytes, which must
/// outlive it (llama2.c style: the weights are never copied).
public struct DecoderModel {
    public private(set) var precision = Precision.float32
    public private(set) var latent = 0
    public private(set) var viewChannels = 0
    public private(set) var viewSide = 0
    public private(set) var layerCount = 0
    public private(set) var layers = InlineArray<8, DecoderLayer>(repeating: DecoderLayer())
    public private(set) var outputChannels = 0
    public private(set) var outputSide = 0
    /// The largest activation any layer produces (or the latent, if larger), in values.
    public private(set) var maxActivation = 0
    /// The largest activation tensor in bytes (float32: 4 per value; int8 images: the tensor's
    /// width, the latent at 2): what each of the decoder's two activation buffers holds.
    public private(set) var maxActivationBytes = 0
    /// int8 images: the latent's quantisation (docs/quantisation.md section 3).
    public private(set) var latentInverseScale: Float = 0
    public private(set) var latentQmax: Int32 = 0
    /// Class priors (minor 2 images that carry them; docs/checkpoint-format.md section 2.2):
    /// classCount Gaussians, diagonal or full (`classFull`), read in place.
    public private(set) var classCount = 0
    public private(set) var classFull = false
    private var classRecords: UnsafeRawPointer? = nil
    private var classRecordBytes = 0

    public var pixelCount: Int { outputChannels * outputSide * outputSide }

    /// Layer i, read in place: `model.layers[i]` from another type can copy all eight records
    /// first (on a Cortex-M0, 700 bytes of a 3 KiB stack per such frame).
    @inline(__always)
    public func layer(_ i: Int) -> DecoderLayer { layers.span[i] }

    /// Class `c`'s mean (latent floats) and scale (latent standard deviations, or the lower
    /// Cholesky factor's latent(latent+1)/2 entries when `classFull`). Needs c < classCount.
    public func classMean(_ c: Int) -> UnsafePointer<Float> {
        (classRecords.unsafelyUnwrapped + c * classRecordBytes + 4).assumingMemoryBound(to: Float.self)
    }
    public func classScale(_ c: Int) -> UnsafePointer<Float> { classMean(c) + latent }

    /// Checks everything docs/checkpoint-format.md section 2 (and, for int8 images,
    /// docs/quantisation.md section 2) asks, in an order that never reads past what has already
    /// been shown to exist. Never inlined: a firmware calls it from two places, and two inlined
    /// copies of the checks cost a Cortex-M0's flash budget 5 KB.
    @inline(never)
    public init(image: UnsafeRawBufferPointer) throws(DecoderError) {
        typealias H = DecoderImageLayout.Header
        typealias R = DecoderImageLayout.Layer
        guard let base = image.baseAddress else { throw .badArgument }
        guard Int(bitPattern: base) & 3 == 0 else { throw .misaligned }
        guard image.count >= DecoderImageLayout.headerBytes else { throw .truncated }
        guard image.u32(H.magic) == DecoderImageLayout.magic else { throw .badMagic }
        guard image.u16(H.major) == DecoderImageLayout.major else { throw .unsupportedVersion }
        let total = image.int(H.totalLength)
        guard total >= DecoderImageLayout.headerBytes, total <= image.count else { throw .truncated }
        let body = UnsafeRawBufferPointer(rebasing: image[H.crcStart..<total])
        guard CRC32.checksum(body) == image.u32(H.crc) else { throw .checksumMismatch }
        guard let prec = Precision(rawValue: image.u32(H.weightType)) else { throw .unsupportedWeightType }
        guard prec.isBuilt else { throw .precisionNotBuilt }
        let int8 = prec == .int8
        if int8 { guard image.u16(H.minor) >= DecoderImageLayout.minorInt8 else { throw .unsupportedVersion } }

        let lat = image.int(H.latent), vc = image.int(H.viewChannels), vh = image.int(H.viewHeight), vw = image.int(H.viewWidth)
        let n = image.int(H.layerCount)
        guard n >= 1 else { throw .inconsistentArchitecture }
        guard n <= Capacity.maxLayers else { throw .tooManyLayers }
        guard lat >= 1, lat <= Capacity.maxLatent, vc >= 1, vc <= Capacity.maxChannels,
              vh >= 1, vh <= Capacity.maxSide, vw == vh else { throw .exceedsCapacity }
        guard vc * vh * vw == lat else { throw .inconsistentArchitecture }
        let recordBytes = DecoderImageLayout.layerRecordBytes(weightType: prec.rawValue)
        let layersEnd = DecoderImageLayout.headerBytes + n * recordBytes
        let extended = image.u16(H.minor) >= DecoderImageLayout.minorExtensions
        let recordsEnd = layersEnd + (extended ? DecoderImageLayout.extensionRecordBytes : 0)
        guard recordsEnd <= total else { throw .truncated }

        // The latent tensor (int8 images): int16, zero point 0, [-qmax, qmax].
        var previous = QuantTensor()
        if int8 {
            let inv = image.f32(H.latentInverseScale)
            let qmax = Int32(bitPattern: image.u32(H.latentQmax))
            guard image.u32(H.latentWidth) == 2, inv.isFinite, inv > 0, qmax >= 1, qmax <= 32767 else { throw .badQuantisation }
            latentInverseScale = inv; latentQmax = qmax
            previous.width = 2; previous.qmin = -qmax; previous.qmax = qmax
        }

        precision = prec; latent = lat; viewChannels = vc; viewSide = vh; layerCount = n
        var channels = vc, side = vh
        // 4 bytes per latent value in either precision: callers build the float latent in a buffer.
        var biggest = lat, biggestBytes = 4 * lat
        // Tensor extents seen so far, to refuse overlaps: at most 3 per layer, and the priors.
        var starts = InlineArray<25, Int>(repeating: 0), ends = InlineArray<25, Int>(repeating: 0)
        var spans = 0
        for i in 0..<n {
            let r = DecoderImageLayout.headerBytes + i * recordBytes
            guard image.u32(r + R.kind) == DecoderImageLayout.layerKindConvTranspose else { throw .unsupportedLayer }
            let inC = image.int(r + R.inChannels), outC = image.int(r + R.outChannels)
            let kh = image.int(r + R.kernelH), kw = image.int(r + R.kernelW)
            let stride = image.u32(r + R.stride), padding = image.u32(r + R.padding)
            guard let act = Activation(rawValue: image.u32(r + R.activation)) else { throw .unsupportedLayer }
            let slope = image.f32(r + R.slope)
            guard stride == 1, padding == 0, kh == kw else { throw .unsupportedLayer }
            guard inC == channels else { throw .inconsistentArchitecture }
            guard outC >= 1, outC <= Capacity.maxChannels, kh >= 1, kh <= Capacity.maxKernel else { throw .exceedsCapacity }
            guard slope.isFinite else { throw .unsupportedLayer }
            let outSide = side + kh - 1
            guard outSide <= Capacity.maxSide, outC * outSide * outSide <= Capacity.maxActivation else { throw .exceedsCapacity }
            let last = i == n - 1
            if int8 { guard (act == .sigmoid) == last else { throw .unsupportedLayer } }

            // The layer's tensors: (offset, bytes), checked for bounds, alignment and overlap.
            let taps = inC * outC * kh * kw
            let wOff = image.int(r + R.weightOffset), bOff = image.int(r + R.biasOffset)
            let qOff = int8 ? image.int(r + R.requantOffset) : 0
            let wBytes = taps * (int8 ? 1 : 4), bBytes = outC * 4
            let qBytes = int8 ? outC * 4 * (last ? DecoderImageLayout.pixelThresholds : DecoderImageLayout.requantWordsPerChannel) : 0
            for t in 0..<(int8 ? 3 : 2) {
                let s = t == 0 ? wOff : (t == 1 ? bOff : qOff), len = t == 0 ? wBytes : (t == 1 ? bBytes : qBytes)
                guard s >= recordsEnd, s <= total, len <= total - s else { throw .badTensorOffset }
                guard s % 16 == 0 else { throw .misaligned }
                for j in 0..<spans where s < ends[j] && starts[j] < s + len { throw .badTensorOffset }
                starts[spans] = s; ends[spans] = s + len; spans += 1
            }

            var layer = DecoderLayer()
            layer.inChannels = inC; layer.outChannels = outC; layer.kernel = kh; layer.inSide = side
            layer.activation = act; layer.slope = slope
            if int8 {
                layer.weightsInt8 = (base + wOff).assumingMemoryBound(to: Int8.self)
                layer.biasInt32 = (base + bOff).assumingMemoryBound(to: Int32.self)
                layer.requant = (base + qOff).assumingMemoryBound(to: Int32.self)
                layer.input = previous
                var out = QuantTensor()
                out.width = image.int(r + R.outputWidth)
                out.zeroPoint = Int32(bitPattern: image.u32(r + R.outputZeroPoint))
                out.qmin = Int32(bitPattern: image.u32(r + R.outputQmin))
                out.qmax = Int32(bitPattern: image.u32(r + R.outputQmax))
                layer.output = out
                try DecoderModel.checkQuantised(layer, last: last)
                previous = out
                if !last { biggestBytes = max(biggestBytes, layer.outputCount * out.width) }
            } else {
                layer.weights = (base + wOff).assumingMemoryBound(to: Float.self)
                layer.bias = (base + bOff).assumingMemoryBound(to: Float.self)
                layer.weightSlackBytes = min(wOff, total - (wOff + wBytes))
                // NaN or infinite weights decode to blank or undefined digits: refused, as the
                // checkpoint reader refuses them (exponent bits all ones, read as integers).
                for j in 0..<taps where image.u32(wOff + 4 * j) & 0x7F80_0000 == 0x7F80_0000 { throw .nonFiniteWeight }
                for j in 0..<outC where image.u32(bOff + 4 * j) & 0x7F80_0000 == 0x7F80_0000 { throw .nonFiniteWeight }
                biggestBytes = max(biggestBytes, 4 * layer.outputCount)
            }
            layers[i] = layer
            channels = outC; side = outSide
            biggest = max(biggest, layer.outputCount)
        }
        guard image.int(H.outputChannels) == channels, image.int(H.outputHeight) == side, image.int(H.outputWidth) == side else {
            throw .inconsistentArchitecture
        }
        outputChannels = channels; outputSide = side; maxActivation = biggest; maxActivationBytes = biggestBytes

        if extended {
            typealias E = DecoderImageLayout.Extension
            let pOff = image.int(layersEnd + E.priorsOffset), pLen = image.int(layersEnd + E.priorsLength)
            if pOff != 0 || pLen != 0 {
                guard pOff >= recordsEnd, pOff <= total, pLen <= total - pOff else { throw .badTensorOffset }
                guard pOff % 16 == 0 else { throw .misaligned }
                for j in 0..<spans where pOff < ends[j] && starts[j] < pOff + pLen { throw .badTensorOffset }
                try parsePriors(UnsafeRawBufferPointer(rebasing: image[pOff..<(pOff + pLen)]))
            }
        }
    }

    /// docs/checkpoint-format.md section 2.2: the checkpoint's `PRIO` checks (section 1.7), and
    /// a block length that keeps the floats 4-byte aligned, since they are read in place.
    private mutating func parsePriors(_ p: UnsafeRawBufferPointer) throws(DecoderError) {
        typealias P = DecoderImageLayout.Priors
        guard p.count >= P.minBlockLength else { throw .badClassPriors }
        let block = p.int(P.blockLength), k = p.int(P.classCount), kind = p.u32(P.kind)
        guard block >= P.minBlockLength, block % 4 == 0, block <= p.count, p.u32(P.version) == P.versionOne,
              k >= 1, k <= P.maxClasses, p.int(P.latent) == latent,
              kind == P.kindDiagonal || kind == P.kindFull else { throw .badClassPriors }
        let full = kind == P.kindFull
        let scales = full ? latent * (latent + 1) / 2 : latent
        let recordBytes = 4 + 4 * latent + 4 * scales
        guard p.count - block == k * recordBytes else { throw .badClassPriors }
        for c in 0..<k {
            let r = block + c * recordBytes
            for j in 0..<(latent + scales) where p.u32(r + 4 + 4 * j) & 0x7F80_0000 == 0x7F80_0000 { throw .badClassPriors }
            for j in 0..<latent {
                let diag = p.f32(r + 4 + 4 * latent + 4 * (full ? j * (j + 1) / 2 + j : j))
                guard diag > 0 else { throw .badClassPriors }
            }
        }
        classCount = k; classFull = full; classRecords = p.baseAddress! + block; classRecordBytes = recordBytes
    }

    /// docs/quantisation.md section 2: the output tensor's fields, the requantisation words or
    /// pixel thresholds, and the accumulator bound, for one int8 layer.
    static func checkQuantised(_ l: DecoderLayer, last: Bool) throws(DecoderError) {
        let o = l.output
        if last {
            guard o.width == 0, o.zeroPoint == 0, o.qmin == 0, o.qmax == 0 else { throw .badQuantisation }
        } else if o.width == 1 {
            guard o.qmin >= -128, o.qmax <= 127, o.qmin < o.qmax, o.zeroPoint >= o.qmin, o.zeroPoint <= o.qmax else { throw .badQuantisation }
        } else if o.width == 2 {
            guard o.zeroPoint == 0, o.qmin >= -32767, o.qmax <= 32767, o.qmin < o.qmax else { throw .badQuantisation }
        } else {
            throw .badQuantisation
        }
        let q = l.requant.unsafelyUnwrapped
        let kk = l.kernel * l.kernel
        for oc in 0..<l.outChannels {
            if last {
                let t = q + oc * DecoderImageLayout.pixelThresholds
                for j in 1..<DecoderImageLayout.pixelThresholds where t[j - 1] > t[j] { throw .badQuantisation }
            } else {
                let w = q + oc * DecoderImageLayout.requantWordsPerChannel
                guard w[0] >= 1, w[1] >= 1, w[1] <= 62, w[2] >= 0, w[3] >= 1, w[3] <= 62 else { throw .badQuantisation }
            }
            // |bias| + A_in * sum |w| <= 2^31 - 1, in 64 bits (the sum of |w| is below 2^23).
            var sum: Int64 = 0
            let w = l.weightsInt8.unsafelyUnwrapped
            for ic in 0..<l.inChannels {
                let c = w + (ic * l.outChannels + oc) * kk
                for t in 0..<kk { sum += Int64(abs(Int32(c[t]))) }
            }
            let bound = abs(Int64(l.biasInt32.unsafelyUnwrapped[oc])) + Int64(l.input.magnitude) * sum
            guard bound <= Int64(Int32.max) else { throw .accumulatorBound }
        }
    }
}
