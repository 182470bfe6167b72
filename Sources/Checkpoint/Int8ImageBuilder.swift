import VAEDecoder

/// One layer of an int8 decoder as integers (docs/quantisation.md, sections 1 and 2): what the
/// exporter produces, what the image builder writes and what the trainer's reference runs.
public struct Int8Layer: Equatable, Sendable {
    public var inChannels: Int
    public var outChannels: Int
    public var kernel: Int
    public var activation: ModelConfig.Activation
    public var slope: Float
    /// [in][out][k][k], PyTorch's ConvTranspose2d layout.
    public var weights: [Int8]
    /// [out], at scale s_in * s_w[oc].
    public var bias: [Int32]
    /// Hidden layer: [out][4] = {M_pos, n_pos, M_neg, n_neg}. Last layer: [out][255] thresholds.
    public var requant: [Int32]
    /// 1 or 2 for hidden layers; 0 for the last layer (pixels).
    public var outputWidth: Int
    public var outputZeroPoint: Int32
    public var outputQmin: Int32
    public var outputQmax: Int32

    public init(inChannels: Int, outChannels: Int, kernel: Int, activation: ModelConfig.Activation, slope: Float,
                weights: [Int8], bias: [Int32], requant: [Int32], outputWidth: Int,
                outputZeroPoint: Int32, outputQmin: Int32, outputQmax: Int32) {
        self.inChannels = inChannels; self.outChannels = outChannels; self.kernel = kernel
        self.activation = activation; self.slope = slope
        self.weights = weights; self.bias = bias; self.requant = requant
        self.outputWidth = outputWidth; self.outputZeroPoint = outputZeroPoint
        self.outputQmin = outputQmin; self.outputQmax = outputQmax
    }

    public var isLast: Bool { outputWidth == 0 }
    public var requantWords: Int { isLast ? DecoderImageLayout.pixelThresholds : DecoderImageLayout.requantWordsPerChannel }

    /// {M_pos, n_pos, M_neg, n_neg} of channel oc (hidden layers).
    public func multipliers(_ oc: Int) -> (mPos: Int64, nPos: Int64, mNeg: Int64, nNeg: Int64) {
        let r = oc * DecoderImageLayout.requantWordsPerChannel
        return (Int64(requant[r]), Int64(requant[r + 1]), Int64(requant[r + 2]), Int64(requant[r + 3]))
    }

    /// The largest |q - zp| of this layer's output tensor (section 1's input magnitude).
    public var outputMagnitude: Int64 {
        max(Int64(outputQmax) - Int64(outputZeroPoint), Int64(outputZeroPoint) - Int64(outputQmin))
    }
}

/// A whole int8 decoder: the latent's quantisation and the layers.
public struct Int8Decoder: Equatable, Sendable {
    public var latent: Int
    public var viewChannels: Int
    public var viewSide: Int
    public var latentInverseScale: Float
    public var latentQmax: Int32
    public var layers: [Int8Layer]

    public init(latent: Int, viewChannels: Int, viewSide: Int, latentInverseScale: Float, latentQmax: Int32, layers: [Int8Layer]) {
        self.latent = latent; self.viewChannels = viewChannels; self.viewSide = viewSide
        self.latentInverseScale = latentInverseScale; self.latentQmax = latentQmax; self.layers = layers
    }

    /// Side of layer i's input (i = layers.count: the output).
    public func side(atLayer i: Int) -> Int { layers.prefix(i).reduce(viewSide) { $0 + $1.kernel - 1 } }
    public var outputSide: Int { side(atLayer: layers.count) }
    public var outputChannels: Int { layers.last?.outChannels ?? 0 }

    /// Input magnitude A of layer i's input tensor (the latent for i = 0).
    public func inputMagnitude(ofLayer i: Int) -> Int64 { i == 0 ? Int64(latentQmax) : layers[i - 1].outputMagnitude }
    public func inputZeroPoint(ofLayer i: Int) -> Int32 { i == 0 ? 0 : layers[i - 1].outputZeroPoint }

    /// The accumulator bound's left side for layer i, channel oc, computed exactly (section 2).
    public func accumulatorWorstCase(layer i: Int, channel oc: Int) -> Int64 {
        let l = layers[i], kk = l.kernel * l.kernel
        var s: Int64 = 0
        for ic in 0..<l.inChannels {
            let base = (ic * l.outChannels + oc) * kk
            for t in 0..<kk { s += Int64(l.weights[base + t].magnitude) }
        }
        return Int64(l.bias[oc].magnitude) + inputMagnitude(ofLayer: i) * s
    }

