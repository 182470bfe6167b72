#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ToolSupport
import VAEDecoder

/// Reads checkpoint v1. Nothing in the file is trusted before it is checked: lengths against the
/// file and the caps in `Limits`, the header's CRC before its contents, a section's stored CRC
/// before inflating it, shapes against the architecture. Every failure names the file and the
/// problem.
public enum CheckpointReader {
    static let fileMax = 1 << 30

    /// Only in the libFuzzer build (scripts/fuzz.sh, -D VAE_FUZZING): the CRCs are not compared,
    /// so that mutated bytes reach every check behind them. Every other build compares them.
    #if VAE_FUZZING
    static let skipsChecksums = true
    #else
    static let skipsChecksums = false
    #endif

    struct Header {
        var config: ModelConfig
        var sections: [SectionEntry]
        var tensors: [TensorEntry]
        var headerLength: Int
    }

    /// A regular file opened for reads at offsets (ToolSupport's RegularFile: FIFOs, devices
    /// and folders refused before a byte is read, the size capped first).
    final class PartialFile {
        let file: RegularFile
        var path: String { file.path }
        var size: Int { file.size }
        init(_ path: String) throws {
            do { file = try RegularFile(path, maxBytes: fileMax, what: "checkpoint") } catch { throw CheckpointError(path: path, problem: error.problem) }
        }
        /// Exactly `count` bytes at `offset` (callers have checked them against `size`).
        func read(at offset: Int, count: Int) throws -> [UInt8] {
            do { return try file.read(at: offset, count: count) } catch { throw CheckpointError(path: path, problem: error.problem) }
        }
    }

    /// The whole file, once its preamble says it is a checkpoint: a 1 GiB file of something
    /// else is refused after 16 bytes, not after reading it all.
    static func readFile(_ path: String) throws -> [UInt8] {
        let f = try PartialFile(path)
        let pre = try f.read(at: 0, count: min(8, f.size))
        if pre.count == 8, pre != CheckpointFormat.magic {
            throw CheckpointError(path: path, problem: "not a VAE checkpoint (bad magic; expected \"VAECKPT\\0\")")
        }
        return try f.read(at: 0, count: f.size)
    }

