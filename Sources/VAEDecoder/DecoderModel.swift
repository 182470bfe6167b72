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

    /// Bytes of one layer record.
    public static func layerRecordBytes(weightType: UInt32) -> Int { weightType == weightTypeInt8 ? 64 : 48 }
    public static let layerRecordBytes = 48
    /// int32 values per output channel in an int8 hidden layer's requantisation block.
    public static let requantWordsPerChannel = 4
    /// int32 thresholds per output channel in an int8 image's last (sigmoid) layer.
    public static let pixelThresholds = 255
}

public enum Activation: UInt32 {
    case none = 0, relu = 1, leakyReLU = 2, sigmoid = 3
}

/// One layer, as the forward pass needs it; `weights` and `bias` point into the image.
public struct DecoderLayer {
    public var inChannels: Int = 0
    public var outChannels: Int = 0
    public var kernel: Int = 0
    public var inSide: Int = 0
    public var activation: Activation = .none
    public var slope: Float = 0
    public var weights: UnsafePointer<Float>? = nil   // [in][out][k][k]
    public var bias: UnsafePointer<Float>? = nil      // [out]
    /// Bytes of the image readable before and after the weight tensor (the smaller of the two):
    /// a vector kernel may over-read that far and discard what it read.
    public var weightSlackBytes = 0
    public var outSide: Int { inSide + kernel - 1 }
    public var outputCount: Int { outChannels * outSide * outSide }
    public init() {}
}

/// A parsed, validated decoder image. Holds pointers into the caller's bytes, which must
/// outlive it (llama2.c style: the weights are never copied).
public struct DecoderModel {
    public private(set) var latent = 0
    public private(set) var viewChannels = 0
    public private(set) var viewSide = 0
    public private(set) var layerCount = 0
    public private(set) var layers = InlineArray<8, DecoderLayer>(repeating: DecoderLayer())
    public private(set) var outputChannels = 0
    public private(set) var outputSide = 0
    /// The largest activation any layer produces (or the latent, if larger), in floats.
    public private(set) var maxActivation = 0

    public var pixelCount: Int { outputChannels * outputSide * outputSide }

    /// Checks everything docs/checkpoint-format.md section 2 asks, in an order that never reads
    /// past what has already been shown to exist.
    public init(image: UnsafeRawBufferPointer) throws(DecoderError) {
        guard let base = image.baseAddress else { throw .badArgument }
        guard Int(bitPattern: base) & 3 == 0 else { throw .misaligned }
        guard image.count >= DecoderImageLayout.headerBytes else { throw .truncated }
        guard image.u32(0) == DecoderImageLayout.magic else { throw .badMagic }
        guard image.u16(4) == DecoderImageLayout.major else { throw .unsupportedVersion }
        let total = image.int(8)
        guard total >= DecoderImageLayout.headerBytes, total <= image.count else { throw .truncated }
        let body = UnsafeRawBufferPointer(rebasing: image[16..<total])
        guard CRC32.checksum(body) == image.u32(12) else { throw .checksumMismatch }
        guard image.u32(16) == DecoderImageLayout.weightTypeFloat32 else { throw .unsupportedWeightType }

        let lat = image.int(20), vc = image.int(24), vh = image.int(28), vw = image.int(32)
        let n = image.int(36)
        guard n >= 1 else { throw .inconsistentArchitecture }
        guard n <= Capacity.maxLayers else { throw .tooManyLayers }
        guard lat >= 1, lat <= Capacity.maxLatent, vc >= 1, vc <= Capacity.maxChannels,
              vh >= 1, vh <= Capacity.maxSide, vw == vh else { throw .exceedsCapacity }
        guard vc * vh * vw == lat else { throw .inconsistentArchitecture }
        let recordsEnd = DecoderImageLayout.headerBytes + n * DecoderImageLayout.layerRecordBytes
        guard recordsEnd <= total else { throw .truncated }

        latent = lat; viewChannels = vc; viewSide = vh; layerCount = n
        var channels = vc, side = vh
        var biggest = lat
        // Tensor extents seen so far, to refuse overlaps: at most 2 per layer.
        var starts = InlineArray<16, Int>(repeating: 0), ends = InlineArray<16, Int>(repeating: 0)
        var spans = 0
        for i in 0..<n {
            let r = DecoderImageLayout.headerBytes + i * DecoderImageLayout.layerRecordBytes
            guard image.u32(r) == DecoderImageLayout.layerKindConvTranspose else { throw .unsupportedLayer }
            let inC = image.int(r + 4), outC = image.int(r + 8)
            let kh = image.int(r + 12), kw = image.int(r + 16)
            let stride = image.u32(r + 20), padding = image.u32(r + 24)
            guard let act = Activation(rawValue: image.u32(r + 28)) else { throw .unsupportedLayer }
            let slope = image.f32(r + 32)
            guard stride == 1, padding == 0, kh == kw else { throw .unsupportedLayer }
            guard inC == channels else { throw .inconsistentArchitecture }
            guard outC >= 1, outC <= Capacity.maxChannels, kh >= 1, kh <= Capacity.maxKernel else { throw .exceedsCapacity }
            guard slope.isFinite else { throw .unsupportedLayer }
            let outSide = side + kh - 1
            guard outSide <= Capacity.maxSide, outC * outSide * outSide <= Capacity.maxActivation else { throw .exceedsCapacity }
            let wOff = image.int(r + 36), bOff = image.int(r + 40)
            let wBytes = inC * outC * kh * kw * 4, bBytes = outC * 4
            guard wOff >= recordsEnd, bOff >= recordsEnd, wOff <= total, bOff <= total,
                  wBytes <= total - wOff, bBytes <= total - bOff else {
                throw .badTensorOffset
            }
            guard wOff % 16 == 0, bOff % 16 == 0 else { throw .misaligned }
            for t in 0..<2 {
                let s = t == 0 ? wOff : bOff, e = t == 0 ? wOff + wBytes : bOff + bBytes
                for j in 0..<spans where s < ends[j] && starts[j] < e { throw .badTensorOffset }
                starts[spans] = s; ends[spans] = e; spans += 1
            }
            var layer = DecoderLayer()
            layer.inChannels = inC; layer.outChannels = outC; layer.kernel = kh; layer.inSide = side
            layer.activation = act; layer.slope = slope
            layer.weights = (base + wOff).assumingMemoryBound(to: Float.self)
            layer.bias = (base + bOff).assumingMemoryBound(to: Float.self)
            layer.weightSlackBytes = min(wOff, total - (wOff + wBytes))
            layers[i] = layer
            channels = outC; side = outSide
            biggest = max(biggest, layer.outputCount)
        }
        guard image.int(40) == channels, image.int(44) == side, image.int(48) == side else {
            throw .inconsistentArchitecture
        }
        outputChannels = channels; outputSide = side; maxActivation = biggest
    }
}