    /// Every rule a loader applies to the numbers (docs/quantisation.md section 2, "A loader
    /// refuses"), or nil. Structural rules (shapes, chain) are checked too, since a decoder built
    /// in memory has not been through a parser.
    public func problem() -> String? {
        let int32Max = Int64(Int32.max)
        if layers.isEmpty { return "no layers" }
        if viewChannels * viewSide * viewSide != latent { return "view \(viewChannels)x\(viewSide)x\(viewSide) does not hold latent \(latent)" }
        if !(latentInverseScale.isFinite && latentInverseScale > 0) { return "latent inverse scale \(latentInverseScale) is not finite and positive" }
        if !(1...32767).contains(latentQmax) { return "latent qmax \(latentQmax) is outside 1...32767" }
        var channels = viewChannels
        for (i, l) in layers.enumerated() {
            let last = i == layers.count - 1
            if l.inChannels != channels { return "layer \(i) takes \(l.inChannels) channels, the previous gives \(channels)" }
            channels = l.outChannels
            if l.weights.count != l.inChannels * l.outChannels * l.kernel * l.kernel || l.bias.count != l.outChannels
                || l.requant.count != l.outChannels * l.requantWords {
                return "layer \(i): tensor sizes do not match its shape"
            }
            if (l.activation == .sigmoid) != last { return "layer \(i): only the last layer is (and must be) sigmoid" }
            if last {
                if l.outputWidth != 0 || l.outputZeroPoint != 0 || l.outputQmin != 0 || l.outputQmax != 0 {
                    return "last layer: output width, zero point and range must be 0"
                }
                for oc in 0..<l.outChannels {
                    let t = l.requant[(oc * DecoderImageLayout.pixelThresholds)..<((oc + 1) * DecoderImageLayout.pixelThresholds)]
                    if zip(t, t.dropFirst()).contains(where: { $0 > $1 }) { return "last layer channel \(oc): thresholds decrease" }
                }
            } else {
                switch l.outputWidth {
                case 1:
                    if !(l.outputQmin >= -128 && l.outputQmin < l.outputQmax && l.outputQmax <= 127) { return "layer \(i): int8 range [\(l.outputQmin), \(l.outputQmax)] is not inside [-128, 127]" }
                    if !(l.outputQmin...l.outputQmax).contains(l.outputZeroPoint) { return "layer \(i): zero point \(l.outputZeroPoint) is outside its range" }
                case 2:
                    if !(l.outputQmin >= -32767 && l.outputQmin < l.outputQmax && l.outputQmax <= 32767) { return "layer \(i): int16 range [\(l.outputQmin), \(l.outputQmax)] is not inside [-32767, 32767]" }
                    if l.outputZeroPoint != 0 { return "layer \(i): an int16 tensor has zero point 0, not \(l.outputZeroPoint)" }
                default: return "layer \(i): output width \(l.outputWidth) is neither 1 nor 2"
                }
                for oc in 0..<l.outChannels {
                    let m = l.multipliers(oc)
                    if !(1...int32Max).contains(m.mPos) || !(0...int32Max).contains(m.mNeg) || !(1...62).contains(m.nPos) || !(1...62).contains(m.nNeg) {
                        return "layer \(i) channel \(oc): multipliers \(m) are out of range"
                    }
                }
            }
            for oc in 0..<l.outChannels where accumulatorWorstCase(layer: i, channel: oc) > int32Max {
                return "layer \(i) channel \(oc): the accumulator bound does not hold (\(accumulatorWorstCase(layer: i, channel: oc)) > 2^31 - 1)"
            }
        }
        return nil
    }
}

/// Writes and reads int8 decoder images (weight type 2, minor 1; docs/quantisation.md section 2).
/// This is the trainer's side: the runtime parses images with its own code, and the golden tests
/// hold the two to each other.
public enum Int8ImageBuilder {
    static func align16(_ x: Int) -> Int { (x + 15) & ~15 }

    /// Byte offsets of each layer's weight, bias and requantisation tensors inside the image,
    /// and the image's total length.
    public static func offsets(_ d: Int8Decoder) -> (layers: [(weight: Int, bias: Int, requant: Int)], total: Int) {
        var off = DecoderImageLayout.headerBytes + d.layers.count * DecoderImageLayout.layerRecordBytes(weightType: DecoderImageLayout.weightTypeInt8)
        var r: [(Int, Int, Int)] = []
        for l in d.layers {
            let w = align16(off); off = w + l.weights.count
            let b = align16(off); off = b + 4 * l.bias.count
            let q = align16(off); off = q + 4 * l.requant.count
            r.append((w, b, q))
        }
        return (r, align16(off))
    }