    /// `b` holds at least the header (the whole file, or its first bytes); `fileSize` is the
    /// file's length, against which the sections are checked.
    static func parseHeader(_ b: [UInt8], path: String, fileSize: Int? = nil) throws -> Header {
        func fail(_ s: String) -> CheckpointError { CheckpointError(path: path, problem: s) }
        let size = fileSize ?? b.count
        guard b.count >= 16 else { throw fail("truncated: \(b.count) bytes is shorter than the 16-byte preamble") }
        guard Array(b[0..<8]) == CheckpointFormat.magic else {
            throw fail("not a VAE checkpoint (bad magic; expected \"VAECKPT\\0\")")
        }
        var r = ByteReader(b, from: 8, path: path)
        let major = try r.u16("major version"), minor = try r.u16("minor version")
        guard major == CheckpointFormat.major else {
            throw fail("format version \(major).\(minor) is not supported (this build reads major version 1); use a matching vae-train/vae-gen")
        }
        let H = Int(try r.u32("header length"))
        guard H >= 32, H <= Limits.headerMax else { throw fail("header length \(H) is outside 32...\(Limits.headerMax)") }
        guard H <= b.count, H <= size else { throw fail("truncated: the header says \(H) bytes, the file has \(size)") }
        let stored = UInt32(b[H - 4]) | UInt32(b[H - 3]) << 8 | UInt32(b[H - 2]) << 16 | UInt32(b[H - 1]) << 24
        guard Zlib.crc32(b[0..<(H - 4)]) == stored || skipsChecksums else { throw fail("header CRC-32 mismatch (the file is corrupt)") }
        r = ByteReader(b, from: 16, to: H - 4, path: path)

        // Architecture.
        let archStart = r.pos
        let archLen = try r.int("architecture block length", max: H)
        guard archLen >= 64 else { throw fail("architecture block is \(archLen) bytes, less than 64") }
        let imgH = try r.int("image height", max: 4096), imgW = try r.int("image width", max: 4096)
        let encKind = try r.u32("encoder kind")
        let lstmIn = try r.int("LSTM input size", max: 1 << 16), hidden = try r.int("LSTM hidden size", max: 1 << 16)
        let seq = try r.int("sequence length", max: 1 << 16), lstmLayers = try r.u32("LSTM layers")
        let headKind = try r.u32("head kind")
        let latent = try r.int("latent dimension", max: 1 << 16)
        let vc = try r.int("view channels", max: Limits.channels), vh = try r.int("view height", max: 4096), vw = try r.int("view width", max: 4096)
        let nl = try r.int("decoder layer count", max: Limits.decoderLayers)
        let normalisation = try r.u32("decoder normalisation"); _ = try r.u32("reserved")
        guard normalisation <= 1 else { throw fail("decoder normalisation \(normalisation) is unknown to this build (0 none, 1 batch norm)") }
        guard encKind == 1, lstmLayers == 1, let sampler = ModelConfig.Sampler(rawValue: headKind) else {
            throw fail("encoder kind \(encKind) / LSTM layers \(lstmLayers) / head kind \(headKind) is not the LSTM VAE this build knows")
        }
        guard imgH == imgW, lstmIn == imgW, seq == imgH else {
            throw fail("image \(imgH)x\(imgW) does not match LSTM input \(lstmIn) x \(seq) steps")
        }
        var layers: [ModelConfig.DeconvLayer] = []
        for i in 0..<nl {
            let kind = try r.u32("layer \(i) kind")
            let inC = try r.int("layer \(i) in_channels", max: Limits.channels), outC = try r.int("layer \(i) out_channels", max: Limits.channels)
            let kh = try r.int("layer \(i) kernel_h", max: Limits.kernel), kw = try r.int("layer \(i) kernel_w", max: Limits.kernel)
            let stride = try r.u32("layer \(i) stride"), pad = try r.u32("layer \(i) padding")
            let actRaw = try r.u32("layer \(i) activation"), slope = try r.f32("layer \(i) activation parameter")
            guard kind == 1, stride == 1, pad == 0, kh == kw else {
                throw fail("decoder layer \(i): kind \(kind), stride \(stride), padding \(pad), kernel \(kh)x\(kw) is not supported (ConvTranspose2d, stride 1, no padding, square kernel)")
            }
            guard let act = ModelConfig.Activation(rawValue: actRaw), slope.isFinite else {
                throw fail("decoder layer \(i): unknown activation \(actRaw)")
            }
            layers.append(.init(inC, outC, kernel: kh, activation: act, slope: slope))
        }
        guard r.pos - archStart <= archLen else { throw fail("architecture block is shorter than its layers") }
        r.pos = archStart + archLen   // a newer minor version may append fields
        var config = ModelConfig(layers: layers)
        config.imageSize = imgH; config.hidden = hidden; config.latent = latent; config.view = (vc, vh, vw)
        config.sampler = sampler
        config.batchNorm = normalisation == 1
        if config.batchNorm && nl < 2 { throw fail("batch norm follows the hidden layers, and a 1-layer decoder has none") }
        if let why = config.validate() { throw fail("architecture is inconsistent: \(why)") }

        // Sections.
        let ns = try r.int("section count", max: Limits.sections)
        var sections: [SectionEntry] = []
        for i in 0..<ns {
            let tag = try r.u32("section \(i) tag"), flags = try r.u32("section \(i) flags")
            let off = try r.u64("section \(i) offset"), st = try r.u64("section \(i) stored length"), raw = try r.u64("section \(i) raw length")
            let sc = try r.u32("section \(i) stored CRC"), rc = try r.u32("section \(i) raw CRC")
            let name = SectionTag.name(tag)
            guard off >= UInt64(H), st <= UInt64(size), off <= UInt64(size) - st else {
                throw fail("section \(name) (\(st) bytes at offset \(off)) lies outside the file (\(size) bytes): truncated?")
            }
            guard raw <= UInt64(Limits.sectionRawMax) else { throw fail("section \(name) claims \(raw) raw bytes, over the 256 MiB cap") }
            sections.append(SectionEntry(tag: tag, flags: flags, offset: Int(off), stored: Int(st), raw: Int(raw), storedCRC: sc, rawCRC: rc))
        }
        for s in sections where !SectionTag.known.contains(s.tag) && s.critical {
            throw fail("critical section \(SectionTag.name(s.tag)) is unknown to this build (written by a newer version?)")
        }
        let sorted = sections.sorted { $0.offset < $1.offset }
        for (a, c) in zip(sorted, sorted.dropFirst()) where a.offset + a.stored > c.offset {
            throw fail("sections \(SectionTag.name(a.tag)) and \(SectionTag.name(c.tag)) overlap")
        }
        if Set(sections.map(\.tag)).count != sections.count { throw fail("a section tag appears twice") }
        for t in [SectionTag.encoder, SectionTag.decoder] + (config.batchNorm ? [SectionTag.batchNorm] : [])
        where !sections.contains(where: { $0.tag == t }) {
            throw fail("section \(SectionTag.name(t)) is missing")
        }

        // Tensors.
        let nt = try r.int("tensor count", max: Limits.tensors)
        var tensors: [TensorEntry] = []
        var names = Set<String>()
        for i in 0..<nt {
            let sec = try r.u32("tensor \(i) section")
            let dtRaw = try r.u8("tensor \(i) dtype"), rank = Int(try r.u8("tensor \(i) rank"))
            let nlen = Int(try r.u16("tensor \(i) name length"))
            guard nlen >= 1, nlen <= Limits.nameMax else { throw fail("tensor \(i): name length \(nlen) outside 1...\(Limits.nameMax)") }
            let name = String(decoding: try r.take(nlen, "tensor \(i) name"), as: UTF8.self)
            guard let dt = DType(rawValue: dtRaw) else { throw fail("tensor \(name): unknown dtype \(dtRaw)") }
            guard rank >= 1, rank <= 4 else { throw fail("tensor \(name): rank \(rank) outside 1...4") }
            var shape: [Int] = []
            var count = 1
            for d in 0..<rank {
                let v = try r.int("tensor \(name) dimension \(d)", max: Limits.dimMax)
                guard v >= 1 else { throw fail("tensor \(name): dimension \(d) is 0") }
                shape.append(v)
                count = count.multipliedReportingOverflow(by: v).partialValue
                guard count <= Limits.sectionRawMax else { throw fail("tensor \(name): \(shape) is larger than any section") }
            }
            let off = try r.u64("tensor \(name) offset"), len = try r.u64("tensor \(name) byte length")
            guard len == UInt64(count * dt.size) else { throw fail("tensor \(name): byte length \(len) does not match shape \(shape)") }
            guard let s = sections.first(where: { $0.tag == sec }) else {
                throw fail("tensor \(name) lives in section \(SectionTag.name(sec)), which is not in the file")
            }
            guard off <= UInt64(s.raw), len <= UInt64(s.raw) - off else {
                throw fail("tensor \(name) (\(len) bytes at \(off)) lies outside its section (\(s.raw) bytes)")
            }
            guard names.insert(name).inserted else { throw fail("tensor \(name) appears twice") }
            tensors.append(TensorEntry(section: sec, dtype: dt, name: name, shape: shape, offset: Int(off), byteLength: Int(len)))
        }
        guard r.pos == r.end else { throw fail("\(r.end - r.pos) unexpected bytes at the end of the header") }

        // Every tensor the model needs, with the shape the architecture implies.
        let layout = ParamLayout(config)
        // The model's tensors where they are stored, and (batch norm) the folded decoder's in DEC
        // and the running statistics.
        var needed = layout.entries.map { e in (BatchNormSection.stored(e, config), e.shape) }
        if config.batchNorm {
            needed += layout.entries.filter(\.isDecoder).map { ((name: $0.name, section: SectionTag.decoder), $0.shape) }
            needed += BatchNormSection.tensors(config).filter(\.running).map { ((name: $0.name, section: SectionTag.batchNorm), $0.shape) }
        }
        for (want, shape) in needed {
            guard let t = tensors.first(where: { $0.name == want.name }) else { throw fail("tensor \(want.name) is missing") }
            guard t.section == want.section, t.dtype == .f32, t.shape == shape else {
                throw fail("tensor \(want.name) is \(t.dtype) \(t.shape) in \(SectionTag.name(t.section)); the architecture needs f32 \(shape) in \(SectionTag.name(want.section))")
            }
        }
        // The tensors a reader uses (the model's, the optimiser's) start on 16 bytes and never
        // share bytes: overlapping ones would alias two parameters.
        var used = Set(needed.map(\.0.name))
        for e in layout.entries { used.insert("adam.m." + e.name); used.insert("adam.v." + e.name) }
        let usedTensors = tensors.filter { used.contains($0.name) }
        for t in usedTensors where t.offset % 16 != 0 {
            throw fail("tensor \(t.name) starts at offset \(t.offset) of its section, not a multiple of 16")
        }
        for sec in Set(usedTensors.map(\.section)) {
            let inSection = usedTensors.filter { $0.section == sec }.sorted { $0.offset < $1.offset }
            for (a, c) in zip(inSection, inSection.dropFirst()) where a.offset + a.byteLength > c.offset {
                throw fail("tensors \(a.name) and \(c.name) overlap in section \(SectionTag.name(sec))")
            }
        }
        let offs = DecoderImageBuilder.offsets(config)
        for (i, o) in offs.enumerated() {
            let w = tensors.first { $0.name == "convs.\(i).weight" }!, bi = tensors.first { $0.name == "convs.\(i).bias" }!
            guard w.offset == o.weight, bi.offset == o.bias else {
                throw fail("decoder layer \(i)'s tensor offsets disagree with the decoder image layout")
            }
        }
        return Header(config: config, sections: sections, tensors: tensors, headerLength: H)
    }