    public static func build(_ d: Int8Decoder) -> [UInt8] {
        precondition(d.problem() == nil, "Int8ImageBuilder: \(d.problem()!)")
        let (offs, total) = offsets(d)
        var img = [UInt8](repeating: 0, count: total)
        func put16(_ o: Int, _ v: UInt16) { img[o] = UInt8(v & 0xFF); img[o + 1] = UInt8(v >> 8) }
        func put32(_ o: Int, _ v: UInt32) { for k in 0..<4 { img[o + k] = UInt8((v >> (8 * UInt32(k))) & 0xFF) } }
        func putI32(_ o: Int, _ v: Int32) { put32(o, UInt32(bitPattern: v)) }
        func putInt(_ o: Int, _ v: Int) { put32(o, UInt32(v)) }
        typealias H = DecoderImageLayout.Header
        typealias R = DecoderImageLayout.Layer
        put32(H.magic, DecoderImageLayout.magic)
        put16(H.major, DecoderImageLayout.major); put16(H.minor, DecoderImageLayout.minorInt8)
        putInt(H.totalLength, total)
        put32(H.weightType, DecoderImageLayout.weightTypeInt8)
        putInt(H.latent, d.latent); putInt(H.viewChannels, d.viewChannels)
        putInt(H.viewHeight, d.viewSide); putInt(H.viewWidth, d.viewSide)
        putInt(H.layerCount, d.layers.count)
        putInt(H.outputChannels, d.outputChannels); putInt(H.outputHeight, d.outputSide); putInt(H.outputWidth, d.outputSide)
        put32(H.latentWidth, 2)
        put32(H.latentInverseScale, d.latentInverseScale.bitPattern)
        putI32(H.latentQmax, d.latentQmax)
        let recordBytes = DecoderImageLayout.layerRecordBytes(weightType: DecoderImageLayout.weightTypeInt8)
        for (i, l) in d.layers.enumerated() {
            let r = DecoderImageLayout.headerBytes + i * recordBytes
            put32(r + R.kind, DecoderImageLayout.layerKindConvTranspose)
            putInt(r + R.inChannels, l.inChannels); putInt(r + R.outChannels, l.outChannels)
            putInt(r + R.kernelH, l.kernel); putInt(r + R.kernelW, l.kernel)
            put32(r + R.stride, 1); put32(r + R.padding, 0)
            put32(r + R.activation, l.activation.rawValue); put32(r + R.slope, l.slope.bitPattern)
            putInt(r + R.weightOffset, offs[i].weight); putInt(r + R.biasOffset, offs[i].bias); putInt(r + R.requantOffset, offs[i].requant)
            putInt(r + R.outputWidth, l.outputWidth)
            putI32(r + R.outputZeroPoint, l.outputZeroPoint); putI32(r + R.outputQmin, l.outputQmin); putI32(r + R.outputQmax, l.outputQmax)
            for (k, w) in l.weights.enumerated() { img[offs[i].weight + k] = UInt8(bitPattern: w) }
            for (k, b) in l.bias.enumerated() { putI32(offs[i].bias + 4 * k, b) }
            for (k, q) in l.requant.enumerated() { putI32(offs[i].requant + 4 * k, q) }
        }
        put32(H.crc, Zlib.crc32(img[H.crcStart...]))
        return img
    }