    static func inflate(_ b: [UInt8], _ s: SectionEntry, path: String) throws -> [UInt8] {
        try inflate(stored: b[s.offset..<(s.offset + s.stored)], s, path: path)
    }

    /// A section's compressed bytes, checked against both of its CRCs and its length.
    static func inflate(stored: ArraySlice<UInt8>, _ s: SectionEntry, path: String) throws -> [UInt8] {
        let name = SectionTag.name(s.tag)
        guard Zlib.crc32(stored) == s.storedCRC || skipsChecksums else {
            throw CheckpointError(path: path, problem: "section \(name): CRC-32 of the compressed bytes does not match (corrupt)")
        }
        let (raw, problem) = Zlib.inflate(stored, rawCount: s.raw)
        guard let raw else { throw CheckpointError(path: path, problem: "section \(name) \(problem!)") }
        guard Zlib.crc32(raw) == s.rawCRC || skipsChecksums else {
            throw CheckpointError(path: path, problem: "section \(name): CRC-32 of the inflated bytes does not match (corrupt)")
        }
        return raw
    }

    static func floats(_ raw: [UInt8], _ t: TensorEntry) -> [Float] {
        var out = [Float](repeating: 0, count: t.byteLength / 4)
        raw.withUnsafeBytes { b in
            for i in 0..<out.count { out[i] = Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: t.offset + 4 * i, as: UInt32.self))) }
        }
        return out
    }

    /// Validates a decoder image with the runtime's own loader.
    /// The float32 decoder image checked by the runtime, and against the header's architecture
    /// block: a header that says ReLU where the image says LeakyReLU (or another slope, kernel,
    /// channel count) is refused, so that `--resume` never trains a model other than the one
    /// the digits come from.
    static func checkDecoderImage(_ image: [UInt8], config: ModelConfig, path: String) throws {
        let result = image.withUnsafeBytes { b -> Result<Bool, DecoderError> in
            do throws(DecoderError) {
                let m = try DecoderModel(image: b)
                guard m.latent == config.latent, m.viewChannels == config.view.c, m.viewSide == config.view.h,
                      m.layerCount == config.layers.count else { return .success(false) }
                for (i, l) in config.layers.enumerated() {
                    let d = m.layers[i]
                    guard d.inChannels == l.inChannels, d.outChannels == l.outChannels, d.kernel == l.kernel,
                          d.activation == l.activation, d.slope.bitPattern == l.slope.bitPattern else { return .success(false) }
                }
                return .success(true)
            } catch { return .failure(error) }
        }
        switch result {
        case .failure(let e): throw CheckpointError(path: path, problem: "decoder section: \(e.message)")
        case .success(false):
            throw CheckpointError(path: path, problem: "section \"DEC \": the decoder image's layers are not the architecture block's (the header and the weights disagree; corrupt or forged)")
        case .success(true): return
        }
    }

    /// The decoder image alone: the header is checked, only the wanted section is inflated
    /// (`DEC ` for float32, `DEC8` for int8).
    /// Reads the header and that one section from the file, nothing else (a tool that decodes
    /// needs about 7% of the shipped checkpoint's bytes).
    public static func readDecoderImage(_ path: String, precision: DecoderPrecision = .float32) throws -> (config: ModelConfig, image: [UInt8]) {
        let file = try PartialFile(path)
        // The preamble says the header's length; the header is checked before its entries are used.
        let pre = try file.read(at: 0, count: min(16, file.size))
        var headerLength = pre.count
        if pre.count >= 16 {
            let h = Int(UInt32(pre[12]) | UInt32(pre[13]) << 8 | UInt32(pre[14]) << 16 | UInt32(pre[15]) << 24)
            headerLength = max(16, min(h, Limits.headerMax, file.size))
        }
        let head = try file.read(at: 0, count: headerLength)
        let h = try parseHeader(head, path: path, fileSize: file.size)
        let tag = precision == .float32 ? SectionTag.decoder : SectionTag.decoderInt8
        guard let s = h.sections.first(where: { $0.tag == tag }) else { throw noInt8Decoder(path) }
        let image = try inflate(stored: ArraySlice(try file.read(at: s.offset, count: s.stored)), s, path: path)
        if precision == .float32 { try checkDecoderImage(image, config: h.config, path: path) } else { try checkInt8Image(image, config: h.config, path: path) }
        return (h.config, image)
    }

    static func noInt8Decoder(_ path: String) -> CheckpointError {
        CheckpointError(path: path, problem: "no int8 decoder in \(path) (it has no \"DEC8\" section); make one with `vae-train quantise --checkpoint \(path) --data DIR`")
    }

    /// The int8 image checked by the trainer's parser, and against the checkpoint's architecture.
    static func checkInt8Image(_ image: [UInt8], config: ModelConfig, path: String) throws {
        let d = try Int8ImageBuilder.parse(image, path: path)
        guard Int8ImageBuilder.matches(d, config) else {
            throw CheckpointError(path: path, problem: "section \"DEC8\": the int8 decoder's layers are not the architecture block's (quantised from another model?); run `vae-train quantise --checkpoint \(path) --data DIR` again")
        }
    }

    /// The inflated payload of every section the file has, known or not, by tag: lets a tool that
    /// rewrites a checkpoint prove that it kept the other sections byte for byte.
    public static func rawSections(_ path: String) throws -> [UInt32: [UInt8]] {
        try rawSections(bytes: try readFile(path), path: path)
    }

    /// The same, of a file's bytes in memory (`path` names it in errors).
    public static func rawSections(bytes b: [UInt8], path: String) throws -> [UInt32: [UInt8]] {
        let h = try parseHeader(b, path: path)
        var r: [UInt32: [UInt8]] = [:]
        for s in h.sections { r[s.tag] = try inflate(b, s, path: path) }
        return r
    }

    /// Everything.
    public static func read(_ path: String) throws -> CheckpointContents {
        try read(bytes: try readFile(path), path: path)
    }

    /// Everything, of a file's bytes in memory (`path` names it in errors).
    public static func read(bytes b: [UInt8], path: String) throws -> CheckpointContents {
        let h = try parseHeader(b, path: path)
        func fail(_ s: String) -> CheckpointError { CheckpointError(path: path, problem: s) }
        var raws: [UInt32: [UInt8]] = [:]
        for s in h.sections where SectionTag.known.contains(s.tag) {
            raws[s.tag] = try inflate(b, s, path: path)
        }
        try checkDecoderImage(raws[SectionTag.decoder]!, config: h.config, path: path)
        if let d8 = raws[SectionTag.decoderInt8] { try checkInt8Image(d8, config: h.config, path: path) }
        let layout = ParamLayout(h.config)
        var params = [Float](repeating: 0, count: layout.total)
        for e in layout.entries {
            let name = BatchNormSection.stored(e, h.config).name
            let t = h.tensors.first { $0.name == name }!
            let v = floats(raws[t.section]!, t)
            params.replaceSubrange(e.offset..<(e.offset + e.count), with: v)
        }
        guard params.allSatisfy(\.isFinite) else { throw fail("a weight is NaN or infinite") }
        var running = [Float](repeating: 0, count: layout.runningTotal)
        if h.config.batchNorm {
            for bt in BatchNormSection.tensors(h.config) where bt.running {
                let t = h.tensors.first { $0.name == bt.name }!
                running.replaceSubrange(bt.offset..<(bt.offset + bt.shape[0]), with: floats(raws[t.section]!, t))
            }
            guard running.allSatisfy(\.isFinite), h.config.normalisedLayers.allSatisfy({ i in
                let n = h.config.layers[i].outChannels, o = layout.running[i] + n
                return running[o..<(o + n)].allSatisfy { $0 >= 0 }
            }) else { throw fail("a batch-norm running statistic is NaN, infinite or a negative variance") }
            // DEC must be NORM folded, bit for bit: otherwise resuming would train a model other
            // than the one the digits come from.
            for e in layout.entries where e.isDecoder {
                let t = h.tensors.first { $0.name == e.name }!
                let folded = BatchNormFold.decoderTensor(h.config, params: params, running: running, name: e.name)
                guard floats(raws[SectionTag.decoder]!, t).map(\.bitPattern) == folded.map(\.bitPattern) else {
                    throw fail("tensor \(e.name) in \"DEC \" is not section \"NORM\"'s convolution and batch norm folded (corrupt or forged)")
                }
            }
        }

        var training: TrainingBlock?
        if let opt = raws[SectionTag.optimizer] {
            var r = ByteReader(opt, path: path)
            let len = try r.int("training block length", max: opt.count)
            guard len >= 128 else { throw fail("training block is \(len) bytes, less than 128") }
            let epochs = try r.int("epochs completed", max: 1 << 30)
            let steps = try r.u64("steps")
            let batch = try r.int("batch size", max: 1 << 20), shards = try r.int("shards per batch", max: 1 << 20)
            let lr = try r.f64("learning rate"), b1 = try r.f64("beta1"), b2 = try r.f64("beta2"), eps = try r.f64("epsilon")
            let seed = try r.u64("seed")
            var rng: [UInt64] = []
            for i in 0..<4 { rng.append(try r.u64("RNG word \(i)")) }
            let ipe64 = try r.u64("images per epoch")   // a u64 (1.4): all 8 bytes, not the low 4
            guard ipe64 <= 1 << 30 else { throw fail("images per epoch is \(ipe64), more than the limit \(1 << 30)") }
            let ipe = Int(ipe64)
            var m = [Float](repeating: 0, count: layout.total), v = m
            for e in layout.entries {
                for (prefix, isM) in [("adam.m.", true), ("adam.v.", false)] {
                    guard let t = h.tensors.first(where: { $0.name == prefix + e.name }) else { throw fail("tensor \(prefix + e.name) is missing") }
                    guard t.section == SectionTag.optimizer, t.dtype == .f32, t.shape == e.shape else {
                        throw fail("tensor \(t.name) has the wrong shape, dtype or section")
                    }
                    // The training block's bytes are not a tensor's (found by the mutation tests:
                    // a forged offset read the block's fields as Adam moments).
                    guard t.offset >= len else { throw fail("tensor \(t.name) (at \(t.offset)) overlaps the \(len)-byte training block") }
                    let vals = floats(opt, t)
                    if isM { m.replaceSubrange(e.offset..<(e.offset + e.count), with: vals) } else { v.replaceSubrange(e.offset..<(e.offset + e.count), with: vals) }
                }
            }
            training = TrainingBlock(epochsCompleted: epochs, steps: steps, batchSize: batch, shardsPerBatch: shards, lr: lr, beta1: b1,
                                     beta2: b2, eps: eps, seed: seed, rng: rng, imagesPerEpoch: ipe, adamM: m, adamV: v)
        }
        var history: [[Double]] = []
        if let hist = raws[SectionTag.history] {
            var r = ByteReader(hist, path: path)
            let rows = try r.int("history rows", max: Limits.historyRows)
            let cols = try r.int("history columns", max: 64)
            guard cols >= 8 else { throw fail("history has \(cols) columns, fewer than 8") }
            try r.need(rows * cols * 8, "history rows")
            for _ in 0..<rows {
                var row: [Double] = []
                for c in 0..<cols { let x = try r.f64("history value"); if c < 8 { row.append(x) } }
                history.append(row)
            }
        }
        let priors = try raws[SectionTag.classPriors].map { try ClassPriors.parse($0, latent: h.config.latent, path: path) }
        return CheckpointContents(config: h.config, params: params, training: training, history: history,
                                  int8DecoderImage: raws[SectionTag.decoderInt8], classPriors: priors, batchNormRunning: running)
    }
}