    /// Parses and checks an int8 image with the trainer's own code (not the runtime's): every
    /// refusal of docs/quantisation.md section 2 and the structure of docs/checkpoint-format.md
    /// section 2. `path` names the file in errors.
    public static func parse(_ img: [UInt8], path: String) throws -> Int8Decoder {
        func fail(_ s: String) -> CheckpointError { CheckpointError(path: path, problem: "int8 decoder image: " + s) }
        typealias H = DecoderImageLayout.Header
        typealias R = DecoderImageLayout.Layer
        func u16(_ o: Int) -> UInt16 { UInt16(img[o]) | UInt16(img[o + 1]) << 8 }
        func u32(_ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(img[o + $1]) << (8 * UInt32($1)) } }
        func i32(_ o: Int) -> Int32 { Int32(bitPattern: u32(o)) }
        func int(_ o: Int) -> Int { Int(u32(o)) }
        guard img.count >= DecoderImageLayout.headerBytes else { throw fail("\(img.count) bytes is shorter than the 64-byte header") }
        guard u32(H.magic) == DecoderImageLayout.magic else { throw fail("bad magic (expected \"VAED\")") }
        guard u16(H.major) == DecoderImageLayout.major else { throw fail("major version \(u16(H.major)) is not 1") }
        guard u32(H.weightType) == DecoderImageLayout.weightTypeInt8 else { throw fail("weight type \(u32(H.weightType)) is not 2 (int8)") }
        guard u16(H.minor) >= DecoderImageLayout.minorInt8 else { throw fail("minor version \(u16(H.minor)) predates the int8 fields (1)") }
        let total = int(H.totalLength)
        guard total >= DecoderImageLayout.headerBytes, total <= img.count else { throw fail("total length \(total) does not fit the \(img.count) bytes given") }
        guard Zlib.crc32(img[H.crcStart..<total]) == u32(H.crc) else { throw fail("CRC-32 mismatch (corrupt)") }
        guard u32(H.latentWidth) == 2 else { throw fail("latent width \(u32(H.latentWidth)) is not 2 (int16)") }
        let n = int(H.layerCount)
        guard n >= 1, n <= Limits.decoderLayers else { throw fail("layer count \(n) is outside 1...\(Limits.decoderLayers)") }
        let recordBytes = DecoderImageLayout.layerRecordBytes(weightType: DecoderImageLayout.weightTypeInt8)
        let recordsEnd = DecoderImageLayout.headerBytes + n * recordBytes
        guard recordsEnd <= total else { throw fail("\(n) layer records do not fit in \(total) bytes") }
        guard int(H.viewHeight) == int(H.viewWidth) else { throw fail("the view is not square") }
        var spans: [(Int, Int, String)] = []
        func tensor(_ off: Int, _ bytes: Int, _ what: String) throws {
            guard off % 16 == 0 else { throw fail("\(what) offset \(off) is not a multiple of 16") }
            guard off >= recordsEnd, off <= total, bytes <= total - off else { throw fail("\(what) (\(bytes) bytes at \(off)) lies outside the tensor area") }
            for s in spans where off < s.1 && s.0 < off + bytes { throw fail("\(what) overlaps \(s.2)") }
            spans.append((off, off + bytes, what))
        }
        var layers: [Int8Layer] = []
        for i in 0..<n {
            let r = DecoderImageLayout.headerBytes + i * recordBytes
            let inC = int(r + R.inChannels), outC = int(r + R.outChannels), kh = int(r + R.kernelH), kw = int(r + R.kernelW)
            guard u32(r + R.kind) == DecoderImageLayout.layerKindConvTranspose, u32(r + R.stride) == 1, u32(r + R.padding) == 0, kh == kw else {
                throw fail("layer \(i) is not a stride-1, unpadded, square ConvTranspose2d")
            }
            guard inC >= 1, inC <= Limits.channels, outC >= 1, outC <= Limits.channels, kh >= 1, kh <= Limits.kernel else {
                throw fail("layer \(i): \(inC) -> \(outC) channels, kernel \(kh) is out of range")
            }
            guard let act = ModelConfig.Activation(rawValue: u32(r + R.activation)) else { throw fail("layer \(i): unknown activation \(u32(r + R.activation))") }
            let slope = Float(bitPattern: u32(r + R.slope))
            guard slope.isFinite else { throw fail("layer \(i): slope is not finite") }
            let last = i == n - 1
            let words = last ? DecoderImageLayout.pixelThresholds : DecoderImageLayout.requantWordsPerChannel
            let wOff = int(r + R.weightOffset), bOff = int(r + R.biasOffset), qOff = int(r + R.requantOffset)
            try tensor(wOff, inC * outC * kh * kh, "layer \(i) weights")
            try tensor(bOff, 4 * outC, "layer \(i) bias")
            try tensor(qOff, 4 * outC * words, "layer \(i) " + (last ? "thresholds" : "requantisation"))
            layers.append(Int8Layer(
                inChannels: inC, outChannels: outC, kernel: kh, activation: act, slope: slope,
                weights: img[wOff..<(wOff + inC * outC * kh * kh)].map { Int8(bitPattern: $0) },
                bias: (0..<outC).map { i32(bOff + 4 * $0) }, requant: (0..<(outC * words)).map { i32(qOff + 4 * $0) },
                outputWidth: int(r + R.outputWidth), outputZeroPoint: i32(r + R.outputZeroPoint),
                outputQmin: i32(r + R.outputQmin), outputQmax: i32(r + R.outputQmax)))
        }
        let d = Int8Decoder(latent: int(H.latent), viewChannels: int(H.viewChannels), viewSide: int(H.viewHeight),
                            latentInverseScale: Float(bitPattern: u32(H.latentInverseScale)), latentQmax: i32(H.latentQmax), layers: layers)
        if let p = d.problem() { throw fail(p) }
        guard int(H.outputChannels) == d.outputChannels, int(H.outputHeight) == d.outputSide, int(H.outputWidth) == d.outputSide else {
            throw fail("the header's output \(int(H.outputChannels))x\(int(H.outputHeight))x\(int(H.outputWidth)) is not what the layers give")
        }
        return d
    }

    /// Whether the decoder has the architecture of `config` (the checkpoint's other sections).
    public static func matches(_ d: Int8Decoder, _ config: ModelConfig) -> Bool {
        guard d.latent == config.latent, d.viewChannels == config.view.c, d.viewSide == config.view.h,
              d.layers.count == config.layers.count else { return false }
        return zip(d.layers, config.layers).allSatisfy {
            $0.inChannels == $1.inChannels && $0.outChannels == $1.outChannels && $0.kernel == $1.kernel
                && $0.activation == $1.activation && $0.slope == $1.slope
        }
    }
}
